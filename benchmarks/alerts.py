"""Alert rules evaluated per block: 1,000 rules vs indexing the block itself without rules, in the same run.

On a devnet chain 1, blocks are indexed into SQLite (WETH sent to the treasury every other block, so TVL rules fire
and resolve), first without rules, then with 1,000 rules of every stored kind (tvl_change, price_move, yield,
new_protocol, with windows of 1 to 10 blocks) evaluated by the indexer's hook. Printed: ms per block of indexing,
ms per block of rule evaluation (the hook alone, alert writes included), the ratio, and the alerts raised.
Target: evaluation adds at most 10 ms per block.

The widest rule window is 10 blocks: the first 10 blocks after the engine starts read their look-backs from the store
(the blocks before the start were not handed over in memory). They are timed and printed apart (`--warmup`), then the
`--blocks` measured ones follow.

    .venv/bin/python benchmarks/alerts.py [--rules 1000] [--blocks 30] [--warmup 10] [--profile FILE]

`--profile FILE` writes cProfile statistics of the evaluation (`pstats` format): the thread it runs in is profiled,
which a profile of the whole process misses (`asyncio.to_thread`).
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import Session

from defiscope.alerts import manage
from defiscope.alerts.engine import AlertEngine
from defiscope.alerts.figures import StoredFigures
from defiscope.alerts.message import AlertMessage, Channel
from defiscope.alerts.rules import parse_rule
from defiscope.api.keys import new_key
from defiscope.config import RpcSettings
from defiscope.devnet.anvil import ACCOUNTS, rpc
from defiscope.devnet.deployment import TREASURY_HOLDER, devnet_deployment
from defiscope.devnet.manager import start_devnet
from defiscope.indexing_hooks import IndexedChain
from defiscope.service.context import ChainTarget, build_engine
from defiscope.service.indexer import Indexer
from defiscope.store import Repository
from defiscope.store.alerts import RuleStore
from defiscope.store.keys import KeyStore
from defiscope.tvl.engine import ChainTvl

TRANSFER = "0xa9059cbb"


@dataclass
class CountingSink:
    counts: dict[str, int] = field(default_factory=dict)

    def put(self, session: Session, message: AlertMessage, channels: tuple[Channel, ...], owner: str) -> None:
        self.counts[message.type] = self.counts.get(message.type, 0) + 1


@dataclass
class TimedHook:
    """The alert engine's hook, timed."""

    alerts: AlertEngine
    sink: CountingSink
    quiet: list[float] = field(default_factory=list)  # process CPU seconds of blocks that raised no alert
    seconds: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)  # process CPU seconds: what the machine's load does not inflate

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
        started, cpu, alerts = time.perf_counter(), time.process_time(), sum(self.sink.counts.values())
        await self.alerts.block_indexed(chain, result)
        self.seconds.append(time.perf_counter() - started)
        self.cpu.append(time.process_time() - cpu)
        if sum(self.sink.counts.values()) == alerts:
            self.quiet.append(self.cpu[-1])


def profiled(engine: AlertEngine, profile: cProfile.Profile) -> None:
    """Profile the engine's work in the thread it runs in: taking the block handed over, then evaluating it."""
    for name in ("_prepare", "_evaluate_stored_block"):
        setattr(engine, name, _profiling(getattr(engine, name), profile))


def _profiling(work: Callable[..., Any], profile: cProfile.Profile) -> Callable[..., Any]:
    def run(*args: Any) -> Any:
        profile.enable()
        try:
            return work(*args)
        finally:
            profile.disable()

    return run


def move_chain(url: str, weth: str, number: int) -> None:
    """One block: WETH to the treasury every fourth step, an empty block otherwise."""
    if number % 4:
        rpc(url, "anvil_mine", ["0x1"])
        return
    data = TRANSFER + TREASURY_HOLDER[2:].lower().rjust(64, "0") + hex(10**17)[2:].rjust(64, "0")
    tx = rpc(url, "eth_sendTransaction", [{"from": ACCOUNTS[0], "to": weth, "data": data}])
    while rpc(url, "eth_getTransactionReceipt", [tx]) is None:  # automined: wait until its block is in
        time.sleep(0.002)


def rule_bodies(count: int, slugs: list[str], symbols: list[str], rates: list[tuple[str, str]]) -> list[dict[str, Any]]:
    """Rules of every stored kind over the chain's protocols, tokens and rates, thresholds spread out; one TVL rule
    in eight watches the treasury by USD, so alerts fire when WETH arrives and resolve at the next block."""
    bodies: list[dict[str, Any]] = []
    for i in range(count):
        window = 1 + i % 10
        shape = i % 4
        if shape == 0 or (shape == 2 and not rates):
            if i % 8 == 0:
                params: dict[str, Any] = {"protocol": "devnet-treasury", "window_blocks": 1, "threshold_usd": 100}
            else:
                params = {
                    "protocol": slugs[i % len(slugs)],
                    "window_blocks": window,
                    "threshold_pct": 0.5 * (1 + i % 10),
                }
            kind = "tvl_change"
        elif shape == 1:
            params = {"token": symbols[i % len(symbols)], "window_blocks": window, "threshold_pct": 0.5 * (1 + i % 9)}
            kind = "price_move"
        elif shape == 2:
            slug, symbol = rates[i % len(rates)]
            params = {"protocol": slug, "asset": symbol, "above": 5 + i % 20, "move_pct": 0.5, "window_blocks": window}
            kind = "yield"
        else:
            params = {"min_tvl_usd": 10 ** (i % 8), "within_days": 1 + i % 30}
            kind = "new_protocol"
        bodies.append({"kind": kind, "params": {"chain": "1", **params}, "cooldown_blocks": i % 5})
    return bodies


async def index_blocks(indexer: Indexer, url: str, weth: str, blocks: int) -> tuple[list[float], list[float]]:
    """Wall and process CPU seconds of each block's indexing (the chain is moved first, outside the timing)."""
    chain = indexer.chains[1]
    seconds, cpu = [], []
    for number in range(blocks):
        move_chain(url, weth, number)
        started, cpu_started = time.perf_counter(), time.process_time()
        indexed, _ = await chain.step(None)
        assert len(indexed) == 1, "one new block per step"
        seconds.append(time.perf_counter() - started)
        cpu.append(time.process_time() - cpu_started)
    return seconds, cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rules", type=int, default=1000)
    parser.add_argument("--blocks", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=10, help="blocks evaluated after the start, printed apart")
    parser.add_argument("--profile", help="write cProfile statistics of the evaluation to this file")
    args = parser.parse_args()

    with start_devnet((1,), show_progress=False) as devnet, tempfile.TemporaryDirectory() as tmp:
        chain = devnet.chain(1)
        deployment = devnet_deployment(chain)
        weth = chain.tokens["WETH"]
        repo = Repository.open(f"sqlite:///{tmp}/bench.db")

        async def run() -> tuple[
            tuple[list[float], list[float]], tuple[list[float], list[float]], TimedHook, CountingSink
        ]:
            engine = build_engine(ChainTarget(1, (chain.rpc_url,), deployment), RpcSettings(timeout=10.0))
            try:
                plain = Indexer({1: engine}, repo)
                await plain.chains[1].step(None)  # discovery and the first block
                without = await index_blocks(plain, chain.rpc_url, weth, args.blocks)

                top = plain.chains[1].cursor
                assert top is not None
                figures = StoredFigures(repo.engine).at(1, top)
                assert figures is not None
                symbols = sorted({p.symbol for p in figures.prices.values()})
                rates = sorted({(r.slug, r.symbol) for r in figures.rates})
                _key, stored_key = new_key("bench")
                KeyStore(repo.engine).add(stored_key)
                rules = RuleStore(repo.engine)
                for body in rule_bodies(args.rules, sorted(figures.tvl), symbols, rates):
                    stored, _ = manage.create(parse_rule(body), stored_key.key_id)
                    rules.add(stored)

                sink = CountingSink()
                hook = TimedHook(AlertEngine(repo, sink), sink)
                profile = cProfile.Profile(time.process_time) if args.profile else None
                with_rules = Indexer({1: engine}, repo, hooks=(hook,))
                with_rules.chains[1].resume_after(top)
                await with_rules.chains[1].step(None)  # rules loaded, first evaluation
                if args.warmup:
                    await index_blocks(with_rules, chain.rpc_url, weth, args.warmup)
                warm.extend(hook.cpu[1:])
                hook.seconds.clear()
                hook.cpu.clear()
                hook.quiet.clear()
                if profile is not None:
                    profiled(hook.alerts, profile)
                with_hook = await index_blocks(with_rules, chain.rpc_url, weth, args.blocks)
                if profile is not None:
                    profile.dump_stats(args.profile)
                return without, with_hook, hook, sink
            finally:
                await engine.client.aclose()

        warm: list[float] = []
        without, with_hook, hook, sink = asyncio.run(run())
        repo.close()

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    def p90(values: list[float]) -> float:
        return statistics.quantiles(values, n=10)[-1] * 1000

    print(f"{args.blocks} blocks on devnet chain 1, SQLite store, {args.rules} rules; medians, wall | process CPU")
    print(f"  indexing a block without rules:  {ms(without[0]):8.1f} ms | {ms(without[1]):7.1f} ms")
    print(f"  indexing a block with the rules: {ms(with_hook[0]):8.1f} ms | {ms(with_hook[1]):7.1f} ms")
    print(
        f"  rule evaluation per block:       {ms(hook.seconds):8.2f} ms | {ms(hook.cpu):7.2f} ms "
        f"(worst {max(hook.seconds) * 1000:.1f} ms wall; target <= 10 ms)"
    )
    print(f"  ... 90th percentile:             {p90(hook.seconds):8.2f} ms | {p90(hook.cpu):7.2f} ms")
    if hook.quiet:
        print(f"  ... at blocks raising no alert:  {'':8} | {ms(hook.quiet):7.2f} ms ({len(hook.quiet)} blocks)")
    if warm:
        first = f"{ms(warm):7.2f} ms ({len(warm)} blocks, not counted above)"
        print(f"  ... first blocks after the start:{'':8}   | {first}")
    ratio_wall, ratio_cpu = ms(hook.seconds) / ms(without[0]), ms(hook.cpu) / ms(without[1])
    print(f"  evaluation / indexing:           {ratio_wall:8.3f} | {ratio_cpu:7.3f}")
    print(f"  alerts handed to the sink: {dict(sorted(sink.counts.items()))}")


if __name__ == "__main__":
    main()
