"""/v1/health: stale after the allowed lag in chain time (or of failing), syncing with its progress while
discovering or catching up (stale only once that stops progressing), every followed chain listed, from memory."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import event

from defiscope.api import ApiSettings, Live, create_app
from defiscope.api.context import ApiContext, ChainProgress
from defiscope.api.health import health
from defiscope.chain.block import BlockRef
from defiscope.service.progress import Phase, SyncProgress
from defiscope.store import Repository

NOW = 1_800_000_000.0
STORED = {1: BlockRef(1, 100, "0x" + "aa" * 32, int(NOW) - 1000), 56: BlockRef(56, 50, "0x" + "bb" * 32, int(NOW) - 10)}


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    store = Repository.open(f"sqlite:///{tmp_path / 'health.db'}")
    yield store
    store.close()


def _ctx(repo: Repository, progress: Mapping[int, ChainProgress] | None, max_lag: float = 300.0) -> ApiContext:
    live = None if progress is None else Live(heads=lambda: {}, rpc=lambda: {}, progress=lambda: progress)
    return ApiContext.build(ApiSettings(health_max_lag=max_lag), repo, deployments=[], live=live)


def _sync(phase: Phase, done: int, total: int, *, stalled_for: float = 0.0, rate: float | None = None) -> SyncProgress:
    return SyncProgress(phase, done, total, started_at=NOW - 600, advanced_at=NOW - stalled_for, rate=rate)


def _progress(
    head_time: int | None, *, failing_for: float | None = None, sync: SyncProgress | None = None
) -> ChainProgress:
    return ChainProgress(
        head_time=head_time,
        last_indexed=None,
        last_error=None if failing_for is None else "RequestTimeout: no answer [endpoint https://x.example]",
        failing_since=None if failing_for is None else NOW - failing_for,
        sync=sync,
    )


def test_without_an_indexer_the_state_is_unknown_and_the_answer_ok(repo: Repository) -> None:
    answer = health(_ctx(repo, None), STORED, now=NOW)
    assert (answer.status_code, answer.body.status) == (200, "ok")
    assert {c.state for c in answer.body.chains} == {"unknown"}


def test_stale_when_the_last_block_trails_the_head_by_more_than_the_lag(repo: Repository) -> None:
    ok = {1: _progress(STORED[1].timestamp + 300), 56: _progress(STORED[56].timestamp)}
    answer = health(_ctx(repo, ok), STORED, now=NOW)
    assert (answer.status_code, answer.body.status) == (200, "ok")
    assert answer.body.chains[0].behind_seconds == 300  # exactly the lag: still fine
    late = {**ok, 1: _progress(STORED[1].timestamp + 301)}
    answer = health(_ctx(repo, late), STORED, now=NOW)
    assert (answer.status_code, answer.body.status) == (503, "stale")
    assert [c.state for c in answer.body.chains] == ["stale", "ok"]
    assert health(_ctx(repo, late, max_lag=400), STORED, now=NOW).status_code == 200  # the lag is configurable


def test_stale_when_failing_longer_than_the_lag_with_the_error(repo: Repository) -> None:
    recent = {1: _progress(STORED[1].timestamp, failing_for=60)}
    answer = health(_ctx(repo, recent), STORED, now=NOW)
    assert (answer.status_code, answer.body.chains[0].state, answer.body.chains[0].failing_seconds) == (200, "ok", 60)
    long = {1: _progress(STORED[1].timestamp, failing_for=301)}
    answer = health(_ctx(repo, long), STORED, now=NOW)
    assert (answer.status_code, answer.body.status) == (503, "stale")
    assert answer.body.chains[0].last_error == "RequestTimeout: no answer [endpoint https://x.example]"


def test_syncing_with_progress_while_catching_up_however_far_behind(repo: Repository) -> None:
    catching = _sync("catching_up", 300, 1200, rate=4.0)
    far_behind = {1: _progress(STORED[1].timestamp + 3600, sync=catching), 56: _progress(STORED[56].timestamp)}
    answer = health(_ctx(repo, far_behind), STORED, now=NOW)
    assert (answer.status_code, answer.body.status) == (200, "syncing")
    chain = answer.body.chains[0]
    assert (chain.state, chain.behind_seconds, chain.last_block) == ("syncing", 3600, 100)
    assert chain.progress is not None
    progress = chain.progress.model_dump()
    assert progress == {
        "phase": "catching_up",
        "percent": 25.0,
        "done": 300,
        "total": 1200,
        "rate": 4.0,
        "eta_seconds": 225,  # 900 blocks left at 4 a second
        "started_at": int(NOW) - 600,
        "stalled_seconds": 0,
    }
    assert answer.body.chains[1].state == "ok"


def test_a_sync_that_stopped_progressing_is_stale(repo: Repository) -> None:
    stalled = {1: _progress(STORED[1].timestamp + 60, sync=_sync("catching_up", 300, 1200, stalled_for=301))}
    answer = health(_ctx(repo, stalled), STORED, now=NOW)
    assert (answer.status_code, answer.body.status, answer.body.chains[0].state) == (503, "stale", "stale")
    assert answer.body.chains[0].progress is not None
    assert answer.body.chains[0].progress.stalled_seconds == 301
    # Discovery's first read of a large protocol may take long without a block to count: only failing stops it.
    reading = {1: _progress(None, sync=_sync("discovering", 50, 50, stalled_for=900))}
    assert health(_ctx(repo, reading), {}, now=NOW).body.status == "syncing"
    failing = {1: _progress(None, failing_for=301, sync=_sync("discovering", 10, 50))}
    answer = health(_ctx(repo, failing), {}, now=NOW)
    assert (answer.status_code, answer.body.status) == (503, "stale")


def test_a_chain_with_nothing_stored_is_listed_discovering(repo: Repository) -> None:
    discovering = {10: _progress(int(NOW), sync=_sync("discovering", 0, 0))}
    answer = health(_ctx(repo, discovering), STORED, now=NOW)
    assert (answer.status_code, answer.body.status) == (200, "syncing")
    chains = {c.chain_id: c for c in answer.body.chains}
    assert set(chains) == {1, 10, 56}
    new = chains[10]
    assert (new.state, new.last_block, new.block_timestamp, new.lag_seconds, new.lag_blocks) == (
        "syncing",
        None,
        None,
        None,
        None,
    )
    assert new.progress is not None
    assert (new.progress.percent, new.progress.eta_seconds, new.progress.rate) == (None, None, None)  # not sized yet
    # Without a progress model, a followed chain with nothing indexed is still syncing.
    assert health(_ctx(repo, {10: _progress(int(NOW))}), STORED, now=NOW).body.status == "syncing"


def test_following_is_ok_with_the_whole_sync_done(repo: Repository) -> None:
    done = _sync("following", 1200, 1200)
    answer = health(_ctx(repo, {1: _progress(STORED[1].timestamp, sync=done)}), STORED, now=NOW)
    assert (answer.status_code, answer.body.status) == (200, "ok")
    assert answer.body.chains[0].progress is not None
    assert (answer.body.chains[0].progress.percent, answer.body.chains[0].progress.eta_seconds) == (100.0, 0)


def test_health_calls_do_not_query_the_store(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'count.db'}"
    repo = Repository.open(url)
    queries: list[str] = []
    event.listen(repo.engine, "before_cursor_execute", lambda *args: queries.append(str(args[2])))
    app = create_app(ApiSettings(database_url=url, version_ttl=3600.0), repo=repo, deployments=[])
    try:
        with TestClient(app) as http:
            assert http.get("/v1/health").json()["status"] == "empty"
            first = len(queries)
            for _ in range(20):
                assert http.get("/v1/health").status_code == 200
            assert len(queries) == first
    finally:
        repo.close()
