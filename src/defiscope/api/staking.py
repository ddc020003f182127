"""Lido's staking APR for /v1/yields, from the oracle reports the indexer stores (Lido's event stream).

The same computation as `defiscope staking apr`: each report's userAPR (share rate growth over its
`timeElapsed`, annualised) and their simple moving average over the last 7 reports — Lido's published
figure. A chain whose registry has Lido but whose store holds no report yet is listed as unavailable,
with the reason, instead of a rate of 0.

    rates, missing = lido_aprs(ctx, chain_ids=[1])
    rates[0].apr, rates[0].report.block_number, missing    # exact Decimal, the newest report's block, []
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Final

from pydantic import Field

from defiscope.api import models as m
from defiscope.api.context import ApiContext
from defiscope.api.views import chain_slug
from defiscope.chain.block import BlockRef
from defiscope.protocols.lending.rates import apr_to_apy
from defiscope.protocols.lido.adapter import LIDO as LIDO_INFO
from defiscope.protocols.lido.apr import REBASES_PER_YEAR, SMA_METHOD, SMA_WINDOW, AprError, sma_apr
from defiscope.protocols.lido.reports import STETH, TOKEN_REBASED_KIND, report_of
from defiscope.protocols.yields import exact_decimal

LIDO: Final = LIDO_INFO.slug
METHOD: Final = SMA_METHOD


class ReportRef(m._Model):
    """The newest oracle report behind a staking APR."""

    block_number: int
    block_hash: str
    report_timestamp: int = Field(description="the report's reference time (unix seconds)")
    reports_averaged: int = Field(description=f"reports in the moving average (at most {SMA_WINDOW})")


class Unavailable(m._Model):
    """A rate that cannot be given, and why (never a 0 in its place)."""

    protocol: str
    chain: str
    chain_id: int
    kind: str
    reason: str


@dataclass(frozen=True, slots=True)
class StakingApr:
    chain_id: int
    steth: str
    apr: Decimal
    apy: Decimal
    block: BlockRef  # the chain's latest indexed block: the APR is current as of it
    report: ReportRef


def lido_aprs(ctx: ApiContext, chain_ids: Iterable[int]) -> tuple[list[StakingApr], list[Unavailable]]:
    """Lido's APR on each of `chain_ids` that is indexed and whose registry has Lido."""
    latest = ctx.repo.latest_blocks()
    rates, missing = [], []
    for chain_id in sorted(set(chain_ids) & set(latest)):
        deployment = ctx.deployments.get(chain_id)
        if deployment is None or STETH not in deployment.contracts:
            continue
        events = ctx.repo.events(chain_id, LIDO, TOKEN_REBASED_KIND, latest=SMA_WINDOW)
        reports = [report_of(event) for event in events]
        try:
            sma = sma_apr(reports)
        except AprError as exc:
            missing.append(_unavailable(latest[chain_id], f"{exc}: no oracle report stored yet on this chain"))
            continue
        report = ReportRef(
            block_number=events[-1].block_number,
            block_hash=events[-1].block_hash,
            report_timestamp=reports[-1].report_timestamp,
            reports_averaged=len(reports),
        )
        apr = exact_decimal(sma)
        rates.append(
            StakingApr(
                chain_id, deployment.contracts[STETH], apr, apr_to_apy(sma, REBASES_PER_YEAR), latest[chain_id], report
            )
        )
    return rates, missing


def _unavailable(block: BlockRef, reason: str) -> Unavailable:
    return Unavailable(
        protocol=LIDO, chain=chain_slug(block.chain_id), chain_id=block.chain_id, kind="staking", reason=reason
    )
