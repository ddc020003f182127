"""All-or-nothing writes, and writers that run at the same time (SQLite WAL and PostgreSQL)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from sqlalchemy import Engine, event

from defiscope.store import Repository, create_engine
from defiscope.store.models import Block, ProvenanceCall, SnapshotToken, TvlSnapshot
from defiscope.tvl.model import BalanceKind, ProtocolSnapshot
from tests.store.storekit import block, count_rows, make_snapshot


class DiskFull(Exception):
    """Stands in for whatever can fail between two statements of a write."""


@contextmanager
def failing_insert_into(engine: Engine, table: str) -> Iterator[None]:
    """Make the database driver fail on the first INSERT into `table` (after earlier statements ran)."""

    def _fail(_conn: Any, _cursor: Any, statement: str, *_args: Any) -> None:
        if statement.lstrip().upper().startswith(f"INSERT INTO {table.upper()}"):
            raise DiskFull(table)

    event.listen(engine, "before_cursor_execute", _fail)
    try:
        yield
    finally:
        event.remove(engine, "before_cursor_execute", _fail)


def test_failure_between_snapshot_row_and_tokens_keeps_the_previous_data(repo: Repository, engine: Engine) -> None:
    before = make_snapshot(ref=block(100), scale=1)
    repo.save_snapshot(before)
    after = make_snapshot(ref=block(100), scale=2)

    # By the time tokens are inserted, the snapshot row was upserted and old tokens deleted.
    with failing_insert_into(engine, "snapshot_tokens"), pytest.raises(DiskFull):
        repo.save_snapshot(after)

    assert repo.snapshot_at("uniswap-v2", 1, 100) == before
    [point] = repo.history("uniswap-v2")
    assert point.tvl_usd == before.total(BalanceKind.TVL)
    assert point.tvl_usd != after.total(BalanceKind.TVL)
    assert (count_rows(engine, TvlSnapshot), count_rows(engine, SnapshotToken)) == (1, 5)
    assert count_rows(engine, ProvenanceCall) == 4

    repo.save_snapshot(after)  # and the same write succeeds once the fault is gone
    assert repo.snapshot_at("uniswap-v2", 1, 100) == after


def test_failure_on_a_new_block_leaves_no_trace(repo: Repository, engine: Engine) -> None:
    with failing_insert_into(engine, "provenance_calls"), pytest.raises(DiskFull):
        repo.save_snapshot(make_snapshot(ref=block(7)))

    assert repo.snapshot_at("uniswap-v2", 1, 7) is None
    assert repo.block_hash(1, 7) is None
    assert [count_rows(engine, m) for m in (Block, TvlSnapshot, SnapshotToken, ProvenanceCall)] == [0, 0, 0, 0]


def _run_together(workers: list[Callable[[], None]]) -> list[BaseException]:
    """Start all workers at once; return what they raised."""
    errors: list[BaseException] = []
    start = threading.Barrier(len(workers))

    def run(work: Callable[[], None]) -> None:
        try:
            start.wait()
            work()
        except BaseException as exc:  # collected and asserted on by the test
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(w,)) for w in workers]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    return errors


BLOCKS = range(1, 31)


def test_two_writers_save_different_snapshots_at_once(db_url: str, engine: Engine) -> None:
    # Separate engines: separate connection pools, as two processes would have.
    engines = [create_engine(db_url), create_engine(db_url)]
    writers = [Repository(e) for e in engines]
    reader = Repository(engine)
    seen: list[int] = []

    def write(repo: Repository, slug: str) -> Callable[[], None]:
        # Both writers touch the same blocks, so they also race on inserting each block row.
        def work() -> None:
            for n in BLOCKS:
                repo.save_snapshot(make_snapshot(slug, ref=block(n), scale=n))

        return work

    def read() -> None:
        for _ in BLOCKS:
            seen.append(len(reader.history("a")))

    try:
        errors = _run_together([write(writers[0], "a"), write(writers[1], "b"), read])
    finally:
        for e in engines:
            e.dispose()

    assert errors == []
    for slug in ("a", "b"):
        assert reader.stored_blocks(slug, 1, 0, 100) == set(BLOCKS)
        assert reader.snapshot_at(slug, 1, 17) == make_snapshot(slug, ref=block(17), scale=17)
    assert count_rows(engine, TvlSnapshot) == 2 * len(BLOCKS)
    assert count_rows(engine, SnapshotToken) == 2 * len(BLOCKS) * 5
    assert count_rows(engine, Block) == len(BLOCKS)
    assert seen == sorted(seen)  # a reader only ever sees committed, growing history


def test_two_writers_saving_the_same_key_leave_one_snapshot(db_url: str, engine: Engine) -> None:
    engines = [create_engine(db_url), create_engine(db_url)]
    snaps = [make_snapshot(ref=block(5), scale=1), make_snapshot(ref=block(5), scale=2)]

    def write(repo: Repository, snap: ProtocolSnapshot) -> Callable[[], None]:
        def work() -> None:
            for _ in range(15):
                repo.save_snapshot(snap)

        return work

    try:
        errors = _run_together([write(Repository(e), s) for e, s in zip(engines, snaps, strict=True)])
    finally:
        for e in engines:
            e.dispose()

    assert errors == []
    assert count_rows(engine, TvlSnapshot) == 1
    assert count_rows(engine, SnapshotToken) == 5
    assert Repository(engine).snapshot_at("uniswap-v2", 1, 5) in snaps
