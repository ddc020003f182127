"""LP fee APR of DEX pools: what a unit of liquidity earned in swap fees over a trailing window, annualised.

Every model measures the same thing: the growth, from fees, of the liquidity behind one unit of a
position that spans the whole curve (a V2 LP share, a Curve LP token, a full-range V3 position), between a
block S and a block B. APR = that growth x (seconds in a year / seconds from S to B). Each is exact (integer
reads, `Fraction` arithmetic); only the final `Decimal` may round, at 50 digits, when it does not terminate.

- **V2 pairs**: ``isqrt(reserve0 * reserve1) / totalSupply`` — sqrt(k) per LP share, with the pair's own
  integer square root (`UniswapV2Pair._mintFee`'s ``rootK``). Fees stay in the reserves and raise k;
  price moves do not change k. Donations and mint/burn rounding also raise it; protocol-fee mints lower it.
- **Curve pools**: ``get_virtual_price()`` — D per LP token (1e18), which fees raise. An amplification ramp
  also moves it. Admin fees are already taken out of the balances.
- **V3 pools**: ``feeGrowthGlobal0X128`` / ``feeGrowthGlobal1X128`` — the pool's own fee accounting per unit
  of in-range liquidity (net of the protocol's share). A full-range position is always in range, so per
  unit of liquidity it earned ``dfg0 / 2^128`` token0 and ``dfg1 / 2^128`` token1 and, at the price
  ``p = (sqrtPriceX96 / 2^96)^2`` of block B, holds ``1/sqrt(p)`` token0 and ``sqrt(p)`` token1. Valued in
  token0 at p its fee return is ``(dfg0 * sqrt(p) + dfg1 / sqrt(p)) / (2 * 2^128)`` — the same quantity as
  the V2 figure (a V2 LP is a full-range V3 LP). Concentrated positions earn more while in range and nothing
  out of it; a pool-wide average (fees / TVL) would mix in out-of-range liquidity, so it is not used.

V2 and Curve fees are reinvested in the pool, so their APY compounds the APR daily; V3 fees sit uncollected
beside the position and do not compound: APY = APR. A pool that had no swap in the window earned nothing:
its APR is a true 0 (k, D and fee growth did not move), not a missing figure.

    >>> v2_liquidity_per_share(4, 9, 3)                 # sqrt(4 * 9) / 3
    Fraction(2, 1)
    >>> annualize(Fraction(1, 1000), 86_400)             # 0.1 % in a day
    Fraction(73, 200)
    >>> v3_full_range_return(2**129, 0, 2**96)           # 2 token0 per unit of liquidity holding 2 (p = 1)
    Fraction(1, 1)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import cache
from math import isqrt
from typing import Final, Generic, TypeVar

from defiscope.chain.block import BlockRef
from defiscope.chain.multicall import Call, CallResult
from defiscope.protocols.lending.rates import SECONDS_PER_YEAR, apr_to_apy
from defiscope.protocols.uniswap.v3_state import SLOT0
from defiscope.protocols.yields import exact_decimal

#: The trailing window on a chain older than it: a day.
LP_FEE_WINDOW: Final = 86_400
#: Compounding periods of fees reinvested in the pool (V2, Curve): daily.
DAYS_PER_YEAR: Final = 365
Q96: Final = 2**96
Q128: Final = 2**128
UINT256: Final = 2**256

S = TypeVar("S")


class LpFeeError(ValueError):
    """A fee return that cannot be computed (no liquidity, no time elapsed): never reported as 0."""


def v2_liquidity_per_share(reserve0: int, reserve1: int, total_supply: int) -> Fraction:
    """sqrt(k) per LP share, with the pair's floor square root (as `_mintFee` computes rootK)."""
    if total_supply <= 0:
        raise LpFeeError("the pair has no LP supply")
    return Fraction(isqrt(reserve0 * reserve1), total_supply)


def share_growth(start: Fraction, end: Fraction) -> Fraction:
    """Relative growth of a share's value from `start` to `end` (0.01 = 1 %)."""
    if start <= 0:
        raise LpFeeError(f"share value {start} at the window's start is not positive")
    return end / start - 1


def fee_growth_delta(start: int, end: int) -> int:
    """``end - start`` of a V3 fee-growth accumulator, which wraps modulo 2^256 by design."""
    return (end - start) % UINT256


def v3_full_range_return(dfg0: int, dfg1: int, sqrt_price_x96: int) -> Fraction:
    """Fees per unit of full-range liquidity over its value, both in token0 at ``sqrtPriceX96``.

    Per unit of liquidity: fees dfg0/2^128 + dfg1/2^128 / p, value 2/sqrt(p), with sqrt(p) = s/2^96; so
    (dfg0 * s/2^96 + dfg1 * 2^96/s) / (2 * 2^128) = (dfg0 * s^2 + dfg1 * 2^192) / (2 * 2^128 * 2^96 * s).
    """
    if sqrt_price_x96 <= 0:
        raise LpFeeError("the pool has no price (sqrtPriceX96 = 0)")
    return Fraction(dfg0 * sqrt_price_x96**2 + dfg1 * Q96**2, 2 * Q128 * Q96 * sqrt_price_x96)


def annualize(window_return: Fraction, seconds: int) -> Fraction:
    """The window's return as a simple annual rate: x (365 days / window seconds)."""
    if seconds <= 0:
        raise LpFeeError(f"the window spans {seconds} s: nothing to annualise")
    return window_return * SECONDS_PER_YEAR / seconds


@dataclass(frozen=True, slots=True)
class Window:
    """Blocks S and B the return is measured between, and why S is where it is."""

    start: BlockRef
    end: BlockRef
    requested: int  # seconds asked for (LP_FEE_WINDOW)
    #: "" (the full window), "chain" (younger than it), "history" (the node keeps no older state), "pool"
    #: (first liquidity after the window's start)
    limited_by: str = ""

    @property
    def seconds(self) -> int:
        return self.end.timestamp - self.start.timestamp

    def describe(self) -> str:
        span = f"blocks {self.start.number}..{self.end.number} ({self.seconds} s)"
        if self.limited_by == "chain":
            return f"{span}: the chain is younger than {self.requested} s, so since its oldest block"
        if self.limited_by == "history":
            return f"{span}: the node keeps no state from {self.requested} s before B, so since its oldest state"
        if self.limited_by == "pool":
            return f"{span}: the pool is younger than {self.requested} s, so since its first block with liquidity"
        return f"{span}: the first block at or after B - {self.requested} s to B"


@dataclass(frozen=True, slots=True)
class LpFeeModel(Generic[S]):
    """How one pool family's fee return is read: calls at a block, their state, the return between two.

    `state` gets the results of `reads` (all succeeded) and returns None when the pool has no liquidity
    (yet) at that block; `window_return` raises `LpFeeError` when there is nothing to measure.
    """

    reads: Callable[[str], list[Call]]
    state: Callable[[Sequence[CallResult]], S | None]
    window_return: Callable[[S, S], Fraction]
    measure: str  # what is compared, for the method text
    compounds: bool  # fees reinvested in the pool (APY compounded daily) or left beside it (APY = APR)
    #: The pool's own revenue knob in a state (V3: slot0's feeProtocol) and the call it comes from; None: the
    #: knob is not the pool's (V2's factory feeTo, Curve's admin_fee: the adapter reads them beside the rates).
    knob: Callable[[S], int] | None = None
    knob_call: str = ""

    def method(self, window: Window) -> str:
        apy = (
            "APY = APR compounded daily (fees stay in the pool)"
            if self.compounds
            else ("APY = APR (V3 fees are not reinvested, so they do not compound)")
        )
        return (
            f"{self.measure} at blocks S and B, exact; APR = growth x {SECONDS_PER_YEAR} s / window; window "
            f"{window.describe()}; no swaps in the window = a true 0; {apy}"
        )

    def apy(self, apr: Fraction) -> Decimal:
        return apr_to_apy(apr, DAYS_PER_YEAR) if self.compounds else exact_decimal(apr)


def _v2_reads(pair: str) -> list[Call]:
    return [Call.of(pair, signature) for signature in V2_LP_READS]


def _v2_state(results: Sequence[CallResult]) -> Fraction | None:
    reserves, supply = results
    r0, r1, _ = reserves.unwrap()
    total: int = supply.one()
    return v2_liquidity_per_share(r0, r1, total) if total else None


def _curve_reads(pool: str) -> list[Call]:
    return [Call.of(pool, signature) for signature in CURVE_LP_READS]


def _curve_state(results: Sequence[CallResult]) -> Fraction | None:
    (price,) = results
    value: int = price.one()
    return Fraction(value) if value else None


V2_LP_READS: Final = ("getReserves()(uint112,uint112,uint32)", "totalSupply()(uint256)")
CURVE_LP_READS: Final = ("get_virtual_price()(uint256)",)
V3_FEE_GROWTH_READS: Final = ("feeGrowthGlobal0X128()(uint256)", "feeGrowthGlobal1X128()(uint256)")


def _v3_reads(slot0: str) -> Callable[[str], list[Call]]:
    def reads(pool: str) -> list[Call]:
        return [*(Call.of(pool, signature) for signature in V3_FEE_GROWTH_READS), Call.of(pool, slot0)]

    return reads


#: A V3 pool's state: feeGrowthGlobal0X128, feeGrowthGlobal1X128, sqrtPriceX96 and feeProtocol (slot0's).
V3State = tuple[int, int, int, int]
SLOT0_FEE_PROTOCOL: Final = 5  # slot0's field index, in Uniswap's and PancakeSwap's alike


def _v3_state(results: Sequence[CallResult]) -> V3State:
    fg0, fg1, slot0 = results
    fields = slot0.unwrap()
    return fg0.one(), fg1.one(), fields[0], fields[SLOT0_FEE_PROTOCOL]


def _v3_return(start: V3State, end: V3State) -> Fraction:
    return v3_full_range_return(fee_growth_delta(start[0], end[0]), fee_growth_delta(start[1], end[1]), end[2])


def _v3_fee_protocol(state: V3State) -> int:
    return state[3]


V2_LP_FEES: Final[LpFeeModel[Fraction]] = LpFeeModel(
    _v2_reads,
    _v2_state,
    share_growth,
    "growth of isqrt(reserve0 * reserve1) / totalSupply (sqrt(k) per LP share: fees raise k)",
    compounds=True,
)
CURVE_LP_FEES: Final[LpFeeModel[Fraction]] = LpFeeModel(
    _curve_reads,
    _curve_state,
    share_growth,
    "growth of get_virtual_price() (D per LP token: fees raise D)",
    compounds=True,
)


@cache
def v3_lp_fees(slot0: str = SLOT0) -> LpFeeModel[V3State]:
    """The V3 model for one fork (its slot0 signature, `v3_spec.SLOT0_BY_DEX`); the rows carry each pool's
    feeProtocol at B, read with its price."""
    return LpFeeModel(
        _v3_reads(slot0),
        _v3_state,
        _v3_return,
        "full-range position: feeGrowthGlobal0/1X128 deltas per unit of liquidity, valued in token0 at B's "
        "sqrtPriceX96, over the 1/sqrt(p) token0 + sqrt(p) token1 it holds",
        compounds=False,
        knob=_v3_fee_protocol,
        knob_call="slot0().feeProtocol",
    )


V3_LP_FEES: Final = v3_lp_fees()
