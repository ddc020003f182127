"""Settings: TOML file, environment override, and named errors."""

from __future__ import annotations

from pathlib import Path

import pytest

from defiscope.chain.errors import InvalidInput
from defiscope.chain.registry import MULTICALL3, get_chain
from defiscope.config import load_settings


def test_toml_then_environment(tmp_path: Path) -> None:
    (tmp_path / "config.toml").write_text(
        '[rpc]\ntimeout = 3.5\n\n[chains.1]\nrpc = ["https://a.example", "https://b.example"]\n'
        '[chains.56]\nrpc = "https://bsc.example"\n'
    )
    env = {"DEFISCOPE_DATA_DIR": str(tmp_path), "DEFISCOPE_RPC_56": "https://x.example, https://y.example"}
    settings = load_settings(env=env)
    assert settings.rpc.timeout == 3.5
    assert settings.chain_rpcs[1] == ("https://a.example", "https://b.example")
    assert settings.chain_rpcs[56] == ("https://x.example", "https://y.example")
    assert settings.source == tmp_path / "config.toml"


def test_no_file_is_fine(tmp_path: Path) -> None:
    settings = load_settings(env={"DEFISCOPE_DATA_DIR": str(tmp_path)})
    assert settings.chain_rpcs == {}
    assert settings.source is None


@pytest.mark.parametrize(
    ("text", "env", "problem"),
    [
        ("[rpc\n", {}, "is not valid TOML"),
        ("[rpc]\nspeed = 1\n", {}, "unexpected keyword argument 'speed'"),
        ("[chains.eth]\nrpc = []\n", {}, r"\[chains.eth\] must be a table under a numeric chain id"),
        ("", {"DEFISCOPE_RPC_ETH": "http://x"}, "DEFISCOPE_RPC_ETH: expected DEFISCOPE_RPC_<CHAINID>"),
    ],
)
def test_bad_config_is_named(tmp_path: Path, text: str, env: dict[str, str], problem: str) -> None:
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(InvalidInput, match=problem):
        load_settings(env={"DEFISCOPE_DATA_DIR": str(tmp_path), **env})


def test_chain_registry() -> None:
    assert get_chain(1).multicall3 == MULTICALL3
    assert get_chain("BNB").chain_id == 56
    assert get_chain("42161").name == "arbitrum"
    with pytest.raises(InvalidInput, match="unknown chain 'solana'"):
        get_chain("solana")
