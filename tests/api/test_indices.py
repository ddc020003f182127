"""/v1/indices over a store with thirty synthetic days: the shipped indices' status, the values the tracker stored
per block (defi-pulse: not built on so short a history, with why), holdings at a block, and errors naming the
parameter (unknown index: 404; bad block range: 4xx)."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from defiscope.analytics.indices.history import Listing, StoreHistory, listings_for
from defiscope.analytics.indices.live import IndexTracker
from defiscope.analytics.indices.loader import load_definitions
from defiscope.analytics.indices.synthetic import SyntheticMarket
from defiscope.analytics.indices.venue import FixedFeeVenue
from defiscope.api import ApiSettings, create_app
from defiscope.api.context import QuoteChain
from defiscope.chain.client import ChainClient
from defiscope.deployments.mainnet import mainnet
from defiscope.store import Repository
from defiscope.store.indices import IndexValue, IndexValueStore


@pytest.fixture
def stored(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[tuple[TestClient, Repository, list[int]]]:
    url = f"sqlite:///{tmp_path / 'indices.db'}"
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", url)
    deployment = mainnet(1)
    market = SyntheticMarket.generate(days=30, addresses={s: t.address for s, t in deployment.tokens.items()})
    repo = Repository.open(url)
    market.write(repo)
    blocks = [p.block for p in market.points]
    values = IndexValueStore(repo.engine)
    pulse = load_definitions()["defi-pulse"]
    listings = listings_for(deployment, pulse)
    weth = deployment.tokens["WETH"]
    hub = Listing("WETH", "Hub", (), weth.address, weth.decimals)

    def opened(first: int | None, last: int | None) -> StoreHistory:
        return StoreHistory.load(repo, deployment, listings, first, last, None, extra=[hub])

    decimals = {s: t.decimals for s, t in deployment.tokens.items()}
    tracker = IndexTracker(pulse, 1, opened, FixedFeeVenue(Fraction(3, 1000)), decimals, values)
    tracker.advance(blocks[4])
    # defi-tvl as a tracker leaves it once built: a level, holdings and weights per block
    values.save(
        "defi-tvl",
        1,
        [
            IndexValue(b, Decimal(100) + i, Decimal(100), Decimal(99), {"UNI": 10**18 + i}, {"UNI": Decimal(1)}, i == 0)
            for i, b in enumerate(blocks[:5])
        ],
    )
    # the backtests here are refused before any chain read: the client's endpoint is never reached
    quoting = {1: QuoteChain(ChainClient.connect(1, ["http://127.0.0.1:9"]), deployment)}
    with TestClient(create_app(ApiSettings(database_url=url), quoting=quoting)) as client:
        yield client, repo, blocks
    repo.close()


def test_list_detail_history_and_holdings(stored: tuple[TestClient, Repository, list[int]]) -> None:
    client, _, blocks = stored
    listed = client.get("/v1/indices")
    assert listed.status_code == 200, listed.text
    items = {i["id"]: i for i in listed.json()["items"]}
    assert set(items) == {"defi-pulse", "defi-tvl", "defi-grade"}
    assert items["defi-tvl"]["status"] == "tracking"
    assert items["defi-tvl"]["latest"]["value"] == "104"
    assert items["defi-tvl"]["latest"]["block"]["number"] == blocks[4]
    assert items["defi-pulse"]["status"] == "not built"
    assert "the eligibility rules leave none" in items["defi-pulse"]["reason"]
    assert items["defi-grade"]["status"] == "not tracked"

    detail = client.get("/v1/indices/defi-pulse").json()
    assert detail["definition"]["weighting"]["method"] == "mcap"
    assert detail["index"]["latest"]["value"] is None

    history = client.get("/v1/indices/defi-tvl/history", params={"from_block": blocks[1], "to_block": blocks[3]})
    assert history.status_code == 200
    points = history.json()["points"]
    assert [p["block"]["number"] for p in points] == blocks[1:4]
    assert [p["value"] for p in points] == ["101", "102", "103"]
    assert {"equal_weight", "weth", "rebalanced", "reason"} <= set(points[0])
    assert [p["weights"] for p in points] == [{"UNI": "1"}] * 3
    newest = client.get("/v1/indices/defi-tvl/history", params={"limit": 2}).json()["points"]
    assert [p["block"]["number"] for p in newest] == blocks[3:5]
    pulse = client.get("/v1/indices/defi-pulse/history").json()["points"]
    assert [p["block"]["number"] for p in pulse] == blocks[:5]
    assert all(p["value"] is None and "eligibility" in p["reason"] for p in pulse)

    at = client.get("/v1/indices/defi-tvl/holdings", params={"block": blocks[2]}).json()
    assert at["block"]["number"] == blocks[2]
    assert at["holdings"] == [{"symbol": "UNI", "amount": str(10**18 + 2), "weight": "1"}]
    assert client.get("/v1/indices/defi-tvl/holdings").json()["block"]["number"] == blocks[4]


@pytest.mark.parametrize(
    ("path", "query", "status", "field", "problem"),
    [
        ("/v1/indices/nope", {}, 404, "id", "unknown index 'nope'; known: defi-grade, defi-pulse, defi-tvl"),
        ("/v1/indices/nope/history", {}, 404, "id", "unknown index 'nope'"),
        ("/v1/indices/nope/backtest", {}, 404, "id", "unknown index 'nope'"),
        ("/v1/indices/defi-tvl/history", {"from_block": 9, "to_block": 3}, 422, "from_block", "is after to_block 3"),
        ("/v1/indices/defi-tvl/history", {"from_block": -1}, 422, "from_block", ""),
        ("/v1/indices/defi-tvl/holdings", {"block": "x"}, 422, "block", ""),
        ("/v1/indices/defi-tvl/holdings", {"block": 3}, 404, "block", "no stored value at or before block 3"),
        ("/v1/indices/defi-tvl/backtest", {"from_block": 5}, 400, "from_block", "outside the stored history"),
        ("/v1/indices", {"chain": "nowhere"}, 404, "chain", ""),
        ("/v1/indices/defi-tvl/backtest", {}, 400, "request", "the eligibility rules leave none of 8 candidates"),
    ],
)
def test_errors_name_the_parameter(
    stored: tuple[TestClient, Repository, list[int]],
    path: str,
    query: dict[str, object],
    status: int,
    field: str | None,
    problem: str,
) -> None:
    client, _, _ = stored
    answer = client.get(path, params=query)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["field"] == field
    assert problem in error["problem"]


def test_the_schema_lists_the_index_operations(stored: tuple[TestClient, Repository, list[int]]) -> None:
    client, _, _ = stored
    paths = client.get("/openapi.json").json()["paths"]
    for suffix in ("", "/{index_id}", "/{index_id}/history", "/{index_id}/holdings", "/{index_id}/backtest"):
        assert "get" in paths[f"/v1/indices{suffix}"]
    history = paths["/v1/indices/{index_id}/history"]["get"]
    assert {p["name"] for p in history["parameters"]} == {"index_id", "chain", "from_block", "to_block", "limit"}


def test_a_backtest_needs_a_chain_the_server_reads(stored: tuple[TestClient, Repository, list[int]]) -> None:
    _, repo, _ = stored
    with TestClient(create_app(ApiSettings(database_url=str(repo.engine.url)))) as client:
        answer = client.get("/v1/indices/defi-tvl/backtest")
    assert answer.status_code == 404
    assert answer.json()["error"]["field"] == "chain"
    assert "reads no RPC for chain ethereum" in answer.json()["error"]["problem"]
