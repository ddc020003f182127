"""EigenLayer's contracts found from events, scanned once and then only over new blocks.

EigenLayer has no on-chain list of its strategies or pods: the StrategyManager emits
`StrategyAddedToDepositWhitelist(address)` / `StrategyRemovedFromDepositWhitelist(address)` and the
EigenPodManager `PodDeployed(address indexed eigenPod, address indexed podOwner)` (and, whenever a pod owner's
deposit shares change, `NewTotalShares(address indexed podOwner, int256 newTotalShares)`). A `LogCursor` keeps the logs
it has seen (block, log index, what they say) and the last block it scanned, so each read asks the node only for
blocks it has not scanned; what held at an older block is replayed from the kept logs.

    whitelist = LogCursor(manager, (STRATEGY_ADDED, STRATEGY_REMOVED), start_block=17_445_564)
    await whitelist.scan(reader)                             # up to the reader's pinned block
    active_strategies(whitelist.upto(head))                 # in whitelisting order, removed ones dropped
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from eth_utils import to_checksum_address

from defiscope.chain.reader import Reader
from defiscope.protocols.surface import event_topic

STRATEGY_ADDED_EVENT: Final = "StrategyAddedToDepositWhitelist(address)"
STRATEGY_REMOVED_EVENT: Final = "StrategyRemovedFromDepositWhitelist(address)"
POD_DEPLOYED_EVENT: Final = "PodDeployed(address,address)"
NEW_TOTAL_SHARES_EVENT: Final = "NewTotalShares(address,int256)"
OPERATOR_REGISTERED_EVENT: Final = "OperatorRegistered(address,address)"  # (operator indexed, delegationApprover)
#: Before the slashing upgrade (April 2025) the same DelegationManager proxy emitted (operator indexed,
#: OperatorDetails(earningsReceiver, delegationApprover, stakerOptOutWindowBlocks)): operators registered then
#: are only in these logs.
LEGACY_OPERATOR_REGISTERED_EVENT: Final = "OperatorRegistered(address,(address,address,uint32))"

STRATEGY_ADDED: Final = "0x" + event_topic(STRATEGY_ADDED_EVENT).hex()
STRATEGY_REMOVED: Final = "0x" + event_topic(STRATEGY_REMOVED_EVENT).hex()
POD_DEPLOYED: Final = "0x" + event_topic(POD_DEPLOYED_EVENT).hex()
NEW_TOTAL_SHARES: Final = "0x" + event_topic(NEW_TOTAL_SHARES_EVENT).hex()
OPERATOR_REGISTERED: Final = "0x" + event_topic(OPERATOR_REGISTERED_EVENT).hex()
LEGACY_OPERATOR_REGISTERED: Final = "0x" + event_topic(LEGACY_OPERATOR_REGISTERED_EVENT).hex()


@dataclass(frozen=True, slots=True)
class SeenLog:
    """One log, reduced to what discovery needs: where it is, its topic0, the address it names and, for
    `NewTotalShares`, the pod owner's new deposit shares."""

    block: int
    index: int
    topic: str  # topic0, 0x-hex lower case
    subject: str  # checksum address: the strategy, the pod owner, the operator
    value: int | None = None


def _hex(value: object) -> str:
    return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()  # type: ignore[call-overload]


def _word_address(word: str) -> str:
    return to_checksum_address("0x" + word[-40:])


def seen_log(log: Mapping[str, Any]) -> SeenLog:
    """The address each event names: the whitelist events' only (unindexed) argument, PodDeployed's
    ``podOwner`` (topic 2), OperatorRegistered's ``operator`` and NewTotalShares' ``podOwner`` (topic 1)."""
    topics, data = [_hex(t) for t in log["topics"]], _hex(log["data"])[2:]
    value = None
    if topics[0] in (STRATEGY_ADDED, STRATEGY_REMOVED):
        subject = _word_address(data[:64])
    elif topics[0] == POD_DEPLOYED:
        subject = _word_address(topics[2])
    else:
        subject = _word_address(topics[1])
        if topics[0] == NEW_TOTAL_SHARES:
            value = int.from_bytes(bytes.fromhex(data[:64]), "big", signed=True)
    return SeenLog(int(log["blockNumber"], 16), int(log["logIndex"], 16), topics[0], subject, value)


class LogCursor:
    """The logs of some events of one contract from ``start_block`` on, scanned incrementally."""

    def __init__(self, address: str, topics: Sequence[str], *, start_block: int = 0) -> None:
        self.address = address
        self.topics = tuple(topics)
        self.scanned_to = start_block - 1  # the last block whose logs are in `logs`
        self.logs: list[SeenLog] = []  # in chain order
        self._lock = asyncio.Lock()

    async def scan(self, reader: Reader) -> None:
        """Fetch the logs of blocks not scanned yet, up to the reader's block; concurrent callers scan once.
        The query goes out with the other readers' of the same block (one request for a block's new logs)."""
        to_block = reader.block.number
        async with self._lock:
            if to_block <= self.scanned_to:
                return
            found = await reader.logs(
                address=self.address, topics=[list(self.topics)], from_block=self.scanned_to + 1, to_block=to_block
            )
            self.logs.extend(sorted((seen_log(log) for log in found), key=lambda s: (s.block, s.index)))
            self.scanned_to = to_block

    def upto(self, block: int) -> list[SeenLog]:
        return [log for log in self.logs if log.block <= block]

    def between(self, after: int, upto: int) -> list[SeenLog]:
        """Logs of blocks ``after`` < block <= ``upto``."""
        return [log for log in self.logs if after < log.block <= upto]


def active_strategies(logs: Iterable[SeenLog]) -> list[str]:
    """The whitelist after replaying its add/remove events in order (first whitelisting order kept)."""
    active: dict[str, None] = {}
    for log in logs:
        if log.topic == STRATEGY_ADDED:
            active.setdefault(log.subject, None)
        elif log.topic == STRATEGY_REMOVED:
            active.pop(log.subject, None)
    return list(active)


def subjects(logs: Iterable[SeenLog], topic: str | None = None) -> list[str]:
    """Each address named (by logs of ``topic``, or any) once, in order of first appearance."""
    return list(dict.fromkeys(log.subject for log in logs if topic is None or log.topic == topic))


def apply_pod_logs(shares: Mapping[str, int], logs: Iterable[SeenLog]) -> dict[str, int]:
    """Pod owners' deposit shares after ``logs``: a new pod starts at 0 shares, `NewTotalShares` sets the owner's
    total (every path that changes `podOwnerDepositShares` emits it)."""
    updated = dict(shares)
    for log in logs:
        if log.topic == POD_DEPLOYED:
            updated.setdefault(log.subject, 0)
        elif log.topic == NEW_TOTAL_SHARES and log.value is not None:
            updated[log.subject] = log.value
    return updated
