"""Curve StableSwap plain-pool events applied to pure state (no I/O), exactly as the pool updates itself.

A `CurveBook` is what the events move: the LP-owned ``balances`` (admin fees excluded), the A ramp and
the LP supply. Where an event reports every figure the update needs, the update is taken from it; where it
lacks one, our exact `curve.math` recomputes it and must agree with what the event reports, else
`CannotApply` (the tracker re-reads the pool):

- ``TokenExchange(buyer, i, dx, j, dy)``: the admin share of the fee is not in the event: `exchange` at A
  of the block recomputes dy and the admin part; dy must equal the event's;
- ``AddLiquidity(amounts, fees, D1, supply)`` / ``RemoveLiquidityImbalance(amounts, fees, D1, supply)``:
  balance_i +/- amount_i - fee_i * admin_fee / 1e10; the supply after is in the event (with the supply
  known, `add_liquidity` recomputes the fees and the minted amount as a check);
- ``RemoveLiquidity(amounts, fees, supply)``: balance_i - amount_i;
- ``RemoveLiquidityOne(token_amount, coin_amount[, supply])``: the coin index is not in the event: the one
  coin whose `remove_liquidity_one_coin` pays exactly coin_amount is the one removed (none, or two that
  leave different states: `CannotApply`); the older 3-field form needs the tracked supply;
- ``RampA(old_A, new_A, t0, t1)`` / ``StopRampA(A, t)``: the ramp; ``NewFee(fee, admin_fee)``: the fees.

    >>> from eth_abi import encode
    >>> from defiscope.protocols.curve.math import AmpRamp, StableSwap, get_dy
    >>> params = StableSwap.of(decimals=(18, 6), fee=4_000_000)
    >>> book = CurveBook(params, (10**24, 10**12), AmpRamp.fixed(20_000), 2 * 10**24)
    >>> def exchange_log(dy):
    ...     data = encode(["int128", "uint256", "int128", "uint256"], [0, 10**21, 1, dy])
    ...     exchanged = topic("TokenExchange(address,int128,uint256,int128,uint256)")
    ...     return PoolLog("0xP", 1, 0, "0xh", (exchanged,), data, None)
    >>> dy = get_dy(params, book.state_at(0), 0, 1, 10**21)
    >>> after = apply_curve(book, exchange_log(dy))
    >>> after.balances[0] - book.balances[0], book.balances[1] - after.balances[1] - dy   # dx in; dy + admin fee out
    (1000000000000000000000, 199999)
    >>> apply_curve(book, exchange_log(dy + 1))  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    defiscope.protocols.pool_events.CannotApply: TokenExchange 0->1 of ...: the pool paid 999595027, our math 999595026
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from functools import cache
from types import MappingProxyType
from typing import Any, Final

from eth_abi import decode

from defiscope.protocols.curve.math import (
    FEE_DENOMINATOR,
    AmpRamp,
    CurveMathError,
    PoolState,
    StableSwap,
    add_liquidity,
    exchange,
    remove_liquidity_one_coin,
)
from defiscope.protocols.pool_events import CannotApply, PoolLog, topic


@dataclass(frozen=True, slots=True)
class CurveBook:
    params: StableSwap
    balances: tuple[int, ...]
    ramp: AmpRamp
    supply: int | None  # None: not readable (an LP token elsewhere); events that need it cannot apply

    def state_at(self, timestamp: int) -> PoolState:
        """The math's state at a block time (supply 0 where unknown: exchange does not read it)."""
        return PoolState(self.balances, self.ramp.at(timestamp), self.supply or 0)


#: An event's decoded data: ints, and tuples of ints for the uint256[N] arrays.
Fields = tuple[Any, ...]
Applier = Callable[[CurveBook, Fields, int | None], CurveBook]


def _admin_share(params: StableSwap, fees: Sequence[int]) -> list[int]:
    return [fee * params.admin_fee // FEE_DENOMINATOR for fee in fees]


def _amp_time(book: CurveBook, timestamp: int | None) -> int:
    """The block time, needed while A ramps (a settled ramp gives the same A at any later time)."""
    if timestamp is not None:
        return timestamp
    if book.ramp.initial_A == book.ramp.future_A:
        return book.ramp.future_time
    raise CannotApply("A is ramping and the log's block time is unknown")


def _exchange(book: CurveBook, fields: Fields, timestamp: int | None) -> CurveBook:
    i, dx, j, dy = fields
    try:
        out, after = exchange(book.params, book.state_at(_amp_time(book, timestamp)), i, j, dx)
    except CurveMathError as exc:
        raise CannotApply(f"TokenExchange {i}->{j} of {dx}: {exc}") from None
    if out != dy:
        raise CannotApply(f"TokenExchange {i}->{j} of {dx}: the pool paid {dy}, our math {out}")
    return replace(book, balances=after.balances)


def _add(book: CurveBook, fields: Fields, timestamp: int | None) -> CurveBook:
    amounts, fees, _, supply = fields
    if book.supply is not None:  # the fees are in the event; recomputing them checks the state held
        try:
            deposit = add_liquidity(book.params, book.state_at(_amp_time(book, timestamp)), amounts)
        except CurveMathError as exc:
            raise CannotApply(f"AddLiquidity {amounts}: {exc}") from None
        if deposit.fees != fees or book.supply + deposit.minted != supply:
            raise CannotApply(f"AddLiquidity {amounts}: fees {fees} / supply {supply} differ from our math")
    admin = _admin_share(book.params, fees)
    balances = tuple(b + a - f for b, a, f in zip(book.balances, amounts, admin, strict=True))
    return replace(book, balances=balances, supply=supply)


def _remove(book: CurveBook, fields: Fields, timestamp: int | None) -> CurveBook:
    """RemoveLiquidity (fees all 0) and RemoveLiquidityImbalance: amounts and fees both leave the balances."""
    amounts, fees, supply = fields[0], fields[1], fields[-1]
    admin = _admin_share(book.params, fees)
    balances = tuple(b - a - f for b, a, f in zip(book.balances, amounts, admin, strict=True))
    if min(balances) < 0:
        raise CannotApply(f"removing {amounts} underflows the balances held {book.balances}")
    return replace(book, balances=balances, supply=supply)


def _remove_one(book: CurveBook, fields: Fields, timestamp: int | None) -> CurveBook:
    token_amount, coin_amount = fields[:2]
    supply = fields[2] + token_amount if len(fields) > 2 else book.supply
    if supply is None:
        raise CannotApply("RemoveLiquidityOne without token_supply and the LP supply unknown")
    state = replace(book.state_at(_amp_time(book, timestamp)), supply=supply)
    outcomes = set()
    for i in range(book.params.n):
        try:
            paid, after = remove_liquidity_one_coin(book.params, state, token_amount, i)
        except CurveMathError:
            continue
        if paid == coin_amount:
            outcomes.add(after)
    if len(outcomes) != 1:
        raise CannotApply(
            f"RemoveLiquidityOne of {token_amount} LP for {coin_amount}: {len(outcomes)} coins match our math"
        )
    (after,) = outcomes
    return replace(book, balances=after.balances, supply=after.supply)


def _ramp(book: CurveBook, fields: Fields, timestamp: int | None) -> CurveBook:
    old_a, new_a, t0, t1 = fields
    return replace(book, ramp=AmpRamp(old_a, new_a, t0, t1))


def _stop_ramp(book: CurveBook, fields: Fields, timestamp: int | None) -> CurveBook:
    amp, t = fields
    return replace(book, ramp=AmpRamp(amp, amp, t, t))


def _new_fee(book: CurveBook, fields: Fields, timestamp: int | None) -> CurveBook:
    fee, admin_fee = fields
    return replace(book, params=replace(book.params, fee=fee, admin_fee=admin_fee))


@dataclass(frozen=True, slots=True)
class EventLayout:
    """One event: its signature (N_COINS written as {n}), the ABI types of its data, and its applier."""

    signature: str
    data: tuple[str, ...]
    apply: Applier

    def for_coins(self, n: int) -> tuple[str, tuple[str, ...]]:
        return topic(self.signature.format(n=n)), tuple(t.format(n=n) for t in self.data)


ARRAY: Final = "uint256[{n}]"
LAYOUTS: Final = (
    EventLayout(
        "TokenExchange(address,int128,uint256,int128,uint256)", ("int128", "uint256", "int128", "uint256"), _exchange
    ),
    EventLayout(
        "AddLiquidity(address,uint256[{n}],uint256[{n}],uint256,uint256)", (ARRAY, ARRAY, "uint256", "uint256"), _add
    ),
    EventLayout("RemoveLiquidity(address,uint256[{n}],uint256[{n}],uint256)", (ARRAY, ARRAY, "uint256"), _remove),
    EventLayout(
        "RemoveLiquidityImbalance(address,uint256[{n}],uint256[{n}],uint256,uint256)",
        (ARRAY, ARRAY, "uint256", "uint256"),
        _remove,
    ),
    EventLayout("RemoveLiquidityOne(address,uint256,uint256,uint256)", ("uint256",) * 3, _remove_one),
    EventLayout("RemoveLiquidityOne(address,uint256,uint256)", ("uint256",) * 2, _remove_one),  # 3pool's
    EventLayout("RampA(uint256,uint256,uint256,uint256)", ("uint256",) * 4, _ramp),
    EventLayout("StopRampA(uint256,uint256)", ("uint256",) * 2, _stop_ramp),
    EventLayout("NewFee(uint256,uint256)", ("uint256",) * 2, _new_fee),
)


@cache
def layouts(n: int) -> Mapping[str, tuple[tuple[str, ...], Applier]]:
    """topic0 -> (data types, applier) for a pool of ``n`` coins."""
    return MappingProxyType({t: (types, layout.apply) for layout in LAYOUTS for t, types in [layout.for_coins(n)]})


def curve_topics(n: int) -> tuple[str, ...]:
    return tuple(layouts(n))


def apply_curve(book: CurveBook, log: PoolLog) -> CurveBook:
    """The book after ``log``; events that move no balance (Transfer, Approval, ...) change nothing."""
    found = layouts(book.params.n).get(log.topic0)
    if found is None:
        return book
    types, applier = found
    fields = tuple(tuple(v) if isinstance(v, (list, tuple)) else v for v in decode(list(types), log.data))
    return applier(book, fields, log.timestamp)
