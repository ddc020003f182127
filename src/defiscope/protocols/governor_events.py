"""A Governor's events as kept in the store: proposals, votes, queueing, execution, cancellation, delegation.

GovernorBravo (Compound, Uniswap on mainnet) and OpenZeppelin's Governor (the devnet's) emit the same five
events with the same signatures, so one parser reads both. The governance token's `DelegateVotesChanged`
(COMP, UNI and every ERC20Votes token) gives each delegate's voting power, for concentration figures.

    streams = governor_streams(governor="0x…", token="0x…", start_block=0, lookback=10**9)
    adapter.event_streams()  # -> the adapter that owns the governed protocol returns them

Each event is stored under its kind (`PROPOSAL_CREATED_KIND`, …) with the adapter's slug; `governance/` turns
them back into proposals.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, Final

from eth_abi import decode
from eth_utils import keccak

from defiscope.chain.abi import checksum
from defiscope.chain.logs import log_hex, topic_address
from defiscope.protocols.events import EventParseError, EventStream, StoredEvent

PROPOSAL_CREATED_EVENT: Final = (
    "ProposalCreated(uint256,address,address[],uint256[],string[],bytes[],uint256,uint256,string)"
)
VOTE_CAST_EVENT: Final = "VoteCast(address,uint256,uint8,uint256,string)"
PROPOSAL_QUEUED_EVENT: Final = "ProposalQueued(uint256,uint256)"
PROPOSAL_EXECUTED_EVENT: Final = "ProposalExecuted(uint256)"
PROPOSAL_CANCELED_EVENT: Final = "ProposalCanceled(uint256)"
DELEGATE_VOTES_CHANGED_EVENT: Final = "DelegateVotesChanged(address,uint256,uint256)"
GOVERNOR_EVENTS: Final = (
    PROPOSAL_CREATED_EVENT,
    VOTE_CAST_EVENT,
    PROPOSAL_QUEUED_EVENT,
    PROPOSAL_EXECUTED_EVENT,
    PROPOSAL_CANCELED_EVENT,
)

PROPOSAL_CREATED_KIND: Final = "proposal_created"
VOTE_CAST_KIND: Final = "vote_cast"
PROPOSAL_QUEUED_KIND: Final = "proposal_queued"
PROPOSAL_EXECUTED_KIND: Final = "proposal_executed"
PROPOSAL_CANCELED_KIND: Final = "proposal_canceled"
DELEGATE_VOTES_KIND: Final = "delegate_votes_changed"


def topic_of(signature: str) -> str:
    return "0x" + keccak(text=signature).hex()


def _data(log: Mapping[str, Any]) -> bytes:
    data = log["data"]
    return bytes.fromhex(data[2:]) if isinstance(data, str) else bytes(data)


def decoded_log(log: Mapping[str, Any], types: list[str], what: str) -> tuple[Any, ...]:
    try:
        return tuple(decode(types, _data(log)))
    except Exception as exc:  # eth_abi raises several decoding errors; all mean the same here
        raise EventParseError(f"{what} log at block {log.get('blockNumber')}: {exc}") from exc


def parse_proposal_created(log: Mapping[str, Any]) -> StoredEvent:
    fields = decoded_log(
        log,
        ["uint256", "address", "address[]", "uint256[]", "string[]", "bytes[]", "uint256", "uint256", "string"],
        "ProposalCreated",
    )
    proposal_id, proposer, targets, values, signatures, calldatas, start, end, description = fields
    payload = {
        "id": str(proposal_id),  # OpenZeppelin's ids are 256-bit hashes
        "proposer": checksum(proposer),
        "targets": [checksum(t) for t in targets],
        "values": [str(v) for v in values],
        "signatures": list(signatures),
        "calldatas": ["0x" + bytes(c).hex() for c in calldatas],
        "vote_start": start,
        "vote_end": end,
        "description": description,
    }
    return StoredEvent.of(log, PROPOSAL_CREATED_KIND, payload, key=str(proposal_id))


def parse_vote_cast(log: Mapping[str, Any]) -> StoredEvent:
    proposal_id, support, weight, reason = decoded_log(log, ["uint256", "uint8", "uint256", "string"], "VoteCast")
    voter = topic_address(log["topics"][1])
    payload = {"id": str(proposal_id), "voter": voter, "support": support, "weight": str(weight), "reason": reason}
    # One vote per voter and proposal (both Governors refuse a second one).
    return StoredEvent.of(log, VOTE_CAST_KIND, payload, key=f"{proposal_id}:{voter.lower()}")


def parse_proposal_queued(log: Mapping[str, Any]) -> StoredEvent:
    proposal_id, eta = decoded_log(log, ["uint256", "uint256"], "ProposalQueued")
    return StoredEvent.of(log, PROPOSAL_QUEUED_KIND, {"id": str(proposal_id), "eta": eta}, key=str(proposal_id))


def _id_only(kind: str, what: str) -> Callable[[Mapping[str, Any]], StoredEvent]:
    def parse(log: Mapping[str, Any]) -> StoredEvent:
        (proposal_id,) = decoded_log(log, ["uint256"], what)
        return StoredEvent.of(log, kind, {"id": str(proposal_id)}, key=str(proposal_id))

    return parse


def parse_delegate_votes(log: Mapping[str, Any]) -> StoredEvent:
    previous, new = decoded_log(log, ["uint256", "uint256"], "DelegateVotesChanged")
    delegate = topic_address(log["topics"][1])
    return StoredEvent.of(
        log, DELEGATE_VOTES_KIND, {"delegate": delegate, "previous": str(previous), "votes": str(new)}
    )


Parser = Callable[[Mapping[str, Any]], StoredEvent]

PARSERS: Final[Mapping[str, Parser]] = {
    topic_of(PROPOSAL_CREATED_EVENT): parse_proposal_created,
    topic_of(VOTE_CAST_EVENT): parse_vote_cast,
    topic_of(PROPOSAL_QUEUED_EVENT): parse_proposal_queued,
    topic_of(PROPOSAL_EXECUTED_EVENT): _id_only(PROPOSAL_EXECUTED_KIND, "ProposalExecuted"),
    topic_of(PROPOSAL_CANCELED_EVENT): _id_only(PROPOSAL_CANCELED_KIND, "ProposalCanceled"),
    topic_of(DELEGATE_VOTES_CHANGED_EVENT): parse_delegate_votes,
}


def by_topic(parsers: Mapping[str, Parser], what: str) -> Parser:
    """One parser for several events: the one of the log's topic0 (`what` names them in the error)."""

    def parse(log: Mapping[str, Any]) -> StoredEvent:
        topic0 = log_hex(log["topics"][0]) if log.get("topics") else None
        found = parsers.get(topic0 or "")
        if found is None:
            raise EventParseError(f"not {what}: topic0 {topic0}")
        return found(log)

    return parse


#: Any of the governor's or the token's kept events, by its topic0.
parse_governance_log: Final = by_topic(PARSERS, "a governance event")


def kept_streams(
    parse: Parser,
    *,
    governor: str,
    events: tuple[str, ...],
    token: str | None,
    token_events: tuple[str, ...],
    start_block: int,
    lookback: int,
) -> list[EventStream]:
    """The governor's `events` and, when given, the token's `token_events`, each log read by `parse`."""
    sources = [(governor, events)] + ([(token, token_events)] if token is not None else [])
    return [
        EventStream(address, tuple(topic_of(e) for e in kept), parse, lookback=lookback, start_block=start_block)
        for address, kept in sources
    ]


def governor_streams(*, governor: str, token: str | None, start_block: int, lookback: int) -> list[EventStream]:
    """The governor's five events and the token's delegation changes, from `start_block` (or `lookback` back)."""
    return kept_streams(
        parse_governance_log,
        governor=governor,
        events=GOVERNOR_EVENTS,
        token=token,
        token_events=(DELEGATE_VOTES_CHANGED_EVENT,),
        start_block=start_block,
        lookback=lookback,
    )
