"""Aave Governance V2's events as kept in the store, under the same kinds as a Governor's (`governor_events`).

AaveGovernanceV2 (one contract: proposals, votes, queueing through an executor, execution) emits other events
than GovernorBravo; each is normalised to the payload the governance view reads of a Governor's:

- ProposalCreated(id, creator, executor, targets, values, signatures, calldatas, withDelegatecalls, startBlock,
  endBlock, strategy, ipfsHash) -> `proposal_created` (vote_start/vote_end are startBlock/endBlock; the
  description is the IPFS hash, all the chain holds of it; executor, strategy and delegatecall flags kept too);
- VoteEmitted(id, voter, support, votingPower) -> `vote_cast` (support true/false is for/against: no abstain);
- ProposalQueued(id, executionTime, initiatorQueueing) -> `proposal_queued` (eta = executionTime);
- ProposalExecuted(id, initiatorExecution), ProposalCanceled(id) -> `proposal_executed`, `proposal_canceled`;
- the AAVE token's DelegatedPowerChanged(user, amount, delegationType) -> `delegate_votes_changed` for voting
  power (type 0); proposition power (type 1) is kept as `proposition_power_changed`.

    streams = aave_governance_streams(governor="0x…", token="0x…", start_block=0, lookback=10**9)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from defiscope.chain.abi import checksum
from defiscope.chain.logs import topic_address
from defiscope.protocols.events import EventStream, StoredEvent
from defiscope.protocols.governor_events import (
    DELEGATE_VOTES_KIND,
    PROPOSAL_CANCELED_EVENT,
    PROPOSAL_CANCELED_KIND,
    PROPOSAL_CREATED_KIND,
    PROPOSAL_EXECUTED_KIND,
    PROPOSAL_QUEUED_KIND,
    VOTE_CAST_KIND,
    Parser,
    by_topic,
    decoded_log,
    kept_streams,
    topic_of,
)

_CREATED_FIELDS: Final = (
    "uint256,address,address,address[],uint256[],string[],bytes[],bool[],uint256,uint256,address,bytes32"
)
AAVE_PROPOSAL_CREATED_EVENT: Final = f"ProposalCreated({_CREATED_FIELDS})"
AAVE_VOTE_EMITTED_EVENT: Final = "VoteEmitted(uint256,address,bool,uint256)"
AAVE_PROPOSAL_QUEUED_EVENT: Final = "ProposalQueued(uint256,uint256,address)"
AAVE_PROPOSAL_EXECUTED_EVENT: Final = "ProposalExecuted(uint256,address)"
AAVE_GOVERNANCE_EVENTS: Final = (
    AAVE_PROPOSAL_CREATED_EVENT,
    AAVE_VOTE_EMITTED_EVENT,
    AAVE_PROPOSAL_QUEUED_EVENT,
    AAVE_PROPOSAL_EXECUTED_EVENT,
    PROPOSAL_CANCELED_EVENT,  # the same signature as Bravo's
)
DELEGATED_POWER_CHANGED_EVENT: Final = "DelegatedPowerChanged(address,uint256,uint8)"
PROPOSITION_POWER_KIND: Final = "proposition_power_changed"
#: IGovernancePowerDelegationToken.DelegationType.
VOTING_POWER, PROPOSITION_POWER = 0, 1


def parse_aave_proposal_created(log: Mapping[str, Any]) -> StoredEvent:
    types = ["uint256", "address[]", "uint256[]", "string[]", "bytes[]", "bool[]", "uint256", "uint256", "address"]
    fields = decoded_log(log, [*types, "bytes32"], "ProposalCreated")
    proposal_id, targets, values, signatures, calldatas, delegatecalls, start, end, strategy, ipfs = fields
    ipfs_hash = "0x" + bytes(ipfs).hex()
    payload = {
        "id": str(proposal_id),
        "proposer": topic_address(log["topics"][1]),
        "executor": topic_address(log["topics"][2]),
        "targets": [checksum(t) for t in targets],
        "values": [str(v) for v in values],
        "signatures": list(signatures),
        "calldatas": ["0x" + bytes(c).hex() for c in calldatas],
        "with_delegatecalls": [bool(d) for d in delegatecalls],
        "vote_start": start,
        "vote_end": end,
        "strategy": checksum(strategy),
        "ipfs_hash": ipfs_hash,
        "description": f"IPFS {ipfs_hash}",
    }
    return StoredEvent.of(log, PROPOSAL_CREATED_KIND, payload, key=str(proposal_id))


def parse_vote_emitted(log: Mapping[str, Any]) -> StoredEvent:
    proposal_id, support, power = decoded_log(log, ["uint256", "bool", "uint256"], "VoteEmitted")
    voter = topic_address(log["topics"][1])
    # GovernorCountingSimple's numbering: 1 for, 0 against.
    payload = {"id": str(proposal_id), "voter": voter, "support": 1 if support else 0, "weight": str(power)}
    return StoredEvent.of(log, VOTE_CAST_KIND, payload | {"reason": ""}, key=f"{proposal_id}:{voter.lower()}")


def parse_aave_proposal_queued(log: Mapping[str, Any]) -> StoredEvent:
    proposal_id, execution_time = decoded_log(log, ["uint256", "uint256"], "ProposalQueued")
    payload = {"id": str(proposal_id), "eta": execution_time, "initiator": topic_address(log["topics"][1])}
    return StoredEvent.of(log, PROPOSAL_QUEUED_KIND, payload, key=str(proposal_id))


def _id_and_initiator(kind: str, what: str) -> Parser:
    def parse(log: Mapping[str, Any]) -> StoredEvent:
        (proposal_id,) = decoded_log(log, ["uint256"], what)
        topics = log["topics"]
        payload: dict[str, Any] = {"id": str(proposal_id)}
        if len(topics) > 1:
            payload["initiator"] = topic_address(topics[1])
        return StoredEvent.of(log, kind, payload, key=str(proposal_id))

    return parse


def parse_delegated_power(log: Mapping[str, Any]) -> StoredEvent:
    amount, power_type = decoded_log(log, ["uint256", "uint8"], "DelegatedPowerChanged")
    kind = DELEGATE_VOTES_KIND if power_type == VOTING_POWER else PROPOSITION_POWER_KIND
    return StoredEvent.of(log, kind, {"delegate": topic_address(log["topics"][1]), "votes": str(amount)})


AAVE_PARSERS: Final[Mapping[str, Parser]] = {
    topic_of(AAVE_PROPOSAL_CREATED_EVENT): parse_aave_proposal_created,
    topic_of(AAVE_VOTE_EMITTED_EVENT): parse_vote_emitted,
    topic_of(AAVE_PROPOSAL_QUEUED_EVENT): parse_aave_proposal_queued,
    topic_of(AAVE_PROPOSAL_EXECUTED_EVENT): _id_and_initiator(PROPOSAL_EXECUTED_KIND, "ProposalExecuted"),
    topic_of(PROPOSAL_CANCELED_EVENT): _id_and_initiator(PROPOSAL_CANCELED_KIND, "ProposalCanceled"),
    topic_of(DELEGATED_POWER_CHANGED_EVENT): parse_delegated_power,
}

#: Any of AaveGovernanceV2's or the AAVE token's kept events, by its topic0.
parse_aave_governance_log: Final = by_topic(AAVE_PARSERS, "an Aave governance event")


def aave_governance_streams(*, governor: str, token: str | None, start_block: int, lookback: int) -> list[EventStream]:
    """AaveGovernanceV2's five events, and the token's voting-power changes when it emits them (`token`)."""
    return kept_streams(
        parse_aave_governance_log,
        governor=governor,
        events=AAVE_GOVERNANCE_EVENTS,
        token=token,
        token_events=(DELEGATED_POWER_CHANGED_EVENT,),
        start_block=start_block,
        lookback=lookback,
    )
