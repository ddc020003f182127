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
from defiscope.protocols.base import BalanceKind, Position, Uncounted
from defiscope.tvl.model import NotCounted, NotCountedCause, TokenValue
from defiscope.tvl.policy import Left


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


def not_counted(
    unread: Sequence[Uncounted],
    left: Sequence[Left],
    tokens: Mapping[str, TokenRef | str],
    prices: Mapping[str, PriceDecision],
) -> tuple[NotCounted, ...]:
    """What the figure leaves out, with what is known of each: positions the adapter could not read (their
    token's price when one is known, never an amount made up) and positions a rule left out (amount known,
    and its value when the token is priced)."""
    items = []
    for u in unread:
        ref = _known(tokens, u.token)
        decision = prices.get(u.token) if u.token is not None else None
        items.append(
            NotCounted(
                u.holder,
                u.token,
                ref.symbol if ref else "?",
                u.kind,
                NotCountedCause.UNREAD,
                u.reason,
                u.label,
                decimals=ref.decimals if ref else None,
                price=decision.quote if decision is not None else None,
            )
        )
    for item in left:
        p, ref, decision = item.position, _known(tokens, item.position.token), prices.get(item.position.token)
        quote = decision.quote if decision is not None else None
        value = value_usd(p.amount, ref.decimals, quote.usd, cap=quote.liquidity_usd) if ref and quote else None
        items.append(
            NotCounted(
                p.holder or "",
                p.token,
                ref.symbol if ref else "?",
                p.kind,
                item.cause,
                item.reason,
                p.label,
                amount=p.amount,
                decimals=ref.decimals if ref else None,
                price=quote,
                value_usd=value,
            )
        )
    return tuple(items)


def _known(tokens: Mapping[str, TokenRef | str], token: str | None) -> TokenRef | None:
    ref = tokens.get(token) if token is not None else None
    return ref if isinstance(ref, TokenRef) else None
