"""`serve` binds the API before its first snapshot: health answers at once with each chain's sync progress,
data endpoints answer what the store holds (or 503 syncing for a figure that does not exist yet), never a 500.

The end-to-end test reads the devnet through the provider simulator's `free` profile (25 requests/s, 50 ms a
request), which makes the first snapshot take seconds, deterministically slower than the API's start.
"""

from __future__ import annotations

import signal
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx
import pytest
from fastapi.testclient import TestClient

from defiscope.api import ApiSettings, Live, create_app
from defiscope.api.context import ChainProgress
from defiscope.devnet import Devnet, DevnetChain
from defiscope.devnet.anvil import free_port
from defiscope.devnet.deployment import devnet_deployment
from defiscope.protocols import log_cursor
from defiscope.service.indexer import Indexer, IndexerOptions
from defiscope.service.progress import SyncBoard, SyncProgress, SyncWatcher, cursors_of
from defiscope.service.snapshots import snapshot_and_store
from defiscope.store import Repository
from tests.devnet.helpers import cli, seeded_data_dir, wait_until
from tests.service.conftest import clean_env, make_engine

WETH = "ethereum:0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
#: Every data route a client may call, with valid parameters (protocols named: one the server reads).
DATA_PATHS = (
    "/v1/protocols",
    "/v1/protocols/aave-v3",
    "/v1/protocols/aave-v3/tvl",
    "/v1/protocols/aave-v3/explain",
    "/v1/chains",
    "/v1/chains/ethereum/tvl",
    f"/v1/prices?tokens={WETH}",
    f"/v1/prices/history?token={WETH}",
    "/v1/yields",
    "/protocols",
    "/protocol/aave-v3",
    "/tvl/aave-v3",
    "/v2/chains",
    "/v2/historicalChainTvl",
    "/v2/historicalChainTvl/ethereum",
    f"/prices/current/{WETH}",
    f"/chart/{WETH}",
    "/block/ethereum/1700000000",
    "/api/v3/simple/price?ids=weth&vs_currencies=usd",
    "/api/v3/coins/markets?vs_currency=usd",
)
#: Figures that cannot exist before the first snapshot: 503 syncing, then (once following) not found.
NOT_YET = {
    "/v1/protocols/aave-v3",
    "/v1/protocols/aave-v3/tvl",
    "/v1/protocols/aave-v3/explain",
    "/protocol/aave-v3",
    "/tvl/aave-v3",
    "/block/ethereum/1700000000",
}


def _syncing_answer(answer: httpx.Response) -> bool:
    body = answer.json()
    return answer.status_code == 503 and body["status"] == "syncing" and int(answer.headers["retry-after"]) >= 5


def _holds_nothing(body: Any) -> bool:
    """No figure anywhere: every list and map is empty (what was asked for and not found aside)."""
    if isinstance(body, list):
        return not body
    if isinstance(body, dict):
        return all(_holds_nothing(v) for k, v in body.items() if k != "missing" and isinstance(v, list | dict))
    return True


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    store = Repository.open(f"sqlite:///{tmp_path / 'sync.db'}")
    yield store
    store.close()


def test_an_empty_store_answers_lists_and_503_syncing_never_500(repo: Repository) -> None:
    board = SyncBoard(clock=lambda: 1_800_000_000.0)  # a still clock: no rate measured, so no ETA yet
    board.chain(1).discovering({"v3": 99}, target=1099)
    board.chain(1).discovered("v3", 349, 1099)

    def progress() -> dict[int, ChainProgress]:
        return {cid: ChainProgress(None, None, None, None, sync) for cid, sync in board.view().items()}

    live = Live(heads=lambda: {1: None}, rpc=dict, progress=progress)
    app = create_app(ApiSettings(database_url=str(repo.engine.url)), repo=repo, live=live)
    with TestClient(app) as http:
        health = http.get("/v1/health").json()
        assert (health["status"], health["chains"][0]["progress"]["percent"]) == ("syncing", 25.0)
        for path in DATA_PATHS:
            answer = http.get(path)
            if path in NOT_YET:
                assert _syncing_answer(answer), (path, answer.status_code, answer.text)
                assert answer.json()["chains"] == [
                    {"chain": "ethereum", "chain_id": 1, "phase": "discovering", "percent": 25.0, "eta_seconds": None}
                ]
                assert "not indexed yet" in answer.json()["error"]["problem"]
            else:
                assert answer.status_code == 200, (path, answer.text)
                assert _holds_nothing(answer.json()), (path, answer.text)  # empty lists and maps, never a 0
        assert http.get("/v1/protocols/no-such-protocol").status_code == 404  # not one this server reads
        board.chain(1).following()
        assert http.get("/v1/protocols/aave-v3").status_code == 404  # following and still absent: not found
        assert http.get("/v1/health").json()["status"] == "ok"


async def test_each_discovery_chunk_moves_the_health_progress(
    eth_chain: DevnetChain, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`serve`'s wiring: the indexer's discovery callback reaches the board at every chunk a scan keeps, so
    /v1/health's `discovering` percent and ETA move with the real scan, not only when it is over."""
    engine = make_engine(devnet_deployment(eth_chain), eth_chain.rpc_url)
    try:
        head = await engine.client.block("latest")
        monkeypatch.setattr(log_cursor, "SCAN_CHUNK", max(1, head.number // 8))  # several chunks per source
        board = SyncBoard()
        sync = board.chain(1)
        seen: list[SyncProgress] = []
        sync_discovered = sync.discovered

        def recorded(source: str, scanned_to: int, target: int) -> None:
            sync_discovered(source, scanned_to, target)
            seen.append(sync.view())

        monkeypatch.setattr(sync, "discovered", recorded)  # before the watcher wires it to the indexer
        watcher = SyncWatcher(board, Indexer({1: engine}, repo, IndexerOptions()))
        watcher.discovering(1, engine.adapters, head.number)
        total = board.view()[1].total
        await snapshot_and_store(engine, repo, head.number)  # the first snapshot discovers; nothing polls
    finally:
        await engine.client.aclose()
    assert len(seen) > len(cursors_of(engine.adapters))  # more reports than sources: chunk by chunk
    assert all(view.phase == "discovering" and view.total == total > 0 for view in seen)
    done = [view.done for view in seen]
    assert done == sorted(done)
    assert done[-1] == total
    percents = {view.percent for view in seen}
    assert len(percents - {0.0, 100.0}) >= 3, percents  # intermediate shares, not one jump to the end
    assert any(view.eta_seconds is not None and view.eta_seconds > 0 for view in seen)  # an ETA from the rate

    def progress() -> dict[int, ChainProgress]:
        return {cid: ChainProgress(None, None, None, None, view) for cid, view in board.view().items()}

    live = Live(heads=lambda: {1: None}, rpc=dict, progress=progress)
    app = create_app(ApiSettings(database_url=str(repo.engine.url)), repo=repo, live=live)
    with TestClient(app) as http:
        health = http.get("/v1/health").json()
    assert (health["chains"][0]["progress"]["phase"], health["chains"][0]["progress"]["done"]) == (
        "discovering",
        total,
    )
    assert health["chains"][0]["progress"]["percent"] == 100.0


class _Lines:
    """A child's output lines with the time each arrived (read on a thread, so the pipe never fills)."""

    def __init__(self, stream: IO[str] | None) -> None:
        self.seen: list[tuple[float, str]] = []
        assert stream is not None
        self.thread = threading.Thread(target=lambda: self.seen.extend((time.monotonic(), s) for s in stream))
        self.thread.start()

    def first(self, text: str) -> tuple[int, float] | None:
        return next(((i, at) for i, (at, line) in enumerate(self.seen) if text in line), None)


def _get(url: str) -> httpx.Response | None:
    try:
        return httpx.get(url, timeout=5)
    except httpx.TransportError:
        return None


def test_serve_answers_at_once_while_the_first_snapshot_runs(devnet: Devnet, tmp_path: Path) -> None:
    home = seeded_data_dir(devnet, tmp_path / "home")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = cli("serve", "--port", str(port), "--no-simulate", "--provider-limits", "free")
    child = subprocess.Popen(command, env=clean_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines, errors = _Lines(child.stdout), _Lines(child.stderr)
    healths: list[tuple[float, dict[str, Any]]] = []
    during: list[tuple[str, httpx.Response]] = []
    try:
        while (first := _get(f"{base}/v1/health")) is None:
            assert child.poll() is None, errors.seen
            time.sleep(0.02)
        healths.append((time.monotonic(), first.json()))
        announced = lines.first("API on http://")
        assert announced is not None  # printed (and flushed) before the API answered
        assert healths[0][0] - announced[1] < 1.0  # answered within a second of binding

        # Health is sampled on its own thread (every 50 ms), so that the data probes below do not thin it out.
        stop_sampling = threading.Event()

        def sample() -> None:
            while not stop_sampling.is_set():
                if (answer := _get(f"{base}/v1/health")) is not None:
                    healths.append((time.monotonic(), answer.json()))
                time.sleep(0.05)

        sampler = threading.Thread(target=sample)
        sampler.start()
        try:

            def synced() -> bool:
                if healths[-1][1]["status"] == "syncing":
                    during.extend((path, httpx.get(base + path, timeout=10)) for path in DATA_PATHS)
                return bool(healths[-1][1]["status"] == "ok") or child.poll() is not None

            wait_until(synced, 90, "the first snapshot to be stored")
        finally:
            stop_sampling.set()
            sampler.join(10)
        assert child.poll() is None, errors.seen
        start = healths[0][1]
        assert start["status"] == "syncing"
        assert {c["chain_id"] for c in start["chains"]} == {1, 56}
        for chain in start["chains"]:  # nothing stored yet: listed, no block, discovering
            assert (chain["state"], chain["last_block"], chain["progress"]["phase"]) == ("syncing", None, "discovering")
        progress = [c["progress"] for _, doc in healths if doc["status"] == "syncing" for c in doc["chains"]]
        seen = {(p["phase"], p["total"] > 0, p["percent"], p["eta_seconds"]) for p in progress}
        assert any(p["total"] > 0 and p["percent"] is not None and p["eta_seconds"] is not None for p in progress), seen
        assert all(p["percent"] is None or 0 <= p["percent"] <= 100 for p in progress)
        assert during  # the data endpoints were asked while syncing
        for path, answer in during:
            assert answer.status_code == 200 or (path in NOT_YET and _syncing_answer(answer)), (path, answer.text)
        done = healths[-1][1]
        assert all(c["state"] == "ok" and c["last_block"] is not None for c in done["chains"])
        assert all(c["progress"]["phase"] == "following" for c in done["chains"])
        assert httpx.get(f"{base}/v1/protocols").json()["items"]
        assert httpx.get(f"{base}/v1/protocols/aave-v3").status_code == 200
        child.send_signal(signal.SIGTERM)
        assert child.wait(60) == 0
        lines.thread.join(10)
        errors.thread.join(10)
        table = lines.first("TVL by protocol")
        assert table is not None  # the terminal's table still comes, after the API line
        assert announced[0] < table[0]
        assert errors.first("discovering chain 1") is not None  # and the Rich bar of the slow first snapshot
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


def test_a_stop_during_the_first_snapshot_is_prompt_and_clean(devnet: Devnet, tmp_path: Path) -> None:
    """SIGTERM while discovery runs (the `strict` profile makes the first snapshot take most of a minute):
    exit 0 within seconds, no table, the devnet saved for the next start."""
    home = seeded_data_dir(devnet, tmp_path / "home")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    command = cli("serve", "--port", str(port), "--no-simulate", "--provider-limits", "strict")
    child = subprocess.Popen(command, env=clean_env(home), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:

        def syncing() -> bool:
            answer = _get(f"{base}/v1/health")
            return (answer is not None and answer.json()["status"] == "syncing") or child.poll() is not None

        wait_until(syncing, 60, "the API to answer while syncing")
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        time.sleep(1.0)  # well inside the first snapshot
        stopped_at = time.monotonic()
        child.send_signal(signal.SIGTERM)
        stdout, stderr = child.communicate(timeout=60)
        assert child.returncode == 0, stderr
        # Prompt: the first snapshot never finished, so the stop did not wait for it. The bound is only a backstop
        # against a hang (wide: a busy machine stretches a stop of a second or two).
        assert time.monotonic() - stopped_at < 60
        assert "TVL by protocol" not in stdout
        assert "devnet saved in" in stdout
        assert stdout.rstrip().endswith("stopped")
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)
