"""Aave Governance V3's proposals at a block: the kept events, plus one batch of GovernanceCore reads.

    proposals = await v3_proposals_at(events, block, reader, decoder, core=..., controller=..., chain_id=1)

A proposal's creation time and payloads (which no event names before execution) are kept with its ProposalCreated
(read at its block when collected: `aave_governance_v3_events.complete_v3_proposals`). The batch reads
`getProposal(id)` only where that falls short: a queued proposal (its queuing time gives the execution time) and
one kept without them; then `getVotingConfig` of both access levels (the yes threshold, the proposal's quorum)
and `COOLDOWN_PERIOD()`. Without a reader (or when a read fails) the
figures it would give stay unknown and each proposal's state reason says so.
"""

from __future__ import annotations

from collections.abc import Sequence

from defiscope.chain.block import BlockRef
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import CallReader
from defiscope.governance.aave_v3 import (
    ProposalFacts,
    V3Context,
    V3State,
    build_v3_proposals,
    payload_refs,
    recorded_facts,
    replay,
)
from defiscope.governance.proposals import Decoder, Proposal
from defiscope.protocols.aave_governance_v3_events import GET_PROPOSAL, payload_list
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governors import COOLDOWN_PERIOD, GET_VOTING_CONFIG

#: PayloadsControllerUtils.AccessControl's levels that carry a voting configuration.
ACCESS_LEVELS = (1, 2)


def _facts(result: CallResult) -> ProposalFacts | None:
    if not result.success:
        return None
    (proposal,) = result.value
    return ProposalFacts(int(proposal[2]), payload_refs(payload_list(proposal[14])), int(proposal[5]))


async def read_v3_facts(
    reader: CallReader, core: str, ids: Sequence[str]
) -> tuple[dict[str, ProposalFacts], dict[int, int], int | None]:
    """Each proposal's getProposal facts, each access level's yes threshold (whole AAVE), COOLDOWN_PERIOD."""
    calls = [Call.of(core, GET_PROPOSAL, int(pid)) for pid in ids]
    calls += [Call.of(core, GET_VOTING_CONFIG, level) for level in ACCESS_LEVELS]
    calls.append(Call.of(core, COOLDOWN_PERIOD))
    results = await reader.call_many(calls)
    proposals, configs, cooldown = results[: len(ids)], results[len(ids) : -1], results[-1]
    facts = {pid: fact for pid, r in zip(ids, proposals, strict=True) if (fact := _facts(r)) is not None}
    thresholds = {level: int(r.value[0][2]) for level, r in zip(ACCESS_LEVELS, configs, strict=True) if r.success}
    return facts, thresholds, int(cooldown.value[0]) if cooldown.success else None


async def v3_proposals_at(
    events: Sequence[StoredEvent],
    block: BlockRef,
    reader: CallReader | None,
    decode: Decoder,
    *,
    core: str,
    controller: str | None,
    chain_id: int,
) -> tuple[Proposal, ...]:
    replayed = replay(events, block.number)
    facts = {pid: fact for pid, r in replayed.items() if (fact := recorded_facts(r.created)) is not None}
    thresholds: dict[int, int] = {}
    cooldown = None
    if reader is not None and replayed:
        asked = sorted((p for p, r in replayed.items() if p not in facts or r.state == V3State.QUEUED), key=int)
        read, thresholds, cooldown = await read_v3_facts(reader, core, asked)
        facts |= read
    context = V3Context(chain_id, controller, thresholds, cooldown)
    return tuple(build_v3_proposals(events, block=block, facts=facts, context=context, decode=decode))
