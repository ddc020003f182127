"""The live stream's side of the outbox: each key's messages in order, from any point, and a hub to wait on.

    log = StreamLog(engine)
    start = log.latest("a1b2c3")                        # a new subscriber: from now on
    for entry in log.after("a1b2c3", start, limit=100): # or from its Last-Event-ID
        ...                                             # entry.id is the Server-Sent Event id

A key sees only its own rules' messages (the sink's `owner`). Retention (`alerts.retention`) prunes messages older
than its days; `read` tells a reader resuming from before a pruned message (`gap_through`) instead of skipping it.
`StreamHub` is what waiting streams listen to: the sink's bell (a commit in this process) and `close()` (the server
is stopping: every stream ends).
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine, func, select
from sqlalchemy.orm import sessionmaker

from defiscope.alerts.wakeup import Bell
from defiscope.store.outbox import StreamPruned, StreamRow


@dataclass(frozen=True, slots=True)
class StreamEntry:
    id: int
    type: str
    body: str  # the webhook body's JSON text


@dataclass(frozen=True, slots=True)
class StreamBatch:
    entries: list[StreamEntry]
    #: Set when messages after the asked id were pruned (retention): the highest pruned id. Entries below it are
    #: survivors in the gap (pruning goes by age); resume after it.
    gap_through: int | None = None


class StreamLog:
    __slots__ = ("_sessions",)

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine)

    def latest(self, owner: str) -> int:
        """The id of the owner's newest message (0 when none)."""
        with self._sessions() as session:
            return int(session.scalar(select(func.max(StreamRow.id)).where(StreamRow.owner == owner)) or 0)

    def after(self, owner: str, after_id: int, limit: int) -> list[StreamEntry]:
        return self.read(owner, after_id, limit).entries

    def read(self, owner: str, after_id: int, limit: int) -> StreamBatch:
        """The owner's messages after `after_id` (at most `limit`), and whether retention pruned some of them."""
        with self._sessions() as session:
            rows = session.execute(
                select(StreamRow.id, StreamRow.type, StreamRow.body)
                .where(StreamRow.owner == owner, StreamRow.id > after_id)
                .order_by(StreamRow.id)
                .limit(limit)
            )
            entries = [StreamEntry(r.id, r.type, r.body) for r in rows]
            # Read after the rows: a pruning committed in between shows as a gap, never as a silent one.
            pruned = session.get(StreamPruned, owner)
        through = 0 if pruned is None else pruned.pruned_through
        # Message `through` itself was pruned: a reader after an earlier id missed it, unless the rows were read
        # before that pruning committed (then `through` is among them).
        lost = through > after_id and all(entry.id != through for entry in entries)
        return StreamBatch(entries, through if lost else None)


class StreamHub:
    """What every open stream of one server waits on."""

    __slots__ = ("bell", "closed")

    def __init__(self, bell: Bell | None = None) -> None:
        self.bell = bell or Bell()
        self.closed = False

    def close(self) -> None:
        """End every stream (before the HTTP server stops: it waits for open responses to finish)."""
        self.closed = True
        self.bell.ring()
