"""Tables of the scale-out jobs (revision 0020): the job ledger and the leases.

A ledger row is one job by its idempotency key (`backfill:1:uniswap-v2:100-199/1`): a worker marks it running,
then done with its result, failed with the reason (a retry may follow) or dead (bad input: no retry). A delivery
of a job whose key is done returns at once; the job's own writes are idempotent too (unique constraints, upserts),
so a job run twice after a crash stores once.

A lease row gives one named role (`head:1`, the head-follower of chain 1) to one holder until `expires_at`;
the holder renews it while it works, and anyone may take it once it has expired. `token` grows at every change
of holder (a fencing token: a holder that lost its lease can tell). Times are unix seconds (float).
"""

from __future__ import annotations

from typing import Final

from sqlalchemy import BigInteger, CheckConstraint, Double, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from defiscope.store.models import Base

KEY_LEN: Final = 200
HOLDER_LEN: Final = 200

RUNNING: Final = "running"
DONE: Final = "done"
FAILED: Final = "failed"  # the last try failed; the broker may try again
DEAD: Final = "dead"  # failed for good: bad input, which no retry mends
JOB_STATES: Final = (RUNNING, DONE, FAILED, DEAD)


class JobRunRow(Base):
    """One job by its idempotency key: its state, tries, who ran it last, and its result (JSON text) or error."""

    __tablename__ = "job_runs"
    __table_args__ = (
        CheckConstraint("state IN ('running', 'done', 'failed', 'dead')", name="state"),
        Index(None, "kind", "state"),  # progress of a batch of jobs: counts by state
    )

    key: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    kind: Mapped[str] = mapped_column(String(40))
    state: Mapped[str] = mapped_column(String(16))
    attempts: Mapped[int] = mapped_column(Integer)
    holder: Mapped[str] = mapped_column(String(HOLDER_LEN))
    started_at: Mapped[float] = mapped_column(Double)
    finished_at: Mapped[float | None] = mapped_column(Double)
    result: Mapped[str | None] = mapped_column(Text)
    error: Mapped[str | None] = mapped_column(Text)


class LeaseRow(Base):
    """A role held by one holder until `expires_at`; `token` counts the changes of holder."""

    __tablename__ = "job_leases"

    name: Mapped[str] = mapped_column(String(KEY_LEN), primary_key=True)
    holder: Mapped[str] = mapped_column(String(HOLDER_LEN))
    token: Mapped[int] = mapped_column(BigInteger)
    acquired_at: Mapped[float] = mapped_column(Double)
    expires_at: Mapped[float] = mapped_column(Double)
