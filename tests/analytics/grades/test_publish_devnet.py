"""Grades published by the indexer's hook on a devnet market: the simulation ticks, the real indexer stores each
tick's block, and `GradesHook` publishes at most every `EVERY` of block time — with the totalSupply reads through
the engines' own clients. What was published at a block stays what `--at-block` answers after more indexing.

Same devnet set-up as test_point_in_time_devnet.py (a devnet of its own: the warped days would leave the session
chains weeks ahead for the tests after this one).
"""

from __future__ import annotations

import json
from decimal import Decimal
from itertools import pairwise

from defiscope.analytics.grades.compute import graded_tokens
from defiscope.analytics.grades.hook import GradesHook, engine_readers, grades_hook
from defiscope.analytics.grades.published import history_of, publication_at
from defiscope.devnet import Devnet
from defiscope.devnet.deployment import devnet_deployment
from defiscope.service.indexer import Indexer
from defiscope.store import Repository
from defiscope.store.grades import GradeStore
from defiscope.tvl.engine import TvlEngine
from tests.analytics.grades.kit import SHARES
from tests.analytics.grades.test_point_in_time_devnet import engines, own_devnet, repo, run_market  # noqa: F401

TICK_GAP = 47 * 3600
EVERY = 4 * 24 * 3600  # 96 h: every third tick of 47 h
TICKS = 21


async def test_the_hook_publishes_at_its_interval_and_publications_stay(
    own_devnet: Devnet,  # noqa: F811
    engines: dict[int, TvlEngine],  # noqa: F811
    repo: Repository,  # noqa: F811
) -> None:
    eth, bnb = own_devnet.chain(1), own_devnet.chain(56)
    tokens = graded_tokens([devnet_deployment(eth), devnet_deployment(bnb)])
    hook = GradesHook(repo, engine_readers(engines), tokens, every_seconds=EVERY, revenue_shares=SHARES)
    assert grades_hook(repo, engines).tokens == tokens  # serve's wiring finds the same tokens in the registries
    indexer = Indexer(engines, repo, hooks=(hook,))
    seen: dict[int, str] = {}  # what `--at-block` answered right after each block of chain 1 was indexed

    def remember(number: int) -> None:
        seen[number] = publication_at(repo, number).document

    indexed = await run_market(own_devnet, indexer, (21, 22), TICKS, TICK_GAP, remember)

    store = GradeStore(repo.engine)
    published = store.publications(1)
    # The first indexed block publishes; then every third tick (two ticks are 94 h, short of the 96 h interval).
    assert [p.block.number for p in published] == indexed[::3]
    times = [p.block.timestamp for p in published]
    assert all(later - earlier >= EVERY for earlier, later in pairwise(times))
    # `--at-block N` after all the later indexing is exactly what it was right after N was indexed.
    for number, document in seen.items():
        assert publication_at(repo, number).document == document
    # A month of market gives grades, with supplies read on the chains: price_to_fees has values.
    newest = json.loads(published[-1].document)
    graded = [g for g in newest["grades"] if g["trader_grade"] is not None]
    assert len(graded) >= 3, [(g["slug"], g["trader_grade_missing"]) for g in newest["grades"]]
    # Aave's: a tick is one block 47 h after the last, so Uniswap's 24-h LP-fee windows have no start (gaps).
    aave = next(g for g in newest["grades"] if g["slug"] == "aave")
    to_fees = next(f for f in aave["factors"] if f["name"] == "price_to_fees")
    assert to_fees["value"] is not None, to_fees["missing_reason"]
    # Its revenue: each reserve's borrow interest x the reserve factor read with the rate (no constant given:
    # `SHARES` is empty), so a part of the fees, strictly.
    fees, revenue = (next(f for f in aave["factors"] if f["name"] == n) for n in ("fees_30d_usd", "revenue_30d_usd"))
    assert revenue["value"] is not None, revenue["missing_reason"]
    assert 0 < float(revenue["value"]) < float(fees["value"])
    # Lido's: stakers' rate (net of the fee) x TVL staked, and the fee read with the rate (getFee 1,000 of 10,000),
    # so the revenue is fees x 0.1 / 0.9.
    lido = next(g for g in newest["grades"] if g["slug"] == "lido")
    fees, revenue = (next(f for f in lido["factors"] if f["name"] == n) for n in ("fees_30d_usd", "revenue_30d_usd"))
    assert fees["value"] is not None, fees["missing_reason"]
    assert revenue["value"] is not None, revenue["missing_reason"]
    assert abs(Decimal(revenue["value"]) * 9 / Decimal(fees["value"]) - 1) < Decimal("1e-12")
    assert len(history_of(repo, "uniswap")) == len(published)
