"""Domain dataclasses <-> row values, both ways, with nothing lost.

Saving turns a `ProtocolSnapshot` into plain column dicts (so the repository can bulk-insert and
upsert them); loading rebuilds the dataclasses from ORM rows. The pair is exact: for any snapshot
whose call args/results are JSON data, ``to_snapshot(rows_of(s)) == s``.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from defiscope.chain.block import BlockRef
from defiscope.store.models import Price, ProvenanceCall, SnapshotToken, SnapshotUncounted, TvlSnapshot
from defiscope.store.types import check_decimal, check_int, from_json, to_json
from defiscope.tvl.model import (
    BalanceKind,
    CallRecord,
    NotCounted,
    NotCountedCause,
    PriceQuote,
    ProtocolSnapshot,
    TokenValue,
    exact_sum,
)

Values = dict[str, Any]


@dataclass(frozen=True, slots=True)
class HistoryPoint:
    """A snapshot's totals without its tokens: one point of a TVL chart."""

    block: BlockRef
    tvl_usd: Decimal
    borrowed_usd: Decimal
    staking_usd: Decimal
    pool2_usd: Decimal
    unpriced_count: int
    uncounted_count: int = 0  # positions left out of the totals (could not be read, or left out by rule)

    def total(self, kind: BalanceKind) -> Decimal:
        """The stored total of one kind, as `ProtocolSnapshot.total` computed it."""
        return {
            BalanceKind.TVL: self.tvl_usd,
            BalanceKind.BORROWED: self.borrowed_usd,
            BalanceKind.STAKING: self.staking_usd,
            BalanceKind.POOL2: self.pool2_usd,
        }[kind]


@dataclass(frozen=True, slots=True)
class ChainPoint:
    """A chain's TVL at one stored block: the exact sum of the protocols stored at that block."""

    block: BlockRef
    tvl_usd: Decimal
    protocols: int


def chain_points(rows: Iterable[tuple[int, int, str, int, Decimal]]) -> list[ChainPoint]:
    """Fold (chain, number, hash, timestamp, tvl) rows, ordered by block, into one point per block."""
    grouped: dict[tuple[int, int], tuple[BlockRef, list[Decimal]]] = {}
    for chain_id, number, block_hash, timestamp, tvl in rows:
        entry = grouped.setdefault((chain_id, number), (BlockRef(chain_id, number, block_hash, timestamp), []))
        entry[1].append(tvl)
    return [ChainPoint(block, exact_sum(values), len(values)) for block, values in grouped.values()]


def snapshot_values(snapshot: ProtocolSnapshot) -> Values:
    """Columns of the `tvl_snapshots` row, totals computed by the snapshot itself."""
    if snapshot.chain_id != snapshot.block.chain_id:
        raise ValueError(
            f"snapshot {snapshot.slug!r} is for chain {snapshot.chain_id} "
            f"but its block is on chain {snapshot.block.chain_id}"
        )
    return {
        "slug": snapshot.slug,
        "chain_id": snapshot.chain_id,
        "block_number": snapshot.block.number,
        "block_hash": snapshot.block.hash,
        "block_timestamp": snapshot.block.timestamp,
        "tvl_usd": check_decimal(snapshot.total(BalanceKind.TVL)),
        "borrowed_usd": check_decimal(snapshot.total(BalanceKind.BORROWED)),
        "staking_usd": check_decimal(snapshot.total(BalanceKind.STAKING)),
        "pool2_usd": check_decimal(snapshot.total(BalanceKind.POOL2)),
        "unpriced_count": len(snapshot.unpriced),
        "uncounted_count": len(snapshot.uncounted),
    }


def token_values(ordinal: int, token: TokenValue) -> Values:
    """Columns of one `snapshot_tokens` row, less `snapshot_id` (known only after the upsert).

    Exact values are checked here, before any write, so bad data raises TypeError/ValueError
    itself rather than wrapped in a driver error halfway through a transaction.
    """
    return {
        "ordinal": ordinal,
        "token": token.token,
        "symbol": token.symbol,
        "decimals": token.decimals,
        "kind": BalanceKind(token.kind).value,
        "amount": check_int(token.amount),
        **_price_columns(token.price),
        "value_usd": _optional_decimal(token.value_usd),
        "unpriced_reason": token.unpriced_reason,
        "receipt_of": token.receipt_of,
    }


def uncounted_values(ordinal: int, item: NotCounted) -> Values:
    """Columns of one `snapshot_uncounted` row, less `snapshot_id`."""
    return {
        "ordinal": ordinal,
        "holder": item.holder,
        "token": item.token,
        "symbol": item.symbol,
        "kind": BalanceKind(item.kind).value,
        "cause": NotCountedCause(item.cause).value,
        "reason": item.reason,
        "label": item.label,
        "amount": None if item.amount is None else check_int(item.amount),
        "decimals": item.decimals,
        **_price_columns(item.price),
        "value_usd": _optional_decimal(item.value_usd),
    }


def _price_columns(price: PriceQuote | None) -> Values:
    """The inlined `PriceQuote` columns (all NULL without one)."""
    return {
        "price_chain_id": price.chain_id if price else None,
        "price_token": price.token if price else None,
        "price_usd": check_decimal(price.usd) if price else None,
        "price_source": price.source if price else None,
        "price_timestamp": price.timestamp if price else None,
        "price_confidence": price.confidence if price else None,
        "price_block_number": price.block_number if price else None,
        "price_liquidity_usd": _optional_decimal(price.liquidity_usd) if price else None,
    }


def call_values(ordinal: int, call: CallRecord, snapshot_block: int) -> Values:
    """Columns of one `provenance_calls` row, less `snapshot_id`; fails early on non-JSON data. A call with no
    block of its own was pinned to the snapshot's block (`snapshot_block`): stored as such."""
    try:
        args, result = to_json(list(call.args)), to_json(call.result)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"call {ordinal} ({call.function} on {call.target}) is not JSON data: {exc}") from exc
    return {
        "ordinal": ordinal,
        "target": call.target,
        "function": call.function,
        "args": args,
        "result": result,
        "success": call.success,
        "block_number": snapshot_block if call.block is None else call.block,
    }


def price_values(quote: PriceQuote) -> Values:
    """Columns of one `prices` row."""
    return {
        "chain_id": quote.chain_id,
        "token": quote.token,
        "block_number": quote.block_number,
        "timestamp": quote.timestamp,
        "usd": check_decimal(quote.usd),
        "source": quote.source,
        "confidence": quote.confidence,
        "liquidity_usd": _optional_decimal(quote.liquidity_usd),
    }


def _optional_decimal(value: Decimal | None) -> Decimal | None:
    return None if value is None else check_decimal(value)


def block_of(row: TvlSnapshot) -> BlockRef:
    return BlockRef(chain_id=row.chain_id, number=row.block_number, hash=row.block_hash, timestamp=row.block_timestamp)


def to_snapshot(row: TvlSnapshot, *, with_calls: bool = True) -> ProtocolSnapshot:
    """Rebuild the snapshot; `row.tokens` (and `row.calls` unless `with_calls=False`) must be loaded."""
    return ProtocolSnapshot(
        slug=row.slug,
        chain_id=row.chain_id,
        block=block_of(row),
        tokens=tuple(to_token(t) for t in row.tokens),
        calls=tuple(to_call(c, row.block_number) for c in row.calls) if with_calls else (),
        uncounted=tuple(to_uncounted(u) for u in row.uncounted),
    )


def to_uncounted(row: SnapshotUncounted) -> NotCounted:
    return NotCounted(
        holder=row.holder,
        token=row.token,
        symbol=row.symbol,
        kind=BalanceKind(row.kind),
        cause=NotCountedCause(row.cause),
        reason=row.reason,
        label=row.label,
        amount=row.amount,
        decimals=row.decimals,
        price=_price_of(row),
        value_usd=row.value_usd,
    )


def _price_of(row: SnapshotToken | SnapshotUncounted) -> PriceQuote | None:
    price = None
    if row.price_usd is not None:
        # All price_* columns are written together, so the NOT NULL ones are set whenever usd is.
        assert row.price_chain_id is not None
        assert row.price_token is not None
        assert row.price_source is not None
        assert row.price_timestamp is not None
        assert row.price_confidence is not None
        price = PriceQuote(
            chain_id=row.price_chain_id,
            token=row.price_token,
            usd=row.price_usd,
            source=row.price_source,
            timestamp=row.price_timestamp,
            confidence=row.price_confidence,
            block_number=row.price_block_number,
            liquidity_usd=row.price_liquidity_usd,
        )
    return price


def to_token(row: SnapshotToken) -> TokenValue:
    return TokenValue(
        token=row.token,
        symbol=row.symbol,
        decimals=row.decimals,
        kind=BalanceKind(row.kind),
        amount=row.amount,
        price=_price_of(row),
        value_usd=row.value_usd,
        unpriced_reason=row.unpriced_reason,
        receipt_of=row.receipt_of,
    )


def to_call(row: ProvenanceCall, snapshot_block: int) -> CallRecord:
    """The call as recorded: a call pinned to the snapshot's own block has no block of its own (`CallRecord`)."""
    args = from_json(row.args)
    return CallRecord(
        target=row.target,
        function=row.function,
        args=args if isinstance(args, tuple) else (args,),
        result=from_json(row.result),
        success=row.success,
        block=None if row.block_number == snapshot_block else row.block_number,
    )


def to_price(row: Price) -> PriceQuote:
    return PriceQuote(
        chain_id=row.chain_id,
        token=row.token,
        usd=row.usd,
        source=row.source,
        timestamp=row.timestamp,
        confidence=row.confidence,
        block_number=row.block_number,
        liquidity_usd=row.liquidity_usd,
    )


def to_history_point(row: TvlSnapshot) -> HistoryPoint:
    return HistoryPoint(
        block=block_of(row),
        tvl_usd=row.tvl_usd,
        borrowed_usd=row.borrowed_usd,
        staking_usd=row.staking_usd,
        pool2_usd=row.pool2_usd,
        unpriced_count=row.unpriced_count,
        uncounted_count=row.uncounted_count,
    )
