"""Load shedding and single-flight builds.

- `Admission`: a bound on requests at once, a bounded FIFO queue, a maximum wait in it;
- `BlockCache`: N concurrent misses of one key make one build and all get its body (a new block: one more);
- a real `serve --api-only` process over PostgreSQL whose builds are held by a table lock (as an indexer's
  writes hold them): more concurrent requests than the bound get 503 with Retry-After and a JSON reason at once,
  the admitted ones 200 once the lock goes, nothing 500; /v1/health answers meanwhile; /metrics counts the shed.
"""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from defiscope.api.cache import BlockCache, PerVersion
from defiscope.api.settings import ApiSettings
from defiscope.api.shed import Admission, Refusal
from defiscope.chain.block import BlockRef
from defiscope.chain.errors import InvalidInput
from defiscope.devnet.anvil import free_port
from defiscope.store import Repository, create_engine
from defiscope.store.models import TvlSnapshot
from tests.store.conftest import emptied, pg_database  # noqa: F401  (the session's PostgreSQL database)

# --- Admission -------------------------------------------------------------------------------------------------


async def test_admission_queues_in_order_then_refuses_when_full_or_too_old() -> None:
    gate = Admission(limit=2, queue=2, max_wait=0.3)
    assert await gate.enter() is None
    assert await gate.enter() is None
    first = asyncio.create_task(gate.enter())
    second = asyncio.create_task(gate.enter())
    await asyncio.sleep(0.01)
    assert (gate.running, gate.waiting) == (2, 2)
    assert await gate.enter() is Refusal.QUEUE_FULL  # at once: no wait when the queue is full
    gate.leave()  # the slot goes to the oldest waiter, not back to the pool
    assert await first is None
    assert (gate.running, gate.waiting) == (2, 1)
    started = time.monotonic()
    assert await second is Refusal.QUEUE_WAIT
    assert 0.25 <= time.monotonic() - started < 1.0
    assert (gate.running, gate.waiting) == (2, 0)
    gate.leave()
    gate.leave()
    assert gate.running == 0
    assert await gate.enter() is None  # free again


@pytest.mark.parametrize("bad", [{"max_in_flight": 0}, {"max_queued": -1}, {"max_queue_wait": 0.0},
                                 {"max_queue_wait": float("nan")}])  # fmt: skip
def test_bad_shedding_settings_are_refused_naming_them(bad: dict[str, float]) -> None:
    with pytest.raises(InvalidInput, match="max_in_flight must be positive"):
        ApiSettings(**bad)  # type: ignore[arg-type]
    assert ApiSettings().max_in_flight >= 1  # the defaults pass


async def test_a_cancelled_waiter_gives_its_turn_on() -> None:
    gate = Admission(limit=1, queue=4, max_wait=5.0)
    assert await gate.enter() is None
    gone = asyncio.create_task(gate.enter())
    kept = asyncio.create_task(gate.enter())
    await asyncio.sleep(0.01)
    gone.cancel()  # its client went away while queued
    with pytest.raises(asyncio.CancelledError):
        await gone
    gate.leave()
    assert await asyncio.wait_for(kept, 1.0) is None
    assert (gate.running, gate.waiting) == (1, 0)


# --- single-flight ---------------------------------------------------------------------------------------------


def _blocks(number: int) -> dict[int, BlockRef]:
    return {1: BlockRef(1, number, f"0x{number:064x}", 1_700_000_000 + number)}


async def test_concurrent_misses_of_one_key_share_one_build() -> None:
    latest = _blocks(100)
    cache = BlockCache(lambda: latest, ttl=0.05, entries=64, max_bytes=1 << 20)
    builds: list[int] = []

    async def build() -> bytes:
        builds.append(len(builds))
        await asyncio.sleep(0.1)  # slow enough that every caller arrives while it runs
        return f'{{"build": {len(builds)}}}'.encode()

    key = ("/v1/protocols", "limit=7")
    entries = await asyncio.gather(*(cache.get_async(key, build) for _ in range(50)))
    assert len(builds) == 1
    assert {e.body for e in entries} == {b'{"build": 1}'}
    assert cache.counts.builds == 1
    # Negative control: distinct keys are distinct builds.
    await asyncio.gather(*(cache.get_async(("/v1/protocols", f"limit={n}"), build) for n in range(5)))
    assert len(builds) == 6
    # A new stored block is a new version: the next herd on the old key builds once more, once.
    latest = _blocks(101)
    await asyncio.sleep(0.06)
    await cache.version()  # read once here: callers arriving during a re-read would go on with the old version
    again = await asyncio.gather(*(cache.get_async(key, build) for _ in range(20)))
    assert len(builds) == 7
    assert len({e.body for e in again}) == 1
    assert again[0].body != entries[0].body


def test_threads_building_on_one_ranking_compute_it_once_per_version() -> None:
    ranking = PerVersion[list[int]]()
    computed: list[int] = []

    def compute() -> list[int]:
        computed.append(1)
        time.sleep(0.1)  # every thread asks while it runs
        return [len(computed)]

    with ThreadPoolExecutor(8) as pool:
        first = list(pool.map(lambda _: ranking.get(("block", 100), compute), range(8)))
        assert computed == [1]
        assert all(r is first[0] for r in first)  # one value, shared
        later = list(pool.map(lambda _: ranking.get(("block", 101), compute), range(8)))
    assert len(computed) == 2  # a new version: computed once more
    assert {tuple(r) for r in later} == {(2,)}


# --- a real server process -------------------------------------------------------------------------------------

LIMIT, QUEUED, WAIT = 2, 3, 0.5
SENT = 12


@pytest.fixture
def shed_server(pg_database: str, tmp_path: Path) -> Iterator[str]:  # noqa: F811
    repo = Repository.open(emptied(pg_database))
    repo.save_blocks([BlockRef(1, 100, f"0x{100:064x}", 1_700_000_000)])
    repo.close()
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFISCOPE_")} | {
        "DEFISCOPE_DATA_DIR": str(tmp_path),
        "DEFISCOPE_DATABASE_URL": pg_database,
        "DEFISCOPE_API_MAX_IN_FLIGHT": str(LIMIT),
        "DEFISCOPE_API_MAX_QUEUED": str(QUEUED),
        "DEFISCOPE_API_MAX_QUEUE_WAIT": str(WAIT),
        "DEFISCOPE_API_HEALTH_MAX_LAG": "1e12",  # the block is old: health must say ok, not stale
    }
    port = free_port()
    command = [str(Path(sys.executable).with_name("defiscope")), "serve", "--api-only", "--port", str(port)]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)  # fmt: skip
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while not _answers(base):
            assert process.poll() is None, f"serve --api-only exited: {process.stderr.read()}"  # type: ignore[union-attr]
            assert time.monotonic() < deadline, "serve --api-only did not answer within 60 s"
            time.sleep(0.2)
        yield base
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def _answers(base: str) -> bool:
    try:
        return httpx.get(base + "/openapi.json", timeout=2).status_code == 200
    except httpx.TransportError:
        return False


def _shed_total(base: str, reason: str) -> float:
    body = httpx.get(f"{base}/metrics", timeout=5).text
    found = re.search(rf'^defiscope_http_shed_total\{{reason="{reason}"\}} (\S+)$', body, re.MULTILINE)
    return 0.0 if found is None else float(found.group(1))


def test_a_server_past_its_bound_sheds_with_503_and_answers_the_rest(shed_server: str, pg_database: str) -> None:  # noqa: F811
    engine = create_engine(pg_database)
    try:
        with ThreadPoolExecutor(SENT) as pool, engine.connect() as locker:
            # The builds read the snapshots: held by an exclusive lock, as heavy writes would hold them.
            locker.execute(text(f"LOCK TABLE {TvlSnapshot.__tablename__} IN ACCESS EXCLUSIVE MODE"))
            # Distinct pages: distinct builds (one key would share one build and prove nothing of the bound).
            sent = [
                pool.submit(httpx.get, f"{shed_server}/v1/protocols?limit={n + 1}", timeout=30) for n in range(SENT)
            ]
            time.sleep(WAIT + 1.0)  # every request arrived; the queued ones waited out their time
            health = httpx.get(f"{shed_server}/v1/health", timeout=5)
            early = [f.result() for f in sent if f.done()]
            locker.rollback()  # the lock goes: the admitted builds finish
            answers = [f.result() for f in sent]
    finally:
        engine.dispose()

    assert health.status_code == 200  # exempt: an overloaded server is not reported down
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * LIMIT + [503] * (SENT - LIMIT), statuses
    assert all(a.status_code == 503 for a in early)  # the refusals came while the builds were still held
    assert len(early) == SENT - LIMIT
    for refused in (a for a in answers if a.status_code == 503):
        assert int(refused.headers["Retry-After"]) >= 1
        assert refused.headers["x-content-type-options"] == "nosniff"  # Gate's headers: shed inside it
        assert refused.json()["error"]["problem"].startswith("server overloaded")
    assert _shed_total(shed_server, "queue_full") == SENT - LIMIT - QUEUED
    assert _shed_total(shed_server, "queue_wait") == QUEUED
    # Negative control: the load gone, the same route answers again.
    assert httpx.get(f"{shed_server}/v1/protocols?limit=1", timeout=10).status_code == 200
