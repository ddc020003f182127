"""Lido's oracle reports read back from the chain: the `TokenRebased` events of the stETH contract.

    reports = await rebase_reports(client, deployment, from_block=0, to_block=head)
    sma_apr(reports)                                  # Lido's 7-report moving-average APR
    logs = await rebase_report_logs(client, deployment, from_block=0, to_block=head)
    repo.save_rebase_reports(1, "lido", logs)         # kept with their blocks; APR series recomputed from them

The store keeps the reports themselves (with block number and hash, so a reorg removes them); the APR
series is recomputed from them with `apr_series`, never stored as a second truth.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final

from eth_abi import decode
from eth_utils import keccak

from defiscope.chain.client import ChainClient
from defiscope.chain.logs import log_hex, log_int
from defiscope.deployments import Deployment
from defiscope.protocols.lido.apr import RebaseReport

STETH: Final = "LidoStETH"
TOKEN_REBASED_EVENT: Final = "TokenRebased(uint256,uint256,uint256,uint256,uint256,uint256,uint256)"
TOKEN_REBASED: Final = "0x" + keccak(text=TOKEN_REBASED_EVENT).hex()


@dataclass(frozen=True, slots=True)
class ReportLog:
    """A report and the block its event is in."""

    block_number: int
    block_hash: str
    report: RebaseReport


def decode_token_rebased(log: Mapping[str, Any]) -> RebaseReport:
    """One `TokenRebased` log (reportTimestamp is indexed: topic 1; the other six are the data)."""
    data = log["data"]
    raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
    topic = log["topics"][1]
    timestamp = int(topic, 16) if isinstance(topic, str) else int.from_bytes(topic, "big")
    elapsed, pre_shares, pre_ether, post_shares, post_ether, fees = decode(["uint256"] * 6, raw)
    return RebaseReport(timestamp, elapsed, pre_shares, pre_ether, post_shares, post_ether, fees)


async def rebase_reports(
    client: ChainClient, deployment: Deployment, *, from_block: int, to_block: int
) -> list[RebaseReport]:
    """Every oracle report of the deployment's Lido in [from_block, to_block], oldest first."""
    logs = await client.get_logs(
        address=deployment.contract(STETH), topics=[TOKEN_REBASED], from_block=from_block, to_block=to_block
    )
    return [decode_token_rebased(log) for log in logs]


async def rebase_report_logs(
    client: ChainClient, deployment: Deployment, *, from_block: int, to_block: int
) -> list[ReportLog]:
    """Like `rebase_reports`, with each report's block (number and hash) for storage."""
    logs = await client.get_logs(
        address=deployment.contract(STETH), topics=[TOKEN_REBASED], from_block=from_block, to_block=to_block
    )
    return [
        ReportLog(log_int(log["blockNumber"]), log_hex(log["blockHash"]), decode_token_rebased(log)) for log in logs
    ]
