"""Service fixtures: TVL engines on the session devnet, a migrated store, and a data dir that sees the devnet.

`db_url` (SQLite and PostgreSQL, same rules as the store tests: PostgreSQL skipped with the reason when
unreachable, a failure under CI) is reused from `tests/store/conftest.py`; `sqlite_url` is SQLite only.
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import structlog
from typer.testing import CliRunner

from defiscope.config import RpcSettings
from defiscope.deployments import Deployment
from defiscope.devnet import Devnet, DevnetChain
from defiscope.devnet.deployment import devnet_deployment
from defiscope.service.context import ChainTarget, build_engine
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.service.chainkit import write_run_file
from tests.store.conftest import db_url, pg_database  # noqa: F401  (fixtures reused, not redefined)

#: Variables that would make a CLI read something else than the devnet and the test's own database.
FOREIGN_ENV = ("DEFISCOPE_DATABASE_URL", "DEFISCOPE_CONFIG", "DEFISCOPE_NETWORK")


def make_engine(deployment: Deployment, url: str) -> TvlEngine:
    return build_engine(ChainTarget(deployment.chain_id, (url,), deployment), RpcSettings(timeout=5.0))


@pytest.fixture
async def engine(eth_chain: DevnetChain) -> AsyncIterator[TvlEngine]:
    """Chain 1's TVL engine on the devnet registry."""
    built = make_engine(devnet_deployment(eth_chain), eth_chain.rpc_url)
    yield built
    await built.client.aclose()


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'service.db'}"


@pytest.fixture
def repo(sqlite_url: str) -> Iterator[Repository]:
    store = Repository.open(sqlite_url)
    yield store
    store.close()


@pytest.fixture
def any_repo(db_url: str) -> Iterator[Repository]:  # noqa: F811  (db_url is the imported fixture)
    """A migrated store on SQLite and on PostgreSQL."""
    store = Repository.open(db_url)
    yield store
    store.close()


def clean_env(data_dir: Path, **extra: str) -> dict[str, str]:
    """The environment for a CLI child: this data dir, no RPC endpoints, no foreign database or config."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFISCOPE_RPC_") and k not in FOREIGN_ENV}
    return {**env, "DEFISCOPE_DATA_DIR": str(data_dir), "COLUMNS": "200", **extra}


@pytest.fixture
def devnet_home(devnet: Devnet, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A DEFISCOPE_DATA_DIR (set in this process too) whose running devnet is the session's devnet."""
    home = tmp_path / "home"
    write_run_file(devnet, home)
    for name in list(os.environ):
        if name.startswith("DEFISCOPE_RPC_") or name in FOREIGN_ENV:
            monkeypatch.delenv(name)
    monkeypatch.setenv("DEFISCOPE_DATA_DIR", str(home))
    return home


@pytest.fixture
def cli() -> Iterator[CliRunner]:
    """An in-process runner; the structlog setup the CLI makes (logs to the runner's stderr) is undone after."""
    saved = structlog.get_config()
    yield CliRunner()
    structlog.configure(**saved)
