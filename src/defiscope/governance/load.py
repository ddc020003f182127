"""The governance view of a chain: proposals from the stored events, quorums read on chain, concentration.

    view = await governance_view(events, snapshot.block, deployment, spec, Batcher(snapshot).reader("governance"))
    view.proposals[0].state, view.concentration.nakamoto

The events come from the store, where the indexer (or `collect_governance`, for a one-off command) keeps the
streams of the governed protocol's adapter. The chain is read for what events do not carry: the quorum of
each proposal (`quorum(snapshot)` on OpenZeppelin's Governor, `quorumVotes()` on Bravo; on Aave Governance V2
the strategy's voting supply at the start block and the proposal's executor's MINIMUM_QUORUM and
VOTE_DIFFERENTIAL), at the reader's block.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import cache, partial
from pathlib import Path
from typing import Any, Final

from defiscope.chain.block import BlockRef
from defiscope.chain.multicall import Call
from defiscope.chain.reader import CallReader
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import project_root
from defiscope.governance.aave_v3_load import v3_proposals_at
from defiscope.governance.actions import AbiLibrary, Action, decode_action
from defiscope.governance.concentration import Concentration, concentration
from defiscope.governance.maker_load import spells_at
from defiscope.governance.proposals import Proposal, build_proposals, created_actions, voting_power
from defiscope.governance.state import (
    AAVE_V2,
    BRAVO,
    ONE_HUNDRED_WITH_PRECISION,
    OPENZEPPELIN,
    GovernorRules,
    VoteDifferential,
)
from defiscope.protocols.aave_governance_v3_events import V3_KINDS
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governor_events import (
    DELEGATE_VOTES_KIND,
    PROPOSAL_CANCELED_KIND,
    PROPOSAL_CREATED_KIND,
    PROPOSAL_EXECUTED_KIND,
    PROPOSAL_QUEUED_KIND,
    VOTE_CAST_KIND,
)
from defiscope.protocols.governors import (
    AAVE_GOVERNANCE_V2,
    AAVE_GOVERNANCE_V3,
    CHIEF,
    MINIMUM_QUORUM,
    QUORUM_AT,
    QUORUM_VOTES,
    TOTAL_VOTING_SUPPLY_AT,
    VOTE_DIFFERENTIAL,
    GovernedProtocol,
    power_unfollowed,
)
from defiscope.protocols.maker_governance_events import MAKER_KINDS
from defiscope.store import Repository

KINDS: Final = (
    PROPOSAL_CREATED_KIND,
    VOTE_CAST_KIND,
    PROPOSAL_QUEUED_KIND,
    PROPOSAL_EXECUTED_KIND,
    PROPOSAL_CANCELED_KIND,
    DELEGATE_VOTES_KIND,
)


@dataclass(frozen=True, slots=True)
class GovernanceView:
    protocol: str
    chain_id: int
    governor: str
    timelock: str | None
    proposals: tuple[Proposal, ...]
    concentration: Concentration
    concentration_unavailable: str | None = None  # why voting power is not followed, when it is not


def rules_for(deployment: Deployment, spec: GovernedProtocol | None = None) -> GovernorRules:
    """Aave's governance is Aave Governance V2 on both; other mainnet governors are GovernorBravo, the devnet's
    OpenZeppelin's Governor."""
    if spec is not None and spec.shape == AAVE_GOVERNANCE_V2:
        return AAVE_V2
    return BRAVO if deployment.network == "mainnet" else OPENZEPPELIN


def _abi_files(root: Path) -> Iterator[Path]:
    yield from sorted((root / "contracts" / "artifacts").glob("*.json"))
    yield from sorted((root / "tests" / "fixtures" / "abi").rglob("*.json"))


def proposal_flags(created: StoredEvent) -> tuple[str, ...]:
    """The flags of a proposal's actions, decoded from its ProposalCreated event (no registry names needed), or
    from a Maker spell's plotted plan (its `proposal_queued` event carries the action and calldata)."""
    decoder = partial(decode_action, abi_library(), {})
    p = created.payload
    if "action" in p:
        actions: tuple[Action, ...] = (decoder(str(p["action"]), 0, "", str(p["calldata"])),)
    elif "targets" not in p:
        return ()  # an Aave V3 proposal names payloads, not actions: its event carries none
    else:
        actions = created_actions(p, decoder)
    return tuple(dict.fromkeys(a.flag for a in actions))


def payload_flags(payloads: Iterable[StoredEvent]) -> tuple[str, ...]:
    """The flags of Aave V3 payloads' actions, decoded from their PayloadCreated events."""
    decoder = partial(decode_action, abi_library(), {})
    actions = [
        decoder(str(a["target"]), int(a["value"]), str(a["signature"]), str(a["calldata"]))
        for event in payloads
        for a in event.payload["actions"]
    ]
    return tuple(dict.fromkeys(a.flag for a in actions))


@cache
def abi_library() -> AbiLibrary:
    """Every ABI we hold: our contracts' artifacts and the real interfaces under tests/fixtures/abi."""
    abis: list[Sequence[Mapping[str, Any]]] = []
    for path in _abi_files(project_root()):
        data = json.loads(path.read_text())
        abi = data.get("abi") if isinstance(data, dict) else data
        if isinstance(abi, list):
            abis.append(abi)
    return AbiLibrary.of(abis)


def stored_events(repo: Repository, chain_id: int, spec: GovernedProtocol) -> list[StoredEvent]:
    kinds = {CHIEF: MAKER_KINDS, AAVE_GOVERNANCE_V3: V3_KINDS}.get(spec.shape, KINDS)
    return [event for kind in kinds for event in repo.events(chain_id, spec.keeper, kind)]


async def read_quorums(
    reader: CallReader, governor: str, events: Sequence[StoredEvent], rules: GovernorRules
) -> dict[str, int]:
    """Each proposal's quorum at the reader's block; proposals whose snapshot is not past yet have none."""
    created = [e for e in events if e.kind == PROPOSAL_CREATED_KIND and e.block_number <= reader.block.number]
    if not created:
        return {}
    if rules == BRAVO:  # one quorum for every proposal
        quorum = (await reader.values([Call.of(governor, QUORUM_VOTES)]))[0]
        return {str(e.payload["id"]): int(quorum) for e in created}
    # quorum(timepoint) refuses a timepoint that is not in the past (ERC5805FutureLookup).
    past = [e for e in created if int(e.payload["vote_start"]) < reader.block.number]
    results = await reader.call_many([Call.of(governor, QUORUM_AT, int(e.payload["vote_start"])) for e in past])
    return {str(e.payload["id"]): int(r.value[0]) for e, r in zip(past, results, strict=True) if r.success}


async def read_aave_thresholds(
    reader: CallReader, events: Sequence[StoredEvent]
) -> tuple[dict[str, int], dict[str, VoteDifferential]]:
    """Each proposal's quorum (ProposalValidator.getMinimumVotingPowerNeeded of the strategy's voting supply at
    its start block) and vote-differential facts, at the reader's block; none before the vote has started."""
    created = [
        e for e in events if e.kind == PROPOSAL_CREATED_KIND and int(e.payload["vote_start"]) < reader.block.number
    ]
    if not created:
        return {}, {}
    executors = sorted({str(e.payload["executor"]) for e in created})
    calls = [Call.of(str(e.payload["strategy"]), TOTAL_VOTING_SUPPLY_AT, int(e.payload["vote_start"])) for e in created]
    calls += [Call.of(x, fn) for x in executors for fn in (MINIMUM_QUORUM, VOTE_DIFFERENTIAL)]
    results = await reader.call_many(calls)
    supplies, thresholds = results[: len(created)], results[len(created) :]
    by_executor = {x: (thresholds[2 * i], thresholds[2 * i + 1]) for i, x in enumerate(executors)}
    quorums: dict[str, int] = {}
    differentials: dict[str, VoteDifferential] = {}
    for event, supply in zip(created, supplies, strict=True):
        quorum, differential = by_executor[str(event.payload["executor"])]
        if not (supply.success and quorum.success and differential.success):
            continue  # left unknown: the state says its quorum could not be read
        pid, total = str(event.payload["id"]), int(supply.value[0])
        quorums[pid] = total * int(quorum.value[0]) // ONE_HUNDRED_WITH_PRECISION
        differentials[pid] = VoteDifferential(total, int(differential.value[0]))
    return quorums, differentials


async def governance_view(
    events: Sequence[StoredEvent],
    block: BlockRef,
    deployment: Deployment,
    spec: GovernedProtocol,
    reader: CallReader | None,
) -> GovernanceView:
    """The view at `block`; without a `reader` (no chain connection) quorums are not read, and the state of an
    ended proposal that was not queued says it is unknown rather than guess it."""
    governor = deployment.contracts[spec.governor]
    names = {address.lower(): name for name, address in deployment.contracts.items()}
    names |= {t.address.lower(): t.symbol for t in deployment.tokens.values()}
    decoder = partial(decode_action, abi_library(), names)
    timelock = deployment.contracts.get(spec.timelock)
    if spec.shape == CHIEF:
        spells = await spells_at(events, block, reader, decoder)
        power = concentration(spells.deposits)
        return GovernanceView(spec.protocol, deployment.chain_id, governor, timelock, spells.proposals, power)
    if spec.shape == AAVE_GOVERNANCE_V3:
        controller = deployment.contracts.get(spec.timelock)
        v3 = await v3_proposals_at(
            events, block, reader, decoder, core=governor, controller=controller, chain_id=deployment.chain_id
        )
        unfollowed = power_unfollowed(deployment, spec)
        return GovernanceView(
            spec.protocol, deployment.chain_id, governor, controller, v3, concentration({}), unfollowed
        )
    rules = rules_for(deployment, spec)
    differentials: dict[str, VoteDifferential] = {}
    if reader is None:
        quorums: dict[str, int] = {}
    elif rules.vote_differential:
        quorums, differentials = await read_aave_thresholds(reader, events)
    else:
        quorums = await read_quorums(reader, governor, events, rules)
    proposals = build_proposals(
        events,
        block=block,
        timestamp=block.timestamp,
        quorums=quorums,
        rules=rules,
        decode=decoder,
        differentials=differentials,
    )
    return GovernanceView(
        spec.protocol,
        deployment.chain_id,
        governor,
        timelock,
        tuple(proposals),
        concentration(voting_power(events, block.number)),
        power_unfollowed(deployment, spec),
    )
