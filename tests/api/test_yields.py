"""GET /v1/yields over the store the real engine filled on the devnet: rows equal the stored yields exactly,
filters work, each row names its block, bad input is a 4xx naming the field, and the body is cached."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from fractions import Fraction

import pytest
from fastapi.testclient import TestClient

from defiscope.store import Repository
from tests.api.conftest import FilledStore


@pytest.fixture
def repo(api_store: FilledStore) -> Iterator[Repository]:
    store = Repository.open(api_store.url)
    yield store
    store.close()


def test_yields_are_the_stored_rates_of_the_latest_block(client: TestClient, repo: Repository) -> None:
    body = client.get("/v1/yields").json()
    # Every stored row, Lido's staking rate too (the adapter stores it per block from TokenRebased).
    stored = repo.latest_yields()
    assert {y.rate.protocol for y in stored} >= {"aave-v3", "compound-v2", "compound-v3", "lido"}
    fields = ("protocol", "market", "asset", "symbol", "kind", "apr", "apy", "method")
    rows = [tuple(Decimal(i[f]) if f in ("apr", "apy") else i[f] for f in fields) for i in body["items"]]
    rates = [s.rate for s in stored]
    assert rows == [(r.protocol, r.market, r.asset, r.symbol, r.kind.value, r.apr, r.apy, r.method) for r in rates]
    assert all("E" not in i["apr"] and "E" not in i["apy"] for i in body["items"])  # plain decimal strings
    # Each rate's revenue share, as read from its knob with it: borrow rates carry their reserve factor.
    shares = [(i["protocol_share"], i["protocol_share_source"]) for i in body["items"]]
    read = [s.rate.fee_share for s in stored]
    assert shares == [
        (None, None) if f is None else (None if f.share is None else str(f.share), f.source) for f in read
    ]
    borrow = [i for i in body["items"] if i["protocol"] == "aave-v3" and i["kind"] == "borrow"]
    assert borrow
    assert all(Fraction(i["protocol_share"]) > 0 and "reserve factor" in i["protocol_share_source"] for i in borrow)
    blocks = repo.latest_blocks()
    for item in body["items"]:
        latest = blocks[item["block"]["chain_id"]]
        assert (item["block"]["number"], item["block"]["hash"]) == (latest.number, latest.hash)
    names = {i["protocol"]: i["name"] for i in body["items"]}
    assert names["aave-v3"] == "Aave V3"


def test_filters_by_chain_protocol_and_kind(client: TestClient, repo: Repository) -> None:
    body = client.get("/v1/yields", params={"chain": "ethereum", "protocol": "compound-v3", "kind": "borrow"}).json()
    expected = [s for s in repo.latest_yields(1, "compound-v3") if s.rate.kind.value == "borrow"]
    assert [(i["market"], Decimal(i["apr"])) for i in body["items"]] == [(s.rate.market, s.rate.apr) for s in expected]
    assert len(expected) == 4  # one borrow rate per Comet (USDC, WETH, USDT, wstETH)
    assert client.get("/v1/yields", params={"chain": "bsc", "protocol": "compound-v3"}).json() == {
        "items": [],
        "unavailable": [],
        "total": 0,
        "offset": 0,
        "limit": 500,
    }


def test_pages_cover_every_rate_once(client: TestClient) -> None:
    whole = client.get("/v1/yields").json()
    assert whole["total"] == len(whole["items"]) > 7
    pages = [client.get("/v1/yields", params={"limit": 7, "offset": o}).json() for o in range(0, whole["total"], 7)]
    assert [i for page in pages for i in page["items"]] == whole["items"]
    assert {page["total"] for page in pages} == {whole["total"]}
    assert client.get("/v1/yields", params={"limit": 501}).status_code in (400, 422)  # past the page maximum


def test_pages_of_one_kind_are_that_kind_s_rates_in_order(client: TestClient) -> None:
    # The store filters, counts and slices (a scale world's tens of thousands of rates are not loaded for a page):
    # the pages of one kind are exactly that kind's rates of the whole list, in its order.
    whole = client.get("/v1/yields").json()
    borrow = [i for i in whole["items"] if i["kind"] == "borrow"]
    assert 3 < len(borrow) < whole["total"]
    pages = [
        client.get("/v1/yields", params={"kind": "borrow", "limit": 3, "offset": o}).json()
        for o in range(0, len(borrow) + 3, 3)
    ]
    assert [i for page in pages for i in page["items"]] == borrow
    assert {page["total"] for page in pages} == {len(borrow)}
    assert pages[-1]["items"] == []  # past the last rate: an empty page, the total still said


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"kind": "lend"}, 422, "kind"),
        ({"chain": "nowhere"}, 404, "chain"),
        ({"protocol": "no-such-protocol"}, 404, "protocol"),
        ({"protocol": "bad slug!"}, 422, "protocol"),
    ],
)
def test_bad_input_names_the_field(client: TestClient, query: dict[str, str], status: int, field: str) -> None:
    response = client.get("/v1/yields", params=query)
    assert response.status_code == status
    assert response.json()["error"]["field"] == field


def test_cached_with_an_etag_and_in_the_openapi(client: TestClient) -> None:
    first = client.get("/v1/yields")
    again = client.get("/v1/yields", headers={"If-None-Match": first.headers["ETag"]})
    assert again.status_code == 304
    schema = client.get("/openapi.json").json()
    kinds = schema["components"]["schemas"]["KindParam"]["enum"]
    assert "/v1/yields" in schema["paths"]
    assert kinds == ["supply", "borrow", "staking", "lp_fee"]
