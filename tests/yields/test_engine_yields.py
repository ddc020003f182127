"""The TVL engine gathers the adapters' yields in the positions' batches (same HTTP request count as
without them) and `save_result` stores them with the block."""

from __future__ import annotations

from pathlib import Path

import pytest

from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import Adapter
from defiscope.protocols.yields import Yield
from defiscope.service.snapshots import save_result
from defiscope.store import Repository
from tests.conftest import mine_later
from tests.service.conftest import make_engine


async def _no_yields(self: Adapter, reader: object) -> list[Yield]:
    return []


async def test_engine_reads_yields_without_extra_requests_and_stores_them(
    eth_chain: DevnetChain, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    mine_later(eth_chain.rpc_url)
    engine = make_engine(devnet_deployment(eth_chain), eth_chain.rpc_url)
    try:
        head = (await engine.client.snapshot()).block.number
        await engine.snapshot(head)  # first sight: markets and tokens discovered, caches warm
        before = engine.client.rpc.total_requests()
        result = await engine.snapshot(head)
        with_yields = engine.client.rpc.total_requests() - before
        with monkeypatch.context() as patch:
            patch.setattr(Adapter, "yields", _no_yields)
            for adapter in engine.adapters:
                patch.setattr(adapter, "yields", _no_yields.__get__(adapter), raising=False)
            before = engine.client.rpc.total_requests()
            plain = await engine.snapshot(head)
            without = engine.client.rpc.total_requests() - before
    finally:
        await engine.client.aclose()
    assert with_yields == without
    assert plain.yields == ()
    lending, dexes = {"aave-v3", "compound-v2", "compound-v3"}, {"uniswap-v2", "uniswap-v3", "curve"}
    # DEXes: LP fee rates; Maker: stability fees (borrow rates of its vault ilks); Lido: the staking rate from its
    # oracle reports (a gap until the first report).
    assert {y.protocol for y in result.yields} == lending | dexes | {"makerdao", "lido"}
    assert [s.slug for s in result.snapshots] == [s.slug for s in plain.snapshots]

    repo = Repository.open(f"sqlite:///{tmp_path / 'y.db'}")
    try:
        save_result(repo, result)
        save_result(repo, result)  # idempotent
        stored = repo.latest_yields(chain_id=1)
    finally:
        repo.close()
    assert sorted((s.rate.protocol, s.rate.market, s.rate.asset, s.rate.kind) for s in stored) == sorted(
        (y.protocol, y.market, y.asset, y.kind) for y in result.yields
    )
    assert {s.rate for s in stored} == set(result.yields)
    assert {s.block for s in stored} == {result.block}
