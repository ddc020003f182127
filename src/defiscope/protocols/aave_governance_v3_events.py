"""Aave Governance V3's events as kept in the store: GovernanceCore's proposal lifecycle and the PayloadsController's
payloads (bgd-labs/aave-governance-v3; ABIs from `@aave-dao/aave-address-book`'s IGovernanceCore and
IPayloadsControllerCore, tests/fixtures/abi/aave).

A V3 proposal carries no actions: it points at payloads ((chain, accessLevel, payloadsController, payloadId), read
with `getProposal`, or from its PayloadSent events once executed), each registered beforehand on a
PayloadsController with its actions (target, withDelegateCall, accessLevel, value, signature, callData) in
PayloadCreated. Votes are cast on voting machines on other chains; only their result reaches the governance, in
ProposalQueued or ProposalFailed. Kinds are V3's own (`V3_*`), so they never mix with Governance V2's kept under
the same adapter.

ProposalCreated does not name the payloads, so the core's stream completes each one (`complete_v3_proposals`)
with `getProposal(id)` read at the event's own block: the payload list (fixed at creation) and the creation time
are kept with the event, and the call itself as its provenance (`payloads_call`; a reverted read is kept with
its reason instead of a list). Alerts then flag a proposal from its creation on, from the store alone.

    streams = aave_governance_v3_streams(core="0x…", payloads_controller="0x…", start_block=0, lookback=10**9)
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import replace
from functools import partial
from typing import Any, Final

from defiscope.chain.abi import checksum
from defiscope.chain.block import BlockRef
from defiscope.chain.errors import BlockUnavailable
from defiscope.chain.logs import log_hex, topic_address
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.protocols.base import CallRecord
from defiscope.protocols.events import EventStream, StoredEvent
from defiscope.protocols.governor_events import Parser, by_topic, decoded_log, topic_of

# IGovernanceCore
V3_PROPOSAL_CREATED_EVENT: Final = "ProposalCreated(uint256,address,uint8,bytes32)"
V3_VOTING_ACTIVATED_EVENT: Final = "VotingActivated(uint256,bytes32,uint24)"
V3_PROPOSAL_QUEUED_EVENT: Final = "ProposalQueued(uint256,uint128,uint128)"
V3_PROPOSAL_FAILED_EVENT: Final = "ProposalFailed(uint256,uint128,uint128)"
V3_PROPOSAL_EXECUTED_EVENT: Final = "ProposalExecuted(uint256)"
V3_PROPOSAL_CANCELED_EVENT: Final = "ProposalCanceled(uint256)"
V3_PAYLOAD_SENT_EVENT: Final = "PayloadSent(uint256,uint40,address,uint256,uint256,uint256)"
GOVERNANCE_CORE_EVENTS: Final = (
    V3_PROPOSAL_CREATED_EVENT,
    V3_VOTING_ACTIVATED_EVENT,
    V3_PROPOSAL_QUEUED_EVENT,
    V3_PROPOSAL_FAILED_EVENT,
    V3_PROPOSAL_EXECUTED_EVENT,
    V3_PROPOSAL_CANCELED_EVENT,
    V3_PAYLOAD_SENT_EVENT,
)
# IPayloadsControllerCore; an action is (target, withDelegateCall, accessLevel, value, signature, callData).
EXECUTION_ACTION: Final = "(address,bool,uint8,uint256,string,bytes)"
PAYLOAD_CREATED_EVENT: Final = f"PayloadCreated(uint40,address,{EXECUTION_ACTION}[],uint8)"
PAYLOAD_QUEUED_EVENT: Final = "PayloadQueued(uint40)"
PAYLOAD_EXECUTED_EVENT: Final = "PayloadExecuted(uint40)"
PAYLOAD_CANCELLED_EVENT: Final = "PayloadCancelled(uint40)"
PAYLOADS_CONTROLLER_EVENTS: Final = (
    PAYLOAD_CREATED_EVENT,
    PAYLOAD_QUEUED_EVENT,
    PAYLOAD_EXECUTED_EVENT,
    PAYLOAD_CANCELLED_EVENT,
)

#: IGovernanceCore.getProposal: (state, accessLevel, creationTime, votingDuration, votingActivationTime, queuingTime,
#: cancelTimestamp, creator, votingPortal, snapshotBlockHash, ipfsHash, forVotes, againstVotes, cancellationFee,
#: payloads[(chain, accessLevel, payloadsController, payloadId)]).
GET_PROPOSAL: Final = (
    "getProposal(uint256)((uint8,uint8,uint40,uint24,uint40,uint40,uint40,address,address,bytes32,bytes32,"
    "uint128,uint128,uint256,(uint256,uint8,address,uint40)[]))"
)

V3_CREATED_KIND: Final = "aave_v3_proposal_created"
V3_ACTIVATED_KIND: Final = "aave_v3_voting_activated"
V3_QUEUED_KIND: Final = "aave_v3_proposal_queued"
V3_FAILED_KIND: Final = "aave_v3_proposal_failed"
V3_EXECUTED_KIND: Final = "aave_v3_proposal_executed"
V3_CANCELED_KIND: Final = "aave_v3_proposal_canceled"
V3_PAYLOAD_SENT_KIND: Final = "aave_v3_payload_sent"
PAYLOAD_CREATED_KIND: Final = "aave_v3_payload_created"
PAYLOAD_QUEUED_KIND: Final = "aave_v3_payload_queued"
PAYLOAD_EXECUTED_KIND: Final = "aave_v3_payload_executed"
PAYLOAD_CANCELLED_KIND: Final = "aave_v3_payload_cancelled"
V3_KINDS: Final = (
    V3_CREATED_KIND,
    V3_ACTIVATED_KIND,
    V3_QUEUED_KIND,
    V3_FAILED_KIND,
    V3_EXECUTED_KIND,
    V3_CANCELED_KIND,
    V3_PAYLOAD_SENT_KIND,
    PAYLOAD_CREATED_KIND,
    PAYLOAD_QUEUED_KIND,
    PAYLOAD_EXECUTED_KIND,
    PAYLOAD_CANCELLED_KIND,
)


def _topic_int(log: Mapping[str, Any], index: int) -> int:
    return int(log_hex(log["topics"][index]), 16)


def parse_v3_proposal_created(log: Mapping[str, Any]) -> StoredEvent:
    (ipfs,) = decoded_log(log, ["bytes32"], "ProposalCreated")
    pid, ipfs_hash = _topic_int(log, 1), "0x" + bytes(ipfs).hex()
    payload = {
        "id": str(pid),
        "proposer": topic_address(log["topics"][2]),
        "access_level": _topic_int(log, 3),
        "ipfs_hash": ipfs_hash,
        "description": f"IPFS {ipfs_hash}",  # all the chain holds of it
    }
    return StoredEvent.of(log, V3_CREATED_KIND, payload, key=str(pid))


def parse_voting_activated(log: Mapping[str, Any]) -> StoredEvent:
    (duration,) = decoded_log(log, ["uint24"], "VotingActivated")
    pid = _topic_int(log, 1)
    payload = {"id": str(pid), "snapshot_block_hash": log_hex(log["topics"][2]), "voting_duration": duration}
    return StoredEvent.of(log, V3_ACTIVATED_KIND, payload, key=str(pid))


def _result(kind: str, what: str) -> Parser:
    """ProposalQueued / ProposalFailed: the voting machine's result (for, against), as the portal delivered it."""

    def parse(log: Mapping[str, Any]) -> StoredEvent:
        votes_for, against = decoded_log(log, ["uint128", "uint128"], what)
        pid = _topic_int(log, 1)
        payload = {"id": str(pid), "for": str(votes_for), "against": str(against)}
        return StoredEvent.of(log, kind, payload, key=str(pid))

    return parse


def _proposal_only(kind: str) -> Parser:
    def parse(log: Mapping[str, Any]) -> StoredEvent:
        pid = _topic_int(log, 1)
        return StoredEvent.of(log, kind, {"id": str(pid)}, key=str(pid))

    return parse


def parse_payload_sent(log: Mapping[str, Any]) -> StoredEvent:
    payload_id, number, count = decoded_log(log, ["uint40", "uint256", "uint256"], "PayloadSent")
    pid = _topic_int(log, 1)
    payload = {
        "id": str(pid),
        "payload_id": payload_id,
        "payloads_controller": topic_address(log["topics"][2]),
        "chain_id": _topic_int(log, 3),
        "number": number,
        "of": count,
    }
    return StoredEvent.of(log, V3_PAYLOAD_SENT_KIND, payload, key=f"{pid}:{number}")


def parse_payload_created(log: Mapping[str, Any]) -> StoredEvent:
    (actions,) = decoded_log(log, [f"{EXECUTION_ACTION}[]"], "PayloadCreated")
    payload_id = _topic_int(log, 1)
    payload = {
        "payload_id": payload_id,
        "controller": checksum(str(log["address"])),
        "creator": topic_address(log["topics"][2]),
        "maximum_access_level": _topic_int(log, 3),
        "actions": [
            {
                "target": checksum(target),
                "with_delegatecall": bool(delegatecall),
                "access_level": int(level),
                "value": str(value),
                "signature": str(signature),
                "calldata": "0x" + bytes(data).hex(),
            }
            for target, delegatecall, level, value, signature, data in actions
        ],
    }
    return StoredEvent.of(log, PAYLOAD_CREATED_KIND, payload, key=str(payload_id))


def _payload_only(kind: str, what: str) -> Parser:
    def parse(log: Mapping[str, Any]) -> StoredEvent:
        (payload_id,) = decoded_log(log, ["uint40"], what)
        return StoredEvent.of(log, kind, {"payload_id": payload_id}, key=str(payload_id))

    return parse


V3_PARSERS: Final[Mapping[str, Parser]] = {
    topic_of(V3_PROPOSAL_CREATED_EVENT): parse_v3_proposal_created,
    topic_of(V3_VOTING_ACTIVATED_EVENT): parse_voting_activated,
    topic_of(V3_PROPOSAL_QUEUED_EVENT): _result(V3_QUEUED_KIND, "ProposalQueued"),
    topic_of(V3_PROPOSAL_FAILED_EVENT): _result(V3_FAILED_KIND, "ProposalFailed"),
    topic_of(V3_PROPOSAL_EXECUTED_EVENT): _proposal_only(V3_EXECUTED_KIND),
    topic_of(V3_PROPOSAL_CANCELED_EVENT): _proposal_only(V3_CANCELED_KIND),
    topic_of(V3_PAYLOAD_SENT_EVENT): parse_payload_sent,
    topic_of(PAYLOAD_CREATED_EVENT): parse_payload_created,
    topic_of(PAYLOAD_QUEUED_EVENT): _payload_only(PAYLOAD_QUEUED_KIND, "PayloadQueued"),
    topic_of(PAYLOAD_EXECUTED_EVENT): _payload_only(PAYLOAD_EXECUTED_KIND, "PayloadExecuted"),
    topic_of(PAYLOAD_CANCELLED_EVENT): _payload_only(PAYLOAD_CANCELLED_KIND, "PayloadCancelled"),
}

#: Any of GovernanceCore's or the PayloadsController's kept events, by its topic0.
parse_aave_governance_v3_log: Final = by_topic(V3_PARSERS, "an Aave Governance V3 event")


def payload_list(payloads: Sequence[Sequence[Any]]) -> list[dict[str, Any]]:
    """getProposal's payloads [(chain, accessLevel, payloadsController, payloadId)] as kept."""
    return [
        {"chain": int(chain), "access_level": int(level), "controller": checksum(str(controller)), "payload_id": int(i)}
        for chain, level, controller, i in payloads
    ]


def _call_record(result: CallResult, block: BlockRef) -> dict[str, Any]:
    """The call as provenance (`CallRecord`: its answer, or why none), with the block (number and hash) it read."""
    record = CallRecord.of(result)
    return {
        "target": record.target,
        "function": record.function,
        "args": list(record.args),
        "result": record.result,
        "success": record.success,
        "block": block.number,
        "block_hash": block.hash,
    }


async def _read_at(reader: Reader, block: BlockRef, call: Call) -> CallResult | None:
    """`call` at `block`; None when the node serves no state there (pruned: refused, or a failed call on a node
    whose state probe fails too), so that a revert is kept as the answer it is."""
    at = reader.at(block)
    try:
        result = await at.call(call)
    except BlockUnavailable:
        return None
    return result if result.success or await at.has_state() else None


async def _read_proposal(reader: Reader, core: str, created: StoredEvent, block: BlockRef) -> StoredEvent:
    """`created` with getProposal read at its block; a node that no longer serves that block's state is read at
    the reader's own block instead (the payload list and creation time never change after creation), and the
    record says which block answered and why."""
    call = Call.of(core, GET_PROPOSAL, int(created.payload["id"]))
    result = await _read_at(reader, block, call)
    record: dict[str, Any] = {}
    if result is None:
        why = f"the node serves no state at block {block.number}; read at the scanned block (fixed since creation)"
        block, result, record = reader.block, await reader.call(call), {"why_this_block": why}
    completed: dict[str, Any] = {"payloads_call": _call_record(result, block) | record}
    if result.success:
        (proposal,) = result.value
        completed |= {"creation_time": int(proposal[2]), "payloads": payload_list(proposal[14])}
    return replace(created, payload={**created.payload, **completed})


async def complete_v3_proposals(core: str, reader: Reader, events: Sequence[StoredEvent]) -> list[StoredEvent]:
    """Each ProposalCreated among `events` with its payload list and creation time, read with getProposal at the
    event's own block (by hash: a block reorged away since fails the scan, which is retried); others as given."""
    created = [e for e in events if e.kind == V3_CREATED_KIND]
    if not created:
        return list(events)
    headers = {h.number: h for h in await reader.headers(sorted({e.block_number for e in created}))}
    for event in created:
        if headers[event.block_number].hash != event.block_hash:
            raise BlockUnavailable(
                f"block {event.block_number} is now {headers[event.block_number].hash}, not {event.block_hash} "
                "of the ProposalCreated found: reorged, scanned again",
                chain_id=reader.chain_id,
            )
    found = await asyncio.gather(*(_read_proposal(reader, core, e, headers[e.block_number]) for e in created))
    completed = {(e.kind, e.key): e for e in found}
    return [completed.get((e.kind, e.key), e) for e in events]


def aave_governance_v3_streams(
    *, core: str, payloads_controller: str, start_block: int, lookback: int
) -> list[EventStream]:
    """GovernanceCore's seven lifecycle events (each ProposalCreated completed with its payloads) and the
    PayloadsController's four payload events."""
    sources = (
        (core, GOVERNANCE_CORE_EVENTS, partial(complete_v3_proposals, core)),
        (payloads_controller, PAYLOADS_CONTROLLER_EVENTS, None),
    )
    return [
        EventStream(
            address,
            tuple(topic_of(e) for e in events),
            parse_aave_governance_v3_log,
            lookback=lookback,
            start_block=start_block,
            complete=complete,
        )
        for address, events, complete in sources
    ]
