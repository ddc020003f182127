"""A long history on demand: the devnet's market fast-forwarded through simulated days, indexed as it goes.

    repo = Repository.open()
    devnet = open_devnet(repo)                       # as `serve`: the saved devnet continued, or a fresh one
    plan = FastForwardPlan.of(days=30, tick=3_600, sample=6 * 3_600)
    history = await simulate_history(devnet, repo, plan, seed=7, stop=asyncio.Event())
    save_for_next_start(devnet)                      # the next run (or `serve`) continues this chain
    history.chains[1].last_block, history.seconds

Every chain's market (`devnet.fast_forward.WarpedMarket`) ticks on the simulated clock, the chains side by side;
after every `plan.ticks_per_sample` ticks (and after the last) the chain's head is indexed by the indexer `serve`
runs (`service.indexer`, with `serve`'s hooks: `service.block_hooks.index_hooks` with the indices), so TVL,
prices, yields, the adapters' events, the published grades, the risk history and the index values of those blocks
are in the store as `serve` would have put them (the indices and risk scoring have caught up when it returns).
The head of the run's start is indexed first. A set `stop` ends each chain after its current tick; its head is
indexed then too, so the store always ends at the head that will be saved.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

from defiscope.chain.block import BlockRef
from defiscope.chain.feed import LogFeed
from defiscope.config import load_settings
from defiscope.devnet.fast_forward import FastForwardPlan, WarpedMarket, first_tick_time
from defiscope.devnet.manager import Devnet
from defiscope.errors import DefiscopeError
from defiscope.service.block_hooks import index_hooks
from defiscope.service.context import open_runtime, resolve_targets
from defiscope.service.indexer import ChainIndexer, Indexer, IndexerOptions
from defiscope.store import Repository

log = structlog.get_logger(__name__)

#: Called after every tick of a chain: (chain id, ticks done on that chain, the tick's simulated time).
OnTick = Callable[[int, int, int], None]


class SampleFailed(DefiscopeError):
    """A sampled block could not be indexed (the chain changed under the indexer, which never happens on a
    devnet only this run drives)."""


@dataclass(slots=True)
class ChainHistory:
    """What the run did on one chain: its ticks, the blocks it indexed and the protocols that failed."""

    chain_id: int
    start: int  # simulated time of the first tick
    ticks: int = 0
    first_block: BlockRef | None = None  # the first block indexed by this run
    last_block: BlockRef | None = None
    samples: int = 0
    failed_ticks: int = 0  # ticks that raised (logged): their transactions before the error stay mined
    failures: dict[str, str] = field(default_factory=dict)  # slug -> the latest reason it was not stored

    def to_json(self) -> dict[str, Any]:
        return {
            "chain_id": self.chain_id,
            "start_timestamp": self.start,
            "ticks": self.ticks,
            "samples": self.samples,
            "failed_ticks": self.failed_ticks,
            "first_block": _block_json(self.first_block),
            "last_block": _block_json(self.last_block),
            "failures": dict(sorted(self.failures.items())),
        }


@dataclass(frozen=True, slots=True)
class History:
    plan: FastForwardPlan
    seed: int
    chains: Mapping[int, ChainHistory]
    seconds: float
    stopped: bool  # a stop request ended the run before its last tick

    @property
    def simulated_days(self) -> float:
        ticks = min((c.ticks for c in self.chains.values()), default=0)
        return ticks * self.plan.tick_seconds / 86_400

    def to_json(self) -> dict[str, Any]:
        days = self.simulated_days
        return {
            "seed": self.seed,
            "days": self.plan.days,
            "tick_seconds": self.plan.tick_seconds,
            "sample_seconds": self.plan.sample_seconds,
            "simulated_days": days,
            "stopped": self.stopped,
            "seconds": round(self.seconds, 3),
            "seconds_per_simulated_day": round(self.seconds / days, 3) if days else None,
            "chains": [c.to_json() for _, c in sorted(self.chains.items())],
        }


def _block_json(block: BlockRef | None) -> dict[str, Any] | None:
    if block is None:
        return None
    return {"number": block.number, "hash": block.hash, "timestamp": block.timestamp}


async def simulate_history(
    devnet: Devnet,
    repo: Repository,
    plan: FastForwardPlan,
    *,
    seed: int,
    stop: asyncio.Event,
    on_tick: OnTick | None = None,
) -> History:
    """Run `plan` on every chain of `devnet` (attached, resumed or fresh, by `open_devnet`), indexing into `repo`."""
    started = time.perf_counter()
    settings = load_settings()
    async with open_runtime(settings, network="devnet") as runtime:
        for engine in runtime.engines.values():  # a sample's snapshot and its events read the blocks' logs once
            engine.feed = engine.feed or LogFeed(engine.client.chain_id)
        # The hooks `serve` runs (alerts around the grades publisher, the indices, risk scoring), so `defiscope
        # grades`, `risk` and `indices` answer right after the run.
        targets = resolve_targets(settings, list(runtime.engines), network="devnet")
        hooks = index_hooks(repo, runtime.engines, settings, index_targets=targets)
        indexer = Indexer(runtime.engines, repo, IndexerOptions(), hooks=hooks.hooks)
        await indexer.resume()
        markets = [
            await asyncio.to_thread(WarpedMarket.open, c, seed=seed, tick_seconds=plan.tick_seconds)
            for c in devnet.chains
        ]
        heads = [await asyncio.to_thread(m.head_timestamp) for m in markets]
        start = first_tick_time(max(heads))
        histories = {m.chain_id: ChainHistory(m.chain_id, start) for m in markets}
        runs = [
            asyncio.create_task(_run_chain(m, indexer.chains[m.chain_id], plan, histories[m.chain_id], stop, on_tick))
            for m in markets
        ]
        try:
            await asyncio.gather(*runs)
        except BaseException:  # a chain that failed stops the others, and its own error is the one raised
            for run in runs:
                run.cancel()
            await asyncio.gather(*runs, return_exceptions=True)
            await hooks.finish(catch_up=False)
            raise
        await hooks.finish(catch_up=True)  # stopped early too: the blocks indexed have their index values
    stopped = any(h.ticks < plan.ticks for h in histories.values())
    return History(plan, seed, histories, time.perf_counter() - started, stopped)


async def _run_chain(
    market: WarpedMarket,
    chain: ChainIndexer,
    plan: FastForwardPlan,
    history: ChainHistory,
    stop: asyncio.Event,
    on_tick: OnTick | None,
) -> None:
    await _sample(chain, history, await asyncio.to_thread(market.simulation.sender.w3.eth.get_block_number))
    await asyncio.to_thread(market.start)
    sampling: asyncio.Task[None] | None = None
    unsampled: int | None = None  # the head, when ticks ran since the last sample
    try:
        for tick in range(1, plan.ticks + 1):
            if stop.is_set():
                break
            when = plan.tick_time(history.start, tick)
            history.ticks, unsampled = tick, await _tick(market, history, when)
            if plan.samples_after(tick):
                # Indexed while the next tick runs (the node keeps the block's state), one sample at a time.
                if sampling is not None:
                    await sampling
                sampling = asyncio.create_task(_sample(chain, history, unsampled))
                unsampled = None
            if on_tick is not None:
                on_tick(market.chain_id, tick, when)
    finally:
        await asyncio.to_thread(market.stop)
        if sampling is not None:
            await sampling
    if unsampled is not None:  # stopped between samples: the store ends at the head that will be saved
        await _sample(chain, history, unsampled)


async def _tick(market: WarpedMarket, history: ChainHistory, when: int) -> int:
    """One tick at `when`; the head after it. A failed tick is logged and counted and the run goes on, as `serve`'s
    market does (what it mined stays: the next tick starts from there)."""
    try:
        return (await asyncio.to_thread(market.tick_at, when)).last_block
    except Exception as exc:
        history.failed_ticks += 1
        log.warning("simulate.tick_failed", chain_id=market.chain_id, timestamp=when, error=str(exc))
        return int(await asyncio.to_thread(market.simulation.sender.w3.eth.get_block_number))


async def _sample(chain: ChainIndexer, history: ChainHistory, number: int) -> None:
    done = await chain.index_block(number)
    if done is None:
        raise SampleFailed(f"chain {chain.chain_id}: block {number} changed while it was indexed")
    history.samples += 1
    history.first_block = history.first_block or done.block
    history.last_block = done.block
    for failure in done.failures:
        history.failures[failure.slug] = failure.reason
    log.info(
        "simulate.sampled",
        chain_id=chain.chain_id,
        block=done.block.number,
        timestamp=done.block.timestamp,
        ticks=history.ticks,
        stored=len(done.stored),
        failed=len(done.failures),
        read_s=round(done.read_seconds, 3),
    )
