"""`new_protocol` rules over pools on the devnet: a pool the test creates (and funds) fires the rule with its
address, protocol, first block and TVL valued at the block's stored prices; the seeded pools, older than the
window, do not (although they hold far more)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from defiscope.alerts import manage
from defiscope.alerts.engine import BacktestRefused, backtest
from defiscope.alerts.figures import StoredFigures
from defiscope.alerts.pools import created_pools
from defiscope.alerts.rules import parse_rule
from defiscope.devnet import DevnetChain
from defiscope.protocols.uniswap.v3 import V3Adapter
from defiscope.store import Repository
from defiscope.store.alerts import RuleStore
from defiscope.tvl.engine import TvlEngine
from tests.alerts.conftest import Keyed, RecordingSink
from tests.alerts.test_live import follower
from tests.service.chainkit import block, head, mine
from tests.service.test_discovery import create_funded_pool

#: Seconds between the newest seeded pool and the new one, at least: the window is half of it.
GAP = 240


def timestamp(chain: DevnetChain, number: int) -> int:
    return int(block(chain, number)["timestamp"], 16)


async def test_a_new_pool_above_the_tvl_fires_and_older_pools_do_not(
    tvl_engine: TvlEngine, eth_chain: DevnetChain, repo: Repository, sink: RecordingSink, owner: Keyed
) -> None:
    await tvl_engine.snapshot()  # discovery: every pool so far
    newest = created_pools(tvl_engine, head(eth_chain))[0]
    if timestamp(eth_chain, head(eth_chain)) - timestamp(eth_chain, newest.block) < GAP:
        mine(eth_chain, 1, GAP)
    window = (timestamp(eth_chain, head(eth_chain)) - timestamp(eth_chain, newest.block)) // 2
    body: dict[str, Any] = {
        "kind": "new_protocol",
        "params": {"chain": "1", "scope": "pool", "min_tvl_usd": 100, "within_days": str(Decimal(window) / 86_400)},
    }
    stored, _ = manage.create(parse_rule(body), owner.stored.key_id)
    RuleStore(repo.engine).add(stored)

    chain, _ = follower(tvl_engine, repo, sink)
    await chain.step(None)
    assert sink.events() == [], "the seeded pools are older than the window"

    (v3,) = [a for a in tvl_engine.adapters if isinstance(a, V3Adapter) and a.info.slug == "uniswap-v3"]
    pool = create_funded_pool(eth_chain, v3.factory, 10**18)  # created, then 1 WETH sent to it: two blocks
    await chain.step(None)

    fired = head(eth_chain)
    assert sink.events() == [("alert.firing", fired)]
    data = sink.given[0][0].body()["data"]
    evidence = data["evidence"]
    (found,) = [c for c in created_pools(tvl_engine, fired) if c.address == pool]
    assert (evidence["pool"], evidence["protocol"], evidence["first_block"]) == (pool, "uniswap-v3", found.block)
    assert evidence["first_block_timestamp"] == timestamp(eth_chain, found.block)
    figures = StoredFigures(repo.engine).at(1, fired)
    assert figures is not None
    weth = figures.price("WETH")
    assert weth is not None
    assert Decimal(evidence["tvl_usd"]) == Decimal(data["value"]) == weth.usd  # 1 WETH, nothing of the other side
    assert {t["symbol"]: t["amount"] for t in evidence["tokens"]}["WETH"] == str(10**18)
    assert evidence["subject"] == f"uniswap-v3:{pool}"

    with pytest.raises(BacktestRefused, match="live only"):
        await backtest(StoredFigures(repo.engine), stored, fired - 2, fired)
