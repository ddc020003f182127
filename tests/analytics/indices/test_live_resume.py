"""A live tracker resumes from stored state: trackers restarted at several blocks (before the index is built,
between rebalances, right after one) store exactly the rows one uninterrupted tracker stores, and each restarted
tracker reads the history from the block after the last stored one, never from the first."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from defiscope.analytics.indices.definition import IndexDefinition
from defiscope.analytics.indices.history import StoreHistory
from defiscope.analytics.indices.live import IndexTracker
from defiscope.analytics.indices.synthetic import SyntheticMarket, SyntheticVenue
from defiscope.analytics.indices.venue import decimals_of
from defiscope.store import Repository
from defiscope.store.indices import IndexValueStore, StoredIndexValue

DAYS = 45
COMMON = {
    "description": "The graded tokens, capped at 30 %, built once they are 4 days old.",
    "eligibility": {
        "categories": ["Dexes", "Lending", "CDP", "Liquid Staking", "Restaking"],
        "max_members": 6,
        "min_tvl_usd": 1_000_000_000,
        "min_age_days": 4,
    },
    "base_value": 100,
    "base_date": "2025-01-01",
}
WEEKLY_MCAP = IndexDefinition.model_validate(
    COMMON
    | {
        "id": "weekly-mcap",
        "name": "Weekly market cap",
        "weighting": {"method": "mcap", "cap": Decimal("0.3")},
        "rebalance": {"kind": "calendar", "every": "weekly", "day": 1},
    }
)
DRIFT_TVL = IndexDefinition.model_validate(
    COMMON
    | {
        "id": "drift-tvl",
        "name": "Drift TVL",
        "weighting": {"method": "tvl", "cap": Decimal("0.3")},
        "rebalance": {"kind": "drift", "threshold_pct": 2},
    }
)


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket.generate(days=DAYS, seed=5)


class Tracked:
    """A store with the synthetic history, and trackers over it that record the ranges they read."""

    def __init__(self, path: Path, market: SyntheticMarket, definition: IndexDefinition, tvl_every: int = 7) -> None:
        self.repo = Repository.open(f"sqlite:///{path}")
        market.write(self.repo, tvl_every_days=tvl_every)  # weekly: a range starts between two snapshots
        self.market, self.definition = market, definition
        self.values = IndexValueStore(self.repo.engine)
        self.opened: list[int | None] = []

    def tracker(self) -> IndexTracker:
        deployment, market = self.market.deployment(), self.market
        listings, hub = market.listings(self.definition), market.hub_listing()

        def opened(first: int | None, last: int | None) -> StoreHistory:
            self.opened.append(first)
            return StoreHistory.load(self.repo, deployment, listings, first, last, market.supply, extra=[hub])

        venue = SyntheticVenue(market)
        return IndexTracker(self.definition, 1, opened, venue, decimals_of(deployment), self.values)

    def stored(self) -> list[StoredIndexValue]:
        return self.values.history(self.definition.id, 1)


@pytest.mark.parametrize("definition", [WEEKLY_MCAP, DRIFT_TVL], ids=lambda d: d.id)
def test_a_restarted_tracker_stores_exactly_what_an_uninterrupted_one_does(
    market: SyntheticMarket, tmp_path: Path, definition: IndexDefinition
) -> None:
    blocks = [p.block for p in market.points]
    straight = Tracked(tmp_path / "straight.db", market, definition)
    tracker = straight.tracker()
    for head in blocks[::5]:  # the hook's catch-ups: several blocks per advance
        tracker.advance(head)
    tracker.advance(blocks[-1])
    expected = straight.stored()
    assert [v.block.number for v in expected] == blocks
    built = [v for v in expected if v.value is not None]
    assert expected[0].value is None
    assert "eligibility rules leave none" in (expected[0].missing or "")
    assert len(built) > DAYS // 2
    rebalances = [v.block.number for v in built if v.rebalanced]
    assert len(rebalances) >= 3  # built, then rebalanced on its schedule
    assert all(v.run_state is not None for v in built if v.rebalanced)
    assert all(v.run_state is None for v in expected if not v.rebalanced)

    restarted = Tracked(tmp_path / "restarted.db", market, definition)
    # stops: while not built, on the build block, between rebalances, right after a later rebalance
    stops = [blocks[2], built[0].block.number, built[0].block.number + 3 * 7_200, rebalances[2], blocks[-1]]
    for stop in stops:
        fresh = restarted.tracker()  # a new process: nothing in memory but the definition
        before = restarted.values.last_block(definition.id, 1)
        restarted.opened.clear()
        fresh.advance(stop)
        if before is not None:  # it read from the block after the last stored one, not from the first
            assert restarted.opened
            assert all(first is not None and first > before for first in restarted.opened)
    assert restarted.stored() == expected
    assert fresh.status.state == "tracking"
    assert fresh.last_block == blocks[-1]
    straight.repo.close()
    restarted.repo.close()


def test_a_rollback_resumes_from_the_state_left_in_the_store(market: SyntheticMarket, tmp_path: Path) -> None:
    blocks = [p.block for p in market.points]
    tracked = Tracked(tmp_path / "rollback.db", market, WEEKLY_MCAP, tvl_every=1)
    tracker = tracked.tracker()
    tracker.advance(blocks[-1])
    expected = tracked.stored()
    rebalances = [v.block.number for v in expected if v.rebalanced]
    cut = rebalances[-1]  # the last rebalance's row (and its state) goes; the one before it is resumed from
    tracked.repo.rollback_from(1, cut)
    tracker.forget_from(cut)
    again = blocks.index(cut)  # the same blocks stored again (a reorg to the same chain, here)
    SyntheticMarket(market.tokens, market.points[again:], market.tvl[again:], market.addresses).write(
        tracked.repo, tvl_every_days=1
    )
    tracked.opened.clear()
    tracker.advance(blocks[-1])
    assert tracked.stored() == expected
    assert tracked.opened == [blocks[again - 1] + 1]  # on from the last block left, not from the first
    tracked.repo.close()
