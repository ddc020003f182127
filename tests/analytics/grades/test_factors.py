"""Each factor on a small hand-built store (SQLite and PostgreSQL), against figures worked out by hand."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from decimal import Decimal, localcontext
from fractions import Fraction
from pathlib import Path

import pytest

from defiscope.analytics.grades.catalog import FACTORS, GRADED
from defiscope.analytics.grades.compute import BlockNotStored, compute_factors, factors_at
from defiscope.analytics.grades.factors import market_factors
from defiscope.analytics.grades.fees import fee_rate, revenue_rate
from defiscope.analytics.grades.figures import Figure, Stamp
from defiscope.analytics.grades.inputs import horizon_at, load_market
from defiscope.analytics.grades.market import MemberSample, Rate
from defiscope.analytics.quant.factors import drawdown, volatility
from defiscope.analytics.quant.returns import annualise_std
from defiscope.chain.block import BlockRef
from defiscope.protocols.revenue import FeeShare
from defiscope.protocols.yields import YieldKind
from defiscope.store import Repository
from defiscope.store.factors import FactorValue, InputBlock
from tests.analytics.grades.kit import CLOCK_DAY, MARKET, SHARES, TOKENS, Holdings, World, build, uni_price
from tests.store.conftest import emptied

SUPPLY = Decimal(16_000_000)


def figures_at(
    repo: Repository, clock: BlockRef, supplies: dict[str, Figure] | None = None
) -> dict[str, dict[str, Figure]]:
    market = load_market(repo, clock, horizon_at(repo, clock), TOKENS, supplies or {}, SHARES)
    return market_factors(market)


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def built(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """The 36-day world, built once per backend for the tests of this module (they only add factor rows)."""
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('grades') / 'world.db'}"
    else:
        url = emptied(request.getfixturevalue("pg_database"))
    opened = Repository.open(url)
    yield build(opened)
    opened.close()


@pytest.fixture
def world(built: World) -> World:
    return built


@pytest.fixture
def repo(built: World) -> Repository:
    return built.repo


def test_every_family_gets_every_factor_with_a_value_or_a_reason(repo: Repository, world: World) -> None:
    found = figures_at(repo, world.blocks[(1, CLOCK_DAY)])
    assert set(found) == set(GRADED)
    for factors in found.values():
        assert set(factors) == set(FACTORS)
        for figure in factors.values():
            assert (figure.value is None) != (figure.missing is None)


def test_price_factors_are_the_quant_statistics_of_daily_prices(repo: Repository, world: World) -> None:
    clock = world.blocks[(1, CLOCK_DAY)]
    uni = figures_at(repo, clock)["uniswap"]
    with localcontext() as context:
        context.prec = 50
        assert uni["momentum_7d"].value == uni_price(35) / uni_price(28) - 1
        assert uni["momentum_30d"].value == uni_price(35) / uni_price(5) - 1
    daily = [float(uni_price(d)) for d in range(5, 36)]
    assert uni["volatility_30d"].value == Decimal(repr(annualise_std(volatility(daily, 30), 365.25)))
    assert (
        uni["momentum_90d"].missing
        == f"no price for UNI within 48 h before 90 days earlier (t={clock.timestamp - 90 * 86_400})"
    )
    assert str(uni["max_drawdown_90d"].missing).startswith("history shorter than 90 days: no price for UNI")
    assert uni["momentum_7d"].newest == Stamp(world.blocks[(1, 35)].timestamp, 1, world.blocks[(1, 35)].number)
    # A 36-day history is enough for a 30-day drawdown: the same statistic the 90-day factor uses.
    assert drawdown(daily, 30) > 0


def test_a_token_without_a_price_has_its_price_factors_missing_with_the_reason(repo: Repository, world: World) -> None:
    clock = world.blocks[(1, CLOCK_DAY)]
    found = figures_at(repo, clock, {"CRV": Figure.of(SUPPLY, None)})
    for name in ("momentum_7d", "momentum_30d", "momentum_90d", "volatility_30d", "max_drawdown_90d"):
        assert found["curve"][name].missing == f"no price for CRV at or before block {clock.number}"
        assert found["lido"][name].missing == "LDO is not in the token lists of the indexed chains' registries"
    assert found["curve"]["price_to_fees"].missing == f"no price for CRV at or before block {clock.number}"
    assert found["curve"]["liquidity_usd"].missing == f"no stored DEX pool holds CRV at or before block {clock.number}"


def test_tvl_trend_and_share_of_category(repo: Repository, world: World) -> None:
    found = figures_at(repo, world.blocks[(1, CLOCK_DAY)])
    with localcontext() as context:
        context.prec = 50
        assert found["aave"]["tvl_trend_30d"].value == Decimal(1350) / Decimal(1050) - 1
        assert found["aave"]["tvl_share"].value == Decimal(1350) / Decimal(2350)
        assert found["compound"]["tvl_share"].value == Decimal(1000) / Decimal(2350)
    assert found["compound"]["tvl_trend_30d"].value == 0
    # Dexes: only Uniswap has snapshots, so Curve's and PancakeSwap's missing TVL leaves the share unknown.
    assert found["uniswap"]["tvl_share"].missing == "no snapshot of Curve at or before block 1035"
    assert found["lido"]["tvl_trend_30d"].missing == "no snapshot of Lido at or before block 1035"


def test_fees_revenue_and_price_ratios(repo: Repository, world: World) -> None:
    clock = world.blocks[(1, CLOCK_DAY)]
    found = figures_at(repo, clock, {"AAVE": Figure.of(SUPPLY, Stamp(clock.timestamp, 1, clock.number))})
    aave = found["aave"]
    with localcontext() as context:
        context.prec = 50
        per_day = Decimal("0.05") * 400 / Decimal("365.25")
        fees = sum((per_day for _ in range(30)), Decimal(0))
        assert aave["fees_30d_usd"].value == fees
        assert aave["revenue_30d_usd"].value == sum((per_day * Decimal("0.1") for _ in range(30)), Decimal(0))
        assert aave["price_to_fees"].value == SUPPLY * 100 / (fees * Decimal("365.25") / 30)
    # Uniswap V2: LP-fee APR x TVL (500 of DAI, 80 of UNI); its feeTo was read as off: the protocol keeps none.
    with localcontext() as context:
        context.prec = 50
        assert found["uniswap"]["fees_30d_usd"].value == sum(
            (Decimal("0.1") * 580 / Decimal("365.25") for _ in range(30)), Decimal(0)
        )
    assert found["uniswap"]["revenue_30d_usd"].value == 0
    assert found["uniswap"]["price_to_revenue"].missing == "no revenue in 30 days: the ratio has no value"
    assert found["compound"]["fees_30d_usd"].missing == "no borrow rates of compound-v3 stored at block 1035 of chain 1"
    assert found["eigenlayer"]["fees_30d_usd"].missing == "no snapshot of EigenLayer at or before block 1035"
    assert found["uniswap"]["price_to_fees"].missing == "no totalSupply of UNI was read"


def test_fees_need_thirty_days_of_history(tmp_path: Path) -> None:
    world = build(Repository.open(f"sqlite:///{tmp_path / 'short.db'}"), last_day=20)
    repo = world.repo
    aave = figures_at(repo, world.blocks[(1, 20)])["aave"]
    assert str(aave["fees_30d_usd"].missing).startswith("history shorter than 30 days: no aave-v3 snapshot on chain 1")
    assert aave["yield_level"].value == Decimal("0.02")
    assert str(aave["yield_stability"].missing).startswith("history shorter than 30 days")


def test_yield_level_stability_liquidity_and_volume(repo: Repository, world: World) -> None:
    found = figures_at(repo, world.blocks[(1, CLOCK_DAY)])
    assert found["aave"]["yield_level"].value == Decimal("0.02")
    assert found["aave"]["yield_stability"].value == 0
    assert found["uniswap"]["liquidity_usd"].value == Decimal(80)
    assert found["makerdao"]["yield_level"].missing == "Sky (MakerDAO) pays no rate among the stored yields"
    assert "not stored" in str(found["uniswap"]["volume_7d_usd"].missing)
    assert (
        found["uniswap"]["voting_concentration"].missing
        == "no voting power of uniswap is delegated at or before block 1035"
    )
    assert found["lido"]["voting_concentration"].missing == "no governance voting power of Lido is followed"


async def test_compute_stores_what_factors_at_reads_back(repo: Repository, world: World) -> None:
    clock = world.blocks[(1, CLOCK_DAY)]
    values = await compute_factors(repo, lambda block: None, clock.number, tokens=TOKENS, revenue_shares=SHARES)
    assert len(values) == len(GRADED) * len(FACTORS)
    assert factors_at(repo, clock.number) == values
    by_key = {(v.entity, v.name): v for v in values}
    assert by_key[("aave", "price_to_fees")].missing == "no connection to chain 1 to read AAVE's totalSupply"
    assert by_key[("aave", "tvl_share")].inputs == InputBlock(1, clock.number)
    assert by_key[("aave", "tvl_share")].block == clock
    # Computing again replaces the block's rows (same values, no duplicates).
    assert await compute_factors(repo, lambda block: None, clock.number, tokens=TOKENS, revenue_shares=SHARES) == values
    assert factors_at(repo, clock.number) == values


async def test_compute_refuses_a_block_that_is_not_stored(repo: Repository, world: World) -> None:
    with pytest.raises(BlockNotStored, match="block 99 of chain 1 is not stored"):
        await compute_factors(repo, lambda block: None, 99, tokens=TOKENS)


def test_a_factor_value_has_a_value_or_a_reason() -> None:
    clock = BlockRef(1, 1, "0x" + "00" * 32, 0)
    with pytest.raises(ValueError, match="give a value or the reason"):
        FactorValue("aave", "tvl_share", clock, Decimal(1), "both", None)
    with pytest.raises(ValueError, match="give a value or the reason"):
        FactorValue("aave", "tvl_share", clock, None, None, None)


def test_revenue_uses_the_knob_read_with_each_rate_and_a_failed_read_is_a_gap(tmp_path: Path) -> None:
    """The stored reserve factor, not a constant, sets Aave's revenue; a knob that could not be read on one day of
    the 30 leaves the revenue missing with that read's reason, never 0 or a guess."""
    world = build(Repository.open(f"sqlite:///{tmp_path / 'knobs.db'}"))
    clock = world.blocks[(1, CLOCK_DAY)]
    assert SHARES == {}  # no documented constant stands in for the knobs
    half = FeeShare.read("aave-v3", 5000, "getReserveData(DAI).configuration bits 64-79 (reserve factor)")
    failed = FeeShare.missing("0xPool.getReserveData(DAI) failed: execution reverted")
    for day, knob in ((CLOCK_DAY, half), (CLOCK_DAY - 3, failed)):
        world.day(
            day,
            snapshots={"aave-v3": Holdings(tvl=str(1000 + 10 * day), borrowed="400")},
            rates={"aave-v3": [(YieldKind.BORROW, "0.05")]},
            knobs={"aave-v3": knob},
        )
    aave = figures_at(world.repo, clock)["aave"]
    assert aave["fees_30d_usd"].value is not None
    assert aave["revenue_30d_usd"].missing == (
        f"aave-v3: the revenue share of market {MARKET} could not be read: 0xPool.getReserveData(DAI) failed: "
        f"execution reverted (block {world.blocks[(1, CLOCK_DAY - 3)].number} of chain 1)"
    )
    world.day(
        CLOCK_DAY - 3,
        snapshots={"aave-v3": Holdings(tvl=str(1000 + 10 * (CLOCK_DAY - 3)), borrowed="400")},
        rates={"aave-v3": [(YieldKind.BORROW, "0.05")]},
    )
    aave = figures_at(world.repo, clock)["aave"]
    with localcontext() as context:
        context.prec = 50
        per_day = Decimal("0.05") * 400 / Decimal("365.25")
        expected = sum((per_day * Decimal("0.1") for _ in range(29)), per_day * Decimal("0.5"))
        assert aave["revenue_30d_usd"].value == expected


def test_lp_rates_are_net_of_the_protocol_share() -> None:
    """A pool's LP rate is what LPs kept: with feeProtocol 1/4 the protocol took 1/3 of that beside it."""
    stamp = Stamp(0, 1, 5)
    share = FeeShare.read("uniswap-v3", 4, "slot0().feeProtocol")
    rate = Rate("p", "lp", Decimal("0.03"), Decimal("0.03"), share)
    sample = MemberSample(stamp, Decimal(600), Decimal(0), rates={YieldKind.LP_FEE: (rate,)})
    assert fee_rate("uniswap-v3", sample).value == Decimal(18)
    assert revenue_rate("uniswap-v3", sample, None).value == Decimal(6)
    everything = FeeShare(Fraction(1), "admin_fee() = 10000000000 (of 1e10)")
    sample = replace(sample, rates={YieldKind.LP_FEE: (Rate("p", "lp", Decimal(0), Decimal(0), everything),)})
    assert "keeps no fee for its LPs" in str(revenue_rate("curve", sample, None).missing)
