"""EigenLayer discovery from raw logs (no chain): what each event names, the whitelist replayed in order, and the
mainnet adapter's start block and EIGEN mapping from the registry."""

from __future__ import annotations

from typing import Any

from eth_utils import to_checksum_address

from defiscope.deployments.mainnet import EIGENLAYER_START_BLOCKS, mainnet
from defiscope.protocols.eigenlayer.adapter import BACKING_EIGEN, EigenLayerAdapter
from defiscope.protocols.eigenlayer.discovery import (
    LEGACY_OPERATOR_REGISTERED,
    NEW_TOTAL_SHARES,
    OPERATOR_REGISTERED,
    POD_DEPLOYED,
    STRATEGY_ADDED,
    STRATEGY_REMOVED,
    active_strategies,
    apply_pod_logs,
    seen_log,
    subjects,
)

A, B, C = (to_checksum_address("0x" + c * 40) for c in "abc")


def _word(address: str) -> str:
    return "0x" + "0" * 24 + address[2:].lower()


def _log(topics: list[str], data: str = "0x", block: int = 1, index: int = 0) -> dict[str, Any]:
    return {"topics": topics, "data": data, "blockNumber": hex(block), "logIndex": hex(index)}


def test_each_event_names_its_subject() -> None:
    # Whitelist events carry the strategy unindexed (in data); PodDeployed(eigenPod indexed, podOwner indexed)
    # names the owner in topic 2; OperatorRegistered(operator indexed, delegationApprover) in topic 1.
    assert seen_log(_log([STRATEGY_ADDED], _word(A))).subject == A
    assert seen_log(_log([STRATEGY_REMOVED], _word(B))).subject == B
    assert seen_log(_log([POD_DEPLOYED, _word(C), _word(A)])).subject == A
    operator = seen_log(_log([OPERATOR_REGISTERED, _word(B)], _word(C), block=7, index=3))
    assert (operator.subject, operator.block, operator.index) == (B, 7, 3)
    # M2's OperatorRegistered(address indexed, (address,address,uint32)): the operator is topic 1 as well.
    legacy = seen_log(_log([LEGACY_OPERATOR_REGISTERED, _word(A)], _word(A) + _word(C)[2:] + "0" * 64))
    assert legacy.subject == A


def test_the_whitelist_is_replayed_in_order() -> None:
    events = [
        seen_log(_log([STRATEGY_ADDED], _word(A), block=1)),
        seen_log(_log([STRATEGY_ADDED], _word(B), block=2)),
        seen_log(_log([STRATEGY_REMOVED], _word(A), block=3)),
        seen_log(_log([STRATEGY_ADDED], _word(C), block=4)),
        seen_log(_log([STRATEGY_ADDED], _word(A), block=5)),  # whitelisted again
    ]
    assert active_strategies(events[:2]) == [A, B]
    assert active_strategies(events[:3]) == [B]
    assert active_strategies(events[:4]) == [B, C]
    assert active_strategies(events) == [B, C, A]
    assert active_strategies([seen_log(_log([STRATEGY_REMOVED], _word(C)))]) == []  # unknown removal: nothing
    assert subjects([seen_log(_log([POD_DEPLOYED, _word(C), _word(o)])) for o in (A, B, A)]) == [A, B]


def test_pod_shares_follow_new_total_shares() -> None:
    def total(owner: str, value: int, block: int) -> dict[str, Any]:
        return _log([NEW_TOTAL_SHARES, _word(owner)], "0x" + value.to_bytes(32, "big", signed=True).hex(), block)

    deficit = seen_log(total(A, -(5 * 10**18), 3))  # int256: a pre-upgrade deficit stays negative
    assert (deficit.subject, deficit.value) == (A, -(5 * 10**18))
    logs = [
        seen_log(_log([POD_DEPLOYED, _word(C), _word(B)], block=4)),  # a new pod starts at 0
        seen_log(total(A, 32 * 10**18, 5)),  # the total, not a delta
        seen_log(_log([POD_DEPLOYED, _word(B), _word(C)], block=6)),
        seen_log(total(C, 64 * 10**18, 7)),
    ]
    known = {A: -(5 * 10**18)}
    assert apply_pod_logs(known, [deficit]) == known
    assert apply_pod_logs(known, logs) == {A: 32 * 10**18, B: 0, C: 64 * 10**18}
    assert known == {A: -(5 * 10**18)}  # the earlier state is left as it was


def test_mainnet_scans_from_the_registry_start_block_and_reports_beigen_as_eigen() -> None:
    deployment = mainnet(1)
    adapter = EigenLayerAdapter(deployment)
    start = EIGENLAYER_START_BLOCKS[1]
    assert adapter.whitelist.scanned_to == start - 1
    assert adapter.pod_logs is not None
    assert adapter.pod_logs.scanned_to == start - 1
    eigen = deployment.token("EIGEN").address
    assert adapter.staked_as == {deployment.contract(BACKING_EIGEN): eigen, eigen: eigen}
    assert {use.name for use in adapter.surface()} >= {"StrategyManager", "EigenPodManager", "DelegationManager"}
