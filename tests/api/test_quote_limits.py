"""/v1/quote's own budget: a rate limit per caller on top of the general one, a cap on quotes computed at
once (503 with Retry-After, not a queue), and a deadline (503 with Retry-After when a chain read hangs)."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from defiscope.api import ApiSettings, create_app, quotes
from defiscope.api.context import QuoteChain
from defiscope.api.quotes import QUOTE_RPC_ATTEMPTS, QUOTE_RPC_CONCURRENCY, quote_client
from defiscope.chain.client import ChainClient
from defiscope.deployments import TokenInfo
from defiscope.deployments.mainnet import mainnet
from defiscope.store import Repository
from defiscope.store.models import Block
from tests.chain.fakes import SilentServer

QUOTE = {"chain": "1", "sell": "USDC", "buy": "WETH", "amount": "1000"}


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    store = Repository.open(f"sqlite:///{tmp_path / 'quotes.db'}")
    with store.engine.begin() as conn:  # one indexed block of chain 1, so a quote goes on to read the chain
        conn.execute(insert(Block), [{"chain_id": 1, "number": 100, "hash": "0x" + "11" * 32, "timestamp": 1}])
    yield store
    store.close()


def test_quotes_have_their_own_rate_limit(repo: Repository) -> None:
    settings = ApiSettings(rate_per_ip="1000/minute", rate_per_quote="2/minute")
    with TestClient(create_app(settings, repo=repo, deployments=[])) as client:
        answers = [client.get("/v1/quote", params={**QUOTE, "amount": str(i + 1)}) for i in range(3)]
        assert [a.status_code for a in answers] == [404, 404, 429]  # no chain quoted here; the third is refused
        assert int(answers[2].headers["Retry-After"]) >= 1
        assert client.get("/v1/chains").status_code == 200  # the general budget is untouched


def test_a_full_house_answers_503_at_once(repo: Repository) -> None:
    with TestClient(create_app(ApiSettings(quote_concurrency=1), repo=repo, deployments=[])) as client:
        slots = client.app.state.ctx.quote_slots  # type: ignore[attr-defined]
        client.portal.call(slots.acquire)  # one quote in progress elsewhere
        try:
            busy = client.get("/v1/quote", params=QUOTE)
        finally:
            client.portal.call(slots.release)
        assert busy.status_code == 503
        assert busy.headers["Retry-After"] == "2"
        assert "too many quotes in progress" in busy.json()["error"]["problem"]
        assert client.get("/v1/quote", params=QUOTE).status_code == 404  # a free slot: on to the chain check


def test_a_hanging_chain_read_is_cut_at_the_deadline(repo: Repository) -> None:
    with SilentServer() as silent:
        client_of_chain = ChainClient.connect(1, [silent.url], timeout=30.0, max_attempts=1)
        app = create_app(
            ApiSettings(quote_deadline=0.5),
            repo=repo,
            deployments=[mainnet(1)],
            quoting={1: QuoteChain(client_of_chain, mainnet(1), ())},
        )
        with TestClient(app) as client:
            started = time.perf_counter()
            late = client.get("/v1/quote", params=QUOTE)
            elapsed = time.perf_counter() - started
            client.portal.call(client_of_chain.aclose)
    assert late.status_code == 503, late.text
    assert late.headers["Retry-After"] == "2"
    assert "longer than 0.5 s" in late.json()["error"]["problem"]
    assert elapsed < 15.0  # cut by the 0.5 s deadline, well before the client's own 30 s timeout (wide: load)


async def test_quotes_read_on_a_client_of_their_own() -> None:
    indexer = ChainClient.connect(1, ["http://127.0.0.1:1/#primary"], max_concurrency=8)
    own = quote_client(indexer)
    try:
        assert own.rpc is not indexer.rpc  # its own connection pool, concurrency and attempts
        assert [e.name for e in own.rpc.endpoints] == [e.name for e in indexer.rpc.endpoints]
        assert own.rpc.endpoints[0].semaphore._value == QUOTE_RPC_CONCURRENCY
        assert own.rpc.max_attempts == QUOTE_RPC_ATTEMPTS
        assert (own.multicall, own.max_calls_per_multicall) == (indexer.multicall, indexer.max_calls_per_multicall)
    finally:
        await own.aclose()
        await indexer.aclose()


async def test_tokens_by_address_are_resolved_once(monkeypatch: pytest.MonkeyPatch) -> None:
    reads: list[str] = []
    token = TokenInfo("ODD", "0x" + "ab" * 20, 7)

    async def resolve(_client: ChainClient, _deployment: object, name: str) -> TokenInfo:
        reads.append(name)
        return token

    monkeypatch.setattr(quotes, "resolve_token", resolve)
    client = ChainClient.connect(1, ["http://127.0.0.1:1"])
    chain = QuoteChain(client, mainnet(1), ())
    try:
        for _ in range(3):
            assert await quotes._token(client, chain, token.address, "sell") == token
    finally:
        await client.aclose()
    assert reads == [token.address]
