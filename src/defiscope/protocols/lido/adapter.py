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
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, BalanceKind, Position, ProtocolInfo
from defiscope.protocols.lido.shares import share_rate

LIDO: Final = ProtocolInfo(
    slug="lido",
    name="Lido",
    category="Liquid Staking",
    methodology=(
        "Total pooled ether of the stETH contract (getTotalPooledEther: buffered + consensus-layer balance + "
        "deposits in transit), valued as ETH. stETH and wstETH are receipts of it."
    ),
    url="https://lido.fi",
)
#: Lido's accounting oracle reports once a day; two days without one is a missed report.
MAX_REPORT_AGE: Final = 2 * 86_400
STETH, WSTETH, QUEUE, ORACLE = "LidoStETH", "LidoWstETH", "LidoWithdrawalQueue", "LidoAccountingOracle"


@dataclass(frozen=True, slots=True)
class LidoStatus:
    """What a read saw beside the TVL: queue, share rate (27 decimals) and the oracle's freshness."""

    total_pooled_ether: int
    total_shares: int
    unfinalized_steth: int
    last_report_time: int | None  # None: no report readable
    report_age: int | None
    stale: bool
    reason: str  # why it is stale, or ""

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
        self.weth = deployment.token("WETH").address
        self.max_report_age = max_report_age
        self.status: LidoStatus | None = None  # of the latest read

    def receipt_tokens(self) -> list[str]:
        return [self.steth] + ([self.deployment.contracts[WSTETH]] if WSTETH in self.deployment.contracts else [])

    async def positions(self, reader: Reader) -> list[Position]:
        status = await self.read_status(reader)
        label = f"total pooled ether ({status.unfinalized_steth} wei stETH awaiting withdrawal)"
        if status.stale:
            label += f"; STALE: {status.reason}"
        return [Position(self.weth, status.total_pooled_ether, BalanceKind.TVL, self.steth, label)]

    async def read_status(self, reader: Reader) -> LidoStatus:
        """Pooled ether and shares (must succeed), the queue and the oracle (flagged when missing), in one batch."""
        calls = [
            Call.of(self.steth, "getTotalPooledEther()(uint256)"),
            Call.of(self.steth, "getTotalShares()(uint256)"),
        ]
        if self.queue:
            calls.append(Call.of(self.queue, "unfinalizedStETH()(uint256)"))
        if self.oracle:
            calls += [
                Call.of(self.oracle, "getLastProcessingRefSlot()(uint256)"),
                Call.of(self.oracle, "GENESIS_TIME()(uint256)"),
                Call.of(self.oracle, "SECONDS_PER_SLOT()(uint256)"),
            ]
        results = await reader.call_many(calls)
        pooled, shares = self.require(results[:2])
        unfinalized = self.require(results[2:3])[0] if self.queue else 0
        oracle = results[3:] if self.queue else results[2:]
        last = None
        if oracle and all(r.success for r in oracle):
            ref_slot, genesis, per_slot = (r.one() for r in oracle)
            last = genesis + ref_slot * per_slot
        status = self._status(pooled, shares, unfinalized, last, reader.block.timestamp)
        self.status = status
        return status

    def _status(self, pooled: int, shares: int, unfinalized: int, last: int | None, now: int) -> LidoStatus:
        if last is None:
            return LidoStatus(pooled, shares, unfinalized, None, None, True, "no accounting-oracle report readable")
        age = now - last
        stale = age > self.max_report_age
        reason = (
            f"last oracle report {age / 3600:.1f} h old (limit {self.max_report_age / 3600:.0f} h)" if stale else ""
        )
        return LidoStatus(pooled, shares, unfinalized, last, age, stale, reason)
