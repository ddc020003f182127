"""The outbox as the worker sees it: claim due messages under a lease, record what each attempt came to.

    queue = OutboxQueue(engine, settings)
    claimed, next_due = queue.claim(now=time.time(), limit=8)    # each row's lease: now + settings.lease
    queue.record(claimed[0], Outcome("delivered", "HTTP 204", 204), now=time.time())

Claiming counts the attempt (a message that crashes the worker still runs out of tries) and leases the row: if
the worker dies before recording, the lease runs out and any worker claims it again: at least once. On
PostgreSQL several workers claim with `FOR UPDATE SKIP LOCKED`; SQLite's write transactions are serialised
(BEGIN IMMEDIATE). Every method is one transaction.

A delivery job (`service.jobs`) claims its one row the same way (`claim_row`); when the row is not claimable it
asks `next_look` when to come back (a retry falling due, or a lease running out: its holder may have died). The
scheduler's sweep asks for the rows no job is handling (`stranded`: due and free for longer than a grace period).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Final

from sqlalchemy import Engine, and_, delete, func, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from defiscope.alerts.delivery.backoff import retry_delay
from defiscope.alerts.delivery.outcome import Envelope, Outcome
from defiscope.alerts.delivery.settings import DeliverySettings
from defiscope.store.database import WRITE_OPTION
from defiscope.store.outbox import DEAD, DELIVERED, DISABLED, OUTBOX_STATES, PENDING, DisabledEndpoint, OutboxRow

_ERROR_CHARS: Final = 1000


@dataclass(frozen=True, slots=True)
class DeadLetter:
    row_id: int
    message_id: str
    channel: str
    target: str
    state: str
    attempts: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class StrandedRow:
    """A pending row no delivery job is handling, as of its attempts so far (a new attempt makes it a new one)."""

    row_id: int
    attempts: int


class OutboxQueue:
    __slots__ = ("_reads", "_sessions", "settings")

    def __init__(self, engine: Engine, settings: DeliverySettings) -> None:
        self.settings = settings
        self._sessions = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)
        self._reads = sessionmaker(engine)

    @contextmanager
    def _write(self) -> Iterator[Session]:
        with self._sessions.begin() as session:
            yield session

    def claim(self, now: float, limit: int) -> tuple[list[Envelope], float | None]:
        """Up to `limit` due messages, leased to the caller; and when the next pending one falls due."""
        free = or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until <= now)
        with self._write() as session:
            rows = list(
                session.scalars(
                    select(OutboxRow)
                    .where(OutboxRow.state == PENDING, OutboxRow.next_attempt_at <= now, free)
                    .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
                    .limit(limit)
                    .with_for_update(skip_locked=True)
                )
            )
            for row in rows:
                row.attempts += 1
                row.lease_until = now + self.settings.lease
            claimed = [Envelope(r.id, r.message_id, r.channel, r.target, r.secret, r.body, r.attempts) for r in rows]
            # The soonest a pending row may be claimed: a free row's retry time, or a leased row's lease end.
            free_due = session.scalar(
                select(func.min(OutboxRow.next_attempt_at)).where(OutboxRow.state == PENDING, free)
            )
            lease_due = session.scalar(
                select(func.min(OutboxRow.lease_until)).where(OutboxRow.state == PENDING, OutboxRow.lease_until > now)
            )
        dues = [float(t) for t in (free_due, lease_due) if t is not None]
        return claimed, min(dues) if dues else None

    def claim_row(self, row_id: int, now: float) -> Envelope | None:
        """Row `row_id`, leased to the caller as one more attempt, if it is pending, due and free; else None."""
        with self._write() as session:
            row = session.scalars(
                select(OutboxRow)
                .where(
                    OutboxRow.id == row_id,
                    OutboxRow.state == PENDING,
                    OutboxRow.next_attempt_at <= now,
                    or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until <= now),
                )
                .with_for_update(skip_locked=True)
            ).one_or_none()
            if row is None:
                return None
            row.attempts += 1
            row.lease_until = now + self.settings.lease
            return Envelope(row.id, row.message_id, row.channel, row.target, row.secret, row.body, row.attempts)

    def stranded(self, now: float, grace: float, limit: int) -> list[StrandedRow]:
        """Up to `limit` pending rows due, and free (never claimed, or their claim ended), for more than `grace`
        seconds before `now`, oldest due first: rows no delivery job is handling (its send failed after the commit,
        or the job was lost), as a job claims a due row within moments of its retry time or lease end."""
        since = now - grace
        free = or_(OutboxRow.lease_until.is_(None), OutboxRow.lease_until <= since)
        stmt = (
            select(OutboxRow.id, OutboxRow.attempts)
            .where(OutboxRow.state == PENDING, OutboxRow.next_attempt_at <= since, free)
            .order_by(OutboxRow.next_attempt_at, OutboxRow.id)
            .limit(limit)
        )
        with self._reads() as session:
            return [StrandedRow(int(row_id), int(attempts)) for row_id, attempts in session.execute(stmt)]

    def next_look(self, row_id: int) -> float | None:
        """When row `row_id` may be claimable: its retry time or its lease's end, whichever is later; None once it
        is settled (delivered, dead, disabled) or gone."""
        with self._reads() as session:
            found = session.execute(
                select(OutboxRow.next_attempt_at, OutboxRow.lease_until).where(
                    OutboxRow.id == row_id, OutboxRow.state == PENDING
                )
            ).one_or_none()
        if found is None:
            return None
        due, lease = found
        return max(float(due), float(lease or 0.0))

    def record(self, envelope: Envelope, outcome: Outcome, now: float) -> str:
        """Store what the attempt came to; returns the row's new state."""
        values: dict[str, object] = {
            "lease_until": None,
            "last_status": outcome.status,
            "last_error": None if outcome.kind == "delivered" else outcome.detail[:_ERROR_CHARS],
        }
        if outcome.kind == "delivered":
            state = DELIVERED
        elif outcome.kind == "gone":
            state = DISABLED
        elif outcome.kind == "refused" or envelope.attempts >= self.settings.max_attempts:
            state = DEAD
        else:
            state = PENDING
            values["next_attempt_at"] = now + retry_delay(envelope.attempts, self.settings, outcome.retry_after)
        if state != PENDING:
            values["finished_at"] = now
        with self._write() as session:
            session.execute(update(OutboxRow).where(OutboxRow.id == envelope.row_id).values(state=state, **values))
            if outcome.kind == "gone":
                self._disable(session, envelope.channel, envelope.target, outcome.detail, now)
        return state

    def _disable(self, session: Session, channel: str, target: str, reason: str, now: float) -> None:
        """410 Gone: the endpoint is disabled and its other pending messages are not sent."""
        if session.get(DisabledEndpoint, (channel, target)) is None:
            session.add(DisabledEndpoint(channel=channel, target=target, disabled_at=now, reason=reason))
        session.execute(
            update(OutboxRow)
            .where(OutboxRow.channel == channel, OutboxRow.target == target, OutboxRow.state == PENDING)
            .values(state=DISABLED, finished_at=now, lease_until=None, last_error=f"endpoint disabled: {reason}")
        )

    def release(self, row_ids: Iterable[int]) -> None:
        """Give back leases of attempts that were abandoned (the worker is stopping): claimable again at once."""
        ids = list(row_ids)
        if ids:
            with self._write() as session:
                session.execute(
                    update(OutboxRow).where(OutboxRow.id.in_(ids), OutboxRow.state == PENDING).values(lease_until=None)
                )

    def enable(self, channel: str, target: str) -> bool:
        """Send to a disabled endpoint again (new messages; those disabled meanwhile stay so). False: not disabled."""
        with self._write() as session:
            result = session.execute(
                delete(DisabledEndpoint).where(
                    and_(DisabledEndpoint.channel == channel, DisabledEndpoint.target == target)
                )
            )
            return bool(getattr(result, "rowcount", 0))

    def counts(self) -> dict[str, int]:
        with self._reads() as session:
            rows = session.execute(select(OutboxRow.state, func.count()).group_by(OutboxRow.state))
            found = {state: int(n) for state, n in rows}
        return {state: found.get(state, 0) for state in OUTBOX_STATES}

    def undelivered(self, limit: int = 100) -> list[DeadLetter]:
        """The newest dead-lettered and disabled messages, with why."""
        with self._reads() as session:
            rows = session.scalars(
                select(OutboxRow)
                .where(OutboxRow.state.in_((DEAD, DISABLED)))
                .order_by(OutboxRow.id.desc())
                .limit(limit)
            )
            return [
                DeadLetter(r.id, r.message_id, r.channel, r.target, r.state, r.attempts, r.last_error) for r in rows
            ]
