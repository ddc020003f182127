"""/v1 against a store the real engine filled on the devnet: every figure equals the stored one, exactly."""

from __future__ import annotations

import json
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from defiscope.api import ApiSettings, create_app
from defiscope.api.context import Live
from defiscope.protocols.base import BalanceKind
from defiscope.store import Repository
from defiscope.tvl.explain import explain
from defiscope.tvl.model import exact_sum
from tests.api.conftest import ROUNDS, FilledStore, make_app
from tests.store.storekit import block, make_snapshot


@pytest.fixture
def repo(api_store: FilledStore) -> Iterator[Repository]:
    store = Repository.open(api_store.url)
    yield store
    store.close()


def test_protocols_are_ranked_with_exact_totals_and_blocks(client: TestClient, repo: Repository) -> None:
    page = client.get("/v1/protocols").json()
    latest = repo.latest_snapshots()
    expected = {
        slug: exact_sum(s.total(BalanceKind.TVL) for s in latest if s.slug == slug) for slug in {s.slug for s in latest}
    }
    assert page["total"] == len(expected)
    assert {i["slug"]: Decimal(i["tvl_usd"]) for i in page["items"]} == expected
    tvls = [Decimal(i["tvl_usd"]) for i in page["items"]]
    assert tvls == sorted(tvls, reverse=True)
    blocks = repo.latest_blocks()
    for item in page["items"]:
        for b in item["blocks"]:
            assert (b["number"], b["hash"]) == (blocks[b["chain_id"]].number, blocks[b["chain_id"]].hash)


def test_change_1h_is_the_stored_change(client: TestClient, repo: Repository) -> None:
    item = next(i for i in client.get("/v1/protocols").json()["items"] if i["slug"] == "uniswap-v2")
    now = exact_sum(s.total(BalanceKind.TVL) for s in repo.latest_snapshots() if s.slug == "uniswap-v2")
    before = []
    for chain_id in (1, 56):
        latest = repo.latest_snapshot("uniswap-v2", chain_id)
        assert latest is not None
        past = repo.snapshot_before("uniswap-v2", chain_id, latest.block.timestamp - 3600)
        assert past is not None
        before.append(past.total(BalanceKind.TVL))
    assert Decimal(item["change_1h"]) == (now - exact_sum(before)) / exact_sum(before) * 100
    assert Decimal(item["change_1h"]) > 0  # ETH went up 1 % a round
    assert item["change_1d"] is None
    assert item["change_7d"] is None


def test_pagination_sorting_and_filters(client: TestClient) -> None:
    full = client.get("/v1/protocols").json()["items"]
    page = client.get("/v1/protocols", params={"limit": 1, "offset": 1}).json()
    assert page["items"] == full[1:2]
    assert page["limit"] == 1
    assert page["offset"] == 1
    by_name = client.get("/v1/protocols", params={"sort": "name", "order": "asc"}).json()["items"]
    assert [i["name"].lower() for i in by_name] == sorted(i["name"].lower() for i in full)
    bsc_only = client.get("/v1/protocols", params={"chain": "bsc"}).json()["items"]
    assert {i["slug"] for i in bsc_only} == {i["slug"] for i in full if "bsc" in i["chains"]}
    assert "pancakeswap-v2" in {i["slug"] for i in bsc_only}
    eth_only = client.get("/v1/protocols", params={"chain": "1"}).json()["items"]
    assert "pancakeswap-v2" not in {i["slug"] for i in eth_only}
    treasuries = client.get("/v1/protocols", params={"category": "treasury"}).json()["items"]
    assert [i["slug"] for i in treasuries] == ["devnet-treasury"]


def test_protocol_detail_breaks_down_by_chain_token_and_kind(client: TestClient, repo: Repository) -> None:
    doc = client.get("/v1/protocols/uniswap-v2").json()
    snaps = [s for s in repo.latest_snapshots() if s.slug == "uniswap-v2"]
    assert set(doc["by_chain"]) == {"ethereum", "bsc"}
    for s in snaps:
        chain = doc["by_chain"]["ethereum" if s.chain_id == 1 else "bsc"]
        assert Decimal(chain["tvl_usd"]) == s.total(BalanceKind.TVL)
        assert chain["block"]["number"] == s.block.number
    tokens = [t for s in snaps for t in s.tokens]
    assert [(t["token"], int(t["amount"]), t["kind"]) for t in doc["by_token"]] == [
        (t.token, t.amount, t.kind.value) for t in tokens
    ]
    assert [Decimal(t["value_usd"]) for t in doc["by_token"]] == [t.value_usd for t in tokens]
    assert Decimal(doc["by_kind"]["tvl_usd"]) == Decimal(doc["tvl_usd"])
    assert doc["methodology"].startswith("Both reserves")


def test_history_by_block_and_by_hour(client: TestClient, repo: Repository) -> None:
    raw = client.get("/v1/protocols/uniswap-v2/tvl", params={"interval": "block", "chain": "ethereum"}).json()
    stored = repo.history("uniswap-v2", 1)
    assert len(stored) == ROUNDS
    assert [(p["blocks"][0]["number"], Decimal(p["tvl_usd"])) for p in raw["points"]] == [
        (p.block.number, p.tvl_usd) for p in stored
    ]
    hourly = client.get("/v1/protocols/uniswap-v2/tvl", params={"interval": "hour"}).json()["points"]
    assert all(p["timestamp"] % 3600 == 0 for p in hourly)
    last = hourly[-1]
    assert Decimal(last["tvl_usd"]) == exact_sum(
        s.total(BalanceKind.TVL) for s in repo.latest_snapshots() if s.slug == "uniswap-v2"
    )


def test_explain_is_the_provenance_document(client: TestClient, repo: Repository) -> None:
    first = repo.history("uniswap-v2", 1)[0].block.number
    doc = client.get("/v1/protocols/uniswap-v2/explain", params={"chain": "ethereum", "block": first}).json()
    snap = repo.snapshot_at("uniswap-v2", 1, first)
    assert snap is not None
    assert doc == json.loads(json.dumps(explain(snap)))  # tuples arrive as lists
    assert doc["calls"], "the adapter's calls are the provenance"
    # Each call says the block it was pinned to: the snapshot's, or an older one its adapter read at (`Reader.at`).
    assert [c["block"] for c in doc["calls"]] == [first if c.block is None else c.block for c in snap.calls]
    assert all(c["block"] <= first for c in doc["calls"])
    assert any(c["block"] == first for c in doc["calls"])
    ambiguous = client.get("/v1/protocols/uniswap-v2/explain")
    assert ambiguous.status_code == 422
    assert ambiguous.json()["error"]["field"] == "chain"


def test_chains_count_each_underlying_once(client: TestClient, repo: Repository) -> None:
    chains = {c["chain"]: c for c in client.get("/v1/chains").json()}
    for chain_id, name in ((1, "ethereum"), (56, "bsc")):
        snaps = repo.latest_snapshots(chain_id)
        assert Decimal(chains[name]["sum_of_protocols_usd"]) == exact_sum(s.total(BalanceKind.TVL) for s in snaps)
        assert chains[name]["protocols"] == len(snaps)
    history = client.get("/v1/chains/ethereum/tvl", params={"interval": "block"}).json()
    assert [(p["block"]["number"], Decimal(p["tvl_usd"])) for p in history["points"]] == [
        (p.block.number, p.tvl_usd) for p in repo.chain_history(1)
    ]


def test_prices_latest_and_history(client: TestClient, repo: Repository, api_store: FilledStore) -> None:
    weth = api_store.deployments[0].token("WETH").address
    asked = f"ethereum:{weth.lower()}"
    doc = client.get("/v1/prices", params={"tokens": f"{asked},bsc:{'0x' + '11' * 20}"}).json()
    quote = repo.latest_price(1, weth)
    assert quote is not None
    assert doc["missing"] == [f"bsc:{'0x' + '11' * 20}"]
    (price,) = doc["prices"]
    assert (price["token"], price["address"], price["symbol"]) == (asked, weth, "WETH")
    assert (Decimal(price["usd"]), price["source"], price["timestamp"]) == (quote.usd, quote.source, quote.timestamp)
    history = client.get("/v1/prices/history", params={"token": asked}).json()["points"]
    assert [Decimal(p["usd"]) for p in history] == [q.usd for q in repo.prices(1, weth)]
    assert Decimal(history[-1]["usd"]) / Decimal(history[0]["usd"]) == Decimal("1.0201")  # +1 % twice


def test_health_names_each_chain_last_block(client: TestClient, repo: Repository) -> None:
    doc = client.get("/v1/health").json()
    blocks = repo.latest_blocks()
    assert doc["status"] == "ok"
    assert {(c["chain_id"], c["last_block"]) for c in doc["chains"]} == {
        (b.chain_id, b.number) for b in blocks.values()
    }
    assert all(c["head_block"] is None for c in doc["chains"])  # no live chains in this app


def test_etag_gives_304_and_changes_with_a_new_block(client: TestClient, api_store: FilledStore) -> None:
    first = client.get("/v1/protocols")
    etag = first.headers["etag"]
    again = client.get("/v1/protocols", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""
    other = client.get("/v1/protocols", params={"limit": 2})
    assert other.headers["etag"] != etag
    assert client.get("/v1/protocols", headers={"If-None-Match": f'W/{etag}, "x"'}).status_code == 304


def test_metrics_count_requests(client: TestClient) -> None:
    client.get("/v1/chains")
    text = client.get("/metrics").text
    assert 'defiscope_http_requests_total{method="GET",route="/v1/chains",status="200"} 1.0' in text
    assert 'defiscope_last_indexed_block{chain="1"}' in text


def test_a_new_stored_block_changes_the_answer_and_its_etag_once_built(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'moving.db'}"
    repo = Repository.open(url)
    try:
        repo.save_snapshot(make_snapshot("uniswap-v2", block(100)))
        with TestClient(create_app(ApiSettings(database_url=url, version_ttl=0.0))) as client:
            first = client.get("/v1/protocols/uniswap-v2")
            assert first.json()["blocks"][0]["number"] == 100
            assert first.headers["x-defiscope-blocks"] == "1=100"
            repo.save_snapshot(make_snapshot("uniswap-v2", block(101), scale=2))
            # At once: the previous answer, which the client holds (304), marked stale while block 101's builds.
            held = client.get("/v1/protocols/uniswap-v2", headers={"If-None-Match": first.headers["etag"]})
            assert (held.status_code, held.headers["etag"]) == (304, first.headers["etag"])
            assert float(held.headers["x-defiscope-stale"]) >= 0
            deadline = time.monotonic() + 10
            while (
                second := client.get("/v1/protocols/uniswap-v2", headers={"If-None-Match": first.headers["etag"]})
            ).status_code == 304:
                assert time.monotonic() < deadline, "block 101's answer did not land within 10 s"
                time.sleep(0.02)
            assert second.status_code == 200
            assert "x-defiscope-stale" not in second.headers
            assert second.headers["x-defiscope-blocks"] == "1=101"
            assert second.headers["etag"] != first.headers["etag"]
            assert second.json()["blocks"][0]["number"] == 101
            latest = repo.latest_snapshot("uniswap-v2", 1)
            assert latest is not None
            assert Decimal(second.json()["tvl_usd"]) == latest.total(BalanceKind.TVL)
    finally:
        repo.close()


def test_health_lists_the_blocks_the_follower_skipped(api_store: FilledStore, repo: Repository) -> None:
    chain_id = min(repo.latest_blocks())
    skipped = (10, 19, 10, "the node no longer serves these blocks' state (pruned)")
    live = Live(heads=lambda: {chain_id: None}, rpc=dict, gaps=lambda: {chain_id: [skipped]})
    app = create_app(
        ApiSettings(database_url=api_store.url), deployments=api_store.deployments, infos=api_store.infos, live=live
    )
    with TestClient(app) as test_client:
        chains = {c["chain_id"]: c for c in test_client.get("/v1/health").json()["chains"]}
    assert chains[chain_id]["gaps"] == [dict(zip(("from_block", "to_block", "blocks", "reason"), skipped, strict=True))]
    assert all(c["gaps"] == [] for cid, c in chains.items() if cid != chain_id)


def test_every_answer_carries_the_security_headers(client: TestClient) -> None:
    for path in ("/v1/protocols", "/v1/protocols/no-such-protocol", "/protocols", "/"):
        answer = client.get(path)
        assert answer.headers["x-content-type-options"] == "nosniff", path
        assert answer.headers["x-frame-options"] == "DENY", path
        assert answer.headers["referrer-policy"] == "no-referrer", path


def test_cache_key_is_the_validated_parameters(client: TestClient) -> None:
    """A repeated parameter counts with its last value (as FastAPI reads it) whatever the order; unknown
    parameters neither change the answer nor add cache entries."""
    cache = client.app.state.ctx.cache  # type: ignore[attr-defined]
    two = client.get("/v1/protocols", params={"limit": 2}).json()
    assert len(two["items"]) == 2
    assert len(client.get("/v1/protocols?limit=2&limit=1").json()["items"]) == 1
    assert len(client.get("/v1/protocols?limit=1&limit=2").json()["items"]) == 2
    entries, _ = cache.size
    for junk in range(5):
        assert client.get(f"/v1/protocols?limit=2&junk={junk}").json() == two
    assert cache.size[0] == entries


def test_cache_is_bounded_in_bytes(api_store: FilledStore) -> None:
    with TestClient(make_app(api_store, cache_bytes=4096)) as small:
        for limit in range(1, 12):
            assert small.get("/v1/protocols", params={"limit": limit}).status_code == 200
        entries, size = small.app.state.ctx.cache.size  # type: ignore[attr-defined]
        assert 0 < entries < 11
        assert size <= 4096
