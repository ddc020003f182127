"""Settings from a TOML file and the environment; the environment wins.

The file is `$DEFISCOPE_CONFIG`, else `config.toml` in the data directory (`$DEFISCOPE_DATA_DIR`, by
default the platform's user data folder). Example::

    [rpc]
    timeout = 10.0          # seconds per request
    max_attempts = 4        # tries of an idempotent read, across endpoints

    [rpc.limits]            # every remote endpoint's limits unless it sets its own: a free plan
    requests_per_second = 25
    compute_units_per_second = 0    # 0: not priced by compute units
    max_batch_items = 100
    max_log_blocks = 10000          # 0: no known cap (refusals still teach one)

    [chains.1]
    rpc = [{ url = "https://eth.example/v2/KEY", requests_per_second = 300 }, "https://backup.example"]

    [prices]
    coingecko = true        # also ask CoinGecko (DEFISCOPE_COINGECKO_API_KEY, DEFISCOPE_COINGECKO_PRO=1)

    [tvl]
    long_tail = "defillama" # DefiLlama's DEX rule (see `defiscope.tvl.policy`); default "all": count everything
    [tvl.blacklist.1]       # tokens never counted, listed with why
    "0x0000000000000000000000000000000000000001" = "why"

`DEFISCOPE_RPC_1="https://a,https://b"` sets or replaces chain 1's endpoints. A loopback endpoint (a devnet,
your own node) has no limits unless it sets its own: only its refusals slow us down.
"""

from __future__ import annotations

import dataclasses
import ipaddress
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import platformdirs

from defiscope.chain.errors import InvalidInput
from defiscope.chain.limits import FREE_PLAN, UNLIMITED, EndpointLimits
from defiscope.tvl.policy import LongTailPolicy, parse_policy

ENV_RPC_PREFIX = "DEFISCOPE_RPC_"


@dataclass(frozen=True, slots=True)
class RpcSettings:
    timeout: float = 10.0
    max_attempts: int = 4
    max_batch_items: int = 1000
    max_concurrency: int = 8
    #: Limits of a remote endpoint that sets none of its own (`[rpc.limits]`).
    limits: EndpointLimits = FREE_PLAN
    #: Limits per endpoint URL (`rpc = [{ url = ..., requests_per_second = ... }]`).
    endpoints: Mapping[str, EndpointLimits] = field(default_factory=dict)

    def limits_for(self, url: str) -> EndpointLimits:
        """The URL's own limits; else none for a loopback node, the `[rpc.limits]` defaults for the rest."""
        if url in self.endpoints:
            return self.endpoints[url]
        return UNLIMITED if _is_loopback(url) else self.limits


def _is_loopback(url: str) -> bool:
    host = urlsplit(url).hostname or ""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


#: Limits that TOML writes as 0 for "none" (TOML has no null).
_OPTIONAL_LIMITS = frozenset({"requests_per_second", "compute_units_per_second", "max_log_blocks"})
_LIMIT_FIELDS = frozenset(f.name for f in dataclasses.fields(EndpointLimits))


def parse_limits(table: Mapping[str, Any], base: EndpointLimits, where: str) -> EndpointLimits:
    """`base` with the table's fields; unknown keys and non-numbers raise `InvalidInput` naming `where`."""
    unknown = sorted(set(table) - _LIMIT_FIELDS)
    if unknown:
        raise InvalidInput(f"{where}: unknown limit {unknown[0]!r}; known: {', '.join(sorted(_LIMIT_FIELDS))}")
    values: dict[str, Any] = {}
    for key, value in table.items():
        if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
            raise InvalidInput(f"{where}: {key} must be a number >= 0, got {value!r}")
        if key in _OPTIONAL_LIMITS and value == 0:
            values[key] = None
        elif key in ("max_batch_items", "max_log_blocks"):
            if value != int(value) or value < 1:
                raise InvalidInput(f"{where}: {key} must be a whole number >= 1 (or 0 for none), got {value!r}")
            values[key] = int(value)
        else:
            values[key] = float(value)
    return dataclasses.replace(base, **values)


@dataclass(frozen=True, slots=True)
class Settings:
    data_dir: Path
    rpc: RpcSettings = field(default_factory=RpcSettings)
    chain_rpcs: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    source: Path | None = None  # the TOML file read, if any
    #: Ask CoinGecko too (needs the network): `[prices] coingecko = true`, or a CoinGecko key or URL set.
    coingecko: bool = False
    #: Positions left out by rule (`[tvl]`): blacklisted tokens, DefiLlama's long-tail rule for DEX pools.
    tvl_policy: LongTailPolicy = field(default_factory=LongTailPolicy)


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
    limits_doc = rpc_doc.pop("limits", {})
    if not isinstance(limits_doc, dict):
        raise InvalidInput(f"config file {file}: [rpc.limits] must be a table")
    default_limits = parse_limits(limits_doc, FREE_PLAN, f"config file {file}: [rpc.limits]")
    if "endpoints" in rpc_doc:
        raise InvalidInput(f"config file {file}: [rpc] endpoints: set limits in [chains.N] rpc = [{{ url = ... }}]")
    try:
        rpc = RpcSettings(**rpc_doc, limits=default_limits)
    except TypeError as exc:
        raise InvalidInput(f"config file {file}: [rpc] {exc}") from exc
    endpoint_limits: dict[str, EndpointLimits] = {}

    chains: dict[int, tuple[str, ...]] = {}
    chains_doc = doc.get("chains", {})
    if not isinstance(chains_doc, dict):
        raise InvalidInput(f"config file {file}: [chains] must be a table of chain ids")
    for key, table in chains_doc.items():
        if not str(key).isdigit() or not isinstance(table, dict):
            raise InvalidInput(f"config file {file}: [chains.{key}] must be a table under a numeric chain id")
        entries = table.get("rpc", [])
        urls: list[str] = []
        for entry in [entries] if isinstance(entries, str | dict) else entries:
            if isinstance(entry, dict):
                # An endpoint with its own limits: { url = "...", requests_per_second = 300, ... }
                own = {k: v for k, v in entry.items() if k != "url"}
                if not isinstance(entry.get("url"), str):
                    raise InvalidInput(f'config file {file}: [chains.{key}] rpc entry lacks url = "https://..."')
                url = entry["url"]
                endpoint_limits[url] = parse_limits(own, default_limits, f"config file {file}: [chains.{key}] rpc")
                urls.append(url)
            elif isinstance(entry, str):
                urls.extend(_split_urls(entry))
            else:
                raise InvalidInput(f"config file {file}: [chains.{key}] rpc entries must be URLs or tables")
        chains[int(key)] = tuple(urls)
    rpc = dataclasses.replace(rpc, endpoints=endpoint_limits)
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
    tvl_doc = doc.get("tvl", {})
    if not isinstance(tvl_doc, dict):
        raise InvalidInput(f"config file {file}: [tvl] must be a table")
    return Settings(
        data_dir=base,
        rpc=rpc,
        chain_rpcs=chains,
        source=file if file.exists() else None,
        coingecko=coingecko,
        tvl_policy=parse_policy(tvl_doc, f"config file {file}: [tvl]"),
    )
