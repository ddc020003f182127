"""The backtest loop on in-memory histories: schedules, skipped rebalances, benchmarks, metrics and the JSON shape."""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

import pytest

from defiscope.analytics.indices.backtest import BacktestOptions, BacktestRefused, PricePoint, run_backtest
from defiscope.analytics.indices.definition import IndexDefinition
from defiscope.analytics.indices.metrics import deflated_sharpe, metrics_of
from defiscope.analytics.indices.report import backtest_json
from defiscope.analytics.indices.schedule import Calendar, Daily, Drift
from defiscope.analytics.indices.synthetic import SyntheticMarket, SyntheticVenue
from defiscope.analytics.indices.venue import FixedFeeVenue
from defiscope.analytics.indices.weights import Candidate

DAY = 86_400
START = int(datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC).timestamp())
DECIMALS = {"WETH": 18, "UNI": 18, "AAVE": 18}


def definition(**rebalance: object) -> IndexDefinition:
    return IndexDefinition.model_validate(
        {
            "id": "two",
            "name": "Two",
            "description": "UNI and AAVE by TVL.",
            "eligibility": {"categories": ["Dexes", "Lending"], "max_members": 2, "rank_by": "tvl"},
            "weighting": {"method": "tvl", "cap": Decimal("0.7")},
            "rebalance": rebalance or {"kind": "calendar", "every": "monthly", "day": 1},
            "base_value": 1000,
            "base_date": "2026-01-01",
        }
    )


class Figures:
    """TVL per block; `None` for a block leaves every candidate without a figure."""

    def __init__(self, tvl: dict[int, tuple[int, int] | None] | None = None) -> None:
        self.tvl = tvl or {}
        self.asked: list[int] = []

    def candidates(self, point: PricePoint) -> Sequence[Candidate]:
        self.asked.append(point.block)
        figures = self.tvl.get(point.block, (600, 400))
        uni, aave = (None, None) if figures is None else (Decimal(figures[0]), Decimal(figures[1]))
        return [Candidate("UNI", "Dexes", tvl_usd=uni), Candidate("AAVE", "Lending", tvl_usd=aave)]

    def why_unknown(self, point: PricePoint) -> dict[str, str]:
        return {}


def daily_points(days: int, *, uni: float = 0.01, missing: dict[int, str] | None = None) -> list[PricePoint]:
    points = []
    for day in range(days):
        prices = {
            "WETH": Decimal(2000) + day,
            "UNI": (Decimal(10) * Decimal(1 + uni) ** day).quantize(Decimal("0.0001")),
            "AAVE": Decimal(100) - Decimal(day) / 10,
        }
        if missing and day in missing:
            del prices[missing[day]]
        points.append(PricePoint(1000 + day, START + day * DAY, prices))
    return points


def test_monthly_rebalances_at_the_first_block_of_each_month() -> None:
    points = daily_points(70)
    figures = Figures()
    result = run_backtest(definition(), points, DECIMALS, figures, FixedFeeVenue(Fraction(3, 1000)))
    days = [datetime.datetime.fromtimestamp(r.timestamp, datetime.UTC).date() for r in result.rebalances]
    assert days == [datetime.date(2026, 1, 1), datetime.date(2026, 2, 1), datetime.date(2026, 3, 1)]
    assert figures.asked == [r.block for r in result.rebalances]  # figures read only at rebalance blocks
    assert result.rebalances[0].result.targets == {"UNI": Fraction(3, 5), "AAVE": Fraction(2, 5)}
    assert len(result.series) == 70
    first = result.series[0]
    # the index starts at its base value less the construction's fees; the benchmarks at the base value
    assert first.level is not None
    assert Decimal(996) < first.level <= 997
    assert first.equal_weight is not None
    assert abs(first.equal_weight - 1000) < Fraction(1, 10**9)
    assert first.weth == 1000


def test_drift_rebalances_only_when_a_weight_moved_past_the_threshold() -> None:
    points = daily_points(40, uni=0.03)  # UNI up 3 % a day, AAVE down: weights drift fast
    result = run_backtest(
        definition(kind="drift", threshold_pct=5), points, DECIMALS, Figures(), FixedFeeVenue(Fraction(0))
    )
    blocks = [r.block for r in result.rebalances]
    assert len(blocks) > 2
    assert blocks[0] == 1000
    for rebalance in result.rebalances[1:]:
        before = rebalance.result.weights_before
        targets = {"UNI": Fraction(3, 5), "AAVE": Fraction(2, 5)}
        assert max(abs(before[m] - w) for m, w in targets.items()) > Fraction(5, 100)


def test_daily_schedule_and_deflated_sharpe_over_variants() -> None:
    market = SyntheticMarket.generate(days=40, seed=3)
    points = list(market.points)
    decimals = {s: 18 for s in market.addresses}

    class Tvl:
        def candidates(self, point: PricePoint) -> Sequence[Candidate]:
            return [Candidate(m.symbol, "Dexes", tvl_usd=Decimal(m.tvl_usd)) for m in market.tokens]

        def why_unknown(self, point: PricePoint) -> dict[str, str]:
            return {}

    two = definition()
    spec = two.model_copy(
        update={
            "eligibility": two.eligibility.model_copy(update={"max_members": 8, "categories": ("Dexes",)}),
            "weighting": two.weighting.model_copy(update={"cap": Decimal("0.25")}),
        }
    )
    variants = [
        run_backtest(spec, points, decimals, Tvl(), venue, BacktestOptions(schedule=Daily()))
        for venue in (SyntheticVenue(market), FixedFeeVenue(Fraction(30, 10_000)), FixedFeeVenue(Fraction(0)))
    ]
    exact = variants[0]
    assert len(exact.rebalances) == 40  # one a day
    assert all(t.fill.legs[0].pools[0].startswith("uniswap-v2:") for r in exact.rebalances for t in r.result.trades)
    costs = [metrics_of(v) for v in variants]
    assert costs[0].gas_usd > 0
    assert costs[1].gas_usd == 0
    assert 0 <= costs[2].slippage_usd < Fraction(1, 10**9)  # no fee: only the raw units' rounding
    dsr = deflated_sharpe(exact, variants)
    assert dsr.n_trials == 3
    assert 0 <= dsr.probability <= 1


def test_a_rebalance_that_cannot_be_done_is_skipped_with_its_reason() -> None:
    points = daily_points(40, missing={31: "UNI"})  # 2026-02-01 has no UNI price
    result = run_backtest(definition(), points, DECIMALS, Figures(), FixedFeeVenue(Fraction(0)))
    assert [s.block for s in result.skipped] == [1031]
    assert "no price at block 1031 for held UNI" in result.skipped[0].reason
    assert result.series[31].level is None
    assert result.series[31].reason == result.skipped[0].reason
    assert result.rebalances[-1].block == 1032  # due since Feb 1: done at the next block it can be
    report = backtest_json(result)
    assert report["series"][31]["value"] is None
    assert "UNI" in report["series"][31]["reason"]


def test_nothing_to_start_from_is_refused() -> None:
    with pytest.raises(BacktestRefused, match="at least 2 stored blocks"):
        run_backtest(definition(), daily_points(1), DECIMALS, Figures(), FixedFeeVenue(Fraction(0)))
    empty = Figures({1000: None})
    with pytest.raises(BacktestRefused, match="eligibility rules leave none of 2 candidates"):
        run_backtest(definition(), daily_points(5), DECIMALS, empty, FixedFeeVenue(Fraction(0)))
    no_hub = daily_points(5, missing={0: "WETH"})
    with pytest.raises(BacktestRefused, match="the hub WETH has no price at the first block 1000"):
        run_backtest(definition(), no_hub, DECIMALS, Figures(), FixedFeeVenue(Fraction(0)))


def test_json_has_the_interface_keys_and_says_why_a_metric_is_missing() -> None:
    points = daily_points(10, uni=0.0)
    prices = {"WETH": Decimal(2000), "UNI": Decimal(10), "AAVE": Decimal(100)}
    flat = [PricePoint(p.block, p.timestamp, prices) for p in points]
    report = backtest_json(run_backtest(definition(), flat, DECIMALS, Figures(), FixedFeeVenue(Fraction(0))))
    assert {"index", "from_block", "to_block", "metrics", "rebalances", "series"} <= set(report)
    assert set(report["metrics"]) == {
        "cagr",
        "volatility",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "turnover",
        "slippage_usd",
        "gas_usd",
        "tracking_error",
        "tracking_error_by_benchmark",
    }
    assert set(report["metrics"]["tracking_error_by_benchmark"]) == {"equal_weight", "weth"}
    # the interface's one number is the tracking error against the equal-weight benchmark
    assert report["metrics"]["tracking_error"] == report["metrics"]["tracking_error_by_benchmark"]["equal_weight"]
    assert set(report["rebalances"][0]["trades"][0]) >= {"sell", "buy", "amount_in", "amount_out", "route"}
    assert set(report["series"][0]) >= {"block", "timestamp", "value"}
    # a flat series: no volatility to divide by, no fall for Calmar; said, not 0
    assert report["metrics"]["sharpe"] is None
    assert "do not vary" in report["undefined"]["sharpe"]
    assert report["metrics"]["calmar"] is None
    assert "never fell" in report["undefined"]["calmar"]
    assert report["metrics"]["max_drawdown"] == 0.0


def test_schedules() -> None:
    weekly = Calendar("weekly", 1)
    assert weekly.next_day(datetime.date(2026, 1, 5)) == datetime.date(2026, 1, 12)  # a Monday to the next
    assert Daily().due(START, START + DAY - 1, {}, {}) is False
    assert Daily().due(START, START + DAY, {}, {}) is True
    assert Drift(Fraction(1, 20)).due(0, 1, {"A": Fraction(1, 2)}, {"A": Fraction(11, 20)}) is False
    assert Drift(Fraction(1, 20)).due(0, 1, {"B": Fraction(6, 100)}, {}) is True  # a member that should not be held


def test_blocks_of_one_second_are_one_observation_and_too_few_say_so() -> None:
    points = daily_points(6)
    twins = [p for point in points for p in (point, PricePoint(point.block + 500, point.timestamp, point.prices))]
    twins.sort(key=lambda p: p.block)
    result = run_backtest(definition(), twins, DECIMALS, Figures(), FixedFeeVenue(Fraction(0)))
    figures = metrics_of(result)
    assert figures.sharpe is not None  # 6 distinct times: strictly increasing for the annualisation
    single = run_backtest(
        definition(),
        [points[0], PricePoint(1001, points[0].timestamp, points[0].prices)],
        DECIMALS,
        Figures(),
        FixedFeeVenue(Fraction(0)),
    )
    undefined = metrics_of(single).undefined
    assert set(undefined) == {
        "cagr",
        "volatility",
        "sharpe",
        "sortino",
        "calmar",
        "turnover",
        "tracking_error.equal_weight",
        "tracking_error.weth",
    }
    assert undefined["sharpe"] == "1 valued blocks at distinct times: return statistics need 2"


def test_a_member_without_a_route_does_not_trigger_drift_at_every_block() -> None:
    """MKR has a price but no pool: its share stays in WETH; drift is measured from what the rebalance reached."""
    market = SyntheticMarket.generate(days=20, seed=5)
    points = [PricePoint(p.block, p.timestamp, {**p.prices, "MKR2": Decimal(1000)}) for p in market.points]
    decimals = {**{s: 18 for s in market.addresses}, "MKR2": 18}

    class WithUnroutable:
        def candidates(self, point: PricePoint) -> Sequence[Candidate]:
            listed = [Candidate(m.symbol, "Dexes", tvl_usd=Decimal(m.tvl_usd)) for m in market.tokens[:3]]
            return [*listed, Candidate("MKR2", "Dexes", tvl_usd=Decimal(20 * 10**9))]

        def why_unknown(self, point: PricePoint) -> dict[str, str]:
            return {}

    spec = definition(kind="drift", threshold_pct=30)
    spec = spec.model_copy(
        update={"eligibility": spec.eligibility.model_copy(update={"max_members": 4, "categories": ("Dexes",)})}
    )
    result = run_backtest(spec, points, decimals, WithUnroutable(), SyntheticVenue(market))
    built = result.rebalances[0].result
    assert [s.symbol for s in built.shortfalls] == ["MKR2"]
    assert built.shortfalls[0].reason.startswith("no quote for WETH -> MKR2")
    assert len(result.rebalances) < 5  # not one per block
