"""Point in time on a hand-built store: poisoning every row after the clock changes none of its factors.

The same proof on a devnet market indexed by the real indexer is `test_point_in_time_devnet.py`.
"""

from __future__ import annotations

from decimal import Decimal, localcontext

from defiscope.analytics.grades.compute import compute_factors, factors_at
from defiscope.analytics.grades.figures import DAY
from defiscope.protocols.governors import GOVERNORS
from defiscope.store import Repository
from defiscope.store.factors import InputBlock
from tests.analytics.grades.kit import SHARES, TOKENS, Holdings, World, build, score_risk
from tests.analytics.grades.poison import event_rows_after, poison_after


async def test_factors_at_a_block_ignore_everything_stored_after_it(repo: Repository) -> None:
    world = build(repo, last_day=40)  # five genuine days after the clock, then the poison
    bnb = World(repo)  # another chain, a block a day too (10 minutes before chain 1's)
    for day in range(41):
        pancake = Holdings(tvl="300", extra=((TOKENS["CAKE"].address, "tvl", "50"),))
        bnb.day(day, snapshots={"pancakeswap-v3": pancake}, prices={"CAKE": str(2 + Decimal(day) / 100)}, chain_id=56)
    for day in range(30, 41):  # risk scores before and after the clock, on both chains
        score_risk(repo, world.blocks[(1, day)], "aave-v3", 50 + day)
        score_risk(repo, bnb.blocks[(56, day)], "pancakeswap-v3", 40 + day)
    clock = world.blocks[(1, 35)]
    assert bnb.blocks[(56, 36)].timestamp > clock.timestamp > bnb.blocks[(56, 35)].timestamp

    before = await compute_factors(repo, lambda block: None, clock.number, tokens=TOKENS, revenue_shares=SHARES)
    added = poison_after(repo, clock, TOKENS)
    after = await compute_factors(repo, lambda block: None, clock.number, tokens=TOKENS, revenue_shares=SHARES)

    assert after == before
    assert factors_at(repo, clock.number) == before
    keepers = {spec.keeper for spec in GOVERNORS.values()}
    assert event_rows_after(repo, clock) == len(keepers)  # the poison's delegations are there to be read
    # Negative control: the poisoned later block does see the poison.
    [later, *_] = added
    poisoned = {
        (v.entity, v.name): v
        for v in await compute_factors(repo, lambda block: None, later.number, tokens=TOKENS, revenue_shares=SHARES)
    }
    computed = {(v.entity, v.name): v for v in before}
    assert poisoned[("aave", "yield_level")].value == Decimal(999)
    assert computed[("aave", "yield_level")].value == Decimal("0.02")
    with localcontext() as context:
        context.prec = 50
        assert computed[("pancakeswap", "momentum_30d")].value == Decimal("2.35") / Decimal("2.05") - 1
    cake = computed[("pancakeswap", "liquidity_usd")]
    assert cake.inputs == InputBlock(56, bnb.blocks[(56, 35)].number)
    # Chain 56's block of day 35 is 10 minutes before chain 1's: on the clock's chain it counts as day 34's block.
    assert cake.inputs_clock_block == world.blocks[(1, 34)].number
    assert computed[("aave", "tvl_share")].inputs_clock_block == clock.number
    assert poisoned[("uniswap", "voting_concentration")].value == 1
    assert poisoned[("aave", "risk_composite")].value == 0
    assert computed[("aave", "risk_composite")].value == 85
    assert computed[("aave", "risk_composite")].inputs == InputBlock(1, clock.number)
    # Chain 56's day-35 score is before the clock's time, its day-36 score after it.
    assert computed[("pancakeswap", "risk_composite")].value == 75
    assert computed[("pancakeswap", "risk_composite")].inputs == InputBlock(56, bnb.blocks[(56, 35)].number)
    assert (
        computed[("curve", "risk_composite")].missing
        == f"no risk score is stored for curve at or before block {clock.number}"
    )
    assert later.timestamp - clock.timestamp < DAY
