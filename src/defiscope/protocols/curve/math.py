"""Curve StableSwap math for 2-4 coin plain pools, exact with Python ints, no I/O.

Mirrors the functions of Curve's StableSwap plain pools (``curve-contract`` pool templates, A_PRECISION = 100)
as our own Vyper pool ``contracts/src/CurveStableSwap.vy`` implements them: ``_A``, ``_xp``, ``get_D``,
``get_y``, ``get_y_D``, ``get_dy``, ``exchange``, ``get_virtual_price``, ``calc_token_amount``,
``add_liquidity``, ``remove_liquidity``, ``calc_withdraw_one_coin`` — same constants, same order of
operations, same floor divisions. A uint256 underflow or a division by zero of the contract raises
``CurveMathError``.

The invariant, for ``xp_i = balance_i * rate_i // 10**18`` (every coin scaled to 18 decimals) and n coins::

    A * n**n * sum(xp_i) + D = A * n**n * D + D**(n + 1) / (n**n * prod(xp_i))

``D`` is the pool's total value when all coins are at par; ``A`` is kept multiplied by ``A_PRECISION``.

    >>> pool = StableSwap.of(decimals=(18, 6, 6), fee=1_000_000, admin_fee=5_000_000_000)
    >>> state = PoolState(balances=(50 * 10**24, 50 * 10**12, 50 * 10**12), amp=2000 * A_PRECISION, supply=0)
    >>> get_D(pool.xp(state.balances), state.amp)
    150000000000000000000000000
    >>> get_dy(pool, state, 0, 1, 10**24)     # 1M DAI -> USDC
    999890002101
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Final

from defiscope.errors import DefiscopeError

PRECISION: Final = 10**18
FEE_DENOMINATOR: Final = 10**10
A_PRECISION: Final = 100
MAX_ITERATIONS: Final = 255
MAX_UINT256: Final = 2**256 - 1


class CurveMathError(DefiscopeError, ValueError):
    """Where the pool would revert: an underflow, a division by zero, no convergence, a bad index."""


def _sub(a: int, b: int, what: str) -> int:
    """Vyper's checked uint256 subtraction."""
    if b > a:
        raise CurveMathError(f"{what}: uint256 underflow ({a} - {b})")
    return a - b


def _u(value: int, what: str) -> int:
    """Vyper's checked uint256 arithmetic: a result past 2**256 - 1 reverts."""
    if value > MAX_UINT256:
        raise CurveMathError(f"{what}: uint256 overflow")
    return value


def _div(a: int, b: int, what: str) -> int:
    if b == 0:
        raise CurveMathError(f"{what}: division by zero")
    return a // b


@dataclass(frozen=True, slots=True)
class AmpRamp:
    """A ramp of A (all times A_PRECISION) as the pool stores it: initial_A at initial_time to future_A."""

    initial_A: int  # noqa: N815 - the contract's names
    future_A: int  # noqa: N815
    initial_time: int
    future_time: int

    @classmethod
    def fixed(cls, amp: int) -> AmpRamp:
        """A constant A (times A_PRECISION), as a pool that never ramped."""
        return cls(amp, amp, 0, 0)

    def at(self, timestamp: int) -> int:
        """``_A()`` at a block timestamp: linear from (initial_time, initial_A) to (future_time, future_A)."""
        if timestamp >= self.future_time:
            return self.future_A
        elapsed, span = timestamp - self.initial_time, self.future_time - self.initial_time
        if self.future_A > self.initial_A:
            return self.initial_A + (self.future_A - self.initial_A) * elapsed // span
        return self.initial_A - (self.initial_A - self.future_A) * elapsed // span


@dataclass(frozen=True, slots=True)
class StableSwap:
    """What varies between plain pools: coin rates (10**(36 - decimals)), the fee and the admin share (1e10)."""

    rates: tuple[int, ...]
    fee: int
    admin_fee: int

    def __post_init__(self) -> None:
        if not 2 <= len(self.rates) <= 8:
            raise CurveMathError(f"a StableSwap pool has 2 to 8 coins, not {len(self.rates)}")

    @classmethod
    def of(cls, *, decimals: Sequence[int], fee: int, admin_fee: int = 5 * 10**9) -> StableSwap:
        return cls(tuple(10 ** (36 - d) for d in decimals), fee, admin_fee)

    @property
    def n(self) -> int:
        return len(self.rates)

    def xp(self, balances: Sequence[int]) -> list[int]:
        """``_xp``: balances scaled to 18 decimals."""
        return [_u(rate * b, "_xp") // PRECISION for rate, b in zip(self.rates, balances, strict=True)]

    @property
    def imbalance_fee(self) -> int:
        """The fee on the imbalanced part of a deposit or withdrawal: fee * n / (4 * (n - 1))."""
        return self.fee * self.n // (4 * (self.n - 1))


@dataclass(frozen=True, slots=True)
class PoolState:
    """A pool's state at a block: its ``balances`` (LP-owned, without admin fees), A now, the LP supply."""

    balances: tuple[int, ...]
    amp: int  # A * A_PRECISION at the block (see AmpRamp.at)
    supply: int


def get_D(xp: Sequence[int], amp: int) -> int:  # noqa: N802 - the contract's name
    """Solve the invariant for D by Newton's method, from D = sum(xp).

    With D_P = D**(n+1) / (n**n * prod(xp)) computed one coin at a time (to stay within uint256):
    D' = (Ann * S / A_PRECISION + n * D_P) * D / ((Ann - A_PRECISION) * D / A_PRECISION + (n + 1) * D_P),
    stopping when D moves by at most 1.
    """
    n = len(xp)
    s = sum(xp)
    if s == 0:
        return 0
    d = s
    ann = amp * n
    for _ in range(MAX_ITERATIONS):
        d_p = d
        for x in xp:
            d_p = _div(_u(d_p * d, "get_D"), x * n, "get_D")
        d_prev = d
        numerator = _u(_u(_u(ann * s, "get_D") // A_PRECISION + _u(d_p * n, "get_D"), "get_D") * d, "get_D")
        denominator = _u(_u((ann - A_PRECISION) * d, "get_D") // A_PRECISION + _u((n + 1) * d_p, "get_D"), "get_D")
        d = numerator // denominator
        if abs(d - d_prev) <= 1:
            return d
    raise CurveMathError("get_D does not converge")


def _solve_y(amp: int, n: int, d: int, s: int, c: int) -> int:
    """Newton's method on y**2 + (S + D / Ann - D) * y = c (c already holds D**(n+1) / (n**n prod' Ann))."""
    ann = amp * n
    c = _u(_u(c * d, "get_y") * A_PRECISION, "get_y") // (ann * n)
    b = s + _u(d * A_PRECISION, "get_y") // ann
    y = d
    for _ in range(MAX_ITERATIONS):
        y_prev = y
        y = _u(_u(y * y, "get_y") + c, "get_y") // _sub(_u(2 * y + b, "get_y"), d, "get_y")
        if abs(y - y_prev) <= 1:
            return y
    raise CurveMathError("get_y does not converge")


def get_y(i: int, j: int, x: int, xp: Sequence[int], amp: int) -> int:
    """``get_y``: xp[j] once xp[i] becomes ``x``, at the invariant's current D."""
    n = len(xp)
    if i == j:
        raise CurveMathError("get_y: same coin")
    if not (0 <= i < n and 0 <= j < n):
        raise CurveMathError(f"get_y: coin index out of range (i={i}, j={j}, {n} coins)")
    d = get_D(xp, amp)
    c, s = d, 0
    for k in range(n):
        if k == j:
            continue
        x_k = x if k == i else xp[k]
        s += x_k
        c = _div(_u(c * d, "get_y"), x_k * n, "get_y")
    return _solve_y(amp, n, d, s, c)


def get_y_D(amp: int, i: int, xp: Sequence[int], d: int) -> int:  # noqa: N802
    """``get_y_D``: the xp[i] that brings the invariant to ``d`` with the other coins unchanged."""
    n = len(xp)
    if not 0 <= i < n:
        raise CurveMathError(f"get_y_D: coin index {i} out of range ({n} coins)")
    c, s = d, 0
    for k in range(n):
        if k == i:
            continue
        s += xp[k]
        c = _div(_u(c * d, "get_y_D"), xp[k] * n, "get_y_D")
    return _solve_y(amp, n, d, s, c)


def _dy_and_fee(pool: StableSwap, state: PoolState, i: int, j: int, dx: int) -> tuple[int, int]:
    """``get_dy``'s body: (dy after fee in coin j's units, the fee in xp units)."""
    if not (0 <= i < pool.n and 0 <= j < pool.n):
        raise CurveMathError(f"coin index out of range (i={i}, j={j}, {pool.n} coins)")
    xp = pool.xp(state.balances)
    x = _u(xp[i] + _u(dx * pool.rates[i], "get_dy") // PRECISION, "get_dy")
    y = get_y(i, j, x, xp, state.amp)
    dy = _sub(_sub(xp[j], y, "get_dy"), 1, "get_dy")  # one unit less, against rounding
    dy_fee = dy * pool.fee // FEE_DENOMINATOR
    return (dy - dy_fee) * PRECISION // pool.rates[j], dy_fee


def get_dy(pool: StableSwap, state: PoolState, i: int, j: int, dx: int) -> int:
    """``get_dy(i, j, dx)``: coin j paid for ``dx`` of coin i, after the swap fee."""
    return _dy_and_fee(pool, state, i, j, dx)[0]


def exchange(pool: StableSwap, state: PoolState, i: int, j: int, dx: int) -> tuple[int, PoolState]:
    """``exchange``: (dy, the state after); the admin share of the fee leaves ``balances``."""
    dy, dy_fee = _dy_and_fee(pool, state, i, j, dx)
    admin_part = dy_fee * pool.admin_fee // FEE_DENOMINATOR * PRECISION // pool.rates[j]
    balances = list(state.balances)
    balances[i] += dx
    balances[j] = _sub(balances[j], dy + admin_part, "exchange")
    return dy, replace(state, balances=tuple(balances))


def get_virtual_price(pool: StableSwap, state: PoolState) -> int:
    """D per LP token, 1e18-scaled."""
    return _div(get_D(pool.xp(state.balances), state.amp) * PRECISION, state.supply, "get_virtual_price")


def calc_token_amount(pool: StableSwap, state: PoolState, amounts: Sequence[int], is_deposit: bool) -> int:
    """``calc_token_amount``: LP tokens for a deposit or withdrawal, without fees (an estimate, as Curve's)."""
    d0 = get_D(pool.xp(state.balances), state.amp)
    balances = [
        b + a if is_deposit else _sub(b, a, "calc_token_amount") for b, a in zip(state.balances, amounts, strict=True)
    ]
    d1 = get_D(pool.xp(balances), state.amp)
    diff = _sub(d1, d0, "calc_token_amount") if is_deposit else _sub(d0, d1, "calc_token_amount")
    return _div(diff * state.supply, d0, "calc_token_amount")


@dataclass(frozen=True, slots=True)
class Deposit:
    minted: int
    fees: tuple[int, ...]  # per coin, in coin units (the AddLiquidity event's fees)
    state: PoolState  # after the deposit


def add_liquidity(pool: StableSwap, state: PoolState, amounts: Sequence[int]) -> Deposit:
    """``add_liquidity``: LP minted and fees charged on the imbalanced part of the deposit."""
    old = state.balances
    d0 = get_D(pool.xp(old), state.amp)
    if state.supply == 0 and not all(amounts):
        raise CurveMathError("add_liquidity: initial deposit requires all coins")
    new = [b + a for b, a in zip(old, amounts, strict=True)]
    d1 = get_D(pool.xp(new), state.amp)
    if d1 <= d0:
        raise CurveMathError("add_liquidity: D did not grow")
    if state.supply == 0:
        return Deposit(d1, (0,) * pool.n, PoolState(tuple(new), state.amp, d1))
    fees, kept = [], []
    for old_balance, new_balance in zip(old, new, strict=True):
        ideal = d1 * old_balance // d0
        fee = pool.imbalance_fee * abs(ideal - new_balance) // FEE_DENOMINATOR
        fees.append(fee)
        kept.append(new_balance - fee * pool.admin_fee // FEE_DENOMINATOR)
    d2 = get_D(pool.xp([b - f for b, f in zip(new, fees, strict=True)]), state.amp)
    minted = state.supply * (d2 - d0) // d0
    return Deposit(minted, tuple(fees), PoolState(tuple(kept), state.amp, state.supply + minted))


def remove_liquidity(state: PoolState, amount: int) -> tuple[tuple[int, ...], PoolState]:
    """``remove_liquidity``: each coin's pro-rata share of ``amount`` LP tokens, rounded down; no fee."""
    out = tuple(_div(b * amount, state.supply, "remove_liquidity") for b in state.balances)
    balances = tuple(b - o for b, o in zip(state.balances, out, strict=True))
    return out, PoolState(balances, state.amp, _sub(state.supply, amount, "remove_liquidity"))


def calc_withdraw_one_coin(pool: StableSwap, state: PoolState, token_amount: int, i: int) -> tuple[int, int]:
    """``_calc_withdraw_one_coin``: (coin i paid for burning ``token_amount``, the fee part in coin units).

    D falls by the burnt share; coin i's new xp solves the invariant at that D; the imbalance fee is charged
    on each coin's distance from a proportional withdrawal, and coin i is solved again on the reduced xp.
    """
    xp = pool.xp(state.balances)
    d0 = get_D(xp, state.amp)
    d1 = _sub(d0, _div(token_amount * d0, state.supply, "calc_withdraw_one_coin"), "calc_withdraw_one_coin")
    new_y = get_y_D(state.amp, i, xp, d1)
    reduced = list(xp)
    for k in range(pool.n):
        # Coin i is expected to fall to new_y; the others pro rata to D1 / D0.
        share = xp[k] * d1 // d0
        expected = _sub(share, new_y, "calc_withdraw_one_coin") if k == i else xp[k] - share
        reduced[k] = _sub(reduced[k], pool.imbalance_fee * expected // FEE_DENOMINATOR, "calc_withdraw_one_coin")
    precision = pool.rates[i] // PRECISION
    dy = _sub(reduced[i], get_y_D(state.amp, i, reduced, d1), "calc_withdraw_one_coin")
    dy = _sub(dy, 1, "calc_withdraw_one_coin") // precision  # one unit less, against rounding
    dy_0 = _sub(xp[i], new_y, "calc_withdraw_one_coin") // precision  # without fees
    return dy, _sub(dy_0, dy, "calc_withdraw_one_coin")


def remove_liquidity_one_coin(pool: StableSwap, state: PoolState, token_amount: int, i: int) -> tuple[int, PoolState]:
    """``remove_liquidity_one_coin``: (coin i paid, the state after); the admin share of the fee leaves."""
    dy, dy_fee = calc_withdraw_one_coin(pool, state, token_amount, i)
    balances = list(state.balances)
    balances[i] = _sub(balances[i], dy + dy_fee * pool.admin_fee // FEE_DENOMINATOR, "remove_liquidity_one_coin")
    return dy, PoolState(tuple(balances), state.amp, _sub(state.supply, token_amount, "remove_liquidity_one_coin"))
