"""EigenLayer's contracts found from events, scanned once and then only over new blocks.

EigenLayer has no on-chain list of its strategies or pods: the StrategyManager emits
`StrategyAddedToDepositWhitelist(address)` / `StrategyRemovedFromDepositWhitelist(address)` and the
EigenPodManager `PodDeployed(address indexed eigenPod, address indexed podOwner)` (and, whenever a pod owner's
deposit shares change, `NewTotalShares(address indexed podOwner, int256 newTotalShares)`). A `LogCursor` keeps the logs
it has seen (block, log index, what they say) and the last block it scanned, so each read asks the node only for
blocks it has not scanned; what held at an older block is replayed from the kept logs.

    whitelist = LogCursor(manager, (STRATEGY_ADDED, STRATEGY_REMOVED), seen_log, start_block=17_445_564)
    await whitelist.scan(reader)                             # up to the reader's pinned block
    active_strategies(whitelist.upto(head))                 # in whitelisting order, removed ones dropped
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from defiscope.chain.logs import log_hex, log_int, topic_address, word_address
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


def seen_log(log: Mapping[str, Any]) -> SeenLog:
    """The address each event names: the whitelist events' only (unindexed) argument, PodDeployed's
    ``podOwner`` (topic 2), OperatorRegistered's ``operator`` and NewTotalShares' ``podOwner`` (topic 1)."""
    topics, data = [log_hex(t) for t in log["topics"]], log["data"]
    value = None
    if topics[0] in (STRATEGY_ADDED, STRATEGY_REMOVED):
        subject = word_address(data, 0)
    elif topics[0] == POD_DEPLOYED:
        subject = topic_address(topics[2])
    else:
        subject = topic_address(topics[1])
        if topics[0] == NEW_TOTAL_SHARES:
            value = int.from_bytes(bytes.fromhex(log_hex(data)[2:66]), "big", signed=True)
    return SeenLog(log_int(log["blockNumber"]), log_int(log["logIndex"]), topics[0], subject, value)


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
