"""The risk_composite factor: the worst stored risk score of a family's adapters known at the clock block."""

from __future__ import annotations

from decimal import Decimal

from defiscope.analytics.grades.catalog import GRADED
from defiscope.analytics.grades.factors import risk_composite
from defiscope.analytics.grades.figures import Stamp
from defiscope.analytics.grades.inputs import horizon_at, load_market
from defiscope.analytics.grades.market import Market, MemberKey, RiskSample
from defiscope.chain.block import BlockRef
from defiscope.store import Repository
from tests.analytics.grades.kit import SHARES, TOKENS, Holdings, World, build, score_risk

CLOCK = BlockRef(1, 500, "0x" + "ab" * 32, 1_700_000_000)


def market_with(risk: dict[MemberKey, RiskSample]) -> Market:
    return Market(CLOCK, (CLOCK.timestamp,), {}, {}, {}, {}, {}, {}, risk)


def test_the_family_takes_its_worst_adapter_on_any_chain_and_the_newest_score_block() -> None:
    market = market_with(
        {
            ("pancakeswap-v2", 56): RiskSample(Stamp(1_699_999_000, 56, 9000), 72),
            ("pancakeswap-v3", 56): RiskSample(Stamp(1_699_990_000, 56, 8000), 41),
            ("pancakeswap-v3", 1): RiskSample(Stamp(1_699_999_500, 1, 490), 88),
            ("uniswap-v2", 1): RiskSample(Stamp(1_699_999_900, 1, 499), 10),  # another family: not counted
        }
    )
    found = risk_composite(GRADED["pancakeswap"], market)
    assert found.value == Decimal(41)
    assert found.newest == Stamp(1_699_999_500, 1, 490)


def test_an_adapter_scored_without_any_pillar_counts_for_nothing() -> None:
    market = market_with(
        {
            ("compound-v2", 1): RiskSample(Stamp(1_699_999_000, 1, 480), None),
            ("compound-v3", 1): RiskSample(Stamp(1_699_998_000, 1, 470), 64),
        }
    )
    assert risk_composite(GRADED["compound"], market).value == Decimal(64)
    only_null = market_with({("compound-v2", 1): RiskSample(Stamp(1_699_999_000, 1, 480), None)})
    found = risk_composite(GRADED["compound"], only_null)
    assert found.value is None
    assert found.missing == "no pillar could be scored for compound-v2, compound-v3 at or before block 500"


def test_no_stored_score_is_missing_with_the_reason_never_zero() -> None:
    found = risk_composite(GRADED["curve"], market_with({}))
    assert found.value is None
    assert found.missing == "no risk score is stored for curve at or before block 500"
    assert found.newest is None


def test_the_store_gives_each_adapter_its_newest_score_at_or_before_the_horizon(repo: Repository) -> None:
    world = build(repo, last_day=12)
    bnb = World(repo)
    for day in range(13):
        bnb.day(day, snapshots={"pancakeswap-v3": Holdings(tvl="300")}, chain_id=56)
    for day, composite in ((3, 80), (6, 55), (11, 20)):
        score_risk(repo, world.blocks[(1, day)], "aave-v3", composite)
    score_risk(repo, bnb.blocks[(56, 9)], "pancakeswap-v3", 61)
    score_risk(repo, bnb.blocks[(56, 10)], "pancakeswap-v3", 5)  # 10 minutes before chain 1's day 10
    clock = world.blocks[(1, 9)]
    market = load_market(repo, clock, horizon_at(repo, clock), TOKENS, {}, SHARES)
    assert market.risk == {
        ("aave-v3", 1): RiskSample(Stamp(world.blocks[(1, 6)].timestamp, 1, world.blocks[(1, 6)].number), 55),
        ("pancakeswap-v3", 56): RiskSample(Stamp(bnb.blocks[(56, 9)].timestamp, 56, bnb.blocks[(56, 9)].number), 61),
    }
    assert risk_composite(GRADED["aave"], market).value == Decimal(55)
