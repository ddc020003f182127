"""GET /v1/governance/proposals: the governed protocols' proposals at the latest indexed block.

The proposals come from the events the indexer keeps (each governed protocol's adapter declares its governor's
streams); a server that also follows the chain (`serve`) reads each proposal's quorum at that block, so the
state of an ended vote is known; without a chain connection that state is null with the reason.

    GET /v1/governance/proposals?chain=ethereum&protocol=compound&state=Executed
"""

from __future__ import annotations

import asyncio

from pydantic import Field

from defiscope.api import models as m
from defiscope.api.context import ApiContext
from defiscope.api.errors import ApiError
from defiscope.api.views import block_model
from defiscope.chain.block import BlockRef
from defiscope.chain.client import Snapshot
from defiscope.chain.reader import Batcher, Reader
from defiscope.errors import InputError
from defiscope.governance.document import concentration_json, proposal_json
from defiscope.governance.load import governance_view, stored_events
from defiscope.governance.query import ProposalQuery
from defiscope.protocols.governors import GOVERNORS


class Argument(m._Model):
    name: str
    type: str
    value: object = Field(description="integers as decimal strings, bytes as 0x-hex, addresses checksummed")


class Action(m._Model):
    target: str
    target_name: str | None = Field(description="the registry's name of the target, when it has one")
    value: str = Field(description="wei sent with the call")
    function: str | None = Field(description="name(types), null when no ABI we hold has the selector")
    arguments: list[Argument]
    calldata: str
    flag: str = Field(description="upgrade, admin-change, oracle-change, parameter-change, treasury-transfer, unknown")
    why: str


class Votes(m._Model):
    for_: str = Field(alias="for", description="token base units (approval voting: the MKR approving the spell)")
    against: str | None = Field(description="null where the governor has no such vote (approval voting)")
    abstain: str | None = Field(description="null where the governor has no such vote (approval voting)")
    voters: int


class Proposal(m._Model):
    id: str
    protocol: str
    chain_id: int
    governor: str
    title: str
    description: str
    proposer: str
    state: str | None = Field(description="Pending, Active, Canceled, Defeated, Succeeded, Queued, Expired, Executed")
    state_reason: str
    created_block: int
    created_block_hash: str
    vote_start: int = Field(description="the snapshot block: voting opens after it (approval: first in a slate)")
    vote_end: int | None = Field(description="the last block of the vote; null for approval voting (never closes)")
    eta: int | None = Field(description="unix time from which a queued proposal may execute")
    votes: Votes
    counting: str = Field(description="for-against-abstain, or approval (Maker's chief)")
    counting_note: str
    quorum: str | None = Field(description="token base units; null when it could not be read")
    flags: list[str]
    actions: list[Action]


class Delegate(m._Model):
    delegate: str
    votes: str


class Concentration(m._Model):
    protocol: str
    chain_id: int
    delegated_votes: str
    delegates: int
    top5: list[Delegate]
    top5_share: str | None = Field(description="share of all delegated votes held by the five largest delegates")
    nakamoto_coefficient: int | None = Field(description="fewest delegates holding more than half the votes")


class Proposals(m._Model):
    block: m.Block = Field(description="the latest indexed block the proposals are read at")
    proposals: list[Proposal]
    concentration: list[Concentration]


def query_of(protocol: str | None, state: str | None) -> ProposalQuery:
    try:
        return ProposalQuery.parse(protocol=protocol, state=state)
    except InputError as exc:
        raise ApiError(422, exc.field, str(exc)) from None


def _reader(ctx: ApiContext, block: BlockRef) -> Reader | None:
    chain = ctx.quoting.get(block.chain_id)
    return None if chain is None else Batcher(Snapshot(chain.client, block)).reader("governance")


async def proposals(ctx: ApiContext, chain_id: int, query: ProposalQuery) -> Proposals:
    deployment = ctx.deployments.get(chain_id)
    block = (await asyncio.to_thread(ctx.repo.latest_blocks)).get(chain_id)
    if deployment is None or block is None:
        raise ApiError(404, "chain", f"chain {chain_id} is not indexed by this server")
    specs = [GOVERNORS[p] for p in query.protocols if GOVERNORS[p].present(deployment)]
    listed, concentrations = [], []
    for spec in specs:
        events = await asyncio.to_thread(stored_events, ctx.repo, chain_id, spec)
        view = await governance_view(events, block, deployment, spec, _reader(ctx, block))
        listed += [Proposal.model_validate(proposal_json(view, p)) for p in view.proposals if query.keeps(p)]
        concentrations.append(Concentration.model_validate(concentration_json(view)))
    return Proposals(
        block=block_model(block),
        proposals=listed,
        concentration=concentrations,
    )
