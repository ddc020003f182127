"""`OutboxSink`: the evaluator's `AlertSink`, writing each message into the outbox in the caller's transaction.

    sink = OutboxSink(bells=(worker.bell, stream_bell))
    with repo_session.begin() as session:              # the evaluator's transaction that stores the alert
        session.add(alert_row)
        sink.put(session, message, channels, owner="a1b2c3")
    # committed: one outbox row per channel and one stream row; both bells ring (after the commit, not before)

Under job workers a `dispatch` is told, after the commit, the ids of the pending rows the transaction added, so
each is sent as a delivery job (`service.jobs`); `serve` rings its in-process worker instead.

A message is written at most once per channel (and once per owner in the stream log): putting it again, as a
re-run evaluation might, changes nothing. A channel whose endpoint was disabled by 410 Gone gets its row already
`disabled`, so the record shows why it was not sent. On PostgreSQL the stream rows are written under a
transaction-scoped advisory lock, so their ids are committed in increasing order and a stream resumed after id N
never skips a row committed later with a smaller id (SQLite writers are serialised anyway).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import event, select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from defiscope.alerts.message import AlertMessage, Channel, SharedJson, compact_json
from defiscope.alerts.wakeup import Bell
from defiscope.store.outbox import DISABLED, PENDING, DisabledEndpoint, OutboxRow, StreamRow

_STREAM_LOCK_KEY: Final = 0x616C7274  # "alrt": serialises stream inserts until commit (PostgreSQL)
_ADDED: Final = "outbox_added"  # the session's `info` entry: pending row ids added, for `dispatch` after commit

#: Told the ids of the pending outbox rows a transaction added, once it committed.
Dispatch = Callable[[Sequence[int]], None]


def body_text(message: AlertMessage) -> str:
    """The exact JSON text that is signed, sent, streamed and mailed (compact; keys in the contract's order).

    The evidence is the body's last entry (`AlertMessage.body`): with shared entries, the body is encoded without
    it and the evidence joined on, each shared entry's text encoded once for all the messages carrying it."""
    if not message.shared:
        return compact_json(message.body())
    body = message.body()
    evidence = body["data"].pop("evidence")
    head = compact_json(body)  # ...,"threshold":...}} : the evidence goes before the two closing braces
    return f'{head[:-2]},"evidence":{_evidence_text(evidence, message.shared)}}}}}'


def _evidence_text(evidence: dict[str, Any], shared: Mapping[str, SharedJson]) -> str:
    """`compact_json(evidence)`, with the shared entries' texts as they were encoded."""
    entries = []
    for key, value in evidence.items():
        known = shared.get(key)
        text = known.text if known is not None and known.value is value else compact_json(value)
        entries.append(f"{compact_json(key)}:{text}")
    return "{" + ",".join(entries) + "}"


class OutboxSink:
    """An `AlertSink` (see `defiscope.alerts.message`) over the outbox tables."""

    __slots__ = ("bells", "dispatch")

    def __init__(self, bells: Sequence[Bell] = (), dispatch: Dispatch | None = None) -> None:
        self.bells = tuple(bells)
        self.dispatch = dispatch

    def put(self, session: Session, message: AlertMessage, channels: tuple[Channel, ...], owner: str) -> None:
        now = time.time()
        body = body_text(message)
        disabled = _disabled_targets(session, channels)
        for channel in channels:
            values = {
                "message_id": message.message_id,
                "channel": channel.type,
                "target": channel.target,
                "secret": channel.secret,
                "owner": owner,
                "body": body,
                "state": DISABLED if (channel.type, channel.target) in disabled else PENDING,
                "attempts": 0,
                "created_at": now,
                "next_attempt_at": now,
                "last_error": "endpoint disabled (410 Gone)" if (channel.type, channel.target) in disabled else None,
            }
            insert = _insert_once(session, OutboxRow, values)
            if self.dispatch is None or values["state"] != PENDING:
                session.execute(insert)
            else:  # RETURNING gives the id only when the row is new: a message put again is not sent again
                self._added(session).extend(session.scalars(insert.returning(OutboxRow.id)))
        if session.get_bind().dialect.name == "postgresql":
            session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _STREAM_LOCK_KEY})
        stream = {"owner": owner, "message_id": message.message_id, "type": message.type, "body": body}
        session.execute(_insert_once(session, StreamRow, {**stream, "created_at": now}))
        if self.bells:
            event.listen(session, "after_commit", self._ring, once=True)

    def _added(self, session: Session) -> list[int]:
        added: list[int] | None = session.info.get(_ADDED)
        if added is None:
            added = session.info[_ADDED] = []
            event.listen(session, "after_commit", self._dispatch, once=True)
        return added

    def _dispatch(self, session: Session) -> None:
        added = session.info.pop(_ADDED, [])
        if added and self.dispatch is not None:
            self.dispatch(added)

    def _ring(self, _session: Session) -> None:
        for bell in self.bells:
            bell.ring()


def _disabled_targets(session: Session, channels: tuple[Channel, ...]) -> set[tuple[str, str]]:
    if not channels:
        return set()
    rows = session.execute(
        select(DisabledEndpoint.channel, DisabledEndpoint.target).where(
            DisabledEndpoint.target.in_([c.target for c in channels])
        )
    )
    return {(r.channel, r.target) for r in rows}


def _insert_once(session: Session, model: type[OutboxRow] | type[StreamRow], values: dict[str, Any]) -> Any:
    """INSERT ... ON CONFLICT DO NOTHING on the model's unique key (SQLite and PostgreSQL spell it alike)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    return dialect.insert(model).values(values).on_conflict_do_nothing()
