"""The transparent score: six pillars weighted into a composite, hard overrides, and what changed between two scores.

    score = compose([control, code, incidents, oracles, governance, economic], contracts)
    score.composite, [o.rule for o in score.overrides]      # 30, ["override.eoa-upgrade-no-delay"]
    changes_between(before, score)                           # [Change("control", "control/AaveV3Pool...", ...)]

The composite is the weighted mean of the pillars that have a score (`WEIGHTS`, in percent), rounded half to even:

    C = round( sum_p w_p s_p / sum_p w_p )      (p over the scored pillars)

then capped by every override that holds (`CAPS`): an EOA that can upgrade a contract without any timelock caps it
at 30; an admin that could not be classified at 40 (unknown is scored as the worst case, never as safe). Pure: no
I/O. Any change of a weight, cap or rule is a new `FORMULA_VERSION` (docs/risk.md).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from defiscope.analytics.risk.rules import (
    UNKNOWN_ADMIN,
    PillarScore,
    chain_delay,
    chain_score,
    end_kinds,
    scored_chains,
)

if TYPE_CHECKING:
    from defiscope.protocols.control.admin import AdminLink
    from defiscope.protocols.control.profile import ContractControl

#: risk-2: pause powers scored (control), bad debt (economic); risk-3: the contracts found at run time (control),
#: and a fork's weakest controller ends its chain; risk-4: a nominee not yet accepted scored as if it had accepted
#: when weaker, an Aragon grant with parameters counted as a holder, a named contract whose address could not be
#: read scored unknown.
FORMULA_VERSION: Final = "risk-4"
WEIGHTS: Final[Mapping[str, int]] = MappingProxyType(
    {"control": 30, "code & audits": 15, "incidents": 15, "oracle dependence": 10, "governance": 15, "economic": 15}
)
PILLARS: Final = tuple(WEIGHTS)
CAPS: Final[Mapping[str, int]] = MappingProxyType({"override.eoa-upgrade-no-delay": 30, "override.unknown-admin": 40})
COMPOSITE: Final = "composite"


@dataclass(frozen=True, slots=True)
class Override:
    rule: str
    cap: int
    why: str


@dataclass(frozen=True, slots=True)
class RiskScore:
    formula_version: str
    composite: int | None  # None when no pillar could be scored
    pillars: tuple[PillarScore, ...]
    overrides: tuple[Override, ...]

    def pillar(self, name: str) -> PillarScore:
        return next(p for p in self.pillars if p.name == name)

    @property
    def composite_rule(self) -> str:
        """What set the composite: the binding override, else the weighted mean."""
        binding = [o for o in self.overrides if self.composite == o.cap]
        return binding[0].rule if binding else "composite.weighted-mean"


def overrides_of(contracts: Iterable[ContractControl]) -> tuple[Override, ...]:
    """The hard overrides that hold for the protocol's own contracts."""
    found: dict[str, Override] = {}
    for c in contracts:
        if c.dependency:
            continue
        upgradeable = c.proxy.kind != "none"
        for pending, chain in scored_chains(c):  # a nominee not yet accepted may take over at any block
            nominee = "" if pending is None else f" once its nominee {pending.address} accepts"
            if chain_score(chain, c.proxy)[1] == UNKNOWN_ADMIN:  # the pillar's own test of "not understood"
                why = f"{c.name} ({c.proxy.address}): its admin could not be classified{nominee}"
                found.setdefault("override.unknown-admin", Override("override.unknown-admin", 0, why))
            if upgradeable and chain and "eoa" in end_kinds(chain) and chain_delay(chain) == 0:
                eoa = chain[-1].address if chain[-1].kind == "eoa" else _eoa_controller(chain[-1])
                why = f"{c.name} ({c.proxy.address}) can be upgraded by the EOA {eoa} without a timelock{nominee}"
                found.setdefault("override.eoa-upgrade-no-delay", Override("override.eoa-upgrade-no-delay", 0, why))
    return tuple(Override(o.rule, CAPS[o.rule], o.why) for o in found.values())


def _eoa_controller(fork: AdminLink) -> str:
    return next(c for c, kind in zip(fork.controllers, fork.controller_kinds, strict=True) if kind == "eoa")


def compose(pillars: Sequence[PillarScore], contracts: Iterable[ContractControl]) -> RiskScore:
    """The composite of ``pillars`` (one of each `PILLARS`), capped by the overrides ``contracts`` trigger."""
    names = [p.name for p in pillars]
    if sorted(names) != sorted(PILLARS):
        raise ValueError(f"a score needs one of each pillar {PILLARS}, not {names}")
    scored = [p for p in pillars if p.score is not None]
    overrides = overrides_of(contracts)
    composite = None
    if scored:
        mean = Fraction(sum(WEIGHTS[p.name] * (p.score or 0) for p in scored), sum(WEIGHTS[p.name] for p in scored))
        composite = min([round(mean), *(o.cap for o in overrides)])
    ordered = tuple(sorted(pillars, key=lambda p: PILLARS.index(p.name)))
    return RiskScore(FORMULA_VERSION, composite, ordered, overrides)


@dataclass(frozen=True, slots=True)
class Change:
    """One score that moved: ``subject`` is a pillar or "composite"; ``input`` names what changed (before ->
    after), ``rule`` the rule that set the new score."""

    subject: str
    input: str
    rule: str
    before: int | None
    after: int | None


def _moved_inputs(before: PillarScore, after: PillarScore) -> str:
    keys = sorted(set(before.inputs) | set(after.inputs))
    moved = [
        f"{after.name}/{k}: {before.inputs.get(k, '-')} -> {after.inputs.get(k, '-')}"
        for k in keys
        if before.inputs.get(k) != after.inputs.get(k)
    ]
    return "; ".join(moved) or f"{after.name}: the rule changed ({before.rule} -> {after.rule})"


def changes_between(before: RiskScore | None, after: RiskScore) -> list[Change]:
    """The pillar and composite scores that differ, each with the inputs that moved and the rule now in force.

    A first score is one change from nothing; a new formula version is named as the input that changed."""
    if before is None:
        return [Change(COMPOSITE, "first score", after.composite_rule, None, after.composite)]
    if before.formula_version != after.formula_version:
        what = f"formula_version: {before.formula_version} -> {after.formula_version}"
        return [Change(COMPOSITE, what, after.composite_rule, before.composite, after.composite)]
    changes = []
    for new in after.pillars:
        old = before.pillar(new.name)
        if old.score != new.score:
            changes.append(Change(new.name, _moved_inputs(old, new), new.rule, old.score, new.score))
    if before.composite != after.composite:
        moved = [c.subject for c in changes]
        caps = sorted({o.rule for o in before.overrides} ^ {o.rule for o in after.overrides})
        what = "; ".join([*(f"pillar {m}" for m in moved), *(f"{rule} toggled" for rule in caps)]) or "rounding"
        changes.append(Change(COMPOSITE, what, after.composite_rule, before.composite, after.composite))
    return changes


def score_json(score: RiskScore) -> dict[str, object]:
    """Everything `changes_between` compares, as the store keeps it (`score_from_json` reads it back)."""
    return {
        "formula_version": score.formula_version,
        "composite": score.composite,
        "pillars": [
            {"name": p.name, "score": p.score, "rule": p.rule, "evidence": p.evidence, "inputs": dict(p.inputs)}
            for p in score.pillars
        ],
        "overrides": [{"rule": o.rule, "cap": o.cap, "why": o.why} for o in score.overrides],
    }


def score_from_json(data: Mapping[str, Any]) -> RiskScore:
    pillars = tuple(
        PillarScore(p["name"], p["score"], p["rule"], p["evidence"], dict(p["inputs"])) for p in data["pillars"]
    )
    overrides = tuple(Override(o["rule"], int(o["cap"]), o["why"]) for o in data["overrides"])
    return RiskScore(str(data["formula_version"]), data["composite"], pillars, overrides)
