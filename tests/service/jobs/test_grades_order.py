"""Grades jobs publish what the embedded publisher does, whatever order they run in (issue 19), over the hand-built
trending market on SQLite and PostgreSQL: one block a day, a publication due every 2.5 days of block time.

The follow job tells each block of chain 1 (`grade_passes`) and sends a grades job where one looks due. Its slice
ends at day `HANDOVER`: the next slice's dispatcher starts without the jobs sent before, finds nothing published
(no job ran yet) and sends at blocks the embedded publisher skips, while the blocks it publishes at are sent no job.
Each job judges the told blocks in block order up to its own, so the jobs run in order, reversed, shuffled, each
twice, or by two workers at once on a real broker store the embedded publications and signals; a job judging its
own block alone (the old body) does not (the negative control). A reorg drops the judged blocks with the stored
ones, and the jobs judge the new fork's blocks as the embedded publisher does.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from typing import Any, cast

import pytest
from dramatiq import Worker
from sqlalchemy import func, select

from defiscope.analytics.grades.figures import DAY
from defiscope.analytics.grades.formula import FORMULA_VERSION
from defiscope.analytics.grades.hook import GradesHook
from defiscope.analytics.grades.publish import stored_clock
from defiscope.chain.block import BlockRef
from defiscope.chain.reader import Reader
from defiscope.indexing_hooks import BlockHook, IndexedChain
from defiscope.service.block_hooks import GradesDispatch
from defiscope.service.jobs import compute
from defiscope.service.jobs.actors import Jobs, open_broker
from defiscope.service.jobs.context import WorkerProcess, WorkerThread
from defiscope.service.jobs.lease import Lease, LeaseStore
from defiscope.service.jobs.settings import JobSettings
from defiscope.service.jobs.specs import grades_key
from defiscope.store import Repository
from defiscope.store.grade_passes import GradePasses
from defiscope.store.grades import GradeStore
from defiscope.store.models import GradePassRow
from defiscope.tvl.engine import ChainTvl
from tests.analytics.grades.kit import SHARES, TOKENS, block_of, trending_world

DAYS, TURN = 50, 35
#: Told after the first month of the world (the 30-day factors need it), as `tests/alerts/test_grade_signal_live`.
INDEXED = range(31, DAYS + 1)
#: The first day of the follow job's second slice.
HANDOVER = 41
EVERY = 2 * DAY + DAY // 2
#: Where the reorg forks, and the new fork's turn (its trends differ from the first fork's).
FORK_DAY, FORK_TURN = 41, 45


def number(day: int) -> int:
    return block_of(day).number


def publisher(repo: Repository) -> GradesHook:
    """The real publisher (the hand-built world reads no supply from a chain)."""
    return GradesHook(repo, lambda _block: None, TOKENS, every_seconds=EVERY, revenue_shares=SHARES)


async def tell(hook: BlockHook, days: Sequence[int], fork: str = "a") -> None:
    """Each day's block of chain 1 handed to the hook as the indexer does after storing it."""
    for day in days:
        await hook.block_indexed(cast(IndexedChain, None), ChainTvl(block_of(day, fork=fork), (), (), {}))


def publications(repo: Repository) -> list[tuple[int, str, str]]:
    return [(p.block.number, p.block.hash, p.document) for p in GradeStore(repo.engine).publications(1)]


def signals(repo: Repository) -> list[tuple[int, str, str, str]]:
    return sorted((s.block_number, s.entity, s.horizon, s.document) for s in GradeStore(repo.engine).signals(1))


def unjudged(repo: Repository) -> int:
    with repo.engine.connect() as conn:
        return int(conn.scalar(select(func.count()).where(GradePassRow.judged.is_(False))) or 0)


async def follow(repo: Repository, days: Sequence[int] = INDEXED) -> list[int]:
    """The follow job's grades dispatch over `days`, in two slices (a dispatcher each); the blocks of the jobs sent."""
    sent: list[int] = []
    for slice_days in ([d for d in days if d < HANDOVER], [d for d in days if d >= HANDOVER]):
        await tell(GradesDispatch(repo.engine, EVERY, lambda _chain, block: sent.append(block)), slice_days)
    return sent


async def run_jobs(repo: Repository, blocks: Sequence[int]) -> tuple[list[int], list[int]]:
    """Each grades job's body as a worker runs it (`actors.Jobs._publish_grades`, one at a time as the lease
    makes them); the blocks judged and the publications handed to their signal passes, in the order it happened."""
    grades = publisher(repo)
    judged: list[int] = []
    handed: list[int] = []
    for block in blocks:
        result = await compute.publish_grades_through(repo, grades, 1, block, published=handed.append)
        judged += cast(list[int], result["judged"])
    return judged, handed


#: Reversed: every job before the ones it walks through; twice: shuffled, each job run twice (in the sent order the
#: walk has nothing to do out of order; the two-worker test below runs them shuffled and twice on a broker too).
ORDERS: dict[str, Callable[[list[int]], list[int]]] = {
    "reversed": lambda sent: sent[::-1],
    "twice": lambda sent: random.Random(7).sample(sent * 2, 2 * len(sent)),
}

Published = tuple[list[tuple[int, str, str]], list[tuple[int, str, str, str]]]


@pytest.fixture(scope="module")
def reference(tmp_path_factory: pytest.TempPathFactory) -> Published:
    """The embedded publisher's publications and signals over `INDEXED`, built once for the module's tests."""
    store = Repository.open(f"sqlite:///{tmp_path_factory.mktemp('embedded') / 'grades.db'}")
    try:
        trending_world(store, DAYS, turn=TURN)
        asyncio.run(tell(publisher(store), INDEXED))
        return publications(store), signals(store)
    finally:
        store.close()


@pytest.fixture
def embedded(repo: Repository) -> Repository:
    """A SQLite store with the world, whose blocks the embedded publisher will be told."""
    trending_world(repo, DAYS, turn=TURN)
    return repo


@pytest.fixture
def scaled(any_repo: Repository) -> Repository:
    """The same on SQLite and PostgreSQL, followed under workers."""
    trending_world(any_repo, DAYS, turn=TURN)
    return any_repo


@pytest.mark.parametrize("order", ORDERS)
async def test_grades_jobs_in_any_order_publish_as_the_embedded_publisher(
    reference: Published, scaled: Repository, order: str
) -> None:
    wanted, wanted_signals = reference
    sent = await follow(scaled)
    published = [n for n, _hash, _doc in wanted]
    # The case the walk is for: jobs sent at blocks not due (41, 44, 47, 50), and due blocks no job was sent for.
    assert sent == [number(d) for d in (31, 34, 37, 40, 41, 44, 47, 50)]
    assert published == [number(d) for d in (31, 34, 37, 40, 43, 46, 49)]

    judged, handed = await run_jobs(scaled, ORDERS[order](sent))
    assert publications(scaled) == wanted
    assert signals(scaled) == wanted_signals
    assert judged == [number(d) for d in INDEXED]  # every told block judged once, in block order
    assert handed == published  # each publication handed to its signal rules' pass once, in block order
    assert unjudged(scaled) == 0

    assert await run_jobs(scaled, sent) == ([], [])  # every job run again: its block is judged, nothing to do
    assert publications(scaled) == wanted


async def test_a_job_judging_its_own_block_alone_publishes_where_the_embedded_publisher_would_not(
    reference: Published, scaled: Repository
) -> None:
    """The negative control: the old job body (`publish_if_due` at its own block), even run in the order sent,
    publishes at the second slice's blocks and never at the due blocks between them."""
    sent = await follow(scaled)
    grades = publisher(scaled)
    for block in sent:
        await grades.publish_if_due(stored_clock(scaled, block))
    old = [n for n, _hash, _doc in publications(scaled)]
    assert [n for n, _hash, _doc in reference[0]] == [number(d) for d in (31, 34, 37, 40, 43, 46, 49)]
    assert old == [number(d) for d in (31, 34, 37, 40, 44, 47, 50)]


async def test_a_reorg_drops_judged_blocks_and_the_jobs_judge_the_new_fork_as_the_embedded_publisher(
    embedded: Repository, scaled: Repository
) -> None:
    """The embedded publisher is told days to 44, the store rolls back from day 41 (publications and, under
    workers, grade passes go with the blocks), and the new fork's days 41 to 50 are told. Under workers the jobs of
    the first fork (all run before the reorg) and of the second, with those sent for lost blocks, run shuffled."""
    first_fork = [d for d in INDEXED if d <= 44]
    second_fork = [d for d in INDEXED if d >= FORK_DAY]
    grades = publisher(embedded)
    await tell(grades, first_fork)
    embedded.rollback_from(1, number(FORK_DAY))
    trending_world(embedded, DAYS, FORK_TURN, first=FORK_DAY, fork="b")
    await tell(grades, second_fork, fork="b")
    wanted = publications(embedded)

    sent: list[int] = []
    dispatch = GradesDispatch(scaled.engine, EVERY, lambda _chain, block: sent.append(block))
    scaled.on_rollback(dispatch.on_rollback)
    await tell(dispatch, first_fork)
    before, _handed = await run_jobs(scaled, sent[::-1])
    assert before == [number(d) for d in range(31, 44)]  # up to the last job's block, day 43, on the first fork
    lost = [n for n, _hash, _doc in publications(scaled) if n >= number(FORK_DAY)]
    assert lost, "a publication of the first fork is rolled back"
    scaled.rollback_from(1, number(FORK_DAY))
    trending_world(scaled, DAYS, FORK_TURN, first=FORK_DAY, fork="b")
    await tell(dispatch, second_fork, fork="b")
    after, _handed = await run_jobs(scaled, random.Random(3).sample(sent, len(sent)))

    assert after == [number(d) for d in range(FORK_DAY, 50)]  # the new fork's, once each, up to the last job's
    assert publications(scaled) == wanted
    assert signals(scaled) == signals(embedded)
    assert {h for n, h, _doc in wanted if n >= number(FORK_DAY)} <= {block_of(d, fork="b").hash for d in second_fork}


async def test_a_block_whose_publication_keeps_failing_is_given_up_as_the_embedded_indexer_does(
    embedded: Repository, scaled: Repository
) -> None:
    """The chain cannot be read at one due block (its totalSupply calls fail). Embedded, the indexer logs the failed
    hook and tells the next block, which is due in its place. Under workers the job walking into it fails and is
    tried again (the broker's retries) until the block has failed `PUBLISH_TRIES` times; then it is judged
    unpublished with its reason kept, and the walk goes on to the same publications."""
    failing = number(34)

    def unreachable(block: BlockRef) -> Reader | None:
        if block.number == failing:
            raise ConnectionError(f"endpoint down at block {block.number}")
        return None  # the hand-built world reads no supply from a chain

    hook = GradesHook(embedded, unreachable, TOKENS, every_seconds=EVERY, revenue_shares=SHARES)
    for day in INDEXED:  # as `ChainIndexer._tell_hooks`: a failed hook is logged, the next block is told
        with contextlib.suppress(ConnectionError):
            await tell(hook, [day])
    wanted = publications(embedded)
    assert [n for n, _hash, _doc in wanted][:2] == [number(31), number(35)]

    sent = await follow(scaled)
    grades = GradesHook(scaled, unreachable, TOKENS, every_seconds=EVERY, revenue_shares=SHARES)
    failed_tries = 0
    for block in sent[::-1]:
        while True:  # the broker tries a failed job again
            try:
                await compute.publish_grades_through(scaled, grades, 1, block)
                break
            except ConnectionError:
                failed_tries += 1
    assert failed_tries == compute.PUBLISH_TRIES - 1  # the last failed try judged the block unpublished
    assert publications(scaled) == wanted
    reason = f"ConnectionError: endpoint down at block {failing}"
    assert GradePasses(scaled.engine).errors(1, FORMULA_VERSION) == [(failing, compute.PUBLISH_TRIES, reason)]
    assert unjudged(scaled) == 0


@pytest.fixture
def worker_processes(db_url: str, job_settings: JobSettings) -> Iterator[list[WorkerProcess]]:
    """Two worker processes' stores, ledgers and leases over the test's database."""
    made = [WorkerProcess(job_settings, Repository.open(db_url)) for _ in range(2)]
    yield made
    for process in made:
        process.close()


async def test_two_workers_running_each_job_twice_publish_as_the_embedded_publisher(
    reference: Published,
    scaled: Repository,
    job_settings: JobSettings,
    worker_processes: list[WorkerProcess],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Real actors on RabbitMQ, two workers of one thread each over the same store: every grades job sent twice,
    shuffled. The chain's lease lets one judge at a time (the other sends its job again later): the lease asked for
    is recorded, to see that the two overlapped."""
    sent = await follow(scaled)

    async def the_publisher(process: WorkerProcess, thread: WorkerThread) -> GradesHook:
        del thread
        return publisher(process.repo)

    monkeypatch.setattr(compute, "worker_publisher", the_publisher)
    asked: list[tuple[int, bool]] = []  # (thread, granted) of each lease asked for: the runners' overlap, seen
    acquire = LeaseStore.acquire

    def spied(leases: LeaseStore, name: str, holder: str, now: float, **kwargs: Any) -> Lease | None:
        granted = acquire(leases, name, holder, now, **kwargs)
        asked.append((threading.get_ident(), granted is not None))
        return granted

    monkeypatch.setattr(LeaseStore, "acquire", spied)
    brokers = [open_broker(job_settings) for _ in worker_processes]
    jobs = [Jobs(b, job_settings, p) for b, p in zip(brokers, worker_processes, strict=True)]
    workers = [Worker(b, queues={job_settings.queue("analytics")}, worker_threads=1) for b in brokers]
    keys = [grades_key(1, block, FORMULA_VERSION) for block in sent]
    ledger = worker_processes[0].ledger
    try:
        for block in random.Random(5).sample(sent * 2, 2 * len(sent)):
            jobs[0].publish_grades.send(1, block)
        for worker in workers:
            worker.start()
        deadline = time.monotonic() + 120
        while any(ledger.states(keys).get(key, ("", 0))[0] != "done" for key in keys):
            assert time.monotonic() < deadline, ledger.states(keys)
            await asyncio.sleep(0.2)
    finally:
        for worker in workers:
            worker.stop(timeout=10_000)
        for broker in brokers:
            broker.close()
    assert len({thread for thread, _granted in asked}) == 2, "both workers ran grades jobs"
    assert not all(granted for _thread, granted in asked), "one worker found the chain's lease held by the other"
    assert (publications(scaled), signals(scaled)) == reference
    assert unjudged(scaled) == 0
