"""The job ledger and the leases on SQLite and PostgreSQL: once-only keys, fail-over, handover, fencing."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

from sqlalchemy import Engine

from defiscope.service.jobs.lease import HeldLease, LeaseStore
from defiscope.service.jobs.ledger import JobLedger

KEY = "backfill:1:uniswap-v2:100-199/1"


def test_a_done_key_is_not_started_again(store_engine: Engine) -> None:
    ledger = JobLedger(store_engine)
    assert ledger.start(KEY, "backfill", "w1", now=1.0)
    ledger.fail(KEY, "RpcTimeout: slow", now=2.0)
    assert ledger.states([KEY]) == {KEY: ("failed", 1)}
    assert ledger.errors([KEY]) == {KEY: "RpcTimeout: slow"}
    assert ledger.start(KEY, "backfill", "w2", now=3.0)  # a retry: one more try
    ledger.finish(KEY, {"stored": 100}, now=4.0)
    assert not ledger.start(KEY, "backfill", "w3", now=5.0)
    ledger.fail(KEY, "late failure of a duplicate", now=6.0)  # a done job stays done
    assert ledger.states([KEY, "never-started"]) == {KEY: ("done", 2)}


def test_bad_input_makes_a_job_dead(store_engine: Engine) -> None:
    ledger = JobLedger(store_engine)
    assert ledger.start(KEY, "backfill", "w1", now=1.0)
    ledger.fail(KEY, "BackfillInputError: before its deployment", now=2.0, final=True)
    assert ledger.states([KEY]) == {KEY: ("dead", 1)}
    assert ledger.errors([KEY]) == {KEY: "BackfillInputError: before its deployment"}


def test_concurrent_first_starts_make_one_row(store_engine: Engine) -> None:
    ledger = JobLedger(store_engine)
    with ThreadPoolExecutor(4) as pool:
        started = list(pool.map(lambda i: ledger.start(KEY, "backfill", f"w{i}", now=float(i)), range(8)))
    assert all(started)
    assert ledger.states([KEY]) == {KEY: ("running", 8)}


def test_a_lease_has_one_holder_until_it_expires(store_engine: Engine) -> None:
    leases = LeaseStore(store_engine, seconds=10)
    first = leases.acquire("head:1", "a", now=100.0)
    assert first is not None
    assert first.token == 1
    assert first.expires_at == 110.0
    assert leases.acquire("head:1", "b", now=109.0) is None
    renewed = leases.renew(first, now=105.0)
    assert renewed is not None
    assert renewed.expires_at == 115.0
    assert leases.acquire("head:1", "b", now=114.9) is None
    taken = leases.acquire("head:1", "b", now=115.0)  # expired: fail-over
    assert taken is not None
    assert (taken.holder, taken.token) == ("b", 2)
    assert leases.renew(renewed, now=116.0) is None  # the old holder learns it lost the lease
    assert leases.current("head:1") == taken


def test_handover_and_release(store_engine: Engine) -> None:
    leases = LeaseStore(store_engine, seconds=10)
    held = leases.acquire("head:56", "a", now=0.0)
    assert held is not None
    assert leases.acquire("head:56", "b", now=1.0) is None
    handed = leases.acquire("head:56", "b", now=1.0, handover=held)
    assert handed is not None
    assert (handed.holder, handed.token) == ("b", 2)
    assert leases.acquire("head:56", "c", now=2.0, handover=held) is None  # a stale handover gives nothing
    leases.release(handed)
    again = leases.acquire("head:56", "c", now=2.0)
    assert again is not None
    assert again.token == 3


def test_a_held_lease_is_renewed_at_each_step_until_another_holder_takes_it(store_engine: Engine) -> None:
    """`HeldLease` (the grades job's walk): each `keep` renews; once another holder took the lease (it expired),
    `keep` says so and `release` leaves the new holder's lease alone."""
    leases = LeaseStore(store_engine, seconds=30)
    first = leases.acquire("grades:1:1.1.0", "w1", now=time.time())
    assert first is not None
    held = HeldLease(leases, first)
    assert held.keep()
    assert held.lease is not None
    assert held.lease.expires_at >= first.expires_at
    taken = leases.acquire("grades:1:1.1.0", "w2", now=time.time() + 60)  # w1 stopped renewing: expired
    assert taken is not None
    assert not held.keep()
    held.release()
    assert leases.current("grades:1:1.1.0") == taken
