"""DefiLlama's coins API: `coingecko:<id>` next to `chain:address`, /batchHistorical, /percentage,
/prices/first and /block, answered from the stored quotes and blocks; the PyPI `defillama` client's coins
calls against a real server."""

from __future__ import annotations

import json
from collections.abc import Iterator
from decimal import Decimal
from types import SimpleNamespace
from typing import Any

import defillama.defillama as llama_module
import pytest
from defillama import DefiLlama
from fastapi.testclient import TestClient

from defiscope.api.coins import _bisect
from defiscope.chain.block import BlockRef
from defiscope.store import Repository
from tests.api.conftest import FilledStore, make_app
from tests.api.serverkit import serving


@pytest.fixture
def repo(api_store: FilledStore) -> Iterator[Repository]:
    store = Repository.open(api_store.url)
    yield store
    store.close()


def _weth(store: FilledStore) -> str:
    return store.deployments[0].token("WETH").address


def test_coingecko_ids_answer_as_their_token(client: TestClient, repo: Repository, api_store: FilledStore) -> None:
    weth = _weth(api_store)
    quote = repo.latest_price(1, weth)
    assert quote is not None
    by_address = client.get(f"/prices/current/ethereum:{weth}").json()["coins"][f"ethereum:{weth}"]
    doc = client.get("/prices/current/coingecko:weth,coingecko:no-such-coin").json()["coins"]
    assert set(doc) == {"coingecko:weth"}  # unknown ids are left out, as DefiLlama does
    assert doc["coingecko:weth"] == {k: v for k, v in by_address.items() if k != "decimals"}
    assert doc["coingecko:weth"]["price"] == float(quote.usd)
    first = repo.prices(1, weth)[0]
    at = client.get(f"/prices/historical/{first.timestamp}/coingecko:weth", params={"searchWidth": "60"}).json()
    assert at["coins"]["coingecko:weth"]["price"] == float(first.usd)
    bad = client.get("/prices/current/coingecko:Not%20An%20Id")
    assert (bad.status_code, bad.json()["error"]["field"]) == (422, "coins")


def test_batch_historical(client: TestClient, repo: Repository, api_store: FilledStore) -> None:
    weth = _weth(api_store)
    quotes = repo.prices(1, weth)
    stamps = sorted({q.timestamp for q in quotes})
    asked = {"coingecko:weth": stamps, f"ethereum:{weth}": [stamps[0]], "coingecko:nope": [stamps[0]]}
    doc = client.get("/batchHistorical", params={"coins": json.dumps(asked), "searchWidth": "60"}).json()["coins"]
    assert set(doc) == {"coingecko:weth", f"ethereum:{weth}"}
    series = doc["coingecko:weth"]
    assert series["symbol"] == "WETH"
    best = {t: max((q for q in quotes if q.timestamp == t), key=lambda q: q.confidence) for t in stamps}
    assert [(p["timestamp"], p["price"]) for p in series["prices"]] == [(t, float(best[t].usd)) for t in stamps]
    for bad in (
        "not json",
        "[1]",
        '{"coingecko:weth": [1.5]}',
        '{"coingecko:weth": [true]}',
        json.dumps({"a": [1] * 501}),
    ):
        answer = client.get("/batchHistorical", params={"coins": bad})
        assert (answer.status_code, answer.json()["error"]["field"]) == (422, "coins"), bad


def test_percentage_change_over_the_stored_rounds(client: TestClient, repo: Repository, api_store: FilledStore) -> None:
    weth = _weth(api_store)
    quotes = repo.prices(1, weth)
    first = max((q for q in quotes if q.timestamp == quotes[0].timestamp), key=lambda q: q.confidence)
    last = repo.latest_price(1, weth)
    assert last is not None
    period = last.timestamp - first.timestamp
    doc = client.get("/percentage/coingecko:weth", params={"timestamp": last.timestamp, "period": str(period)}).json()[
        "coins"
    ]
    assert doc == {"coingecko:weth": float((last.usd - first.usd) / first.usd * 100)}
    assert Decimal(str(doc["coingecko:weth"])) > 0  # the fixture raised the ETH price each round
    ahead = client.get(
        "/percentage/coingecko:weth",
        params={"timestamp": first.timestamp, "period": str(period), "lookForward": "true"},
    ).json()["coins"]
    assert ahead == doc
    # No quote a day before the first one: the change is unknown, so the coin is left out (not 0).
    before = client.get("/percentage/coingecko:weth", params={"timestamp": first.timestamp}).json()
    assert before == {"coins": {}}


def test_first_price_and_block(client: TestClient, repo: Repository, api_store: FilledStore) -> None:
    weth = _weth(api_store)
    first = repo.prices(1, weth)[0]
    doc = client.get(f"/prices/first/ethereum:{weth}").json()["coins"][f"ethereum:{weth}"]
    assert (doc["price"], doc["timestamp"], doc["symbol"]) == (float(first.usd), first.timestamp, "WETH")
    blocks = sorted((p.block for p in repo.chain_history(1)), key=lambda b: b.number)
    a, b = blocks[0], blocks[1]
    assert client.get(f"/block/ethereum/{a.timestamp}").json() == {
        "height": a.number,
        "timestamp": a.timestamp,
        "among": "stored",
    }
    nearer_b = b.timestamp - (b.timestamp - a.timestamp) // 3
    assert client.get(f"/block/1/{nearer_b}").json()["height"] == b.number
    assert client.get("/block/ethereum/0").json()["height"] == a.number
    assert client.get("/block/²/0").status_code == 422


async def test_bisect_finds_the_adjacent_blocks() -> None:
    reads: list[int] = []

    async def block(number: int) -> BlockRef:
        reads.append(number)
        return BlockRef(1, number, "0x" + "00" * 32, 1_000 + 12 * number)

    ctx: Any = SimpleNamespace(quoting={1: SimpleNamespace(client=SimpleNamespace(block=block))})
    low, high = BlockRef(1, 0, "0x", 1_000), BlockRef(1, 1 << 20, "0x", 1_000 + 12 * (1 << 20))
    found = await _bisect(ctx, 1, low, high, 1_000 + 12 * 777_777 + 5)
    assert (found[0].number, found[1].number) == (777_777, 777_778)
    assert len(reads) == 20  # log2 of the gap


def test_defillama_client_coins_calls(api_store: FilledStore, monkeypatch: pytest.MonkeyPatch) -> None:
    weth = _weth(api_store)
    with serving(make_app(api_store)) as base_url:
        monkeypatch.setattr(llama_module, "BASE_URL", base_url)
        client = DefiLlama()
        send = client._send_message
        # The client sends /batchHistorical to coins.llama.fi as a full URL: point it here too.
        monkeypatch.setattr(
            client,
            "_send_message",
            lambda method, endpoint, **kw: send(method, endpoint.replace("https://coins.llama.fi", base_url), **kw),
        )
        repo = Repository.open(api_store.url)
        try:
            stamps = sorted({q.timestamp for q in repo.prices(1, weth)})
            blocks = sorted((p.block for p in repo.chain_history(1)), key=lambda b: b.number)
        finally:
            repo.close()
        batch = client.get_batch_historical_prices(json.dumps({"coingecko:weth": stamps}))
        assert len(batch["coins"]["coingecko:weth"]["prices"]) == len(stamps)
        change = client.get_percentage_price_change(
            "coingecko:weth", timestamp=stamps[-1], period=f"{stamps[-1] - stamps[0]}"
        )
        assert change["coins"]["coingecko:weth"] > 0
        # The client's "earliest price" asks /percentage with its defaults: no stored quote a day before now.
        assert client.get_earliest_ts_price("coingecko:weth") == {"coins": {}}
        assert client.get_closest_ts_block("ethereum", blocks[-1].timestamp)["height"] == blocks[-1].number
        current = client.get_token_current_prices("coingecko:weth")["coins"]["coingecko:weth"]
        assert current["symbol"] == "WETH"
