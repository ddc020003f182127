"""Fees per adapter, derived from what the store keeps per block (volume and fees are not stored as such).

Each adapter's fee rate (USD a year, at one snapshot) comes from its stored yields and balances, by basis:

- `BORROW_INTEREST` (Aave V3, Compound V2/V3, Maker): per borrowed asset, the median borrow APR of the markets
  lending it x the USD borrowed of that asset. Exact where one market lends an asset (Compound, one Aave
  pool); nominal where several do (Maker's ilks all lend DAI at their own stability fee, and the snapshot
  sums their debt per token, not per ilk).
- `POOL_FEES` (Uniswap, PancakeSwap, Curve): the median LP-fee APR of the adapter's pools x its TVL. Nominal: the
  store keeps no TVL per pool, so the pools' rates cannot be weighted; the median keeps a tiny pool with a
  huge APR (seen on the devnet: 14,000 %) from standing for the whole DEX, as a mean would.
- `STAKING_REWARDS` (Lido): the median staking APR x the TVL staked: the rewards stakers are paid (Lido's
  userAPR is net of its fee). The rate is Lido's 7-report SMA of TokenRebased reports, carrying `getFee()`.

EigenLayer has no basis: restaking rewards are paid by AVSs and are not among the stored figures.

Revenue (`revenue_rate`): the same figure with each market's rate scaled by the protocol's share of it, read from
the market's knob at the rate's block (`Rate.fee_share`: a reserve factor, Comet's spread, a pool's admin fee or
feeProtocol, V2's feeTo), or a documented constant where no knob exists (Maker, EigenLayer). Borrow interest is
gross, so its revenue is rate x share. LP-fee and staking rates are what LPs and stakers keep, net of the
protocol's share s (V3's fee growth, Curve's virtual price, V2's sqrt(k) once the fee is minted), so the protocol
took rate x s / (1 - s) beside them. A knob that could not be read makes the revenue missing with its reason.

    >>> from defiscope.analytics.grades.figures import Stamp
    >>> s = MemberSample(Stamp(0, 1, 5), Decimal(1000), Decimal(400),
    ...     tokens=(("0xdai", "borrowed", Decimal(400)),),
    ...     rates={YieldKind.BORROW: (Rate("m", "0xDAI", Decimal("0.05"), Decimal("0.0513")),)})
    >>> fee_rate("aave-v3", s).value
    Decimal('20.00')
    >>> from defiscope.protocols.revenue import FeeShare
    >>> knob = FeeShare(Fraction(1, 10), "reserve factor 1000 (of 10,000)")
    >>> s = replace(s, rates={YieldKind.BORROW: (Rate("m", "0xDAI", Decimal("0.05"), Decimal("0.0513"), knob),)})
    >>> revenue_rate("aave-v3", s, None).value
    Decimal('2.000')
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from decimal import Decimal
from enum import Enum
from fractions import Fraction
from types import MappingProxyType
from typing import Final

from defiscope.analytics.grades.figures import Figure
from defiscope.analytics.grades.market import MemberSample, Rate
from defiscope.protocols.yields import YieldKind


class Basis(Enum):
    BORROW_INTEREST = "borrow interest: median borrow APR per asset x USD borrowed of it"
    POOL_FEES = "LP fees: median LP-fee APR of the pools x TVL (no TVL per pool is stored to weight by)"
    STAKING_REWARDS = "staking rewards: median staking APR x TVL staked"


@dataclass(frozen=True, slots=True)
class FeeSource:
    basis: Basis
    kind: YieldKind  # the rates it reads


_LENDING: Final = FeeSource(Basis.BORROW_INTEREST, YieldKind.BORROW)
_DEX: Final = FeeSource(Basis.POOL_FEES, YieldKind.LP_FEE)

FEE_SOURCES: Final[Mapping[str, FeeSource]] = MappingProxyType(
    {
        "aave-v3": _LENDING,
        "compound-v2": _LENDING,
        "compound-v3": _LENDING,
        "makerdao": _LENDING,
        "uniswap-v2": _DEX,
        "uniswap-v3": _DEX,
        "pancakeswap-v2": _DEX,
        "pancakeswap-v3": _DEX,
        "curve": _DEX,
        "lido": FeeSource(Basis.STAKING_REWARDS, YieldKind.STAKING),
    }
)

#: The rate users earn, for `yield_level`: suppliers of a lending market, LPs of a DEX, stakers. Maker (only a
#: borrow cost is read) and EigenLayer (no rates stored) have none.
EARNED_KIND: Final[Mapping[str, YieldKind]] = MappingProxyType(
    {
        **{slug: YieldKind.SUPPLY for slug in ("aave-v3", "compound-v2", "compound-v3")},
        **{
            slug: YieldKind.LP_FEE for slug in ("uniswap-v2", "uniswap-v3", "pancakeswap-v2", "pancakeswap-v3", "curve")
        },
        "lido": YieldKind.STAKING,
    }
)


def fee_rate(slug: str, sample: MemberSample) -> Figure:
    """USD of fees a year that `slug`'s users pay at this snapshot, by the adapter's basis."""
    found = _rates_of(slug, sample)
    if isinstance(found, Figure):
        return found
    return _by_basis(slug, sample, *found)


def revenue_rate(slug: str, sample: MemberSample, constant: Fraction | None) -> Figure:
    """USD a year of those fees the protocol keeps: each rate scaled by its market's share (its knob, read with
    it; `constant` for the rates no knob splits, None when no share is documented either)."""
    found = _rates_of(slug, sample)
    if isinstance(found, Figure):
        return found
    source, rates = found
    kept = []
    for rate in rates:
        scale = _revenue_scale(slug, source, rate, constant)
        if isinstance(scale, str):
            return Figure.lacking(
                f"{scale} (block {sample.stamp.number} of chain {sample.stamp.chain_id})", sample.stamp
            )
        kept.append(replace(rate, apr=rate.apr * scale.numerator / scale.denominator))  # one rounding at most
    return _by_basis(slug, sample, source, tuple(kept))


def _rates_of(slug: str, sample: MemberSample) -> tuple[FeeSource, tuple[Rate, ...]] | Figure:
    source = FEE_SOURCES.get(slug)
    if source is None:
        return Figure.lacking(f"no fee basis for {slug}: its fees are not among the stored figures", sample.stamp)
    rates = sample.rates.get(source.kind, ())
    if not rates:
        return Figure.lacking(
            f"no {source.kind.value} rates of {slug} stored at block {sample.stamp.number} of chain "
            f"{sample.stamp.chain_id}",
            sample.stamp,
        )
    return source, rates


def _by_basis(slug: str, sample: MemberSample, source: FeeSource, rates: tuple[Rate, ...]) -> Figure:
    if source.basis is Basis.BORROW_INTEREST:
        return _borrow_interest(slug, sample, rates)
    return Figure.of(median(r.apr for r in rates) * sample.tvl_usd, sample.stamp)


def _revenue_scale(slug: str, source: FeeSource, rate: Rate, constant: Fraction | None) -> Fraction | str:
    """What a rate is multiplied by for the protocol's part of its fees, or why that is not known."""
    if rate.fee_share is None:
        if constant is None:
            return f"no revenue share is known for {slug}: no knob splits its {source.kind.value} rates"
        share = constant
    elif rate.fee_share.share is None:
        return f"{slug}: the revenue share of market {rate.market} could not be read: {rate.fee_share.source}"
    else:
        share = rate.fee_share.share
    if source.basis is Basis.BORROW_INTEREST:
        return share
    if share == 1:
        return f"{slug}: market {rate.market} keeps no fee for its LPs, so its LP rate cannot measure the protocol's"
    return share / (1 - share)


def median(values: Iterable[Decimal]) -> Decimal:
    """The middle value (the mean of the two middle ones for an even count), exact in decimals."""
    ordered = sorted(values)
    middle = len(ordered) // 2
    return ordered[middle] if len(ordered) % 2 else (ordered[middle - 1] + ordered[middle]) / 2


def _borrow_interest(slug: str, sample: MemberSample, rates: tuple[Rate, ...]) -> Figure:
    by_asset: dict[str, list[Rate]] = defaultdict(list)
    for rate in rates:
        by_asset[rate.asset.lower()].append(rate)
    total = Decimal(0)
    for token, kind, value in sample.tokens:
        if kind != "borrowed":
            continue
        where = f"block {sample.stamp.number} of chain {sample.stamp.chain_id}"
        if value is None:
            return Figure.lacking(f"{slug}: borrowed {token} has no price at {where}", sample.stamp)
        lent = by_asset.get(token)
        if lent is None:
            return Figure.lacking(f"{slug}: no borrow rate of {token} stored at {where}", sample.stamp)
        total += median(r.apr for r in lent) * value
    return Figure.of(total, sample.stamp)
