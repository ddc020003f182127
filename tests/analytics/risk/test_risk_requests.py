"""Every scored protocol of a devnet chain profiled together: the control surfaces and the governors' quorums go out
in the same rounds, at most `MAX_REQUESTS` HTTP requests (the client's own count), and score exactly as profiling
each protocol alone does; a later profile with the same `ControlLogs` (control events read only since) reads as a
fresh one does."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Final

import pytest

from defiscope.analytics.risk.hook import scored_slugs
from defiscope.analytics.risk.profile import RiskProfile, risk_profile, risk_profiles
from defiscope.chain.client import Snapshot
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.devnet.anvil import rpc
from defiscope.devnet.governance import propose_close_factor
from defiscope.devnet.world import DevnetChain
from defiscope.indexing_hooks import IndexedChain
from defiscope.protocols.control.profile import found_contracts
from defiscope.protocols.control.rounds import ControlLogs
from defiscope.service.indexer import Indexer
from defiscope.store import Repository
from defiscope.tvl.engine import ChainTvl, TvlEngine
from tests.service.conftest import make_engine

#: Issue 18: a full risk profile of every protocol of a chain in at most 5 HTTP requests after discovery.
MAX_REQUESTS: Final = 5


class Kept:
    """A hook that keeps the indexed block's TVL (the snapshots the profiles score)."""

    def __init__(self) -> None:
        self.result: ChainTvl | None = None

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
        self.result = result


@pytest.fixture
async def engine(eth_chain: DevnetChain, deployment: Deployment) -> AsyncIterator[TvlEngine]:
    built = make_engine(deployment, eth_chain.rpc_url)
    yield built
    await built.client.aclose()


@pytest.fixture
def repo(tmp_path: Path) -> AsyncIterator[Repository]:
    opened = Repository.open(f"sqlite:///{tmp_path / 'risk.db'}")
    yield opened  # type: ignore[misc]
    opened.close()


async def _indexed(engine: TvlEngine, repo: Repository) -> ChainTvl:
    kept = Kept()
    await Indexer({1: engine}, repo, hooks=(kept,)).run_once()  # stores the governors' events too
    assert kept.result is not None
    return kept.result


async def _together(
    engine: TvlEngine, tvl: ChainTvl, repo: Repository, logs: ControlLogs, reader: Reader | None = None
) -> tuple[dict[str, RiskProfile], int]:
    snapshots = {s.slug: s for s in tvl.snapshots}
    reader = reader or Batcher(Snapshot(engine.client, tvl.block)).reader("risk")
    listed = found_contracts(engine.adapters, tvl.block.number)  # the indexer's discovery, as the hook takes it
    before = engine.client.rpc.total_requests()
    found = await risk_profiles(
        reader, engine.deployment, scored_slugs(engine), snapshots, repo, logs=logs, found=listed
    )
    requests = engine.client.rpc.total_requests() - before
    profiles = {slug: p for slug, p in found.items() if isinstance(p, RiskProfile)}
    assert profiles.keys() == found.keys(), {slug: p for slug, p in found.items() if isinstance(p, Exception)}
    return profiles, requests


async def test_every_protocol_profiled_together_in_at_most_five_requests_as_each_alone(
    engine: TvlEngine, repo: Repository, eth_chain: DevnetChain
) -> None:
    tvl = await _indexed(engine, repo)
    logs = ControlLogs(engine.deployment.first_block)
    together, requests = await _together(engine, tvl, repo, logs)
    assert len(together) >= 8
    assert requests <= MAX_REQUESTS
    assert any(p.governance.governance is not None for p in together.values())  # governors read in the rounds
    # the contracts found at run time are inspected in the same rounds: every cToken and strategy
    inspected = {k.name: k for p in together.values() for k in p.surface.discovered if k.rule == "inspected"}
    assert inspected["cToken"].count == sum(1 for n in engine.deployment.contracts if n.startswith("CompoundV2cToken:"))
    assert (inspected["strategy (whitelisted)"].count or 0) > 2

    # bad debt, read in the same rounds: the Comets' reserves; the devnet's Aave (1.19.3) has no getReserveDeficit
    comet_debts = together["compound-v3"].bad_debt
    assert comet_debts
    assert all(d.amount is not None and d.token is not None for d in comet_debts)
    aave_debts = together["aave-v3"].bad_debt
    assert aave_debts
    assert all(d.amount is None and "getReserveDeficit failed" in str(d.why) for d in aave_debts)
    (vow,) = together["makerdao"].bad_debt or ()
    assert (vow.token, vow.amount, vow.why) == (engine.deployment.contracts["MakerDai"], 0, None)  # sin <= dai
    assert together["uniswap-v2"].bad_debt is None
    economic = {p.name: p for p in together["uniswap-v2"].score.pillars}["economic"]
    assert "bad debt: not read" in economic.evidence

    snapshots = {s.slug: s for s in tvl.snapshots}
    for slug, profile in together.items():
        reader = Batcher(Snapshot(engine.client, tvl.block)).reader(slug)
        listed = found_contracts(engine.adapters, tvl.block.number).get(slug)
        alone = await risk_profile(reader, engine.deployment, slug, snapshots.get(slug), repo, found=listed)
        assert alone.to_json() == profile.to_json()
        assert alone.surface.to_json() == profile.surface.to_json()  # pause powers and upgrades too

    rpc(eth_chain.rpc_url, "evm_mine")
    later_tvl = await _indexed(engine, repo)
    later, later_requests = await _together(engine, later_tvl, repo, logs)
    fresh, _ = await _together(engine, later_tvl, repo, ControlLogs(engine.deployment.first_block))
    assert later_requests <= MAX_REQUESTS
    assert {s: p.to_json() for s, p in later.items()} == {s: p.to_json() for s, p in fresh.items()}
    assert {s: p.surface.to_json() for s, p in later.items()} == {s: p.surface.to_json() for s, p in fresh.items()}


async def test_governor_quorums_are_read_in_the_same_rounds(
    engine: TvlEngine, repo: Repository, eth_chain: DevnetChain
) -> None:
    url = eth_chain.rpc_url
    snapshot = rpc(url, "evm_snapshot")
    try:
        propose_close_factor(url, eth_chain.contracts, "# close factor 60 %")
        rpc(url, "anvil_mine", [hex(4)])  # the vote has started: its quorum at that timepoint can be read
        tvl = await _indexed(engine, repo)
        reader = Batcher(Snapshot(engine.client, tvl.block)).reader("risk")
        together, requests = await _together(engine, tvl, repo, ControlLogs(), reader)
    finally:
        assert rpc(url, "evm_revert", [snapshot]) is True
    assert requests <= MAX_REQUESTS
    assert together["compound-v2"].governance.proposals >= 1
    governor = eth_chain.contracts["CompoundGovernor"].lower()
    quorums = [r for r in reader.records if r.call.target.lower() == governor and r.call.function.name == "quorum"]
    assert quorums
    assert all(r.success for r in quorums)
