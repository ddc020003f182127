"""The figures the TVL engine produces: balances x prices, with why a value is missing.

Token amounts stay integers; USD values are `Decimal`, made only at the valuation step.
A token that cannot be valued carries `value_usd=None` and an `unpriced_reason` — never 0.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal, Inexact, localcontext

from defiscope.chain.block import BlockRef
from defiscope.prices.quote import PriceQuote
from defiscope.protocols.base import BalanceKind, CallRecord

__all__ = ["BalanceKind", "CallRecord", "PriceQuote", "ProtocolSnapshot", "TokenValue"]


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


@dataclass(frozen=True, slots=True)
class ProtocolSnapshot:
    """A protocol's holdings on one chain at one block."""

    slug: str
    chain_id: int
    block: BlockRef
    tokens: tuple[TokenValue, ...]
    calls: tuple[CallRecord, ...] = field(default=())

    def total(self, kind: BalanceKind) -> Decimal:
        """Exact sum of the priced values of one kind; unpriced tokens are excluded and listed by `unpriced`."""
        return exact_sum(t.value_usd for t in self.tokens if t.kind is kind and t.value_usd is not None)

    @property
    def unpriced(self) -> tuple[TokenValue, ...]:
        return tuple(t for t in self.tokens if t.value_usd is None)
