"""How a stored figure was obtained: block, calls, balances, prices, and the sum — as plain data.

The explanation re-adds the stored token values and checks the result equals the snapshot's totals
exactly; a mismatch is a bug and raises.

    doc = explain(snapshot)
    doc["totals"]["tvl"]["usd"]          # "12345.678..." (exact decimal string)
    doc["totals"]["tvl"]["sum"]          # "v1 + v2 + ... = total"
"""

from __future__ import annotations

from typing import Any

from defiscope.protocols.base import BalanceKind, CallRecord
from defiscope.tvl.model import NotCounted, ProtocolSnapshot, TokenValue, exact_sum, not_counted_summary
from defiscope.tvl.valuation import value_usd


class ExplainMismatch(AssertionError):
    """The explained parts do not add up to the stored total: never expected, always a bug."""


def _token(t: TokenValue) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "token": t.token,
        "symbol": t.symbol,
        "kind": t.kind.value,
        "amount": str(t.amount),
        "decimals": t.decimals,
        "receipt_of": t.receipt_of,
    }
    if t.price is None or t.value_usd is None:
        doc.update(price=None, value_usd=None, unpriced_reason=t.unpriced_reason, arithmetic="not valued")
        return doc
    q = t.price
    uncapped = value_usd(t.amount, t.decimals, q.usd)
    capped = q.liquidity_usd is not None and uncapped > t.value_usd
    arithmetic = f"{t.amount} / 10^{t.decimals} x {q.usd} = {uncapped}"
    if capped:
        arithmetic += f", capped at the market's depth {q.liquidity_usd}"
    doc.update(
        price={
            "usd": str(q.usd),
            "source": q.source,
            "timestamp": q.timestamp,
            "confidence": q.confidence,
            "block_number": q.block_number,
            "liquidity_usd": None if q.liquidity_usd is None else str(q.liquidity_usd),
        },
        value_usd=str(t.value_usd),
        arithmetic=arithmetic,
    )
    return doc


def not_counted_doc(item: NotCounted) -> dict[str, Any]:
    """One position left out, as data: what is known of it (amount, price, value) and why; never a 0."""
    q = item.price
    return {
        "holder": item.holder,
        "token": item.token,
        "symbol": item.symbol,
        "kind": item.kind.value,
        "cause": item.cause.value,
        "reason": item.reason,
        "label": item.label,
        "amount": None if item.amount is None else str(item.amount),
        "decimals": item.decimals,
        "price_usd": None if q is None else str(q.usd),
        "price_source": None if q is None else q.source,
        "value_usd": None if item.value_usd is None else str(item.value_usd),
        "note": item.describe(),
    }


def _call(call: CallRecord, snapshot_block: int) -> dict[str, Any]:
    """One recorded call, with the block it was pinned to (the snapshot's unless read at an older one)."""
    return {
        "target": call.target,
        "function": call.function,
        "args": list(call.args),
        "result": call.result,
        "success": call.success,
        "block": snapshot_block if call.block is None else call.block,
    }


def explain(snapshot: ProtocolSnapshot) -> dict[str, Any]:
    totals: dict[str, Any] = {}
    for kind in BalanceKind:
        parts = [t.value_usd for t in snapshot.tokens if t.kind is kind and t.value_usd is not None]
        total = snapshot.total(kind)
        if exact_sum(parts) != total:
            raise ExplainMismatch(f"{snapshot.slug} {kind}: parts sum to {exact_sum(parts)}, total is {total}")
        if parts or kind is BalanceKind.TVL:
            totals[kind.value] = {
                "usd": str(total),
                "sum": " + ".join(str(p) for p in parts) + f" = {total}" if parts else "nothing priced = 0",
            }
    return {
        "slug": snapshot.slug,
        "chain_id": snapshot.chain_id,
        "block": {"number": snapshot.block.number, "hash": snapshot.block.hash, "timestamp": snapshot.block.timestamp},
        "calls": [_call(c, snapshot.block.number) for c in snapshot.calls],
        "tokens": [_token(t) for t in snapshot.tokens],
        "unpriced": [
            {"token": t.token, "symbol": t.symbol, "amount": str(t.amount), "reason": t.unpriced_reason}
            for t in snapshot.unpriced
        ],
        "not_counted": [not_counted_doc(item) for item in snapshot.uncounted],
        "not_counted_summary": not_counted_summary(snapshot.uncounted),
        "totals": totals,
    }
