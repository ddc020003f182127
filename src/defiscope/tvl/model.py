"""The figures the TVL engine produces: balances x prices, with why a value is missing.

Token amounts stay integers; USD values are `Decimal`, made only at the valuation step.
A token that cannot be valued carries `value_usd=None` and an `unpriced_reason` — never 0. A position that is
not counted at all (it could not be read, or a valuation rule leaves it out) is a `NotCounted` beside the
tokens, with its reason and whatever is known of it (amount, price).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, Inexact, localcontext
from enum import StrEnum
from typing import Final

from defiscope.chain.block import BlockRef
from defiscope.prices.quote import PriceQuote
from defiscope.protocols.base import BalanceKind, CallRecord

__all__ = ["BalanceKind", "CallRecord", "NotCounted", "NotCountedCause", "PriceQuote", "ProtocolSnapshot", "TokenValue"]


def exact_sum(values: Iterable[Decimal]) -> Decimal:
    """Sum Decimals without rounding.

    Plain `sum` rounds to the context's 28 significant digits, so a 21-digit USD total of values
    carrying 18+ decimals loses its tail, and re-adding the stored parts no longer gives the stored
    total. The sum of finite Decimals needs at most (highest digit - lowest digit + carries) digits;
    we set that precision and trap Inexact to prove nothing was rounded.

        >>> sum([Decimal("1e20"), Decimal("1e-20")], Decimal(0)) == Decimal("1e20")
        True
        >>> exact_sum([Decimal("1e20"), Decimal("1e-20")])
        Decimal('100000000000000000000.00000000000000000001')
    """
    items = list(values)
    if not all(v.is_finite() for v in items):
        return sum(items, Decimal(0))  # NaN/Infinity propagate; whoever stores it refuses them
    high = max((v.adjusted() for v in items), default=0)
    low = min((int(v.as_tuple().exponent) for v in items), default=0)
    with localcontext() as ctx:
        ctx.prec = max(ctx.prec, max(high, 0) - min(low, 0) + 2 + len(str(len(items))))
        ctx.traps[Inexact] = True
        return sum(items, Decimal(0))


@dataclass(frozen=True, slots=True)
class TokenValue:
    """One token held by one protocol on one chain, in one kind, valued (or not, and why)."""

    token: str
    symbol: str
    decimals: int
    kind: BalanceKind
    amount: int  # raw integer units
    price: PriceQuote | None
    value_usd: Decimal | None
    unpriced_reason: str | None = None
    receipt_of: str | None = None  # slug of the protocol whose receipt token this is


class NotCountedCause(StrEnum):
    """Why a position is outside the figure."""

    UNREAD = "unread"  # the adapter could not read it (a token without code, a reverting call)
    BLACKLISTED = "blacklisted"  # a token configured never to be counted
    LONG_TAIL = "long_tail"  # left out by DefiLlama's long-tail rule for DEX pools (`tvl.policy`)


@dataclass(frozen=True, slots=True)
class NotCounted:
    """A position left out of a protocol's figure, and why; listed beside it, never counted as 0.

    `amount` is None when it could not be read; `price` is the token's price when one is known, so a reader
    sees "price known, amount not" rather than a value made up."""

    holder: str
    token: str | None
    symbol: str  # "?" when the token's metadata could not be read
    kind: BalanceKind
    cause: NotCountedCause
    reason: str
    label: str = ""
    amount: int | None = None
    decimals: int | None = None
    price: PriceQuote | None = None
    value_usd: Decimal | None = None  # what it would have added, when amount and price are both known

    def describe(self) -> str:
        """One line for people: what, where, why, and what is known of its size."""
        what = f"{self.symbol} ({self.token})" if self.token else "a position"
        where = self.label or f"held by {self.holder}"
        if self.amount is not None:
            size = f"amount {self.amount}" + (f" (worth ${self.value_usd})" if self.value_usd is not None else "")
        elif self.price is not None:
            size = f"price known (${self.price.usd}, {self.price.source}) but amount not read"
        else:
            size = "amount and price unknown"
        return f"{what} in {where}: {self.reason}; {size}"


MAX_REASONS: Final = 3  # distinct reasons a one-line summary spells out


def not_counted_summary(items: Iterable[NotCounted]) -> str | None:
    """ "N positions not counted: reason (k), ..." — None when everything was counted."""
    listed = list(items)
    if not listed:
        return None
    reasons: dict[str, int] = {}
    for item in listed:
        reasons[item.reason] = reasons.get(item.reason, 0) + 1
    shown = [r if n == 1 else f"{r} (x{n})" for r, n in list(reasons.items())[:MAX_REASONS]]
    more = len(reasons) - len(shown)
    parts = "; ".join(shown) + (f"; and {more} other reasons" if more else "")
    noun = "position" if len(listed) == 1 else "positions"
    return f"{len(listed)} {noun} not counted: {parts}"


@dataclass(frozen=True, slots=True)
class ProtocolSnapshot:
    """A protocol's holdings on one chain at one block."""

    slug: str
    chain_id: int
    block: BlockRef
    tokens: tuple[TokenValue, ...]
    calls: tuple[CallRecord, ...] = field(default=())
    uncounted: tuple[NotCounted, ...] = field(default=())  # positions left out of the totals, and why

    def total(self, kind: BalanceKind) -> Decimal:
        """Exact sum of the priced values of one kind; unpriced tokens are excluded and listed by `unpriced`."""
        return exact_sum(t.value_usd for t in self.tokens if t.kind is kind and t.value_usd is not None)

    @property
    def unpriced(self) -> tuple[TokenValue, ...]:
        return tuple(t for t in self.tokens if t.value_usd is None)
