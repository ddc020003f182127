"""One rebalance: from the holdings there are to the target weights, each trade quoted exactly (pure; no I/O).

Overweight members are sold into the hub token (WETH on Ethereum, WBNB on BNB Chain: `hubs`), then the hub
buys the underweight ones.
Every trade is priced by an injected `Quoter`: the router's exact quote on the block's pool state as the
earlier trades of this rebalance left it (`venue.BlockVenue`), or a fixed-fee model (`FixedFeeQuoter`) to
compare with. Gas is the route's gas units times the block's base fee, paid from the hub. Amounts are raw
integers throughout; USD figures are exact `Fraction`s of the block's prices, `Decimal` only when shown.

    >>> from decimal import Decimal
    >>> market = Market(1, {"WETH": Decimal(2000), "UNI": Decimal(10)}, {"WETH": 18, "UNI": 18}, 0, "WETH")
    >>> quoter = FixedFeeQuoter(market, Fraction(0))
    >>> result = plan_rebalance({"WETH": 10**18}, {"UNI": Fraction(1, 2), "WETH": Fraction(1, 2)}, market, quoter)
    >>> [(t.sell, t.buy, t.amount_in, t.amount_out) for t in result.trades]
    [('WETH', 'UNI', 500000000000000000, 100000000000000000000)]

Sizing: a member's target value is w * V at the block's prices, V the holdings' value before the trades.
Sells are sized in the member's own units, so they land on target up to the quote's slippage, which the hub
absorbs; buys share the hub's spendable amount (its balance above its own target, less the buys' gas) in
proportion to each member's shortfall, so when slippage has made the hub short every member falls short
by the same fraction instead of the last one in line taking it all.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Final, Protocol

from defiscope.errors import DefiscopeError

#: Wei per ether: gas is paid in the chain's native coin, priced like its wrapped token.
WEI: Final = 10**18
#: Below this many USD a member's gap to target is left alone: not worth a trade's gas and slippage.
DEFAULT_DUST_USD: Final = Decimal(50)


class NoQuote(DefiscopeError):
    """A trade the quoter cannot price: no pool path joins the tokens, or the pools cannot take the amount."""


class Unvalued(DefiscopeError):
    """The holdings cannot be valued at the block: a held token has no price there."""


@dataclass(frozen=True, slots=True)
class RouteLeg:
    """One leg of a route: the tokens it passes through, the pools (dex:address) it swaps on, and its amounts."""

    path: tuple[str, ...]
    pools: tuple[str, ...]
    amount_in: int
    amount_out: int


@dataclass(frozen=True, slots=True)
class Fill:
    """A quote: `amount_in` of `sell` buys exactly `amount_out` of `buy` along `legs`, for `gas_units` of gas."""

    sell: str
    buy: str
    amount_in: int
    amount_out: int
    legs: tuple[RouteLeg, ...]
    gas_units: int


class Quoter(Protocol):
    """Quotes trades on one block's state; `commit` makes a quoted trade, so later quotes see the pools it moved."""

    def quote(self, sell: str, buy: str, amount_in: int) -> Fill:
        """The exact fill of selling `amount_in` (raw) of `sell` for `buy`; raises `NoQuote`. Changes nothing."""
        ...

    def commit(self, fill: Fill) -> None:
        """The trade was made: the pools it swapped on now hold what it left."""
        ...


@dataclass(frozen=True, slots=True)
class Market:
    """What is known at the rebalance block: USD per whole token (a symbol absent: no price at that block),
    token decimals, the base fee in wei per gas, the hub trades go through, and the wrapped native coin whose
    price prices the gas."""

    block: int
    prices: Mapping[str, Decimal]
    decimals: Mapping[str, int]
    base_fee_wei: int
    hub: str
    native: str = "WETH"

    def unit_price(self, symbol: str) -> Fraction:
        """USD per raw unit of `symbol`; `KeyError` when it has no price at the block."""
        return Fraction(self.prices[symbol]) / Fraction(10 ** self.decimals[symbol])

    def value(self, symbol: str, amount: int) -> Fraction:
        return Fraction(amount) * self.unit_price(symbol)

    def gas_usd(self, gas_units: int) -> Fraction:
        if gas_units and self.base_fee_wei and self.native not in self.prices:
            raise Unvalued(f"no price at block {self.block} for {self.native}: the gas cannot be priced")
        return Fraction(gas_units * self.base_fee_wei, WEI) * Fraction(self.prices.get(self.native, 0))

    def gas_in_hub(self, gas_units: int) -> int:
        """The gas paid from the hub, in its raw units, rounded up (the fund never pays less than the chain)."""
        return math.ceil(self.gas_usd(gas_units) / self.unit_price(self.hub))


@dataclass(frozen=True, slots=True)
class Trade:
    """A made trade: the fill, its gas in USD, and its slippage: value given minus value got at the block's prices
    (fees and price impact; negative when the pool paid more than the price)."""

    fill: Fill
    gas_usd: Fraction
    slippage_usd: Fraction

    @property
    def sell(self) -> str:
        return self.fill.sell

    @property
    def buy(self) -> str:
        return self.fill.buy

    @property
    def amount_in(self) -> int:
        return self.fill.amount_in

    @property
    def amount_out(self) -> int:
        return self.fill.amount_out


@dataclass(frozen=True, slots=True)
class Shortfall:
    """A member the rebalance could not bring to target, and why (no price, no route, not worth its gas)."""

    symbol: str
    reason: str


@dataclass(frozen=True, slots=True)
class RebalanceResult:
    """The trades in the order made, the holdings they leave, and the weights before and after."""

    block: int
    targets: Mapping[str, Fraction]
    trades: tuple[Trade, ...]
    holdings: Mapping[str, int]
    shortfalls: tuple[Shortfall, ...]
    value_before_usd: Fraction
    weights_before: Mapping[str, Fraction]
    weights_after: Mapping[str, Fraction] = field(default_factory=dict)

    @property
    def gas_usd(self) -> Fraction:
        return sum((t.gas_usd for t in self.trades), Fraction(0))

    @property
    def slippage_usd(self) -> Fraction:
        return sum((t.slippage_usd for t in self.trades), Fraction(0))

    @property
    def turnover(self) -> Fraction:
        """One-way turnover: half the summed weight changes, the fraction of the portfolio traded."""
        members = set(self.weights_before) | set(self.weights_after)
        moved = sum(
            (abs(self.weights_after.get(m, Fraction(0)) - self.weights_before.get(m, Fraction(0))) for m in members),
            Fraction(0),
        )
        return moved / 2


def holdings_value(holdings: Mapping[str, int], market: Market) -> Fraction:
    """The USD value of the holdings at the block; `Unvalued` naming the held tokens without a price."""
    unpriced = sorted(s for s, amount in holdings.items() if amount and s not in market.prices)
    if unpriced:
        raise Unvalued(f"no price at block {market.block} for held {', '.join(unpriced)}")
    return sum((market.value(s, amount) for s, amount in holdings.items() if amount), Fraction(0))


def weights_of(holdings: Mapping[str, int], market: Market) -> dict[str, Fraction]:
    """Each held token's share of the holdings' value at the block (empty for holdings worth nothing)."""
    total = holdings_value(holdings, market)
    if total == 0:
        return {}
    return {s: market.value(s, amount) / total for s, amount in holdings.items() if amount}


def plan_rebalance(
    holdings: Mapping[str, int],
    targets: Mapping[str, Fraction],
    market: Market,
    quoter: Quoter,
    *,
    dust_usd: Decimal = DEFAULT_DUST_USD,
) -> RebalanceResult:
    """The trades from `holdings` to `targets` (weights summing to 1) at `market`'s block, made through `quoter`."""
    if sum(targets.values(), Fraction(0)) != 1:
        raise ValueError(f"target weights must sum to 1, got {sum(targets.values(), Fraction(0))}")
    run = _Run(dict(holdings), market, quoter, Fraction(dust_usd))
    value = holdings_value(holdings, market)
    before = weights_of(holdings, market)
    priced = {s: w for s, w in targets.items() if s in market.prices}
    for symbol in sorted(set(targets) - set(priced)):
        run.shortfalls.append(Shortfall(symbol, f"no price at block {market.block}: cannot size or value it"))
    goal = {s: w * value for s, w in priced.items()}  # the unpriced members' share stays in the hub
    run.sell_overweights(goal)
    run.buy_underweights(goal)
    after = weights_of(run.holdings, market)
    return RebalanceResult(
        market.block,
        dict(targets),
        tuple(run.trades),
        {s: a for s, a in run.holdings.items() if a},
        tuple(run.shortfalls),
        value,
        before,
        after,
    )


@dataclass(slots=True)
class _Run:
    holdings: dict[str, int]
    market: Market
    quoter: Quoter
    dust: Fraction
    trades: list[Trade] = field(default_factory=list)
    shortfalls: list[Shortfall] = field(default_factory=list)

    @property
    def hub(self) -> str:
        return self.market.hub

    def gap(self, symbol: str, goal: Mapping[str, Fraction]) -> Fraction:
        """USD above (positive) or below (negative) the member's target value."""
        return self.market.value(symbol, self.holdings.get(symbol, 0)) - goal.get(symbol, Fraction(0))

    def sell_overweights(self, goal: Mapping[str, Fraction]) -> None:
        for symbol in sorted(self.holdings):
            excess = self.gap(symbol, goal)
            if symbol == self.hub or excess <= self.dust:
                continue
            held = self.holdings[symbol]
            # A member leaving the index is sold whole; otherwise only the excess, in its own units.
            amount = held if symbol not in goal else min(held, math.floor(excess / self.market.unit_price(symbol)))
            self.trade(symbol, self.hub, amount)

    def buy_underweights(self, goal: Mapping[str, Fraction]) -> None:
        wanted = {s: -self.gap(s, goal) for s in sorted(goal) if s != self.hub}
        wanted = {s: usd for s, usd in wanted.items() if usd > self.dust}
        if not wanted:
            return
        hub_price = self.market.unit_price(self.hub)
        nominal = {s: math.floor(usd / hub_price) for s, usd in wanted.items()}
        gas = {s: self.gas_estimate(s, amount) for s, amount in nominal.items()}
        spendable = self.holdings.get(self.hub, 0) - math.ceil(goal.get(self.hub, Fraction(0)) / hub_price)
        spendable -= sum(gas.values())
        if spendable <= 0:
            gas_usd = _usd(sum(gas.values()) * hub_price)
            for symbol in nominal:
                reason = f"the hub has nothing to spend once its target and the buys' gas ({gas_usd} USD) are kept"
                self.shortfalls.append(Shortfall(symbol, reason))
            return
        scale = min(Fraction(1), Fraction(spendable, sum(nominal.values())))
        for symbol, amount in nominal.items():
            self.trade(self.hub, symbol, math.floor(amount * scale))

    def gas_estimate(self, buy: str, amount: int) -> int:
        """The hub's gas for buying `buy` with `amount` of hub, from a quote that commits nothing (0 if unquoted:
        that trade will be reported, not made)."""
        try:
            return self.market.gas_in_hub(self.quoter.quote(self.hub, buy, amount).gas_units)
        except NoQuote:
            return 0

    def trade(self, sell: str, buy: str, amount: int) -> None:
        member = buy if sell == self.hub else sell
        if amount <= 0:
            self.shortfalls.append(Shortfall(member, "its share of the hub rounds to nothing"))
            return
        try:
            fill = self.quoter.quote(sell, buy, amount)
        except NoQuote as exc:
            self.shortfalls.append(Shortfall(member, f"no quote for {sell} -> {buy}: {exc}"))
            return
        gas_hub = self.market.gas_in_hub(fill.gas_units)
        gas_usd = self.market.gas_usd(fill.gas_units)
        given, got = self.market.value(sell, amount), self.market.value(buy, fill.amount_out)
        if gas_usd >= given:
            self.shortfalls.append(Shortfall(member, f"the trade ({_usd(given)} USD) is not worth its gas"))
            return
        if self.holdings.get(self.hub, 0) + (fill.amount_out if buy == self.hub else -amount) < gas_hub:
            self.shortfalls.append(Shortfall(member, "the hub cannot pay the trade's gas"))
            return
        self.quoter.commit(fill)
        self.holdings[sell] = self.holdings.get(sell, 0) - amount
        self.holdings[buy] = self.holdings.get(buy, 0) + fill.amount_out
        self.holdings[self.hub] -= gas_hub
        self.trades.append(Trade(fill, gas_usd, given - got))


@dataclass(slots=True)
class FixedFeeQuoter:
    """The cost model backtests elsewhere use: every trade fills at the block's prices less a fixed fee, no gas."""

    market: Market
    fee: Fraction

    def quote(self, sell: str, buy: str, amount_in: int) -> Fill:
        if sell not in self.market.prices or buy not in self.market.prices:
            raise NoQuote(f"no price for {sell if sell not in self.market.prices else buy}")
        out = math.floor(amount_in * self.market.unit_price(sell) * (1 - self.fee) / self.market.unit_price(buy))
        leg = RouteLeg((sell, buy), (f"fixed-fee:{self.fee}",), amount_in, out)
        return Fill(sell, buy, amount_in, out, (leg,), 0)

    def commit(self, fill: Fill) -> None:
        """A fixed fee has no state to move."""


def _usd(value: Fraction) -> str:
    return f"{Decimal(value.numerator) / value.denominator:.2f}"
