"""`defiscope methodology`: every protocol, its counts and differences, and per chain the contracts read —
from the mainnet registry, with no RPC configured."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defiscope.cli import app
from defiscope.deployments.mainnet import mainnet
from defiscope.protocols.registry import known_protocols


def test_methodology_json_lists_every_protocol_with_its_mainnet_contracts() -> None:
    result = CliRunner().invoke(app, ["methodology", "--json"])
    assert result.exit_code == 0, result.output
    entries = json.loads(result.output)
    assert [e["slug"] for e in entries] == sorted(known_protocols())
    lido = next(e for e in entries if e["slug"] == "lido")
    assert set(lido) >= {"slug", "name", "counts", "defillama_difference", "chains"}
    [chain] = lido["chains"]
    assert chain["chain_id"] == 1
    steth = next(c for c in chain["contracts"] if c["address"] == mainnet(1).contract("LidoStETH"))
    assert "getTotalPooledEther()" in steth["calls"]
    assert "TokenRebased(uint256,uint256,uint256,uint256,uint256,uint256,uint256)" in steth["events"]


def test_methodology_of_one_protocol_names_calls_that_exist_on_mainnet() -> None:
    result = CliRunner().invoke(app, ["methodology", "uniswap-v3", "--json"])
    assert result.exit_code == 0, result.output
    [entry] = json.loads(result.output)
    assert entry["slug"] == "uniswap-v3"
    chains = {c["chain_id"]: c for c in entry["chains"]}
    assert {1, 56, 42161} <= set(chains)
    factory = next(c for c in chains[1]["contracts"] if c["address"] == mainnet(1).contract("UniswapV3Factory"))
    assert factory["events"] == ["PoolCreated(address,address,uint24,int24,address)"]


def test_methodology_unknown_protocol_is_one_line_exit_2() -> None:
    result = CliRunner().invoke(app, ["methodology", "nope"])
    assert result.exit_code == 2
    assert "unknown protocol 'nope'" in result.output
    assert len(result.output.strip().splitlines()) == 1


def test_methodology_text_names_each_protocol() -> None:
    result = CliRunner().invoke(app, ["methodology"])
    assert result.exit_code == 0, result.output
    for info in known_protocols().values():
        assert f"({info.slug}, " in result.output


def test_methodology_says_what_is_not_counted_with_the_rule_numbers(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFISCOPE_CONFIG", str(tmp_path / "none.toml"))
    (tmp_path / "none.toml").write_text("")
    result = CliRunner().invoke(app, ["methodology", "--json"])
    assert result.exit_code == 0, result.output
    entries = {e["slug"]: e for e in json.loads(result.output)}
    dex, lending = entries["uniswap-v2"]["not_counted"], entries["aave-v3"]["not_counted"]
    assert "listed as not counted with its reason" in dex[0]
    assert dex[:2] == lending  # unreadable positions and blacklisted tokens: every protocol
    assert "none configured" in lending[1]
    assert "DefiLlama long-tail rule off (default)" in dex[2]
    assert "under 1% of the largest" in dex[2]
    assert "WETH, WBTC, USDC, USDT, DAI" in dex[2]

    (tmp_path / "on.toml").write_text(
        '[tvl]\nlong_tail = "defillama"\nmin_lp_ratio = 0.005\n'
        '[tvl.blacklist.1]\n"0x0000000000000000000000000000000000000001" = "a test token"\n'
    )
    monkeypatch.setenv("DEFISCOPE_CONFIG", str(tmp_path / "on.toml"))
    result = CliRunner().invoke(app, ["methodology", "uniswap-v2"])
    assert result.exit_code == 0, result.output
    text = " ".join(result.output.split())
    assert 'not counted: DefiLlama long-tail rule ON (long_tail = "defillama")' in text
    assert "under 0.5% of the largest" in text
    assert "1 configured in [tvl.blacklist]" in text


def test_a_malformed_tvl_table_is_one_line_exit_2(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "bad.toml").write_text('[tvl]\nlong_tail = "sometimes"\n')
    monkeypatch.setenv("DEFISCOPE_CONFIG", str(tmp_path / "bad.toml"))
    result = CliRunner().invoke(app, ["methodology"])
    assert result.exit_code == 2
    assert "long_tail must be one of all, defillama" in result.output
