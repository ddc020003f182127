"""/v1/health: stale after the allowed lag in chain time (or of failing), syncing while catching up, from memory."""

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


def _progress(head_time: int, *, failing_for: float | None = None, catching_up: bool = False) -> ChainProgress:
    return ChainProgress(
        head_time=head_time,
        last_indexed=None,
        last_error=None if failing_for is None else "RequestTimeout: no answer [endpoint https://x.example]",
        failing_since=None if failing_for is None else NOW - failing_for,
        catching_up=catching_up,
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


def test_syncing_during_catch_up_and_before_the_first_block(repo: Repository) -> None:
    catching = {1: _progress(STORED[1].timestamp + 60, catching_up=True)}
    answer = health(_ctx(repo, catching), STORED, now=NOW)
    assert (answer.status_code, answer.body.status) == (200, "syncing")
    far_behind = {1: _progress(STORED[1].timestamp + 3600, catching_up=True)}
    assert health(_ctx(repo, far_behind), STORED, now=NOW).status_code == 503
    nothing_yet = {10: _progress(int(NOW), catching_up=False)}
    assert health(_ctx(repo, nothing_yet), STORED, now=NOW).body.status == "syncing"


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
