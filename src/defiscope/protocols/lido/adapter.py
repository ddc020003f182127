"""Lido's TVL: the ether the protocol controls (`getTotalPooledEther`), valued as WETH.

stETH is a claim on pooled ETH, so the TVL is one position of WETH (ETH at the ETH/USD price): the engine
prices tokens by address and WETH is the deployment's ETH. stETH and wstETH are Lido's receipts: another
protocol holding them (Aave, Curve, EigenLayer) holds a claim on this ETH and is counted once in totals.

The same batch reads the withdrawal queue (stETH awaiting finalization is still pooled ether, so it is part of
the TVL, and reported beside it) and the accounting oracle's last report; a report older than
``max_report_age`` (2 days: Lido reports daily) is flagged in the position label and `LidoStatus` — the
figure stays, marked, since pooled ether is still right as of the last report.

    adapter = LidoAdapter(deployment)
    [position] = await adapter.positions(reader)
    adapter.status.unfinalized_steth, adapter.status.stale

Its rate (`yields`) is stakers' APR from the oracle reports up to the block (`TokenRebased`, followed by a
`LogCursor` in the block's shared log query) as Lido's API publishes it (`apr.sma_apr`: the last 7 reports),
carrying the protocol's share of the rewards read in the same batch: `getFee()` (of 10,000) with
`getFeeDistribution()`'s split of it. Protocol revenue is the whole fee, treasury and node operators
(DefiLlama's `fees/lido.ts`: revenue = 10 % of rewards; holders' revenue 0, nothing reaches LDO holders); the
treasury's part of it is named in the share's source. No report up to a block: no rate, a gap saying so.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, replace
from fractions import Fraction
from typing import Final

from defiscope.chain.block import BlockRef
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, BalanceKind, Position, ProtocolInfo
from defiscope.protocols.events import EventStream
from defiscope.protocols.lending.rates import apr_to_apy
from defiscope.protocols.lido.apr import REBASES_PER_YEAR, SMA_METHOD, RebaseReport, sma_apr
from defiscope.protocols.lido.reports import (
    ETH_DISTRIBUTED_EVENT,
    TOKEN_REBASED,
    TOKEN_REBASED_EVENT,
    decode_token_rebased,
    report_stream,
)
from defiscope.protocols.lido.shares import share_rate
from defiscope.protocols.log_cursor import LogCursor
from defiscope.protocols.revenue import FeeShare, knob_share
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.yields import Yield, YieldGap, YieldKind, exact_decimal

LIDO: Final = ProtocolInfo(
    slug="lido",
    name="Lido",
    category="Liquid Staking",
    methodology=(
        "Total pooled ether of the stETH contract (getTotalPooledEther: buffered + consensus-layer balance + "
        "deposits in transit), valued as ETH. stETH and wstETH are receipts of it."
    ),
    url="https://lido.fi",
    counts="Ether pooled by Lido on Ethereum (stETH getTotalPooledEther), as ETH; stETH still waiting in the "
    "withdrawal queue (unfinalizedStETH) is pooled ether until finalized, so it is inside the figure and "
    "reported beside it. wstETH and stETH held elsewhere are Lido's receipts (counted once in totals).",
    discovery="Fixed contracts from the registry: stETH (Lido), WithdrawalQueueERC721, AccountingOracle; "
    "oracle reports (TokenRebased, ETHDistributed) kept as a time series for the staking APR, and TokenRebased "
    "followed by the adapter for its stored staking rate (with getFee/getFeeDistribution read beside it).",
    defillama_difference="DefiLlama's Lido adapter also counts getTotalPooledEther on Ethereum (and the "
    "Solana/Polygon products, which are wound down). defiscope additionally flags a stale oracle report and "
    "shows the unfinalized withdrawal amount; it does not count other chains.",
)
#: Lido's accounting oracle reports once a day; two days without one is a missed report.
MAX_REPORT_AGE: Final = 2 * 86_400
STETH, WSTETH, QUEUE, ORACLE = "LidoStETH", "LidoWstETH", "LidoWithdrawalQueue", "LidoAccountingOracle"
#: Lido's DAO kernel (an aragonOS KernelProxy): read for its control only (it upgrades stETH, and itself).
KERNEL: Final = "LidoKernel"
STETH_READS: Final = ("getTotalPooledEther()(uint256)", "getTotalShares()(uint256)")
FEE_READS: Final = ("getFee()(uint16)", "getFeeDistribution()(uint16,uint16,uint16)")
#: A block before Lido V2's upgrade (May 2023), which brought `TokenRebased`: the report cursor's start on mainnet.
MAINNET_REPORTS_START: Final = 17_000_000
QUEUE_READS: Final = ("unfinalizedStETH()(uint256)",)
ORACLE_READS: Final = ("getLastProcessingRefSlot()(uint256)", "GENESIS_TIME()(uint256)", "SECONDS_PER_SLOT()(uint256)")


@dataclass(frozen=True, slots=True)
class LidoStatus:
    """What a read saw beside the TVL: queue, share rate (27 decimals) and the oracle's freshness."""

    total_pooled_ether: int
    total_shares: int
    unfinalized_steth: int | None  # None: the registry has no withdrawal queue
    last_report_time: int | None  # None: no report readable
    report_age: int | None
    stale: bool
    reason: str  # why it is stale, or ""
    queue_error: str | None = None  # why the withdrawal queue could not be read (it only annotates the figure)

    @property
    def share_rate(self) -> int:
        return share_rate(self.total_pooled_ether, self.total_shares)


class LidoAdapter(Adapter):
    info = LIDO

    def __init__(self, deployment: Deployment, *, max_report_age: int = MAX_REPORT_AGE) -> None:
        super().__init__(deployment)
        self.steth = deployment.contract(STETH)
        self.queue = deployment.contracts.get(QUEUE)
        self.oracle = deployment.contracts.get(ORACLE)
        self.kernel = deployment.contracts.get(KERNEL)
        self.weth = deployment.token("WETH").address
        self.max_report_age = max_report_age
        self.status: LidoStatus | None = None  # of the latest read
        start = MAINNET_REPORTS_START if deployment.network == "mainnet" else 0
        self.reports = LogCursor(self.steth, (TOKEN_REBASED,), decode_token_rebased, start_block=start)
        self._gaps: dict[int, YieldGap] = {}  # block number -> why no rate was read there

    def receipt_tokens(self) -> list[str]:
        return [self.steth] + ([self.deployment.contracts[WSTETH]] if WSTETH in self.deployment.contracts else [])

    def surface(self) -> tuple[ContractUse, ...]:
        uses = [
            ContractUse(
                "stETH (Lido)",
                "lido/StETH",
                calls=STETH_READS + FEE_READS,
                events=(TOKEN_REBASED_EVENT, ETH_DISTRIBUTED_EVENT),
                address=self.steth,
            )
        ]
        if self.queue:
            uses.append(ContractUse("WithdrawalQueueERC721", "lido/WithdrawalQueue", QUEUE_READS, address=self.queue))
        if self.oracle:
            uses.append(ContractUse("AccountingOracle", "lido/AccountingOracle", ORACLE_READS, address=self.oracle))
        if self.kernel:
            uses.append(ContractUse("Lido DAO Kernel", "aragon/KernelProxy", address=self.kernel))
        return tuple(uses)

    def event_streams(self) -> list[EventStream]:
        """The oracle reports (TokenRebased, ETHDistributed), kept as a time series for the staking APR."""
        return [report_stream(self.steth)]

    async def positions(self, reader: Reader) -> list[Position]:
        status = await self.read_status(reader)
        if status.queue_error is not None:
            queued = f"withdrawal queue not read: {status.queue_error}"
        elif status.unfinalized_steth is None:
            queued = "withdrawal queue not in the registry"
        else:
            queued = f"{status.unfinalized_steth} wei stETH awaiting withdrawal"
        label = f"total pooled ether ({queued})"
        if status.stale:
            label += f"; STALE: {status.reason}"
        return [Position(self.weth, status.total_pooled_ether, BalanceKind.TVL, self.steth, label)]

    async def read_status(self, reader: Reader) -> LidoStatus:
        """Pooled ether and shares (must succeed), the queue and the oracle (flagged when missing), in one batch."""
        calls = [Call.of(self.steth, signature) for signature in STETH_READS]
        if self.queue:
            calls += [Call.of(self.queue, signature) for signature in QUEUE_READS]
        if self.oracle:
            calls += [Call.of(self.oracle, signature) for signature in ORACLE_READS]
        results = await reader.call_many(calls)
        pooled, shares = self.require(results[:2])
        # The queue only annotates the figure: a queue that cannot be read is said so, and the TVL stands.
        queue = results[2] if self.queue else None
        unfinalized = queue.one() if queue is not None and queue.success else None
        queue_error = None if queue is None or queue.success else f"{queue.call.describe()} failed: {queue.error}"
        oracle = results[3:] if self.queue else results[2:]
        last = None
        if oracle and all(r.success for r in oracle):
            ref_slot, genesis, per_slot = (r.one() for r in oracle)
            last = genesis + ref_slot * per_slot
        status = replace(
            self._status(pooled, shares, unfinalized, last, reader.block.timestamp), queue_error=queue_error
        )
        self.status = status
        return status

    def _status(self, pooled: int, shares: int, unfinalized: int | None, last: int | None, now: int) -> LidoStatus:
        if last is None:
            return LidoStatus(pooled, shares, unfinalized, None, None, True, "no accounting-oracle report readable")
        age = now - last
        stale = age > self.max_report_age
        reason = (
            f"last oracle report {age / 3600:.1f} h old (limit {self.max_report_age / 3600:.0f} h)" if stale else ""
        )
        return LidoStatus(pooled, shares, unfinalized, last, age, stale, reason)

    async def yields(self, reader: Reader) -> list[Yield]:
        """Stakers' APR (Lido's SMA of the last 7 reports up to the block), with the fee share read in its batch."""
        # Asked together: the calls join the block's multicall and the scan its shared log query.
        (fee, distribution), _ = await asyncio.gather(
            reader.call_many([Call.of(self.steth, signature) for signature in FEE_READS]), self.reports.scan(reader)
        )
        reports = self.reports.upto(reader.block.number)
        block = reader.block.number
        if not reports:
            self._gaps[block] = YieldGap(
                LIDO.slug,
                self.steth,
                self.steth,
                "stETH",
                YieldKind.STAKING,
                f"no oracle report (TokenRebased) up to block {block}: no staking rate",
            )
            return []
        self._gaps.pop(block, None)
        return [self._staking_yield(reports, _fee_share(fee, distribution))]

    def yield_gaps(self, block: BlockRef) -> tuple[YieldGap, ...]:
        gap = self._gaps.pop(block.number, None)
        return () if gap is None else (gap,)

    def _staking_yield(self, reports: list[RebaseReport], share: FeeShare) -> Yield:
        apr = sma_apr(reports)
        apy = apr_to_apy(apr, REBASES_PER_YEAR)
        return Yield(
            LIDO.slug, self.steth, self.steth, "stETH", YieldKind.STAKING, exact_decimal(apr), apy, SMA_METHOD, share
        )


def _fee_share(fee: CallResult, distribution: CallResult) -> FeeShare:
    """The fee (protocol revenue) as a share of rewards; the distribution names the DAO treasury's part of it, or why
    it could not be read, without changing the share."""
    share = knob_share(LIDO.slug, fee)
    if share.share is None:
        return share
    if not distribution.success:
        split = f"{distribution.call.describe()} failed: {distribution.error}"
    else:
        treasury, insurance, operators = distribution.value
        treasury_share = share.share * Fraction(treasury, 10_000)
        split = (
            f"{distribution.call.describe()} = treasury {treasury}, insurance {insurance}, operators {operators} "
            f"(of 10,000 of the fee): the DAO treasury's part is {treasury_share} of rewards"
        )
    return FeeShare(share.share, f"{share.source}; {split}")
