"""A protocol's risk profile at one block: its control surface read live, its curated facts, its governance health,
what its figures depend on, and the score over all of them.

    profile = await risk_profile(reader, deployment, "aave-v3", snapshot, repo)
    profile.score.composite, profile.to_json(changes)["pillars"][0]["name"]     # 30, "control"

The reads: `protocols.control.control_surface` (the control reads, as `risk control` makes them), the governance
view of the protocol's governor from the events the store keeps (`governance.load`), and ``snapshot``: the
protocol's `ProtocolSnapshot` at the same block (the indexer's, or one the caller computed), whose prices and
provenance calls tell the oracle dependence and economic shape. Scoring is `rules` and `score` (pure).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, TypeVar

from defiscope.analytics.risk.exposure import economic_exposure, oracle_dependence
from defiscope.analytics.risk.facts import ProtocolFacts, load_facts
from defiscope.analytics.risk.health import GovernanceHealth, governance_health, no_governance
from defiscope.analytics.risk.rules import (
    chain_delay,
    code_pillar,
    control_pillar,
    economic_pillar,
    governance_pillar,
    incidents_pillar,
    oracle_pillar,
)
from defiscope.analytics.risk.score import WEIGHTS, Change, RiskScore, compose
from defiscope.chain.block import BlockRef
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.governance.load import GovernanceView, governance_view, rules_for, stored_events
from defiscope.protocols.bad_debt import BadDebt, bad_debts, exposes_bad_debt
from defiscope.protocols.control.discovered import UNREAD, ControlGroup, DiscoveredKind
from defiscope.protocols.control.profile import ContractControl, ControlSurface, Found, fixed_contracts, surfaces_in
from defiscope.protocols.control.rounds import ControlLogs, Rounds
from defiscope.protocols.governors import GOVERNORS, GovernedProtocol
from defiscope.store import Repository
from defiscope.tvl.model import ProtocolSnapshot

#: The governance that governs each protocol (a `GOVERNORS` key): one governor may govern several deployments.
GOVERNED_BY: Final[Mapping[str, str]] = {
    "aave-v3": "aave",
    "compound-v2": "compound",
    "compound-v3": "compound",
    "uniswap-v2": "uniswap",
    "uniswap-v3": "uniswap",
    "makerdao": "maker",
}
#: The proxy kinds the profile names (issue 18's contract); older patterns (Compound's Unitroller, a Safe's proxy)
#: are not EIP-1967 proxies and read "none" there, with their admin chain still listed and `proxy_pattern` naming them.
PROFILE_PROXY_KINDS: Final = frozenset({"eip1967", "transparent", "uups", "beacon"})

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RiskProfile:
    slug: str
    block: BlockRef
    surface: ControlSurface
    facts: ProtocolFacts
    governance: GovernanceHealth
    score: RiskScore
    bad_debt: tuple[BadDebt, ...] | None = None  # None: no contract of the protocol exposes it

    def to_json(self, changes: Sequence[tuple[int, Change]] = ()) -> dict[str, Any]:
        """Issue 18's shape; ``changes`` are (block, change) pairs, oldest first."""
        facts = self.facts.to_json()
        return {
            "slug": self.slug,
            "block": self.block.number,
            "formula_version": self.score.formula_version,
            "composite": self.score.composite,
            "pillars": [
                {"name": p.name, "score": p.score, "weight": WEIGHTS[p.name], "evidence": p.evidence}
                for p in self.score.pillars
            ],
            "control": [
                *(control_json(c) for c in self.surface.contracts),
                *(group_json(kind, group) for kind in self.surface.discovered for group in kind.groups),
            ],
            "discovered": [discovered_json(kind) for kind in self.surface.discovered],
            "facts": {key: facts[key] for key in ("audits", "incidents", "insurance", "bounty")},
            "changes": [change_json(block, change) for block, change in changes],
            "bad_debt": None if self.bad_debt is None else [bad_debt_json(debt) for debt in self.bad_debt],
        }


def control_json(contract: ContractControl) -> dict[str, Any]:
    """Issue 18's entry, plus: ``proxy_pattern``; ``pending_owner`` (a nominee not yet accepted, of the contract's
    first admin, or per link of its admin's); ``conditional`` per link (Aragon grants with parameters). ``address``
    is null for a named contract whose address could not be read (its one link says why)."""
    kind = contract.proxy.kind
    return {
        "contract": contract.name,
        "address": None if contract.proxy.pattern == UNREAD else contract.proxy.address,
        "proxy": kind if kind in PROFILE_PROXY_KINDS else "none",
        # The precise pattern, so an older delegating proxy that `proxy` must call "none" (a Unitroller, a
        # CErc20Delegator, an Aragon app) still reads as upgradeable, with its implementation.
        "proxy_pattern": contract.proxy.pattern,
        "implementation": contract.proxy.implementation,
        "admin_chain": [
            {
                "address": link.address,
                "type": link.kind,
                "threshold": link.threshold,
                "delay_seconds": link.delay_seconds,
                "pending_owner": None if link.pending is None else link.pending.to_json(),
                "conditional": [{"address": a, "params": n} for a, n in link.conditional],
            }
            for link in contract.admin_chain
        ],
        "pending_owner": None if contract.pending is None else contract.pending.to_json(),
    }


def group_json(kind: DiscoveredKind, group: ControlGroup) -> dict[str, Any]:
    """A group of contracts found at run time as one control entry (its first member's address), with the kind,
    its rule, how many share this control and which, and whether they are an exception among their kind."""
    found = {
        "kind": kind.name,
        "rule": kind.rule,
        "count": len(group.addresses),
        "of": kind.count,
        "addresses": list(group.addresses),
        "exception": group.exception,
    }
    return {**control_json(group.control), "discovered": found}


def discovered_json(kind: DiscoveredKind) -> dict[str, Any]:
    """A kind found at run time: its rule and why (inspected, immutable by construction, a dependency, not listed)."""
    return {"kind": kind.name, "rule": kind.rule, "why": kind.why, "count": kind.count, "groups": len(kind.groups)}


def bad_debt_json(debt: BadDebt) -> dict[str, Any]:
    """Raw token units as a string (JSON numbers lose precision past 2**53)."""
    amount = None if debt.amount is None else str(debt.amount)
    return {"market": debt.market, "token": debt.token, "amount": amount, "why": debt.why}


def change_json(block: int, change: Change) -> dict[str, Any]:
    return {"block": block, "input": change.input, "rule": change.rule, "before": change.before, "after": change.after}


def governed_by(deployment: Deployment, slug: str) -> GovernedProtocol | None:
    spec = GOVERNORS.get(GOVERNED_BY.get(slug, ""))
    return spec if spec is not None and spec.present(deployment) else None


async def _bad_debts(rounds: Rounds, deployment: Deployment, slug: str) -> tuple[BadDebt, ...] | None:
    """The protocol's bad debt at the block where one of its contracts exposes it (None: none does)."""
    uses, _ = fixed_contracts(deployment, slug)
    return await bad_debts(rounds, deployment, uses) if exposes_bad_debt(uses) else None


def score_profile(
    surface: ControlSurface,
    facts: ProtocolFacts,
    health: GovernanceHealth,
    snapshot: ProtocolSnapshot | None,
    now: int,
    debts: Sequence[BadDebt] | None = None,
) -> RiskScore:
    """The score from what was read (pure)."""
    pillars = [
        control_pillar(surface.scored),
        code_pillar(facts, now),
        incidents_pillar(facts, now),
        oracle_pillar(None if snapshot is None else oracle_dependence(snapshot)),
        governance_pillar(health),
        economic_pillar(None if snapshot is None else economic_exposure(snapshot, debts)),
    ]
    return compose(pillars, surface.scored)


async def risk_profiles(
    reader: Reader,
    deployment: Deployment,
    slugs: Sequence[str],
    snapshots: Mapping[str, ProtocolSnapshot],
    repo: Repository,
    *,
    logs: ControlLogs | None = None,
    found: Mapping[str, Found] | None = None,
) -> dict[str, RiskProfile | Exception]:
    """The profiles of ``slugs`` at the reader's block, read together: every protocol's control surface and every
    governor's quorums go out in the same rounds (one JSON-RPC batch each, `protocols.control.rounds`). ``logs``
    keeps the control events between calls (the hook's, one per chain). ``snapshots``: each protocol's at that
    block (a missing one: not available). ``found``: what discovery listed at the block, by slug
    (`protocols.control.profile.found_contracts` of the engine's adapters); its contracts are inspected in the same
    rounds. A protocol whose reads failed has its error in its place."""
    slugs = list(dict.fromkeys(slugs))
    facts = {slug: load_facts(slug) for slug in slugs}
    governors = {slug: GOVERNED_BY[slug] for slug in slugs if governed_by(deployment, slug) is not None}
    specs = {key: GOVERNORS[key] for key in dict.fromkeys(governors.values())}
    events = {key: await asyncio.to_thread(stored_events, repo, deployment.chain_id, s) for key, s in specs.items()}
    rounds = Rounds(reader, logs=logs if logs is not None else ControlLogs(deployment.first_block))
    surfaces_and_views, debts = await rounds.run(
        rounds.both(
            rounds.both(
                rounds.gather(*(_settled(surfaces_in(rounds, deployment, [slug], found=found)) for slug in slugs)),
                rounds.gather(
                    *(
                        _settled(governance_view(events[k], rounds.block, deployment, s, rounds))
                        for k, s in specs.items()
                    )
                ),
            ),
            rounds.gather(*(_settled(_bad_debts(rounds, deployment, slug)) for slug in slugs)),
        )
    )
    surfaces, views = surfaces_and_views
    view_of = dict(zip(specs, views, strict=True))
    profiles: dict[str, RiskProfile | Exception] = {}
    for slug, surface, debt in zip(slugs, surfaces, debts, strict=True):
        key = governors.get(slug)
        view = None if key is None else view_of[key]
        if isinstance(surface, Exception):
            profiles[slug] = surface
            continue
        if isinstance(view, Exception):
            profiles[slug] = view
            continue
        if isinstance(debt, Exception):
            profiles[slug] = debt
            continue
        health = _health(deployment, slug, surface[slug], view)
        now = reader.block.timestamp
        score = score_profile(surface[slug], facts[slug], health, snapshots.get(slug), now, debt)
        profiles[slug] = RiskProfile(slug, reader.block, surface[slug], facts[slug], health, score, debt)
    return profiles


def _health(
    deployment: Deployment, slug: str, surface: ControlSurface, view: GovernanceView | None
) -> GovernanceHealth:
    own = [c.admin_chain for c in surface.scored if not c.dependency]
    delay = max((chain_delay(chain) for chain in own), default=0) or None
    spec = governed_by(deployment, slug)
    if view is None or spec is None:
        return no_governance(f"no on-chain governor of {slug} is followed on chain {deployment.chain_id}", delay)
    return governance_health(view, rules_for(deployment, spec), delay)


async def risk_profile(
    reader: Reader,
    deployment: Deployment,
    slug: str,
    snapshot: ProtocolSnapshot | None,
    repo: Repository,
    *,
    found: Found | None = None,
) -> RiskProfile:
    """One protocol's profile at the reader's block (`risk_profiles` of it alone); its failure raises."""
    snapshots = {} if snapshot is None else {slug: snapshot}
    listed = None if found is None else {slug: found}
    profile = (await risk_profiles(reader, deployment, [slug], snapshots, repo, found=listed))[slug]
    if isinstance(profile, Exception):
        raise profile
    return profile


async def _settled(work: Awaitable[T]) -> T | Exception:
    """One protocol's reads fail alone: the others read in the same rounds keep their answers."""
    try:
        return await work
    except Exception as exc:
        return exc
