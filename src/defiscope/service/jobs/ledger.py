"""The job ledger: each job by its idempotency key, so a job delivered twice after it is done does nothing.

    ledger = JobLedger(engine)
    if ledger.start("backfill:1:uniswap-v2:100-199/1", "backfill", holder="host:123", now=time.time()):
        ...  # the job's own writes are idempotent too: a crash before `finish` re-runs it harmlessly
        ledger.finish(key, {"stored": 100}, now=time.time())
    ledger.states([key])        # {key: ("done", 1)}: state and tries; a key never started is absent

Every method is one transaction. `start` of a key that is running elsewhere starts it again (its worker may have
died: the broker redelivered the message); the job's writes decide what is stored, not the ledger.
"""

from __future__ import annotations

import json
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Final

from sqlalchemy import case, func, select
from sqlalchemy.exc import IntegrityError

from defiscope.service.jobs.sessions import JobSessions
from defiscope.store.jobs import DEAD, DONE, FAILED, RUNNING, JobRunRow

_ERROR_CHARS: Final = 2000
_KEYS_PER_QUERY: Final = 500  # an IN list small enough for either backend
#: Upper bounds (seconds) of the job latency histogram's buckets, from a discovery scan to a long chunk.
LATENCY_BUCKETS: Final = (0.1, 0.5, 1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)


@dataclass(frozen=True, slots=True)
class KindLatency:
    """The run times of one kind's finished jobs: counts at or under each of `LATENCY_BUCKETS`, total and sum."""

    buckets: tuple[int, ...]
    count: int
    seconds: float


class JobLedger(JobSessions):
    __slots__ = ()

    def start(self, key: str, kind: str, holder: str, now: float) -> bool:
        """Mark `key` running for `holder` (one more try); False, touching nothing, if it is done already."""
        for _ in range(2):  # a concurrent first start of the same key: the second try sees its row
            try:
                with self._write() as session:
                    row = session.get(JobRunRow, key, with_for_update=True)
                    if row is not None and row.state == DONE:
                        return False
                    if row is None:
                        session.add(
                            JobRunRow(key=key, kind=kind, state=RUNNING, attempts=1, holder=holder, started_at=now)
                        )
                    else:
                        row.state, row.holder, row.started_at, row.error = RUNNING, holder, now, None
                        row.attempts += 1
                return True
            except IntegrityError:
                continue
        return True

    def finish(self, key: str, result: Mapping[str, object], now: float) -> None:
        with self._write() as session:
            row = session.get(JobRunRow, key, with_for_update=True)
            if row is not None:
                row.state, row.finished_at, row.result, row.error = DONE, now, json.dumps(result), None

    def fail(self, key: str, error: str, now: float, *, final: bool = False) -> None:
        """Record why the last try failed: a later try (the broker's retry) may still finish it, unless `final`
        (bad input, which the broker does not retry: the job is dead)."""
        with self._write() as session:
            row = session.get(JobRunRow, key, with_for_update=True)
            if row is not None and row.state != DONE:
                row.state, row.finished_at, row.error = DEAD if final else FAILED, now, error[:_ERROR_CHARS]

    def states(self, keys: Collection[str]) -> dict[str, tuple[str, int]]:
        """(state, tries) of each of `keys` that was ever started."""
        ordered = sorted(keys)
        found: dict[str, tuple[str, int]] = {}
        with self._reads() as session:
            for start in range(0, len(ordered), _KEYS_PER_QUERY):
                part = ordered[start : start + _KEYS_PER_QUERY]
                stmt = select(JobRunRow.key, JobRunRow.state, JobRunRow.attempts).where(JobRunRow.key.in_(part))
                found.update((k, (s, a)) for k, s, a in session.execute(stmt))
        return found

    def errors(self, keys: Collection[str]) -> dict[str, str]:
        """The last error of each of `keys` that failed or is dead."""
        with self._reads() as session:
            stmt = select(JobRunRow.key, JobRunRow.error).where(
                JobRunRow.key.in_(sorted(keys)), JobRunRow.state.in_((FAILED, DEAD))
            )
            return {k: e or "" for k, e in session.execute(stmt)}

    def counts(self) -> dict[tuple[str, str], int]:
        """How many jobs of each (kind, state) the ledger holds."""
        stmt = select(JobRunRow.kind, JobRunRow.state, func.count()).group_by(JobRunRow.kind, JobRunRow.state)
        with self._reads() as session:
            return {(kind, state): int(n) for kind, state, n in session.execute(stmt)}

    def latencies(self) -> dict[str, KindLatency]:
        """Each kind's run times (start of its last try to done), bucketed in one query."""
        took = JobRunRow.finished_at - JobRunRow.started_at
        columns = [func.sum(case((took <= bound, 1), else_=0)) for bound in LATENCY_BUCKETS]
        stmt = (
            select(JobRunRow.kind, func.count(), func.sum(took), *columns)
            .where(JobRunRow.state == DONE)
            .group_by(JobRunRow.kind)
        )
        with self._reads() as session:
            return {
                kind: KindLatency(tuple(int(b or 0) for b in buckets), int(count), float(total or 0.0))
                for kind, count, total, *buckets in session.execute(stmt)
            }
