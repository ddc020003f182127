"""Balances x prices, exactly: integer amounts become USD `Decimal`s here and nowhere earlier.

>>> value_usd(1_500_000, 6, Decimal("0.9998"))
Decimal('1.49970000')
>>> value_usd(10**18, 18, Decimal("3000"), cap=Decimal("1000"))
Decimal('1000')
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from decimal import Decimal, Inexact, localcontext

from defiscope.chain.tokens import TokenRef
from defiscope.prices.aggregator import PriceDecision
from defiscope.protocols.base import BalanceKind, Position
from defiscope.tvl.model import TokenValue


def value_usd(amount: int, decimals: int, usd: Decimal, *, cap: Decimal | None = None) -> Decimal:
    """amount / 10**decimals * usd, with no rounding (Inexact is trapped), capped at `cap` if given."""
    with localcontext() as ctx:
        ctx.prec = len(str(amount)) + len(usd.as_tuple().digits) + 2
        ctx.traps[Inexact] = True
        value = (Decimal(amount) * usd).scaleb(-decimals)
    return min(value, cap) if cap is not None else value


def token_values(
    positions: Sequence[Position],
    tokens: Mapping[str, TokenRef | str],
    prices: Mapping[str, PriceDecision],
) -> tuple[TokenValue, ...]:
    """One `TokenValue` per (token, kind, receipt_of): amounts summed as ints, then valued once."""
    amounts: dict[tuple[str, BalanceKind, str | None], int] = defaultdict(int)
    for p in positions:
        amounts[(p.token, p.kind, p.receipt_of)] += p.amount
    values = []
    for (token, kind, receipt_of), amount in amounts.items():
        ref = tokens.get(token)
        if not isinstance(ref, TokenRef):
            reason = ref if isinstance(ref, str) else f"token {token} metadata missing"
            values.append(TokenValue(token, "?", 0, kind, amount, None, None, reason, receipt_of))
            continue
        decision = prices.get(token)
        if decision is None or decision.quote is None:
            reason = (decision.reason if decision else None) or "no price source was asked"
            values.append(TokenValue(token, ref.symbol, ref.decimals, kind, amount, None, None, reason, receipt_of))
            continue
        quote = decision.quote
        value = value_usd(amount, ref.decimals, quote.usd, cap=quote.liquidity_usd)
        values.append(TokenValue(token, ref.symbol, ref.decimals, kind, amount, quote, value, None, receipt_of))
    values.sort(key=lambda v: (v.kind, -(v.value_usd or Decimal(-1)), v.token))
    return tuple(values)
