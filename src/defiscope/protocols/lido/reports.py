"""Lido's oracle reports read back from the chain: the `TokenRebased` and `ETHDistributed` events of stETH.

    reports = await rebase_reports(client, deployment, from_block=0, to_block=head)
    sma_apr(reports)                                  # Lido's 7-report moving-average APR

A running service keeps them through the adapter's event hook (`LidoAdapter.event_streams` returns
`report_stream`): each report is stored as a `StoredEvent` of kind `TOKEN_REBASED_KIND` (with its block, so a
reorg removes it), and the APR series is recomputed from them with `report_of` and `apr_series`, never stored
as a second truth:

    events = repo.events(1, "lido", TOKEN_REBASED_KIND)
    apr_series([report_of(event) for event in events])
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from typing import Any, Final

from eth_abi import decode
from eth_utils import keccak

from defiscope.chain.client import ChainClient
from defiscope.chain.logs import log_hex
from defiscope.deployments import Deployment
from defiscope.protocols.events import EventParseError, EventStream, StoredEvent
from defiscope.protocols.lido.apr import RebaseReport

STETH: Final = "LidoStETH"
TOKEN_REBASED_EVENT: Final = "TokenRebased(uint256,uint256,uint256,uint256,uint256,uint256,uint256)"
TOKEN_REBASED: Final = "0x" + keccak(text=TOKEN_REBASED_EVENT).hex()
ETH_DISTRIBUTED_EVENT: Final = "ETHDistributed(uint256,uint256,uint256,uint256,uint256,uint256)"
ETH_DISTRIBUTED: Final = "0x" + keccak(text=ETH_DISTRIBUTED_EVENT).hex()
#: The kinds these events are stored under (with the slug "lido").
TOKEN_REBASED_KIND: Final = "token_rebased"
ETH_DISTRIBUTED_KIND: Final = "eth_distributed"
#: How far back a service's first scan looks: 8 days of 12-second blocks (Lido reports daily; the SMA needs 7).
REPORT_LOOKBACK_BLOCKS: Final = 8 * 7200


@dataclass(frozen=True, slots=True)
class EthDistributed:
    """`ETHDistributed(reportTimestamp, preCLBalance, postCLBalance, withdrawalsWithdrawn,
    executionLayerRewardsWithdrawn, postBufferedEther)`: where a report's rewards came from."""

    report_timestamp: int
    pre_cl_balance: int
    post_cl_balance: int
    withdrawals_withdrawn: int
    execution_layer_rewards_withdrawn: int
    post_buffered_ether: int


def _timestamp_and_words(log: Mapping[str, Any], words: int) -> tuple[int, tuple[int, ...]]:
    """The indexed reportTimestamp (topic 1) and the data's uint256 words."""
    data = log["data"]
    raw = bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)
    topic = log["topics"][1]
    timestamp = int(topic, 16) if isinstance(topic, str) else int.from_bytes(topic, "big")
    return timestamp, tuple(decode(["uint256"] * words, raw))


def decode_token_rebased(log: Mapping[str, Any]) -> RebaseReport:
    """One `TokenRebased` log (reportTimestamp is indexed: topic 1; the other six are the data)."""
    timestamp, (elapsed, pre_shares, pre_ether, post_shares, post_ether, fees) = _timestamp_and_words(log, 6)
    return RebaseReport(timestamp, elapsed, pre_shares, pre_ether, post_shares, post_ether, fees)


def decode_eth_distributed(log: Mapping[str, Any]) -> EthDistributed:
    """One `ETHDistributed` log (reportTimestamp is indexed: topic 1; the other five are the data)."""
    timestamp, words = _timestamp_and_words(log, 5)
    return EthDistributed(timestamp, *words)


def parse_report_log(log: Mapping[str, Any]) -> StoredEvent:
    """A `TokenRebased` or `ETHDistributed` log as the event stored for it, keyed by its report time (one
    report per time: the same report found by two scans is stored once)."""
    topic0 = log_hex(log["topics"][0]) if log.get("topics") else None
    if topic0 == TOKEN_REBASED:
        report = decode_token_rebased(log)
        return StoredEvent.of(log, TOKEN_REBASED_KIND, asdict(report), key=str(report.report_timestamp))
    if topic0 == ETH_DISTRIBUTED:
        distributed = decode_eth_distributed(log)
        return StoredEvent.of(log, ETH_DISTRIBUTED_KIND, asdict(distributed), key=str(distributed.report_timestamp))
    raise EventParseError(f"lido: log with topic0 {topic0} is neither TokenRebased nor ETHDistributed")


def report_of(event: StoredEvent) -> RebaseReport:
    """The report a stored `TokenRebased` event holds."""
    if event.kind != TOKEN_REBASED_KIND:
        raise EventParseError(f"lido: a {event.kind} event is not a TokenRebased report")
    return RebaseReport(**{name: int(value) for name, value in event.payload.items()})


def report_stream(steth: str, lookback: int = REPORT_LOOKBACK_BLOCKS) -> EventStream:
    """The oracle reports of the stETH contract at `steth`, as the adapter declares them for storage."""
    return EventStream(steth, (TOKEN_REBASED, ETH_DISTRIBUTED), parse_report_log, lookback)


async def rebase_reports(
    client: ChainClient, deployment: Deployment, *, from_block: int, to_block: int
) -> list[RebaseReport]:
    """Every oracle report of the deployment's Lido in [from_block, to_block], oldest first."""
    logs = await client.get_logs(
        address=deployment.contract(STETH), topics=[TOKEN_REBASED], from_block=from_block, to_block=to_block
    )
    return [decode_token_rebased(log) for log in logs]
