"""API fixtures: one store filled by the real TVL engine on the session devnet, and apps over it.

`api_store` indexes both devnet chains three times, about 32 minutes of chain time apart, moving the ETH
price between rounds (so 1h changes and histories are real), then reverts the chains: other tests see the
devnet untouched. The SQLite file is shared read-only by the tests; tests that write keys use unique names.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
import redis
from fastapi import FastAPI
from fastapi.testclient import TestClient

from defiscope.api import ApiSettings, create_app
from defiscope.api.context import QuoteChain
from defiscope.chain.client import ChainClient
from defiscope.deployments import Deployment
from defiscope.devnet import Devnet
from defiscope.devnet.anvil import rpc
from defiscope.devnet.deployment import devnet_deployment
from defiscope.protocols.base import ProtocolInfo
from defiscope.routing.load import PoolRef
from defiscope.service.indexer import Indexer
from defiscope.service.snapshots import snapshot_and_store
from defiscope.store import Repository
from tests.prices.kit import Kit
from tests.service.conftest import cli, make_engine  # noqa: F401  (cli: a CliRunner that restores structlog)

ROUNDS = 3
STEP_SECONDS = 1900  # 3 rounds span > 1 h, so the 1h change exists; feeds are refreshed each round

#: The machine's Redis (shared limits, the shared response cache).
REDIS_URL = "redis://127.0.0.1:6379/0"


def require_redis() -> None:
    """Skip when Redis does not answer, saying so; under CI (where it runs) fail instead."""
    try:
        redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping()
    except redis.RedisError as exc:
        if os.environ.get("CI"):
            pytest.fail(f"CI requires Redis at {REDIS_URL}: {exc}")
        pytest.skip(f"Redis at {REDIS_URL} unreachable ({type(exc).__name__}); CI runs this")


@dataclass(frozen=True, slots=True)
class FilledStore:
    url: str
    deployments: tuple[Deployment, ...]
    infos: dict[str, ProtocolInfo]


@pytest.fixture(scope="session")
async def api_store(devnet: Devnet, tmp_path_factory: pytest.TempPathFactory) -> FilledStore:
    url = f"sqlite:///{tmp_path_factory.mktemp('api') / 'api.db'}"
    repo = Repository.open(url)
    deployments = tuple(devnet_deployment(c) for c in devnet.chains)
    engines = [make_engine(d, c.rpc_url) for d, c in zip(deployments, devnet.chains, strict=True)]
    kits = [Kit.connect(c, d) for c, d in zip(devnet.chains, deployments, strict=True)]
    saved = {c.rpc_url: rpc(c.rpc_url, "evm_snapshot") for c in devnet.chains}
    try:
        for round_ in range(ROUNDS):
            if round_:
                for kit in kits:
                    kit.advance(STEP_SECONDS)
                    kit.refresh_feeds()
                eth = kits[0]
                eth.set_answer("ETH/USD", eth.feed("ETH/USD").functions.latestAnswer().call() * 101 // 100)
            for engine in engines:
                result = await snapshot_and_store(engine, repo)
                assert result.snapshots, "the devnet world should have protocols to store"
        infos = {a.info.slug: a.info for e in engines for a in e.adapters}
    finally:
        for engine in engines:
            await engine.client.aclose()
        for url_, snap in saved.items():
            assert rpc(url_, "evm_revert", [snap]) is True
        repo.close()
    return FilledStore(url, deployments, infos)


def make_app(store: FilledStore, **settings: object) -> FastAPI:
    return create_app(
        ApiSettings(database_url=store.url, **settings),  # type: ignore[arg-type]
        deployments=store.deployments,
        infos=store.infos,
    )


@pytest.fixture
def client(api_store: FilledStore) -> Iterator[TestClient]:
    with TestClient(make_app(api_store)) as test_client:
        yield test_client


@pytest.fixture
def empty_url(tmp_path: Path) -> str:
    return f"sqlite:///{tmp_path / 'empty.db'}"


@dataclass(frozen=True, slots=True)
class Indexed:
    """An app over a store the indexer filled at the devnet's current head, quoting on the devnet."""

    client: TestClient
    repo: Repository


async def index_heads(devnet: Devnet, repo: Repository) -> None:
    engines = {c.chain_id: make_engine(devnet_deployment(c), c.rpc_url) for c in devnet.chains}
    try:
        await Indexer(engines, repo).run_once()
    finally:
        for engine in engines.values():
            await engine.client.aclose()


def quoting_app(devnet: Devnet, repo: Repository, url: str, **settings: object) -> tuple[FastAPI, list[ChainClient]]:
    """An app over `repo` whose /v1/quote reads the devnet with its seeded pools; the clients it quotes on
    (unconnected until the app's event loop first uses them: close them on that loop)."""
    quoting = {
        c.chain_id: QuoteChain(
            ChainClient.connect(c.chain_id, [c.rpc_url]),
            devnet_deployment(c),
            tuple(PoolRef(p.dex, p.address, p.token0, p.token1) for p in c.pools),
        )
        for c in devnet.chains
    }
    app = create_app(
        ApiSettings(  # type: ignore[arg-type]
            database_url=url, rate_per_ip="1000000/minute", rate_per_quote="1000000/minute", **settings
        ),
        repo=repo,
        deployments=[q.deployment for q in quoting.values()],
        quoting=quoting,
    )
    return app, [q.client for q in quoting.values()]


@contextmanager
def indexed_app(devnet: Devnet, url: str, **settings: object) -> Iterator[Indexed]:
    """Index both chains' heads into `url` as `serve` does (Lido reports too), then serve a quoting app
    over it. Chain state changes after this are not indexed."""
    repo = Repository.open(url)
    try:
        asyncio.run(index_heads(devnet, repo))
        app, clients = quoting_app(devnet, repo, url, **settings)
        with TestClient(app) as test_client:
            yield Indexed(test_client, repo)
            for chain_client in clients:  # they live on the app's event loop: close them there
                test_client.portal.call(chain_client.aclose)
    finally:
        repo.close()


@pytest.fixture
def indexed(devnet: Devnet, tmp_path: Path) -> Iterator[Indexed]:
    with indexed_app(devnet, f"sqlite:///{tmp_path / 'indexed.db'}") as app:
        yield app
