"""Risk profiles of every scored protocol of a devnet chain at one block: the risk hook's way now (`risk_profiles`:
every protocol's control surface, every governor's quorums and the bad-debt reads in the same rounds, one JSON-RPC
batch each, control events kept in a `ControlLogs` between profiles) against the way before (`LEGACY_COMMIT`'s
`risk_profile` per protocol: one at a time, and gathered on one shared batcher, each protocol with its own control
rounds and its own governance batch). A Compound proposal is made and the governors' events indexed first, so that
quorums are read. Every way reads the same block, and must read the same control and governance, which today's rules
score the same (the code before scored with older ones; the economic pillar aside: it read no bad debt). The way now
runs twice: with the fixed contracts only (as before the contracts found at run time were inspected) and with them
(the cTokens, strategies and pools the indexer's discovery listed, `found_contracts`), which must read the fixed
contracts the same (or inspect them with the found ones' groups, as Aave's aTokens). Printed: HTTP requests
and wall time of each, a first profile and one a block later, and their ratios.

    .venv/bin/python benchmarks/risk_profiles.py [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from types import ModuleType
from typing import Final

from defiscope.analytics.risk.hook import scored_slugs
from defiscope.analytics.risk.profile import RiskProfile, risk_profiles, score_profile
from defiscope.analytics.risk.score import RiskScore
from defiscope.chain.client import Snapshot
from defiscope.chain.reader import Batcher
from defiscope.config import RpcSettings
from defiscope.devnet.anvil import rpc
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.governance import propose_close_factor
from defiscope.devnet.manager import start_devnet
from defiscope.indexing_hooks import IndexedChain
from defiscope.protocols.control.profile import found_contracts
from defiscope.protocols.control.rounds import ControlLogs
from defiscope.service.context import ChainTarget, build_engine
from defiscope.service.indexer import Indexer
from defiscope.store import Repository
from defiscope.tvl.engine import ChainTvl, TvlEngine

#: The merge whose risk hook profiled one protocol at a time (per-protocol control rounds and governance batches).
LEGACY_COMMIT = "a71206b"


def legacy_profile() -> ModuleType:
    """`analytics.risk.profile` as of `LEGACY_COMMIT` (its own module; today's rules, control reads and governance)."""
    source = subprocess.run(
        ["git", "show", f"{LEGACY_COMMIT}:src/defiscope/analytics/risk/profile.py"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    path = Path(tempfile.mkdtemp(prefix="legacy-risk-")) / "legacy_risk_profile.py"
    path.write_text(source)
    spec = importlib.util.spec_from_file_location("legacy_risk_profile", path)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class Kept:
    """A hook that keeps the indexed block's TVL."""

    def __init__(self) -> None:
        self.result: ChainTvl | None = None

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
        self.result = result


async def indexed(engine: TvlEngine, repo: Repository) -> ChainTvl:
    kept = Kept()
    await Indexer({1: engine}, repo, hooks=(kept,)).run_once()
    assert kept.result is not None
    return kept.result


Profiles = Mapping[str, RiskProfile]
Way = Callable[[TvlEngine, ChainTvl, Sequence[str], Repository], Awaitable[Profiles]]


def per_protocol(legacy: ModuleType, *, shared: bool) -> Way:
    """The way before: each protocol's `risk_profile` alone, on one shared batcher (``shared``: the old hook) or
    one at a time, each on its own (running the CLI per protocol)."""

    async def way(engine: TvlEngine, tvl: ChainTvl, slugs: Sequence[str], repo: Repository) -> Profiles:
        batcher = Batcher(Snapshot(engine.client, tvl.block))
        snapshots = {s.slug: s for s in tvl.snapshots}

        async def one(slug: str) -> RiskProfile:
            own = batcher if shared else Batcher(Snapshot(engine.client, tvl.block))
            profile: RiskProfile = await legacy.risk_profile(
                own.reader(slug), engine.deployment, slug, snapshots.get(slug), repo
            )
            return profile

        if shared:
            return dict(zip(slugs, await asyncio.gather(*(one(slug) for slug in slugs)), strict=True))
        return {slug: await one(slug) for slug in slugs}

    return way


def together(logs: ControlLogs, *, discovered: bool) -> Way:
    """The way now; ``discovered``: with the contracts the engine's discovery listed at the block (the hook's)."""

    async def way(engine: TvlEngine, tvl: ChainTvl, slugs: Sequence[str], repo: Repository) -> Profiles:
        reader = Batcher(Snapshot(engine.client, tvl.block)).reader("risk")
        snapshots = {s.slug: s for s in tvl.snapshots}
        listed = found_contracts(engine.adapters, tvl.block.number) if discovered else None
        found = await risk_profiles(reader, engine.deployment, slugs, snapshots, repo, logs=logs, found=listed)
        failed = {slug: p for slug, p in found.items() if isinstance(p, Exception)}
        if failed:
            raise SystemExit(f"profiles failed: {failed}")
        return {slug: p for slug, p in found.items() if isinstance(p, RiskProfile)}

    return way


async def measure(
    way: Way, engine: TvlEngine, tvl: ChainTvl, slugs: Sequence[str], repo: Repository
) -> tuple[Profiles, int, float]:
    before = engine.client.rpc.total_requests()
    started = time.perf_counter()
    profiles = await way(engine, tvl, slugs, repo)
    return profiles, engine.client.rpc.total_requests() - before, time.perf_counter() - started


def _differences(old: Profiles, new: Profiles, tvl: ChainTvl) -> list[str]:
    """Where the ways read differently: (protocol, part) of the control surfaces, governance and pillars. The code
    before scored with its own rules (older formula versions), so its reads are scored again with today's
    (`score_profile`) to compare the pillars: the same reads must score the same. The economic pillar aside, whose
    bad debt the code before did not read."""
    snapshots = {s.slug: s for s in tvl.snapshots}

    def pillars(score: RiskScore) -> list[object]:
        return [(x.name, x.score, x.rule, x.evidence) for x in score.pillars if x.name != "economic"]

    def seen(p: RiskProfile, score: RiskScore) -> dict[str, object]:
        return {"surface": p.surface.to_json(), "governance": p.governance, "pillars": pillars(score)}

    def rescored(p: RiskProfile) -> RiskScore:
        return score_profile(p.surface, p.facts, p.governance, snapshots.get(p.slug), tvl.block.timestamp)

    if set(old) != set(new):
        return [f"protocols: {sorted(old)} != {sorted(new)}"]
    return [
        f"{slug}: {part}"
        for slug in old
        for part, value in seen(old[slug], rescored(old[slug])).items()
        if seen(new[slug], new[slug].score)[part] != value
    ]


def _fixed_same(alone: Profiles, with_found: Profiles) -> bool:
    """Every contract the fixed-only way read is read the same with the found ones, or is among those found (a
    contract both fixed and listed by discovery, such as Aave's aTokens, is then inspected with its group)."""
    for slug, profile in alone.items():
        other = with_found[slug].surface
        theirs = {c.proxy.address: c.to_json() for c in other.contracts}
        found = {a for kind in other.discovered for group in kind.groups for a in group.addresses}
        for contract in profile.surface.contracts:
            address = contract.proxy.address
            same = theirs.get(address) == contract.to_json()
            if not same and (address in theirs or address not in found):
                return False
    return True


def _inspected(profiles: Profiles) -> int:
    """How many contracts found at run time were inspected (sampled ones included)."""
    return sum(len(g.addresses) for p in profiles.values() for k in p.surface.discovered for g in k.groups)


Figure = tuple[int, float]  # HTTP requests, seconds
ROWS: Final = (
    "before: one protocol at a time",
    "before: per protocol, one shared batcher",
    "now, fixed contracts only: first",
    "now, with those found at run time: first",
    "now, with those found at run time: a block later",
)


async def runs(engine: TvlEngine, repo: Repository, repeat: int, url: str) -> tuple[list[list[Figure]], int, int]:
    """Each way's figures per repeat (in `ROWS` order), the block, and the governors' proposals the profiles read."""
    legacy = legacy_profile()
    alone, shared = per_protocol(legacy, shared=False), per_protocol(legacy, shared=True)
    propose_close_factor(url, engine.deployment.contracts, "# close factor 60 % (benchmark)")
    rpc(url, "anvil_mine", [hex(4)])  # its vote has started: its quorum is read
    tvl = await indexed(engine, repo)
    slugs = list(scored_slugs(engine))
    figures: list[list[Figure]] = [[] for _ in ROWS]
    proposals = 0
    for _ in range(repeat):
        logs = ControlLogs(engine.deployment.first_block)
        fixed_only = together(ControlLogs(engine.deployment.first_block), discovered=False)
        ways = (alone, shared, fixed_only, together(logs, discovered=True))
        read = [await measure(way, engine, tvl, slugs, repo) for way in ways]
        differ = _differences(read[0][0], read[2][0], tvl) + _differences(read[1][0], read[2][0], tvl)
        if differ:
            raise SystemExit(f"the ways profiled differently: {differ}")
        if not _fixed_same(read[2][0], read[3][0]) or not _inspected(read[3][0]):
            raise SystemExit("with the contracts found at run time, the fixed ones read differently (or none found)")
        proposals = sum(p.governance.proposals for p in read[2][0].values())
        rpc(url, "evm_mine")
        _, *later = await measure(together(logs, discovered=True), engine, await indexed(engine, repo), slugs, repo)
        for kept, (_, requests, seconds) in zip(figures, [*read, (None, *later)], strict=True):
            kept.append((requests, seconds))
    return figures, tvl.block.number, proposals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    with start_devnet((1,), show_progress=False) as devnet, tempfile.TemporaryDirectory() as folder:
        chain = devnet.chain(1)
        repo = Repository.open(f"sqlite:///{folder}/risk.db")

        async def go() -> tuple[list[list[Figure]], int, int]:
            engine = build_engine(ChainTarget(1, (chain.rpc_url,), devnet_deployment(chain)), RpcSettings(timeout=30.0))
            try:
                return await runs(engine, repo, args.repeat, chain.rpc_url)
            finally:
                await engine.client.aclose()

        figures, block, proposals = asyncio.run(go())
        repo.close()
    best = [min(rows, key=lambda r: r[1]) for rows in figures]
    print(f"risk profiles of every scored protocol on devnet chain 1 at block {block} ({proposals} proposals read)")
    for name, (requests, seconds) in zip(ROWS, best, strict=True):
        print(f"  {name:48} {requests:4d} HTTP req  {seconds * 1000:8.1f} ms")
    for base_name, base in zip(ROWS[:2], best[:2], strict=True):
        for name, (requests, seconds) in zip(ROWS[2:], best[2:], strict=True):
            print(f"  {base_name} / {name}: requests {base[0] / requests:.1f}x, time {base[1] / seconds:.1f}x")


if __name__ == "__main__":
    main()
