"""Settings from a TOML file and the environment; the environment wins.

The file is `$DEFISCOPE_CONFIG`, else `config.toml` in the data directory (`$DEFISCOPE_DATA_DIR`, by
default the platform's user data folder). Example::

    [rpc]
    timeout = 10.0          # seconds per request
    max_attempts = 4        # tries of an idempotent read, across endpoints

    [chains.1]
    rpc = ["https://eth.example/v2/KEY", "https://backup.example"]

    [prices]
    coingecko = true        # also ask CoinGecko (DEFISCOPE_COINGECKO_API_KEY, DEFISCOPE_COINGECKO_PRO=1)

`DEFISCOPE_RPC_1="https://a,https://b"` sets or replaces chain 1's endpoints.
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import platformdirs

from defiscope.chain.errors import InvalidInput

ENV_RPC_PREFIX = "DEFISCOPE_RPC_"


@dataclass(frozen=True, slots=True)
class RpcSettings:
    timeout: float = 10.0
    max_attempts: int = 4
    max_batch_items: int = 1000
    max_concurrency: int = 8


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    rpc: RpcSettings = field(default_factory=RpcSettings)
    chain_rpcs: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    source: Path | None = None  # the TOML file read, if any
    #: Ask CoinGecko too (needs the network): `[prices] coingecko = true`, or a CoinGecko key or URL set.
    coingecko: bool = False


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    env = os.environ if env is None else env
    return Path(env.get("DEFISCOPE_DATA_DIR") or platformdirs.user_data_dir("defiscope"))


def _split_urls(value: str) -> tuple[str, ...]:
    return tuple(u.strip() for u in value.split(",") if u.strip())


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if present) and the environment; malformed input raises `InvalidInput`."""
    env = os.environ if env is None else env
    base = data_dir(env)
    explicit = path or (Path(env["DEFISCOPE_CONFIG"]) if env.get("DEFISCOPE_CONFIG") else None)
    file = explicit or base / "config.toml"
    doc: dict[str, object] = {}
    if file.exists():
        try:
            doc = tomllib.loads(file.read_text())
        except tomllib.TOMLDecodeError as exc:
            raise InvalidInput(f"config file {file} is not valid TOML: {exc}") from exc
    elif explicit is not None:
        raise InvalidInput(f"config file {file} does not exist")

    rpc_doc = doc.get("rpc", {})
    if not isinstance(rpc_doc, dict):
        raise InvalidInput(f"config file {file}: [rpc] must be a table")
    try:
        rpc = RpcSettings(**rpc_doc)
    except TypeError as exc:
        raise InvalidInput(f"config file {file}: [rpc] {exc}") from exc

    chains: dict[int, tuple[str, ...]] = {}
    chains_doc = doc.get("chains", {})
    if not isinstance(chains_doc, dict):
        raise InvalidInput(f"config file {file}: [chains] must be a table of chain ids")
    for key, table in chains_doc.items():
        if not str(key).isdigit() or not isinstance(table, dict):
            raise InvalidInput(f"config file {file}: [chains.{key}] must be a table under a numeric chain id")
        urls = table.get("rpc", [])
        chains[int(key)] = _split_urls(urls) if isinstance(urls, str) else tuple(str(u) for u in urls)
    for name, value in env.items():
        if name.startswith(ENV_RPC_PREFIX):
            suffix = name[len(ENV_RPC_PREFIX) :]
            if not suffix.isdigit():
                raise InvalidInput(
                    f"environment variable {name}: expected {ENV_RPC_PREFIX}<CHAINID>, e.g. DEFISCOPE_RPC_1"
                )
            chains[int(suffix)] = _split_urls(value)
    prices_doc = doc.get("prices", {})
    if not isinstance(prices_doc, dict) or not isinstance(prices_doc.get("coingecko", False), bool):
        raise InvalidInput(f"config file {file}: [prices] coingecko must be true or false")
    coingecko = bool(prices_doc.get("coingecko")) or any(
        env.get(name) for name in ("DEFISCOPE_COINGECKO_API_KEY", "DEFISCOPE_COINGECKO_URL")
    )
    return Settings(
        data_dir=base, rpc=rpc, chain_rpcs=chains, source=file if file.exists() else None, coingecko=coingecko
    )
