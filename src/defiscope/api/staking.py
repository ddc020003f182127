"""The oracle report behind Lido's stored staking rate in /v1/yields: provenance, not a second computation.

The rate itself is the row the indexer stored (Lido's adapter: the 7-report moving average of userAPR up to the
block, from TokenRebased, with the fee share read beside it). Its `report` names the newest TokenRebased the
indexer stored at or before the row's block (Lido's event stream) and how many of the window it saw:

    report_ref(ctx, stored)     # ReportRef(block_number=…, block_hash=…, report_timestamp=…, reports_averaged=7)

None for any other rate, and when the stream is not stored (a store filled by snapshots alone).
"""

from __future__ import annotations

from typing import Final

from pydantic import Field

from defiscope.api import models as m
from defiscope.api.context import ApiContext
from defiscope.protocols.lido.adapter import LIDO as LIDO_INFO
from defiscope.protocols.lido.apr import SMA_WINDOW
from defiscope.protocols.lido.reports import TOKEN_REBASED_KIND, report_of
from defiscope.protocols.yields import YieldKind
from defiscope.store.yields import StoredYield

LIDO: Final = LIDO_INFO.slug


class ReportRef(m._Model):
    """The newest oracle report behind a staking APR."""

    block_number: int
    block_hash: str
    report_timestamp: int = Field(description="the report's reference time (unix seconds)")
    reports_averaged: int = Field(description=f"reports in the moving average (at most {SMA_WINDOW})")


def report_ref(ctx: ApiContext, stored: StoredYield) -> ReportRef | None:
    """The newest stored report at or before `stored`'s block, for Lido's staking rate; None otherwise."""
    if (stored.rate.protocol, stored.rate.kind) != (LIDO, YieldKind.STAKING):
        return None
    block = stored.block
    events = ctx.repo.events(block.chain_id, LIDO, TOKEN_REBASED_KIND, to_block=block.number, latest=SMA_WINDOW)
    if not events:
        return None
    newest = events[-1]
    return ReportRef(
        block_number=newest.block_number,
        block_hash=newest.block_hash,
        report_timestamp=report_of(newest).report_timestamp,
        reports_averaged=len(events),
    )
