"""GET /v1/governance/proposals: the governed protocols' proposals at the latest indexed block.

The proposals come from the events the indexer keeps (each governed protocol's adapter declares its governor's
streams); a server that also follows the chain (`serve`) reads each proposal's quorum at that block, so the
state of an ended vote is known; without a chain connection that state is null with the reason.

    GET /v1/governance/proposals?chain=ethereum&protocol=compound&state=Executed&source=all

`source=snapshot` (or `all`, the default) adds Snapshot's off-chain votes when the server enables that source
(`DEFISCOPE_SNAPSHOT_ENABLED=1`): a failure of the Hub leaves the on-chain list as it is and says why under
`sources`, never a 5xx. Answers with Snapshot's proposals are not cached per block (the source has its own TTL).
"""

from __future__ import annotations

import asyncio
from typing import Annotated, Literal

from pydantic import Field

from defiscope.api import models as m
from defiscope.api.context import ApiContext
from defiscope.api.errors import ApiError
from defiscope.api.views import block_model
from defiscope.chain.block import BlockRef
from defiscope.chain.client import Snapshot
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.errors import InputError
from defiscope.governance.document import listing_json
from defiscope.governance.load import GovernanceView, governance_view, stored_events
from defiscope.governance.query import ProposalQuery
from defiscope.governance.sources import OffchainListing, disabled_status
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
    abstain: str | None = Field(description="null where the governor has no such vote (approval voting, Aave V3)")
    voters: int | None = Field(description="null where votes are counted elsewhere (Aave V3's voting machines)")


class Proposal(m._Model):
    source: Literal["chain"] = Field(description="read from a Governor's events")
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
    counting: str = Field(
        description="for-against-abstain, approval (Maker's chief) or voting-machine-result (Aave Governance V3)"
    )
    counting_note: str
    quorum: str | None = Field(description="token base units; null when it could not be read")
    flags: list[str]
    actions: list[Action]


class Space(m._Model):
    id: str = Field(description="the Snapshot space, e.g. uniswapgovernance.eth")
    name: str | None


class ChoiceScore(m._Model):
    choice: str
    score: str | None = Field(description="voting power for this choice as the Hub reports it (a decimal string)")


class SnapshotProposal(m._Model):
    source: Literal["snapshot"] = Field(description="read from Snapshot's Hub GraphQL API (off-chain vote)")
    id: str
    protocol: str
    chain_id: int | None = Field(description="the network of the space's voting strategies")
    space: Space
    title: str
    description: str
    proposer: str
    state: str | None = Field(
        description="Pending, Active or Closed (Snapshot's states: Closed means voting ended, not an outcome)"
    )
    state_reason: str
    created_time: int = Field(description="unix seconds")
    vote_start_time: int = Field(description="unix seconds")
    vote_end_time: int = Field(description="unix seconds")
    snapshot_block: int | None = Field(description="the block voting power is read at")
    voting_type: str | None = Field(description="single-choice, basic, approval, quadratic, ranked-choice, weighted")
    choices: list[ChoiceScore]
    scores_total: str | None
    scores_final: bool = Field(description="whether the Hub has computed the closed vote's final scores")
    voters: int | None
    quorum: str | None = Field(description="the space's quorum in voting power; null with quorum_reason otherwise")
    quorum_reason: str
    link: str | None
    flags: list[str] = Field(description="always empty: a Snapshot vote has no on-chain actions")
    actions: list[Action] = Field(description="always empty: see actions_reason")
    actions_reason: str


class Source(m._Model):
    source: Literal["chain", "snapshot"]
    status: Literal["ok", "failed", "off"] = Field(description="off: the source is disabled in the settings")
    detail: str = Field(description="what was listed, or why the source failed (host and what to do)")
    fetched_at: int | None = Field(description="unix seconds the off-chain data was fetched")


class Delegate(m._Model):
    delegate: str
    votes: str


class Concentration(m._Model):
    protocol: str
    chain_id: int
    unavailable: str | None = Field(description="why voting power is not followed here (the figures are null)")
    delegated_votes: str | None
    delegates: int
    top5: list[Delegate]
    top5_share: str | None = Field(description="share of all delegated votes held by the five largest delegates")
    nakamoto_coefficient: int | None = Field(description="fewest delegates holding more than half the votes")


class Proposals(m._Model):
    block: m.Block = Field(description="the latest indexed block the proposals are read at")
    proposals: list[Annotated[Proposal | SnapshotProposal, Field(discriminator="source")]] = Field(
        description="on-chain proposals newest first, then Snapshot's newest first"
    )
    sources: list[Source] = Field(description="each source asked (source=), with its status")
    concentration: list[Concentration]


def query_of(protocol: str | None, state: str | None, source: str) -> ProposalQuery:
    try:
        return ProposalQuery.parse(protocol=protocol, state=state, source=source)
    except InputError as exc:
        raise ApiError(422, exc.field, str(exc)) from None


def _reader(ctx: ApiContext, block: BlockRef) -> Reader | None:
    chain = ctx.quoting.get(block.chain_id)
    return None if chain is None else Batcher(Snapshot(chain.client, block)).reader("governance")


def fresh(ctx: ApiContext, query: ProposalQuery) -> bool:
    """Whether the answer must not be cached per block: off-chain proposals change without the chain."""
    return "snapshot" in query.sources and ctx.offchain is not None and ctx.offchain.enabled


async def _chain_views(
    ctx: ApiContext, deployment: Deployment, block: BlockRef, query: ProposalQuery
) -> list[GovernanceView]:
    views = []
    for protocol in query.chain_protocols:
        spec = GOVERNORS[protocol]
        if not spec.present(deployment):
            continue
        events = await asyncio.to_thread(stored_events, ctx.repo, deployment.chain_id, spec)
        views.append(await governance_view(events, block, deployment, spec, _reader(ctx, block)))
    return views


async def proposals(ctx: ApiContext, chain_id: int, query: ProposalQuery) -> Proposals:
    deployment = ctx.deployments.get(chain_id)
    block = (await asyncio.to_thread(ctx.repo.latest_blocks)).get(chain_id)
    if deployment is None or block is None:
        raise ApiError(404, "chain", f"chain {chain_id} is not indexed by this server")
    views = await _chain_views(ctx, deployment, block, query)
    offchain = None
    if "snapshot" in query.sources:
        source = ctx.offchain
        listing = None if source is None else await source.proposals(query.protocols, chain_id=chain_id)
        offchain = listing or OffchainListing((), disabled_status())
    doc = listing_json(views, offchain, query)
    return Proposals.model_validate({"block": block_model(block), **doc})
