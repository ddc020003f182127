"""Every factor of `catalog.FACTORS` for one graded protocol family, from the market known at the clock block.

Pure: `market_factors(market)` takes a `Market` (read by `grades.inputs` with nothing after the clock) and
returns each entity's factors as `Figure`s: a value, or missing with why, and the newest input block. Samples
are daily (`market.grid`); a window of w days needs the samples at 0..w days back (fees: the 30 days ending
at the clock).

- momentum_w: P_0 / P_w - 1 (exact decimals); volatility_30d: sample std of the 30 daily returns x
  sqrt(365.25) (`quant.factors.volatility`); max_drawdown_90d: over the 91 daily prices
  (`quant.factors.drawdown`).
- liquidity_usd: USD value of the token in every graded DEX's snapshot at the clock (its pools' holdings).
- volume_7d_usd: missing: swap volume is not stored, and the LP-fee rows carry no fee tier to divide fees by.
- tvl_trend_30d: TVL_0 / TVL_30 - 1 over the family's adapters (the same adapters at both ends).
- tvl_share: family TVL / TVL of the graded families of its category (the graded universe is the category).
- fees_30d_usd: sum over the 30 days of each adapter's fee rate (`grades.fees`) x 1 day / 365.25 days.
- revenue_30d_usd: each adapter's fees the protocol keeps: each market's rate x its share read from chain with it
  (reserve factor, admin fee, feeProtocol, feeTo, Comet's spread), a documented constant where no knob exists
  (`Market.revenue_shares`; `grades.fees.revenue_rate`).
- price_to_fees / price_to_revenue: fully diluted value (totalSupply x P_0) / (30-day figure x 365.25 / 30).
- yield_level: TVL-weighted mean APY over the adapters (inside one, the median of its markets: no TVL per
  market is stored to weight them by); yield_stability: sample std of the 30 daily yield levels.
- voting_concentration: top-5 share of delegated voting power (`governance.concentration`).
- risk_composite: the worst (lowest) composite of the family's adapters' newest stored risk scores, over every
  chain (`Market.risk`): the token carries the risk of its weakest deployment, and an average would let a safe
  large deployment hide an unsafe one. Its input block is the newest of those scores; missing when none is stored.
"""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping
from decimal import Decimal, localcontext
from typing import Final

from defiscope.analytics.grades.catalog import FACTORS, GRADED, GradedProtocol
from defiscope.analytics.grades.fees import EARNED_KIND, fee_rate, median, revenue_rate
from defiscope.analytics.grades.figures import PRECISION, SAMPLE_MAX_AGE, Figure, Observation, combine, newest_of
from defiscope.analytics.grades.market import Market, MemberKey, MemberSample
from defiscope.analytics.quant import factors as quant
from defiscope.analytics.quant.errors import Undefined
from defiscope.analytics.quant.returns import annualise_std

DAYS_PER_YEAR: Final = Decimal("365.25")
FEE_DAYS: Final = 30
VOLUME_NOT_STORED: Final = (
    "swap volume is not stored per block, and the stored LP-fee rates carry no fee tier to derive it from fees"
)

EntityFactors = dict[str, Figure]


def market_factors(market: Market) -> dict[str, EntityFactors]:
    """Every factor of every graded family, by family slug then factor name (the names of `FACTORS`)."""
    with localcontext() as context:
        context.prec = PRECISION
        tvl_now = {slug: entity_tvl(entity, market, 0) for slug, entity in GRADED.items()}
        found = {slug: _entity_factors(entity, market, tvl_now) for slug, entity in GRADED.items()}
    for slug, factors in found.items():
        if set(factors) != set(FACTORS):
            raise AssertionError(f"{slug}: factors {sorted(set(FACTORS) ^ set(factors))} not computed or unknown")
    return found


def _entity_factors(entity: GradedProtocol, market: Market, tvl_now: Mapping[str, Figure]) -> EntityFactors:
    price = _price_factors(entity.token, market)
    fees = fees_30d(entity, market)
    revenue = revenue_30d(entity, market, fees)
    value = fully_diluted_value(entity.token, market)
    levels = [yield_level(entity, market, k) for k in range(FEE_DAYS)]
    return {
        **price,
        "liquidity_usd": liquidity(entity.token, market),
        "volume_7d_usd": Figure.lacking(VOLUME_NOT_STORED),
        "tvl_trend_30d": _change(tvl_now[entity.slug], entity_tvl(entity, market, 30)),
        "tvl_share": tvl_share(entity, tvl_now),
        "fees_30d_usd": fees,
        "revenue_30d_usd": revenue,
        "price_to_fees": price_to(value, fees, "fees"),
        "price_to_revenue": price_to(value, revenue, "revenue"),
        "yield_level": levels[0],
        "yield_stability": _stdev(levels),
        "risk_composite": risk_composite(entity, market),
        "voting_concentration": market.voting_top_share.get(
            entity.slug, Figure.lacking(f"no governance voting power of {entity.name} is followed")
        ),
    }


# ----------------------------------------------------------------------------------------------- prices


def _price_factors(symbol: str, market: Market) -> EntityFactors:
    prices = market.prices.get(symbol)
    if prices is None:
        reason = (
            f"{symbol} is not in the token lists of the indexed chains' registries"
            if symbol not in market.tokens
            else f"no price for {symbol} at or before block {market.clock.number}"
        )
        return {name: Figure.lacking(reason) for name in ("momentum_7d", "momentum_30d", "momentum_90d")} | {
            "volatility_30d": Figure.lacking(reason),
            "max_drawdown_90d": Figure.lacking(reason),
        }
    return {
        "momentum_7d": _change(*_price_points(symbol, market, prices, (0, 7))),
        "momentum_30d": _change(*_price_points(symbol, market, prices, (0, 30))),
        "momentum_90d": _change(*_price_points(symbol, market, prices, (0, 90))),
        "volatility_30d": _series_statistic(symbol, market, prices, 30, _annual_volatility),
        "max_drawdown_90d": _series_statistic(symbol, market, prices, 90, quant.drawdown),
    }


def _price_points(
    symbol: str, market: Market, prices: tuple[Observation | None, ...], days: tuple[int, ...]
) -> list[Figure]:
    return [_observed(prices[k], f"no price for {symbol} {_when(market, k)}") for k in days]


def _annual_volatility(history: list[float], window: int) -> float:
    return annualise_std(quant.volatility(history, window), float(DAYS_PER_YEAR))


def _series_statistic(
    symbol: str,
    market: Market,
    prices: tuple[Observation | None, ...],
    days: int,
    statistic: Callable[[list[float], int], float],
) -> Figure:
    """statistic(daily prices over `days` days, oldest first, `days`); missing if any day has no price."""
    window = prices[: days + 1]
    newest = newest_of(o.stamp for o in window if o is not None)
    for k, observed in enumerate(window):
        if observed is None:
            return Figure.lacking(f"history shorter than {days} days: no price for {symbol} {_when(market, k)}", newest)
    history = [float(o.value) for o in reversed(window) if o is not None]
    try:
        return Figure.of(Decimal(repr(statistic(history, days))), newest)
    except Undefined as why:
        return Figure.lacking(str(why), newest)


def fully_diluted_value(symbol: str, market: Market) -> Figure:
    prices = market.prices.get(symbol)
    now = _observed(prices[0] if prices else None, f"no price for {symbol} at or before block {market.clock.number}")
    supply = market.supplies.get(symbol, Figure.lacking(f"no totalSupply of {symbol} was read"))
    return combine(lambda amount, usd: amount * usd, supply, now)


def liquidity(symbol: str, market: Market) -> Figure:
    """USD value of the token held by every graded DEX adapter at the clock's sample."""
    token = market.tokens.get(symbol)
    if token is None:
        return Figure.lacking(f"{symbol} is not in the token lists of the indexed chains' registries")
    dexes = tuple(slug for e in GRADED.values() if e.category == "Dexes" for slug in e.members)
    total, held, stamps = Decimal(0), False, []
    for key in market.member_keys(dexes):
        sample = market.members[key][0]
        if key[1] != token.chain_id or sample is None:
            continue
        for address, _kind, value in sample.tokens:
            if address != token.address.lower():
                continue
            stamps.append(sample.stamp)
            if value is None:
                return Figure.lacking(
                    f"{symbol} held by {key[0]} has no price at block {sample.stamp.number}", sample.stamp
                )
            total, held = total + value, True
    if not held:
        return Figure.lacking(f"no stored DEX pool holds {symbol} at or before block {market.clock.number}")
    return Figure.of(total, newest_of(stamps))


# ------------------------------------------------------------------------------------------------ TVL


def entity_tvl(entity: GradedProtocol, market: Market, days_back: int) -> Figure:
    """The family's TVL at sample `days_back`: the sum over the adapters it has at the clock, all required."""
    keys = market.member_keys(entity.members)
    if not keys:
        return Figure.lacking(f"no snapshot of {entity.name} at or before block {market.clock.number}")
    samples = _samples(market, keys, days_back)
    if isinstance(samples, Figure):
        return samples
    return Figure.of(
        sum((s.tvl_usd for s in samples.values()), Decimal(0)), newest_of(s.stamp for s in samples.values())
    )


def tvl_share(entity: GradedProtocol, tvl_now: Mapping[str, Figure]) -> Figure:
    peers = [slug for slug, other in GRADED.items() if other.category == entity.category]
    figures = [tvl_now[entity.slug], *(tvl_now[slug] for slug in peers)]

    def share(own: Decimal, *category: Decimal) -> Decimal:
        return own / sum(category, Decimal(0))

    total = sum((f.value or Decimal(0) for f in figures[1:]), Decimal(0))
    if all(f.value is not None for f in figures) and total == 0:
        return Figure.lacking(f"the {entity.category} category holds no TVL", newest_of(f.newest for f in figures))
    return combine(share, *figures)


# --------------------------------------------------------------------------------------- fees, yields


def fees_30d(entity: GradedProtocol, market: Market) -> Figure:
    return _fees(entity, market, fee_rate)


def revenue_30d(entity: GradedProtocol, market: Market, fees: Figure) -> Figure:
    if fees.value is None:
        return fees
    return _fees(entity, market, lambda slug, sample: revenue_rate(slug, sample, market.revenue_shares.get(slug)))


def _fees(entity: GradedProtocol, market: Market, rate: Callable[[str, MemberSample], Figure]) -> Figure:
    """sum over days k < 30 and adapters of the day's rate (fees, or the protocol's part) x 1 day / 365.25 days."""
    keys = market.member_keys(entity.members)
    if not keys:
        return Figure.lacking(f"no snapshot of {entity.name} at or before block {market.clock.number}")
    total, stamps = Decimal(0), []
    for k in range(FEE_DAYS):
        samples = _samples(market, keys, k, why=f"history shorter than {FEE_DAYS} days")
        if isinstance(samples, Figure):
            return samples
        for (slug, _chain), sample in samples.items():
            day = combine(lambda a_year: a_year / DAYS_PER_YEAR, rate(slug, sample))
            if day.value is None:
                return day
            total += day.value
            stamps.append(sample.stamp)
    return Figure.of(total, newest_of(stamps))


def risk_composite(entity: GradedProtocol, market: Market) -> Figure:
    """The lowest stored risk composite among the family's adapters on any chain, or why there is none."""
    scored = [sample for (slug, _), sample in sorted(market.risk.items()) if slug in entity.members]
    composites = [s.composite for s in scored if s.composite is not None]
    newest = newest_of(s.stamp for s in scored)
    if not composites:
        adapters = ", ".join(entity.members)
        what = "no pillar could be scored" if scored else "no risk score is stored"
        return Figure.lacking(f"{what} for {adapters} at or before block {market.clock.number}", newest)
    return Figure.of(Decimal(min(composites)), newest)


def price_to(value: Figure, thirty_days: Figure, what: str) -> Figure:
    """Fully diluted value / the 30-day figure annualised."""
    if thirty_days.value == 0:
        return Figure.lacking(f"no {what} in 30 days: the ratio has no value", thirty_days.newest)
    return combine(lambda fdv, flow: fdv / (flow * DAYS_PER_YEAR / FEE_DAYS), value, thirty_days)


def yield_level(entity: GradedProtocol, market: Market, days_back: int) -> Figure:
    """TVL-weighted mean APY of the adapters that pay a rate (the median of their markets' inside each)."""
    keys = [key for key in market.member_keys(entity.members) if key[0] in EARNED_KIND]
    if not keys:
        return Figure.lacking(f"{entity.name} pays no rate among the stored yields")
    samples = _samples(market, keys, days_back, why=f"history shorter than {FEE_DAYS} days")
    if isinstance(samples, Figure):
        return samples
    weighted, weights = Decimal(0), Decimal(0)
    for (slug, _chain), sample in samples.items():
        rates = sample.rates.get(EARNED_KIND[slug], ())
        if not rates:
            return Figure.lacking(
                f"no {EARNED_KIND[slug].value} rates of {slug} at block {sample.stamp.number}", sample.stamp
            )
        weighted += sample.tvl_usd * median(r.apy for r in rates)
        weights += sample.tvl_usd
    newest = newest_of(s.stamp for s in samples.values())
    if weights == 0:
        return Figure.lacking(f"{entity.name} holds no TVL to weight its rates by", newest)
    return Figure.of(weighted / weights, newest)


# ------------------------------------------------------------------------------------------- helpers


def _samples(
    market: Market, keys: list[MemberKey], days_back: int, why: str | None = None
) -> dict[MemberKey, MemberSample] | Figure:
    found: dict[MemberKey, MemberSample] = {}
    for key in keys:
        sample = market.members[key][days_back]
        if sample is None:
            prefix = f"{why}: " if why else ""
            return Figure.lacking(f"{prefix}no {key[0]} snapshot on chain {key[1]} {_when(market, days_back)}")
        found[key] = sample
    return found


def _observed(observation: Observation | None, reason: str) -> Figure:
    return Figure.lacking(reason) if observation is None else Figure.of(observation.value, observation.stamp)


def _change(now: Figure, then: Figure) -> Figure:
    if then.value is not None and then.value <= 0:
        return Figure.lacking("the starting value is not positive: a change has no value", then.newest)
    return combine(lambda a, b: a / b - 1, now, then)


def _stdev(levels: list[Figure]) -> Figure:
    newest = newest_of(f.newest for f in levels)
    for figure in levels:
        if figure.value is None:
            return Figure.lacking(str(figure.missing), newest)
    return Figure.of(statistics.stdev(f.known for f in levels), newest)


def _when(market: Market, days_back: int) -> str:
    at = market.grid[days_back]
    if days_back == 0:
        return f"at or before block {market.clock.number}"
    return f"within {SAMPLE_MAX_AGE // 3600} h before {days_back} days earlier (t={at})"
