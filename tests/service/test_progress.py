"""Sync progress: the phase, done of total, moving rate and ETA of a chain — as a model on a clock, and driven
by `SyncWatcher` from a real engine's cursors and a real indexer's resume on the devnet."""

from __future__ import annotations

from defiscope.devnet import DevnetChain
from defiscope.service.indexer import Indexer, IndexerOptions
from defiscope.service.progress import ChainSync, SyncBoard, SyncWatcher, cursors_of
from defiscope.service.snapshots import snapshot_and_store
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.service.chainkit import mine


class Clock:
    def __init__(self, now: float = 1_800_000_000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


def test_catch_up_rate_and_eta_follow_the_pace_and_a_stall_shows() -> None:
    clock = Clock()
    sync = ChainSync(1, clock)
    sync.catching_up(0, 1200)
    first = sync.view()
    assert (first.phase, first.percent, first.rate, first.eta_seconds) == ("catching_up", 0.0, None, None)
    for _ in range(10):  # 4 blocks a second for 10 s
        clock.now += 1
        sync.catching_up(sync.view().done + 4, 1200)
    view = sync.view()
    assert (view.done, view.percent, view.rate, view.eta_seconds) == (40, 3.33, 4.0, 290)  # 1160 blocks at 4/s
    assert view.started_at == first.started_at
    clock.now += 20  # throttled: 40 more blocks in 20 s
    sync.catching_up(80, 1200)
    assert sync.view().rate == 80 / 30
    clock.now += 10
    sync.catching_up(90, 1200)
    assert sync.view().rate == 50 / 30  # only the last 30 s: the first 10 s (40 blocks) have left the window
    clock.now += 31  # stalled: nothing in the window
    stalled = sync.view()
    assert (stalled.rate, stalled.eta_seconds, stalled.advanced_at) == (0.0, None, clock.now - 31)
    sync.following()
    done = sync.view()
    assert (done.phase, done.percent, done.eta_seconds, done.rate, done.done, done.total) == (
        "following",
        100.0,
        0,
        None,
        1200,
        1200,
    )


def test_discovery_sums_its_sources_and_takes_a_scan_callback() -> None:
    clock = Clock()
    sync = SyncBoard(clock).chain(1)
    assert (sync.view().phase, sync.view().percent) == ("discovering", None)  # before the head is known
    sync.discovering({"v3": 99, "pods": 499}, target=1099)  # 1000 + 600 blocks to scan
    assert (sync.view().done, sync.view().total, sync.view().percent) == (0, 1600, 0.0)
    clock.now += 2
    sync.discovered("v3", 599, 1099)
    assert (sync.view().done, sync.view().rate, sync.view().eta_seconds) == (500, 250.0, 5)
    sync.discovered("wards", 10, 1099)  # a source reported before it was announced counts from its first report
    clock.now += 2
    sync.discovered("wards", 1099, 1099)
    assert (sync.view().done, sync.view().total) == (1589, 2689)
    sync.discovered("v3", 400, 1099)  # an older report never moves a source back
    assert sync.view().done == 1589


async def test_watcher_drives_discovery_then_catch_up_then_following(
    engine: TvlEngine, repo: Repository, eth_chain: DevnetChain
) -> None:
    indexer = Indexer({1: engine}, repo, IndexerOptions(max_blocks_per_iteration=4))
    watcher = SyncWatcher(SyncBoard(), indexer)
    assert watcher.board.view()[1].phase == "discovering"
    cursors = cursors_of(engine.adapters)
    assert cursors  # the devnet's V3 factories, EigenLayer, Maker's Vat
    head = await engine.client.block("latest")
    watcher.discovering(1, engine.adapters, head.number)
    before = watcher.board.view()[1]
    assert before.total == sum(head.number - c.scanned_to for c in cursors.values()) > 0
    assert before.done == 0
    await snapshot_and_store(engine, repo, head.number)
    watcher.poll()  # scanned, not yet marked stored: still discovering, every block scanned
    scanned = watcher.board.view()[1]
    assert (scanned.phase, scanned.done, scanned.percent) == ("discovering", before.total, 100.0)
    watcher.stored(1)
    assert watcher.board.view()[1].phase == "following"

    # A restart 10 blocks later: the indexer sizes the backlog at its first step, then works it off.
    later = Indexer({1: engine}, repo, IndexerOptions(max_blocks_per_iteration=4))
    await later.resume()
    watcher = SyncWatcher(SyncBoard(), later)
    watcher.stored(1)
    sizing = watcher.board.view()[1]
    assert (sizing.phase, sizing.total, sizing.percent) == ("catching_up", 0, None)
    mine(eth_chain, 10)
    await later.chains[1].step(4)
    watcher.poll()
    working = watcher.board.view()[1]
    assert (working.phase, working.done, working.total, working.percent) == ("catching_up", 4, 10, 40.0)
    while (await later.chains[1].step(4))[1]:
        pass
    watcher.poll()
    assert watcher.board.view()[1].phase == "following"
