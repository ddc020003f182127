"""Leases in the store: one holder per named role (a chain's head-follower), fail-over when it stops renewing.

    leases = LeaseStore(engine, seconds=30)
    lease = leases.acquire("head:1", holder="host:123:a1", now=time.time())   # None: someone else holds it
    lease = leases.renew(lease, now=time.time())                                # None: lost (someone took it)
    leases.acquire("head:1", "host:456:b2", now, handover=lease)               # the holder's continuation
    held = HeldLease(leases, lease); held.keep(); held.release()                # renewed through a job's steps
    with holding(leases, "grades:1", holder) as held: ...                      # None: someone else holds it

A free or expired lease goes to whoever asks first (the row is locked for the check: `FOR UPDATE` on PostgreSQL,
SQLite's write transactions are serialised). `token` grows at every change of holder, so a renewal by a holder
whose lease expired and was taken fails even if the clocks disagree. Times are the callers' unix clocks: the lease
is much longer than the skew of hosts kept in time by NTP.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, cast

from sqlalchemy import CursorResult, Engine, select, update
from sqlalchemy.exc import IntegrityError

from defiscope.service.jobs.sessions import JobSessions
from defiscope.store.jobs import LeaseRow


@dataclass(frozen=True, slots=True)
class Lease:
    name: str
    holder: str
    token: int
    expires_at: float


class LeaseStore(JobSessions):
    __slots__ = ("seconds",)

    def __init__(self, engine: Engine, seconds: float) -> None:
        super().__init__(engine)
        self.seconds = seconds

    def acquire(self, name: str, holder: str, now: float, *, handover: Lease | None = None) -> Lease | None:
        """The lease for `holder` if it is free, expired, already its own, or handed over by its current holder."""
        try:
            with self._write() as session:
                row = session.get(LeaseRow, name, with_for_update=True)
                if row is None:
                    row = LeaseRow(name=name, holder=holder, token=1, acquired_at=now, expires_at=now + self.seconds)
                    session.add(row)
                    return _lease(row)
                handed = handover is not None and (row.holder, row.token) == (handover.holder, handover.token)
                if row.holder != holder and row.expires_at > now and not handed:
                    return None
                if row.holder != holder:
                    row.holder, row.token, row.acquired_at = holder, row.token + 1, now
                row.expires_at = now + self.seconds
                return _lease(row)
        except IntegrityError:  # another holder inserted the first row of this name at the same moment
            return None

    def renew(self, lease: Lease, now: float) -> Lease | None:
        """The lease extended by its length, or None if it is no longer this holder's."""
        expires_at = now + self.seconds
        with self._write() as session:
            changed = cast(
                CursorResult[Any],
                session.execute(
                    update(LeaseRow)
                    .where(LeaseRow.name == lease.name, LeaseRow.holder == lease.holder, LeaseRow.token == lease.token)
                    .values(expires_at=expires_at)
                ),
            ).rowcount
        return Lease(lease.name, lease.holder, lease.token, expires_at) if changed else None

    def release(self, lease: Lease) -> None:
        """Give the role up at once (a clean shutdown), unless someone else holds it already."""
        with self._write() as session:
            session.execute(
                update(LeaseRow)
                .where(LeaseRow.name == lease.name, LeaseRow.holder == lease.holder, LeaseRow.token == lease.token)
                .values(expires_at=0.0)
            )

    def current(self, name: str) -> Lease | None:
        with self._reads() as session:
            row = session.get(LeaseRow, name)
            return None if row is None else _lease(row)

    def all(self) -> list[Lease]:
        """Every lease by name, held or run out (`cluster status` shows them)."""
        with self._reads() as session:
            return [_lease(row) for row in session.scalars(select(LeaseRow).order_by(LeaseRow.name))]


class HeldLease:
    """A lease held through one job: `keep()` renews it before each step (False once another holder took it),
    `release()` gives it up at the end (unless lost)."""

    __slots__ = ("lease", "leases")

    def __init__(self, leases: LeaseStore, lease: Lease) -> None:
        self.leases = leases
        self.lease: Lease | None = lease

    def keep(self) -> bool:
        if self.lease is not None:
            self.lease = self.leases.renew(self.lease, time.time())
        return self.lease is not None

    def release(self) -> None:
        if self.lease is not None:
            self.leases.release(self.lease)


@contextmanager
def holding(leases: LeaseStore, name: str, holder: str) -> Iterator[HeldLease | None]:
    """The lease held through a `with` block and given up at its end; None (nothing held) if another holder has
    it now."""
    lease = leases.acquire(name, holder, time.time())
    if lease is None:
        yield None
        return
    held = HeldLease(leases, lease)
    try:
        yield held
    finally:
        held.release()


def _lease(row: LeaseRow) -> Lease:
    return Lease(row.name, row.holder, row.token, row.expires_at)
