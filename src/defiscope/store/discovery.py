"""Discovery in the store: the raw logs of each `LogCursor` source and how far it scanned, per chain.

The `Repository` methods `load_cursor` / `save_cursor` wrap these in one transaction each, which makes the
repository a `defiscope.protocols.log_cursor.CursorStore`:

    cursor.attach(repo)                 # the cursor's first scan loads, each chunk it scans is saved
    repo.rollback_from(chain_id, 120)   # a reorg: logs of blocks >= 120 go, cursors drop to 119

Logs are kept as `eth_getLogs` returned them (hex strings); each cursor parses them with its own `parse`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import partial
from typing import Any, Final

from sqlalchemy import and_, delete, or_, select, update
from sqlalchemy.orm import Session

from defiscope.chain.logs import log_hex, log_int
from defiscope.protocols.log_cursor import StoredCursor, jsonable_log
from defiscope.store.database import dialect_insert
from defiscope.store.models import DiscoveryCursor, DiscoveryLog

_NO_SYNC: Final = {"synchronize_session": False}
# Rows per multi-row INSERT: well under SQLite's 32766 bound parameters at 6 columns a row.
_LOG_BATCH: Final = 1_000


def load(
    session: Session, chain_id: int, source: str, after: tuple[int, int] | None, limit: int | None
) -> StoredCursor | None:
    """The cursor of (chain, source) and its logs up to scanned_to, in chain order, after position `after`
    (block, log index), at most `limit`; None if never saved."""
    cursor = session.get(DiscoveryCursor, (chain_id, source))
    if cursor is None:
        return None
    stmt = select(DiscoveryLog.raw).where(
        DiscoveryLog.chain_id == chain_id,
        DiscoveryLog.source == source,
        DiscoveryLog.block_number <= cursor.scanned_to,
    )
    if after is not None:
        block, index = after
        stmt = stmt.where(
            or_(
                DiscoveryLog.block_number > block,
                and_(DiscoveryLog.block_number == block, DiscoveryLog.log_index > index),
            )
        )
    stmt = stmt.order_by(DiscoveryLog.block_number, DiscoveryLog.log_index)
    if limit is not None:
        stmt = stmt.limit(limit)
    return StoredCursor(cursor.scanned_to, cursor.scanned_hash, list(session.scalars(stmt)))


def save(
    session: Session,
    chain_id: int,
    source: str,
    logs: Sequence[Mapping[str, Any]],
    scanned_to: int,
    scanned_hash: str | None,
) -> None:
    """Append logs (one already stored is kept as is) and move the cursor to `scanned_to`.

    The cursor never moves back here (a second cursor of the same source behind the first only adds what
    is already stored); only a rollback lowers it."""
    insert = partial(dialect_insert, session)
    rows = [_log_row(chain_id, source, log) for log in logs]
    for start in range(0, len(rows), _LOG_BATCH):
        session.execute(insert(DiscoveryLog).values(rows[start : start + _LOG_BATCH]).on_conflict_do_nothing())
    upsert = insert(DiscoveryCursor).values(
        chain_id=chain_id, source=source, scanned_to=scanned_to, scanned_hash=scanned_hash
    )
    session.execute(
        upsert.on_conflict_do_update(
            index_elements=["chain_id", "source"],
            set_={"scanned_to": upsert.excluded.scanned_to, "scanned_hash": upsert.excluded.scanned_hash},
            where=DiscoveryCursor.scanned_to <= upsert.excluded.scanned_to,
        )
    )


def roll_back(session: Session, chain_id: int, block_number: int) -> None:
    """Forget the logs of blocks >= `block_number` on the chain; cursors past it end at the block before."""
    session.execute(
        delete(DiscoveryLog).where(DiscoveryLog.chain_id == chain_id, DiscoveryLog.block_number >= block_number),
        execution_options=_NO_SYNC,
    )
    session.execute(
        update(DiscoveryCursor)
        .where(DiscoveryCursor.chain_id == chain_id, DiscoveryCursor.scanned_to >= block_number)
        .values(scanned_to=block_number - 1, scanned_hash=None),
        execution_options=_NO_SYNC,
    )


def cursors(session: Session, chain_id: int) -> dict[str, tuple[int, str | None]]:
    """Every source of the chain: (scanned_to, hash of that block when known)."""
    stmt = select(DiscoveryCursor.source, DiscoveryCursor.scanned_to, DiscoveryCursor.scanned_hash).where(
        DiscoveryCursor.chain_id == chain_id
    )
    return {source: (scanned_to, scanned_hash) for source, scanned_to, scanned_hash in session.execute(stmt)}


def _log_row(chain_id: int, source: str, log: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "chain_id": chain_id,
        "source": source,
        "block_number": log_int(log["blockNumber"]),
        "log_index": log_int(log["logIndex"]),
        "block_hash": log_hex(log["blockHash"]),
        "raw": jsonable_log(log),
    }
