"""Settings from a TOML file and the environment; the environment wins.

The file is `$DEFISCOPE_CONFIG`, else `config.toml` in the data directory (`$DEFISCOPE_DATA_DIR`, by
default the platform's user data folder). This is the one place settings are read: the data directory
(`~` expanded here, once) and the database URL come from `load_settings`, and the parts of it a layer needs
are passed down (`chain/` gets an `RpcSettings` and reads no file or environment itself). Example::

    data_dir = "~/defiscope"   # where the database and the devnet's cached worlds live ($DEFISCOPE_DATA_DIR wins)

    [store]
    url = "postgresql://defiscope@127.0.0.1:5432/defiscope"   # default: SQLite in data_dir ($DEFISCOPE_DATABASE_URL)

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

    [snapshot]
    enabled = true          # Snapshot's off-chain votes in the governance view (DEFISCOPE_SNAPSHOT_ENABLED=1)

    [prices]
    coingecko = true        # also ask CoinGecko (DEFISCOPE_COINGECKO_API_KEY, DEFISCOPE_COINGECKO_PRO=1)

    [grades]
    every_hours = 6         # publish grades every 6 h of block time while indexing (DEFISCOPE_GRADES_EVERY_HOURS)

    [risk]
    every_hours = 6         # re-score risk every 6 h of block time, and on control events (DEFISCOPE_RISK_EVERY_HOURS)

    [tvl]
    long_tail = "defillama" # DefiLlama's DEX rule (see `defiscope.tvl.policy`); default "all": count everything
    [tvl.blacklist.1]       # tokens never counted, listed with why
    "0x0000000000000000000000000000000000000001" = "why"

`DEFISCOPE_RPC_1="https://a,https://b"` sets or replaces chain 1's endpoints. A loopback endpoint (a devnet,
your own node) has no limits unless it sets its own: only its refusals slow us down.
"""

from __future__ import annotations

import dataclasses
import os
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Final

import platformdirs

from defiscope.chain.errors import InvalidInput
from defiscope.chain.limits import FREE_PLAN, EndpointLimits
from defiscope.chain.settings import RpcSettings
from defiscope.governance.snapshot_settings import ENV_PREFIX as SNAPSHOT_ENV_PREFIX
from defiscope.governance.snapshot_settings import SnapshotSettings
from defiscope.tvl.policy import LongTailPolicy, parse_policy

__all__ = [
    "RpcSettings",
    "Settings",
    "SnapshotSettings",
    "data_dir",
    "database_url",
    "env_value",
    "load_settings",
    "parse_limits",
]

ENV_RPC_PREFIX: Final = "DEFISCOPE_RPC_"
DATA_DIR_ENV: Final = "DEFISCOPE_DATA_DIR"
DATABASE_URL_ENV: Final = "DEFISCOPE_DATABASE_URL"
GRADES_EVERY_ENV: Final = "DEFISCOPE_GRADES_EVERY_HOURS"
RISK_EVERY_ENV: Final = "DEFISCOPE_RISK_EVERY_HOURS"
DEFAULT_GRADES_EVERY_HOURS: Final = 6.0
DEFAULT_RISK_EVERY_HOURS: Final = 6.0
CONFIG_ENV: Final = "DEFISCOPE_CONFIG"
DB_FILENAME: Final = "defiscope.db"


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
    data_dir: Path  # absolute of any `~`: see `_directory`
    rpc: RpcSettings = field(default_factory=RpcSettings)
    chain_rpcs: Mapping[int, tuple[str, ...]] = field(default_factory=dict)
    source: Path | None = None  # the TOML file read, if any
    #: Ask CoinGecko too (needs the network): `[prices] coingecko = true`, or a CoinGecko key or URL set.
    coingecko: bool = False
    #: `$DEFISCOPE_DATABASE_URL`, else `[store] url`; None: the SQLite file in the data directory.
    store_url: str | None = None

    #: Positions left out by rule (`[tvl]`): blacklisted tokens, DefiLlama's long-tail rule for DEX pools.
    tvl_policy: LongTailPolicy = field(default_factory=LongTailPolicy)
    #: Snapshot's off-chain proposals in the governance view (`[snapshot]`, `DEFISCOPE_SNAPSHOT_*`): off by default.
    snapshot: SnapshotSettings = field(default_factory=SnapshotSettings)
    #: Hours of block time between grade publications while indexing (`[grades] every_hours`).
    grades_every_hours: float = DEFAULT_GRADES_EVERY_HOURS
    #: Hours of block time between risk scores while indexing, besides control events (`[risk] every_hours`).
    risk_every_hours: float = DEFAULT_RISK_EVERY_HOURS

    @property
    def grades_every_seconds(self) -> int:
        return round(self.grades_every_hours * 3600)

    @property
    def risk_every_seconds(self) -> int:
        return round(self.risk_every_hours * 3600)

    @property
    def database_url(self) -> str:
        return self.store_url or f"sqlite:///{self.data_dir / DB_FILENAME}"


def _directory(value: str | os.PathLike[str]) -> Path:
    """A configured folder as a path: the one place `~` is expanded, so no caller sees a literal "~" folder."""
    return Path(value).expanduser()


def _default_data_dir(env: Mapping[str, str]) -> Path:
    """Where config.toml is looked for: `$DEFISCOPE_DATA_DIR`, else the platform's user data folder."""
    return _directory(env.get(DATA_DIR_ENV) or platformdirs.user_data_dir("defiscope"))


def data_dir(env: Mapping[str, str] | None = None) -> Path:
    """The data directory of `load_settings` (environment, else the TOML file's `data_dir`, else the platform's
    user data folder), `~` expanded. Creates nothing."""
    return load_settings(env=env).data_dir


def database_url(env: Mapping[str, str] | None = None) -> str:
    """The database of `load_settings`: `$DEFISCOPE_DATABASE_URL`, `[store] url`, else data_dir/defiscope.db."""
    return load_settings(env=env).database_url


def env_value(variable: str, kind: str, raw: str) -> object:
    """An environment variable's text as a settings dataclass field of type `kind` ("bool", "int", "float",
    "tuple[...]": comma-separated; anything else stays text); bad text raises `InvalidInput` naming `variable`."""
    try:
        if kind == "bool":
            if raw.lower() not in ("1", "0", "true", "false", "yes", "no"):
                raise ValueError(f"expected true or false, got {raw!r}")
            return raw.lower() in ("1", "true", "yes")
        if kind == "int":
            return int(raw)
        if kind == "float":
            return float(raw)
        if kind.startswith("tuple"):
            return tuple(v.strip() for v in raw.split(",") if v.strip())
    except ValueError as exc:
        raise InvalidInput(f"environment variable {variable}: {exc}") from exc
    return raw


def _split_urls(value: str) -> tuple[str, ...]:
    return tuple(u.strip() for u in value.split(",") if u.strip())


def load_settings(path: Path | None = None, env: Mapping[str, str] | None = None) -> Settings:
    """Read the TOML file (if present) and the environment; malformed input raises `InvalidInput`."""
    env = os.environ if env is None else env
    base = _default_data_dir(env)
    explicit = path or (_directory(env[CONFIG_ENV]) if env.get(CONFIG_ENV) else None)
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
        data_dir=_data_dir(doc, env, base, file),
        rpc=rpc,
        chain_rpcs=chains,
        source=file if file.exists() else None,
        coingecko=coingecko,
        store_url=env.get(DATABASE_URL_ENV) or _store_url(doc, file),
        tvl_policy=parse_policy(tvl_doc, f"config file {file}: [tvl]"),
        snapshot=snapshot_settings(doc.get("snapshot", {}), env, f"config file {file}: [snapshot]"),
        grades_every_hours=_every_hours(
            doc.get("grades", {}), env, GRADES_EVERY_ENV, DEFAULT_GRADES_EVERY_HOURS, f"config file {file}: [grades]"
        ),
        risk_every_hours=_every_hours(
            doc.get("risk", {}), env, RISK_EVERY_ENV, DEFAULT_RISK_EVERY_HOURS, f"config file {file}: [risk]"
        ),
    )


def _every_hours(table: object, env: Mapping[str, str], variable: str, default: float, where: str) -> float:
    """``variable`` (e.g. `DEFISCOPE_GRADES_EVERY_HOURS`), else the table's `every_hours`, else ``default``; a
    positive number of hours."""
    if not isinstance(table, dict):
        raise InvalidInput(f"{where} must be a table")
    raw = env.get(variable)
    value = env_value(variable, "float", raw) if raw is not None else table.get("every_hours")
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, int | float) or not value > 0:
        source = variable if raw is not None else f"{where} every_hours"
        raise InvalidInput(f"{source}: expected a positive number of hours, got {value!r}")
    return float(value)


def snapshot_settings(table: object, env: Mapping[str, str], where: str = "[snapshot]") -> SnapshotSettings:
    """Defaults, then the config file's `[snapshot]` table, then `DEFISCOPE_SNAPSHOT_<FIELD>` variables."""
    if not isinstance(table, dict):
        raise InvalidInput(f"{where} must be a table")
    known = {f.name: str(f.type) for f in dataclasses.fields(SnapshotSettings)}
    unknown = sorted(set(table) - set(known))
    if unknown:
        raise InvalidInput(f"{where}: unknown key {unknown[0]!r}; known: {', '.join(known)}")
    values: dict[str, object] = dict(table)
    for name, kind in known.items():
        raw = env.get(SNAPSHOT_ENV_PREFIX + name.upper())
        if raw is not None:
            values[name] = env_value(SNAPSHOT_ENV_PREFIX + name.upper(), kind, raw)
    try:
        return SnapshotSettings(**values)  # type: ignore[arg-type]
    except TypeError as exc:
        raise InvalidInput(f"{where}: {exc}") from exc


def _data_dir(doc: Mapping[str, object], env: Mapping[str, str], base: Path, file: Path) -> Path:
    """The environment's data directory, else the file's top-level `data_dir = "..."`, else `base`."""
    if env.get(DATA_DIR_ENV):
        return base
    value = doc.get("data_dir")
    if value is None:
        return base
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f'config file {file}: data_dir must be a folder, e.g. data_dir = "~/defiscope"')
    return _directory(value)


def _store_url(doc: Mapping[str, object], file: Path) -> str | None:
    store = doc.get("store", {})
    if not isinstance(store, dict) or not isinstance(store.get("url", ""), str):
        raise InvalidInput(f'config file {file}: [store] url must be a database URL, e.g. "postgresql://..."')
    return store.get("url") or None
