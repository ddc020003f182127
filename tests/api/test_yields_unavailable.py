"""GET /v1/yields lists the rates the newest indexed block could not read under `unavailable`, with the reason,
market and block, and never serves an older block's rate in their place: the real engine indexes the devnet
into a store, block by block, and the real app serves it."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient

from defiscope.api import ApiSettings, create_app
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.world import DevnetChain
from defiscope.service.snapshots import save_result
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.service.conftest import make_engine
from tests.yields.test_yield_gaps import break_pair, create_empty_pair

SLUG = "uniswap-v2"


async def index_head(engine: TvlEngine, repo: Repository) -> int:
    """Index the devnet's head (this protocol only) and store it as the indexer does; its number."""
    result = await engine.snapshot(slugs={SLUG})
    save_result(repo, result)
    return result.block.number


def get_yields(repo: Repository, engine: TvlEngine, url: str) -> dict[str, Any]:
    """/v1/yields of the protocol from a fresh app over the store (no response cached across blocks)."""
    app = create_app(
        ApiSettings(database_url=url),
        repo=repo,
        deployments=[engine.deployment],
        infos={a.info.slug: a.info for a in engine.adapters},
    )
    with TestClient(app) as client:
        response = client.get("/v1/yields", params={"chain": "ethereum", "protocol": SLUG})
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


async def test_unavailable_rates_are_listed_with_the_reason_never_an_older_rate(
    eth_chain: DevnetChain, tmp_path: Path
) -> None:
    url = f"sqlite:///{tmp_path / 'gaps.db'}"
    repo = Repository.open(url)
    engine = make_engine(devnet_deployment(eth_chain), eth_chain.rpc_url)
    pairs = {p.address for p in eth_chain.pools_of(SLUG)}
    try:
        first = await index_head(engine, repo)
        body = get_yields(repo, engine, url)
        assert {i["market"] for i in body["items"]} == pairs
        assert body["unavailable"] == []

        # A pair created without liquidity: a gap of the new block beside the other pairs' rates.
        pair, symbol = create_empty_pair(eth_chain, "WBTC", "USDC")
        second = await index_head(engine, repo)
        body = get_yields(repo, engine, url)
        assert {(i["market"], i["block"]["number"]) for i in body["items"]} == {(p, second) for p in pairs}
        [gap] = body["unavailable"]
        assert (gap["protocol"], gap["market"], gap["asset"], gap["symbol"], gap["kind"]) == (
            SLUG,
            pair,
            pair,
            symbol,
            "lp_fee",
        )
        assert gap["reason"] == f"at block {second}: no liquidity"
        assert (gap["chain"], gap["block"]["number"]) == ("ethereum", second)

        # A pair whose reads revert: its rate is a gap of this block with the reason (never the previous block's
        # rate), and the other pairs' rates stand — one pool never fails the protocol.
        broken = eth_chain.pools_of(SLUG)[0].address
        break_pair(eth_chain, broken)
        third = await index_head(engine, repo)
        body = get_yields(repo, engine, url)
        assert {(i["market"], i["block"]["number"]) for i in body["items"]} == {(p, third) for p in pairs - {broken}}
        gaps = {g["market"]: g for g in body["unavailable"]}
        assert set(gaps) == {broken, pair}
        assert (gaps[broken]["kind"], gaps[broken]["block"]["number"]) == ("lp_fee", third)
        assert f"{broken}.getReserves() failed" in gaps[broken]["reason"]
        assert first < second < third
    finally:
        await engine.client.aclose()
        repo.close()
