"""The indexer reconciles the state tracked from events on its schedule and reports a difference as an error."""

from __future__ import annotations

import pytest
from structlog.testing import capture_logs

from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.service.indexer import Indexer, IndexerOptions, InvalidSchedule
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine
from tests.protocols.uniswap.kit import balance_slot
from tests.service.conftest import engine, repo, sqlite_url  # noqa: F401  (fixtures reused)


async def test_scheduled_reconciliation_reports_a_balance_changed_without_an_event(
    eth_chain: DevnetChain,
    engine: TvlEngine,  # noqa: F811
    repo: Repository,  # noqa: F811
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    usdc = eth_chain.tokens["USDC"]
    pool = next(p for p in eth_chain.pools_of("uniswap-v3") if usdc in (p.token0, p.token1))
    indexer = Indexer({1: engine}, repo, IndexerOptions(reconcile_every=1))
    with capture_logs() as first:
        (loaded,) = await indexer.run_once()  # loads the tracked state; nothing to differ yet
    assert not [e for e in first if e["event"] == "state.reconcile_mismatch"]

    sender.rpc("evm_mine", [])  # the state was loaded at a block that is now history
    sender.rpc("anvil_setStorageAt", [usdc, balance_slot(pool.address), "0x" + (5).to_bytes(32, "big").hex()])
    sender.rpc("evm_mine", [])
    with capture_logs() as logs:
        indexed = await indexer.run_once()

    assert [b.block.number for b in indexed] == [loaded.block.number + 1, loaded.block.number + 2]
    (mismatch,) = [e for e in logs if e["event"] == "state.reconcile_mismatch"]
    assert mismatch["log_level"] == "error"
    assert (mismatch["protocol"], mismatch["pool"], mismatch["token"]) == ("uniswap-v3", pool.address, usdc)
    # anvil applies a storage edit to the head it was made at too: the first block after the load already shows
    # it, and once corrected the next block's reconciliation finds nothing more.
    assert (mismatch["chain"], mismatch["block"]) == (5, loaded.block.number + 1)


def test_reconcile_schedule_must_not_be_negative() -> None:
    assert IndexerOptions(reconcile_every=0).reconcile_every == 0  # off
    with pytest.raises(InvalidSchedule, match="reconcile"):
        IndexerOptions(reconcile_every=-1)
