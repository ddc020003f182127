"""The API says what a protocol's figure could not count: one Curve pool is made unreadable on the devnet, the
real engine indexes it into a store, and the real app serves the figure with the pool listed beside it."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from defiscope.api import ApiSettings, create_app
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import BalanceKind
from defiscope.service.snapshots import save_result
from defiscope.store import Repository
from tests.protocols.curve.test_uncounted_pool import BROKEN, REVERTING
from tests.service.conftest import make_engine

SLUG = "curve"


async def test_protocol_views_list_the_positions_not_counted(eth_chain: DevnetChain, tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'uncounted.db'}"
    repo = Repository.open(url)
    engine = make_engine(devnet_deployment(eth_chain), eth_chain.rpc_url)
    pool = eth_chain.contracts[BROKEN]
    try:
        Sender.connect(eth_chain.rpc_url).rpc("anvil_setCode", [pool, REVERTING])
        result = await engine.snapshot(slugs={SLUG})
        save_result(repo, result)
        (snap,) = result.snapshots
        app = create_app(
            ApiSettings(database_url=url),
            repo=repo,
            deployments=[engine.deployment],
            infos={a.info.slug: a.info for a in engine.adapters},
        )
        with TestClient(app) as client:
            detail: dict[str, Any] = client.get(f"/v1/protocols/{SLUG}").json()
            listing = client.get("/v1/protocols").json()
            llama = client.get(f"/protocol/{SLUG}").json()
            llamas = client.get("/protocols").json()
            explained = client.get(f"/v1/protocols/{SLUG}/explain", params={"chain": "ethereum"}).json()
            history = client.get(f"/v1/protocols/{SLUG}/tvl", params={"interval": "block"}).json()
            chains = client.get("/v1/chains").json()
    finally:
        await engine.client.aclose()
        repo.close()

    assert detail["uncounted_count"] == 2
    assert detail["not_counted"].startswith("2 positions not counted: ")
    assert pool in detail["not_counted"]
    assert Decimal(detail["tvl_usd"]) == snap.total(BalanceKind.TVL) > 0  # the other pools stand
    listed = detail["not_counted_positions"]
    assert {p["token"] for p in listed} == {u.token for u in snap.uncounted}
    for p in listed:
        assert (p["chain"], p["holder"], p["cause"], p["amount"], p["value_usd"]) == (
            "ethereum",
            pool,
            "unread",
            None,
            None,
        )
        assert p["price_usd"] is not None  # the coin's price is known; its amount is not
    (summary,) = [i for i in listing["items"] if i["slug"] == SLUG]
    assert (summary["uncounted_count"], summary["not_counted"]) == (2, detail["not_counted"])
    # DefiLlama-compatible: its own fields untouched, ours beside them.
    assert llama["tvl"][-1]["totalLiquidityUSD"] > 0
    assert llama["notCountedCount"] == 2
    assert [p["holder"] for p in llama["notCountedPositions"]] == [pool, pool]
    (row,) = [p for p in llamas if p["slug"] == SLUG]
    assert row["notCounted"] == detail["not_counted"]
    assert explained["not_counted_summary"] == detail["not_counted"]
    assert len(explained["not_counted"]) == 2
    assert [p["uncounted_count"] for p in history["points"]] == [2]
    (ethereum,) = [c for c in chains if c["chain"] == "ethereum"]
    assert ethereum["uncounted_count"] == 2
