"""Pure pool objects for routing: one swap interface over V2 pairs, V3 pools and Curve plain pools.

Each pool is immutable; ``swap`` returns the amount out, the fee it charged and the pool after the swap,
using the exact ported math (``v2_math.get_amount_out``, ``math.swap.swap``, ``curve.math.exchange``), so
legs that share a pool can be quoted in sequence exactly as they would execute.

    >>> pair = V2Pool("uniswap-v2", "0xP", "0xA", "0xB", 100 * 10**18, 300_000 * 10**6, UNISWAP_V2_FEE)
    >>> hop = pair.swap("0xA", "0xB", 10**18)
    >>> hop.amount_out, hop.fee, hop.pool.reserve0
    (2961474103, 3000000000000000, 101000000000000000000)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from fractions import Fraction
from typing import Final, NamedTuple, Protocol

from defiscope.errors import DefiscopeError
from defiscope.protocols.curve.math import A_PRECISION, PoolState, StableSwap, exchange, get_D
from defiscope.protocols.uniswap.math.errors import MathRevert
from defiscope.protocols.uniswap.math.pool_state import V3PoolState
from defiscope.protocols.uniswap.math.swap import SwapResult
from defiscope.protocols.uniswap.math.swap_ladder import SwapLadder, ladder_swap
from defiscope.protocols.uniswap.v2_math import UNISWAP_V2_FEE, V2Fee, get_amount_out

#: V3 fees are in pips (hundredths of a basis point).
PIPS: Final = 1_000_000
MAX_UINT112: Final = 2**112 - 1


class NoLiquidity(DefiscopeError):
    """The pool cannot take the whole input (a V3 pool runs out of ticks, a reserve would be drained)."""


class Hop(NamedTuple):
    amount_out: int
    fee: int  # charged by the pool, in units of ``fee_token``
    fee_token: str
    pool: Pool  # the pool after the swap


class Pool(Protocol):
    @property
    def dex(self) -> str: ...
    @property
    def address(self) -> str: ...
    @property
    def tokens(self) -> tuple[str, ...]: ...

    def swap(self, token_in: str, token_out: str, amount_in: int) -> Hop:
        """Exact input of ``amount_in`` of ``token_in`` for ``token_out``."""
        ...

    def quote(self, token_in: str, token_out: str, amount_in: int) -> int:
        """``swap(...).amount_out`` without building the pool after the swap (the router's hot path)."""
        ...

    def mid_price(self, token_in: str, token_out: str) -> Fraction:
        """Raw units of ``token_out`` per raw unit of ``token_in`` for an infinitesimal trade, fee excluded."""
        ...


@dataclass(frozen=True, slots=True)
class V2Pool:
    """A Uniswap V2-style pair: ``UniswapV2Library.getAmountOut`` with the fork's fee."""

    dex: str
    address: str
    token0: str
    token1: str
    reserve0: int
    reserve1: int
    fee_rule: V2Fee = UNISWAP_V2_FEE

    @property
    def tokens(self) -> tuple[str, ...]:
        return (self.token0, self.token1)

    def quote(self, token_in: str, token_out: str, amount_in: int) -> int:
        zero_in = token_in == self.token0
        r_in, r_out = (self.reserve0, self.reserve1) if zero_in else (self.reserve1, self.reserve0)
        out = get_amount_out(amount_in, r_in, r_out, self.fee_rule)
        if out >= r_out:
            raise NoLiquidity(f"{self.dex} pair {self.address}: would drain the reserve")
        if r_in + amount_in > MAX_UINT112:
            raise NoLiquidity(f"{self.dex} pair {self.address}: UniswapV2: OVERFLOW (reserve past uint112)")
        return out

    def swap(self, token_in: str, token_out: str, amount_in: int) -> Hop:
        zero_in = token_in == self.token0
        r_in, r_out = (self.reserve0, self.reserve1) if zero_in else (self.reserve1, self.reserve0)
        out = self.quote(token_in, token_out, amount_in)
        fee = amount_in * (self.fee_rule.denominator - self.fee_rule.numerator) // self.fee_rule.denominator
        new_in, new_out = r_in + amount_in, r_out - out  # the pair's _update() after the transfer in
        reserves = (new_in, new_out) if zero_in else (new_out, new_in)
        after = V2Pool(self.dex, self.address, self.token0, self.token1, *reserves, self.fee_rule)
        return Hop(out, fee, token_in, after)

    def mid_price(self, token_in: str, token_out: str) -> Fraction:
        if token_in == self.token0:
            return Fraction(self.reserve1, self.reserve0)
        return Fraction(self.reserve0, self.reserve1)


@dataclass(frozen=True, slots=True)
class V3Pool:
    """A Uniswap V3-style pool: the exact swap loop of ``UniswapV3Pool.swap`` with the default price limit.

    Quotes on one state go through a `SwapLadder` per direction (the whole steps walked once, then a
    bisection per quote): a router asks for many amounts on the state of one block.
    """

    dex: str
    address: str
    token0: str
    token1: str
    state: V3PoolState
    ladders: dict[bool, SwapLadder] = field(default_factory=dict, compare=False, repr=False)

    @property
    def tokens(self) -> tuple[str, ...]:
        return (self.token0, self.token1)

    def quote(self, token_in: str, token_out: str, amount_in: int) -> int:
        return self._swap(token_in, amount_in)[1]

    def swap(self, token_in: str, token_out: str, amount_in: int) -> Hop:
        result, out = self._swap(token_in, amount_in)
        # Nominal: each step charges ceil(amountIn * fee / (1e6 - fee)); summed per step it may differ by a unit.
        fee = -(-amount_in * self.state.fee // PIPS)
        state = replace(self.state, sqrt_price_x96=result.sqrt_price_x96, tick=result.tick, liquidity=result.liquidity)
        return Hop(out, fee, token_in, V3Pool(self.dex, self.address, self.token0, self.token1, state))

    def _swap(self, token_in: str, amount_in: int) -> tuple[SwapResult, int]:
        zero_for_one = token_in == self.token0
        ladder = self.ladders.get(zero_for_one)
        if ladder is None or ladder.state is not self.state:  # built for this state only
            ladder = self.ladders[zero_for_one] = SwapLadder(self.state, zero_for_one)
        try:
            result = ladder_swap(ladder, amount_in)
        except MathRevert as exc:
            raise NoLiquidity(f"{self.dex} pool {self.address}: {exc}") from None
        used, out = (result.amount0, -result.amount1) if zero_for_one else (result.amount1, -result.amount0)
        if used != amount_in:  # the price limit stopped it: routers would take less than asked
            raise NoLiquidity(f"{self.dex} pool {self.address}: takes only {used} of {amount_in}")
        return result, out

    def mid_price(self, token_in: str, token_out: str) -> Fraction:
        price = Fraction(self.state.sqrt_price_x96**2, 2**192)  # token1 per token0
        return price if token_in == self.token0 else 1 / price


@dataclass(frozen=True, slots=True)
class CurvePool:
    """A Curve StableSwap plain pool: ``exchange(i, j, dx, 0)``."""

    dex: str
    address: str
    coins: tuple[str, ...]
    params: StableSwap
    state: PoolState

    @property
    def tokens(self) -> tuple[str, ...]:
        return self.coins

    def quote(self, token_in: str, token_out: str, amount_in: int) -> int:
        return self.swap(token_in, token_out, amount_in).amount_out

    def swap(self, token_in: str, token_out: str, amount_in: int) -> Hop:
        i, j = self.coins.index(token_in), self.coins.index(token_out)
        out, after = exchange(self.params, self.state, i, j, amount_in)
        if out <= 0:
            raise NoLiquidity(f"curve pool {self.address}: pays nothing for {amount_in}")
        # exchange() charges fee on dy before the fee: dy_gross * fee / 1e10, in coin j; recover it from
        # dy = dy_gross - fee, i.e. fee = dy * fee_rate / (1e10 - fee_rate), nominal.
        fee = out * self.params.fee // (10**10 - self.params.fee)
        return Hop(out, fee, token_out, replace(self, state=after))

    def mid_price(self, token_in: str, token_out: str) -> Fraction:
        """d(xp_j)/d(xp_i) of the invariant at the current balances, scaled back to raw units.

        Differentiating A n^n S + D = A n^n D + D^(n+1)/(n^n P) at constant D along coins i and j gives
        dx_j/dx_i = -(A n^n + D_P / x_i) / (A n^n + D_P / x_j), with D_P = D^(n+1) / (n^n P).
        """
        i, j = self.coins.index(token_in), self.coins.index(token_out)
        xp = self.params.xp(self.state.balances)
        n = len(xp)
        d = get_D(xp, self.state.amp)
        ann = Fraction(self.state.amp * n, A_PRECISION)  # as get_D: Ann = A * n with A stored times A_PRECISION
        prod = 1
        for x in xp:
            prod *= x
        d_p = Fraction(d ** (n + 1), n**n * prod)
        slope = (ann + d_p / xp[i]) / (ann + d_p / xp[j])
        return slope * Fraction(self.params.rates[i], self.params.rates[j])
