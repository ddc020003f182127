"""benchmarks/load_with_indexing.py: its open-loop generator counts queueing, its lag verdict sees growth, and the
whole script on a tiny scale world (the 300-pair world tests/devnet/test_scale_world.py caches) reports figures
that agree with each other."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from defiscope.devnet import Devnet
from tests.store.conftest import pg_database  # noqa: F401  (the fixture, reused)

SCRIPT = Path(__file__).parents[2] / "benchmarks" / "load_with_indexing.py"
SERVICE_SECONDS = 0.05  # the slow server's time per request: 20 requests/s on one connection


@pytest.fixture
def bench(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The benchmark as a module (it imports its sibling benchmarks as top-level modules, as when run)."""
    monkeypatch.syspath_prepend(str(SCRIPT.parent))
    import load_with_indexing

    return load_with_indexing


class _Slow(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive: one connection carries every request

    def do_GET(self) -> None:
        time.sleep(SERVICE_SECONDS)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args: Any) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    thread.join()


def test_open_loop_measures_from_the_scheduled_time(bench: ModuleType, slow_server: str) -> None:
    # Under the server's capacity (at most 20/s on one connection) a request waits for its own service only.
    under = bench.open_loop(slow_server, ["/a", "/b"], 4.0, 2.0, 1)
    assert under.requests == 8
    assert under.errors == 0
    assert under.achieved_rps == pytest.approx(4.0, rel=0.25)
    assert under.p50_ms >= SERVICE_SECONDS * 1000
    # Over it (40/s), requests queue: the last of 2 s of them is answered seconds after its time. A closed loop
    # (the next request when the answer came) would show about the service time here: coordinated omission.
    over = bench.open_loop(slow_server, ["/a"], 40.0, 2.0, 1)
    assert over.requests == 80
    assert over.errors == 0
    assert over.achieved_rps <= 1.1 / SERVICE_SECONDS
    assert over.p99_ms > 1000
    assert over.p50_ms > 4 * under.p50_ms
    assert over.generator_delay_p99_ms < 200  # the generator itself kept its schedule: the wait was the server's


def _watch(bench: ModuleType, lags: list[float], interval: float = 1.0) -> Any:
    """A watcher's record of blocks 1..n, block i seen at the head at i * interval and stored lags[i-1] later."""
    watch = bench.LagWatch("http://127.0.0.1:9", repo=None)  # not started: its looks are given here
    for number, lag in enumerate(lags, start=1):
        watch.seen_at_head[number] = number * interval
        watch.seen_stored[number] = number * interval + lag
        watch.samples.append((number * interval, int(lag // interval)))
    return watch


def test_the_verdict_tells_bounded_lag_from_growing_lag(bench: ModuleType) -> None:
    mined = list(range(1, 13))
    steady = bench.lag_of(_watch(bench, [0.4, 0.6, 0.5, 0.7] * 3), mined, (0.0, 99.0), 200, 1.0)
    assert steady.keeps_up
    assert steady.unstored == 0
    assert steady.lag_seconds_median == pytest.approx(0.55)
    assert steady.lag_seconds_max == pytest.approx(0.7)
    assert steady.block_interval_s == pytest.approx(1.0)
    # Each block 0.3 s later than the one before: the last third trails the first by more than a block interval.
    growing = bench.lag_of(_watch(bench, [0.3 * k for k in range(12)]), mined, (0.0, 99.0), 200, 1.0)
    assert not growing.keeps_up
    assert growing.unstored == 0
    assert growing.lag_seconds_last_third - growing.lag_seconds_first_third > 1.0
    # A block never stored is not keeping up, however small the other lags.
    missing = bench.lag_of(_watch(bench, [0.4] * 11), mined, (0.0, 99.0), 200, 1.0)
    assert missing.unstored == 1
    assert not missing.keeps_up


def test_the_script_on_a_tiny_world_reports_consistent_figures(
    devnet: Devnet,
    pg_database: str,  # noqa: F811  (the imported fixture)
    tmp_path: Path,
) -> None:
    options = {"--pairs": 300, "--pools": 40, "--seconds": 3, "--capacity-seconds": 1, "--block-interval": 1.5,
               "--changes": 20, "--connections": 8, "--warmup-blocks": 2, "--drain": 20, "--catch-up-timeout": 90,
               "--worlds": devnet.world_dir.parent, "--base": devnet.world_dir, "--database": pg_database,
               "--variant": "stale_seconds=0"}  # fmt: skip
    cmd = [sys.executable, str(SCRIPT), "--json", "--beside", *(str(x) for pair in options.items() for x in pair)]
    # Its own data dir: the run file that `defiscope index` finds the devnet by is this run's alone.
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFISCOPE_")} | {
        "DEFISCOPE_DATA_DIR": str(tmp_path)
    }
    script = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        stdout, stderr = script.communicate(timeout=300)
    except subprocess.TimeoutExpired:
        script.send_signal(signal.SIGINT)  # it stops its indexer, API and devnet on the way out; SIGKILL would not
        script.communicate(timeout=60)
        raise
    assert script.returncode == 0, stderr[-4000:]
    figures = json.loads(stdout)

    assert figures["world"] == {"pairs": 300, "pools": 40, "chain": 1}
    assert len(figures["routes"]) >= 10
    assert len(figures["load_average"]["start"]) == 3
    capacity = figures["capacity"]
    assert capacity["rps"] > 0
    assert capacity["errors"] == 0
    alone, loaded = figures["api_alone"], figures["api_with_indexing"]
    for run in (alone, loaded):
        assert run["target_rps"] == pytest.approx(0.8 * capacity["rps"], rel=0.01)
        assert abs(run["requests"] - run["target_rps"] * 3) <= 1
        assert 0 < run["achieved_rps"] <= 1.05 * run["target_rps"]
        assert 0 < run["p50_ms"] <= run["p90_ms"] <= run["p99_ms"] <= run["max_ms"]
    # Alone on an idle machine the API answers the rate it was sent; in the suite, other tests share the two cores
    # with both phases, so either may fall short. Comparing one phase's p99 with the other's would not do (the
    # alone phase may queue too). What must hold of any shortfall: requests not answered (shed, failed) or answers
    # late. Achieved counts 200s over the span from the first scheduled time to the last answer, and the last
    # request was due by 3 s, so the last answer waited at least span - 3 s from its scheduled time.
    assert alone["errors"] == 0
    for run in (alone, loaded):
        if run["achieved_rps"] < 0.9 * run["target_rps"]:
            ok = run["requests"] - run["errors"] - run["shed"]
            span_seconds = ok / run["achieved_rps"]
            late_ms = (span_seconds - 3) * 1000
            assert ok < 0.9 * run["requests"] or run["max_ms"] >= 0.95 * late_ms - 50, (run, span_seconds)
    for lag in (figures["indexer_alone"], figures["indexer_with_api"]):
        assert lag["blocks"] >= 2
        assert lag["unstored"] == 0
        assert lag["changes_per_block"] == 20
        assert 0 <= lag["lag_seconds_median"] <= lag["lag_seconds_max"] < 20
        assert 0 <= lag["lag_blocks_median"] <= lag["lag_blocks_max"]
        # The market paces blocks 2 s apart; a tick late behind a busy machine is followed by a quicker one
        # (1.29 s median seen in a full run): paced, not mined back to back.
        assert lag["block_interval_s"] >= 1.0
    for run in (alone, loaded):  # 200s, 503s (shed) and errors account for every request sent
        assert run["shed"] >= 0
        assert run["errors"] + run["shed"] <= run["requests"]
        assert run["answered_p50_ms"] <= run["answered_p99_ms"]
    usage = figures["usage"]
    assert set(usage) == {"api_alone", "indexer_alone", "together"}
    assert usage["api_alone"]["cache_hits"] > 0
    assert usage["indexer_alone"]["cache_hits"] == 0  # nobody asked the API meanwhile
    assert usage["together"]["cache_builds"] > 0  # each new block makes the routes build again
    # The together phase again on an API with stale answers off (the baseline): none served, builds again.
    variant = figures["variant"]
    assert variant["api_settings"] == ["stale_seconds=0"]
    assert variant["usage"]["stale_answers"] == 0
    assert variant["usage"]["background_builds"] == 0
    assert variant["usage"]["cache_builds"] > 0
    assert variant["indexer_with_api"]["blocks"] >= 2
    assert abs(variant["api_with_indexing"]["requests"] - loaded["requests"]) <= 1  # the same load, sent again
    assert usage["together"]["stale_answers"] >= usage["together"]["background_builds"]  # each build behind one
    for phase in usage.values():
        assert 0 <= phase["api_cores"] <= phase["machine_busy_cores"] + 0.1 <= figures["cores"] + 0.2
    assert figures["keeps_up"] is figures["indexer_with_api"]["keeps_up"]
    # --beside: the capacity again while the indexer follows the market, and the together phase at 80 % of that.
    beside = figures["beside"]
    assert beside["capacity"]["rps"] > 0
    assert beside["capacity"]["errors"] == 0
    assert beside["api_with_indexing"]["target_rps"] == pytest.approx(0.8 * beside["capacity"]["rps"], rel=0.01)
    assert abs(beside["api_with_indexing"]["requests"] - beside["api_with_indexing"]["target_rps"] * 3) <= 1
    assert beside["indexer_with_api"]["blocks"] >= 2
    assert beside["indexer_with_api"]["unstored"] == 0
    assert beside["usage"]["cache_hits"] > 0
    assert ("does NOT keep up" in figures["verdict"]) is not figures["keeps_up"]
    ratios = figures["ratios"]
    assert ratios["p99_loaded_over_alone"] == pytest.approx(
        figures["api_with_indexing"]["p99_ms"] / figures["api_alone"]["p99_ms"], abs=0.01
    )
