"""Point in time: a rebalance reads nothing stored after its block. Every stored row after a rebalance block is
poisoned (prices x7, TVL x13, and a quote timed before the block but from a later one); the backtest over the
same range then makes exactly the same rebalances up to that block, and different ones after it."""

from __future__ import annotations

import shutil
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from defiscope.analytics.indices.backtest import Backtest, BacktestOptions, run_backtest
from defiscope.analytics.indices.definition import IndexDefinition
from defiscope.analytics.indices.history import StoreHistory
from defiscope.analytics.indices.synthetic import SOURCE, SyntheticMarket, SyntheticVenue
from defiscope.store.models import Price, TvlSnapshot
from defiscope.store.repository import Repository

WEEKLY_MCAP = IndexDefinition.model_validate(
    {
        "id": "weekly-mcap",
        "name": "Weekly market cap",
        "description": "The graded tokens by market cap, capped at 30 %, every Monday.",
        "eligibility": {
            "categories": ["Dexes", "Lending", "CDP", "Liquid Staking", "Restaking"],
            "max_members": 6,
            "min_tvl_usd": 1_000_000_000,
            "min_age_days": 3,
        },
        "weighting": {"method": "mcap", "cap": Decimal("0.3")},
        "rebalance": {"kind": "calendar", "every": "weekly", "day": 1},
        "base_value": 100,
        "base_date": "2025-01-01",
    }
)


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket.generate(days=40, seed=11)


@pytest.fixture(scope="module")
def stored(market: SyntheticMarket, tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("pit") / "history.db"
    repo = Repository.open(f"sqlite:///{path}")
    market.write(repo, tvl_every_days=1)
    repo.close()
    return path


def backtest(path: Path, market: SyntheticMarket, from_block: int) -> Backtest:
    repo = Repository.open(f"sqlite:///{path}")
    try:
        deployment = market.deployment()
        history = StoreHistory.load(
            repo,
            deployment,
            market.listings(WEEKLY_MCAP),
            from_block,
            None,
            market.supply,
            extra=[market.hub_listing()],
        )
        decimals = {s: t.decimals for s, t in deployment.tokens.items()}
        return run_backtest(WEEKLY_MCAP, history.points(), decimals, history, SyntheticVenue(market), BacktestOptions())
    finally:
        repo.close()


def poison_after(path: Path, block: int, timestamp: int, weth: str) -> None:
    repo = Repository.open(f"sqlite:///{path}")
    with Session(repo.engine) as session, session.begin():
        for price in session.scalars(select(Price).where(Price.block_number > block)):
            price.usd *= 7
        for snapshot in session.scalars(select(TvlSnapshot).where(TvlSnapshot.block_number > block)):
            snapshot.tvl_usd *= 13
        # a quote timed at the block, but from a later one (and more confident): not known at the block
        session.add(
            Price(
                chain_id=1,
                token=weth,
                block_number=block + 1,
                timestamp=timestamp,
                usd=Decimal(1),
                source=SOURCE + "-late",
                confidence=1.0,
                liquidity_usd=None,
            )
        )
    repo.close()


def trades(result: Backtest, up_to: int) -> list[tuple[int, object, list[tuple[str, str, int, int]]]]:
    return [
        (r.block, r.result.targets, [(t.sell, t.buy, t.amount_in, t.amount_out) for t in r.result.trades])
        for r in result.rebalances
        if r.block <= up_to
    ]


def test_poisoning_every_later_row_changes_no_rebalance_up_to_the_block(
    stored: Path, market: SyntheticMarket, tmp_path: Path
) -> None:
    start = market.points[5].block  # five days of stored quotes before it: old enough for min_age_days
    clean = backtest(stored, market, start)
    assert len(clean.rebalances) >= 4
    assert all(r.result.trades for r in clean.rebalances)
    for rebalance in clean.rebalances[1:3]:
        copy = tmp_path / f"poisoned-{rebalance.block}.db"
        shutil.copy(stored, copy)
        poison_after(copy, rebalance.block, rebalance.timestamp, market.addresses["WETH"])
        poisoned = backtest(copy, market, start)
        assert trades(poisoned, rebalance.block) == trades(clean, rebalance.block)
        # the poison is there to be read after the block: the run differs from there on
        after = [p for p in poisoned.series if p.block > rebalance.block]
        assert after
        assert all(p.level != q.level for p, q in zip(after, clean.series[-len(after) :], strict=True))
