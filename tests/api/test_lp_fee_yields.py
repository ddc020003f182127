"""GET /v1/yields?kind=lp_fee serves the DEX pools' stored LP fee rates, exactly, on both devnet chains."""

from __future__ import annotations

from decimal import Decimal

from fastapi.testclient import TestClient

from defiscope.protocols.yields import YieldKind
from defiscope.store import Repository
from tests.api.conftest import FilledStore

DEXES = {"uniswap-v2", "uniswap-v3", "pancakeswap-v2", "pancakeswap-v3", "curve"}


def test_kind_lp_fee_lists_the_stored_pool_rates(client: TestClient, api_store: FilledStore) -> None:
    repo = Repository.open(api_store.url)
    try:
        stored = [s for s in repo.latest_yields() if s.rate.kind is YieldKind.LP_FEE]
    finally:
        repo.close()
    body = client.get("/v1/yields", params={"kind": "lp_fee"}).json()
    rows = [
        (i["protocol"], i["market"], i["asset"], i["symbol"], Decimal(i["apr"]), i["method"]) for i in body["items"]
    ]
    assert rows == [
        (s.rate.protocol, s.rate.market, s.rate.asset, s.rate.symbol, s.rate.apr, s.rate.method) for s in stored
    ]
    assert {i["protocol"] for i in body["items"]} == DEXES
    assert {i["kind"] for i in body["items"]} == {"lp_fee"}
    assert all("window" in i["method"] for i in body["items"])
