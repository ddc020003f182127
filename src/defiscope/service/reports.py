"""Staking oracle reports kept in the store as the indexer advances: Lido's `TokenRebased` events.

The indexer calls `collect(to_block)` after each block it stores; the collector scans only the blocks
since its last scan (`eth_getLogs` on the stETH contract), so a running `serve` keeps Lido's report time
series — and /v1/yields its staking APR — without anyone running `defiscope staking apr`. The first scan
looks back `REPORT_LOOKBACK_BLOCKS` (Lido reports daily; the 7-report average needs a week).

    collector = ReportCollector.of(engine, repo)     # None when the chain's registry has no Lido
    await collector.collect(head)                     # reports in (last scan, head], stored idempotently
    collector.rewind(fork)                            # after a rollback: rescan from the fork
"""

from __future__ import annotations

import asyncio
from typing import Final

import structlog

from defiscope.chain.client import ChainClient
from defiscope.deployments import Deployment
from defiscope.errors import DefiscopeError
from defiscope.protocols.lido.adapter import LIDO as LIDO_INFO
from defiscope.protocols.lido.reports import STETH, rebase_report_logs
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine

log = structlog.get_logger(__name__)

#: Default look-back for oracle reports: 8 days of 12-second blocks (Lido reports daily; the SMA needs 7).
REPORT_LOOKBACK_BLOCKS: Final = 8 * 7200
LIDO: Final = LIDO_INFO.slug


class ReportCollector:
    """Scans one chain's Lido for oracle reports in the blocks not scanned yet and stores them."""

    def __init__(
        self, client: ChainClient, deployment: Deployment, repo: Repository, lookback: int = REPORT_LOOKBACK_BLOCKS
    ) -> None:
        self.client = client
        self.deployment = deployment
        self.repo = repo
        self.lookback = lookback
        self.scanned: int | None = None  # the last block scanned; None before the first scan

    @classmethod
    def of(cls, engine: TvlEngine, repo: Repository) -> ReportCollector | None:
        if STETH not in engine.deployment.contracts:
            return None
        return cls(engine.client, engine.deployment, repo)

    async def collect(self, to_block: int) -> int:
        """Store the reports in (last scan, to_block]; returns how many were found. A failed scan is logged
        and retried with the next block (reports never hold up TVL indexing)."""
        start = max(0, to_block - self.lookback) if self.scanned is None else self.scanned + 1
        if start > to_block:
            return 0
        try:
            logs = await rebase_report_logs(self.client, self.deployment, from_block=start, to_block=to_block)
            if logs:
                await asyncio.to_thread(self.repo.save_rebase_reports, self.deployment.chain_id, LIDO, logs)
        except DefiscopeError as exc:
            log.warning("reports.scan_failed", chain_id=self.deployment.chain_id, from_block=start, error=str(exc))
            return 0
        self.scanned = to_block
        if logs:
            log.info(
                "reports.stored", chain_id=self.deployment.chain_id, slug=LIDO, reports=len(logs), to_block=to_block
            )
        return len(logs)

    def rewind(self, number: int) -> None:
        """The store forgot everything from `number` on (a reorg): scan from there again."""
        if self.scanned is not None:
            self.scanned = min(self.scanned, number - 1)
