"""The six pillars' rules: each turns its inputs into a score 0-100 (100 the safest), the rule that set it, and
the inputs it read. Pure: no I/O. docs/risk.md states every rule and number below.

    pillar = control_pillar(surface.contracts)
    pillar.score, pillar.rule, pillar.evidence    # 10, "control.eoa-no-delay", "weakest: AaveV3Pool (0x…) ..."

A pillar without its inputs (no snapshot stored yet, no governance followed) scores None with the reason, and is
left out of the composite. An admin that could not be classified is scored as the worst case (0), never as safe.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from fractions import Fraction
from typing import TYPE_CHECKING, Final

from defiscope.analytics.risk.exposure import BAD_DEBT_UNKNOWN, EconomicExposure, OracleDependence
from defiscope.analytics.risk.health import GovernanceHealth

if TYPE_CHECKING:  # data types only: this module reads nothing
    from defiscope.analytics.risk.facts import ProtocolFacts
    from defiscope.protocols.control.admin import AdminLink, PendingOwner
    from defiscope.protocols.control.profile import ContractControl, PausePower
    from defiscope.protocols.control.proxy import ProxyInfo

DAY: Final = 86_400
#: The rule of an admin not understood (scored 0; a pause power does not lift it).
UNKNOWN_ADMIN: Final = "control.unknown-admin"
#: Control: points for who is at the end of an admin chain, then for the longest timelock delay on it.
END_POINTS: Final[Mapping[str, int]] = {"eoa": 10, "contract": 20, "timelock": 20, "multisig": 30, "governor": 60}
DELAY_POINTS: Final = ((7 * DAY, 40), (2 * DAY, 30), (DAY, 20), (3600, 10))
#: A Safe with at least this many signers required earns `STRONG_MULTISIG_POINTS` more.
STRONG_THRESHOLD: Final = 3
STRONG_MULTISIG_POINTS: Final = 10
#: Control: points a pause power adds by who holds it (the weakest holder of the protocol's pause powers counts). A
#: pause is protective: a Safe acts fast with several keys; a timelock or governor acts too slowly to stop an
#: exploit; one key (an EOA, an Ownable contract) can stop it but also freeze funds alone; a holder not understood,
#: or a pause power not read, is the worst case.
PAUSE_POINTS: Final[Mapping[str, int]] = {
    "multisig": 10,
    "timelock": 5,
    "governor": 5,
    "eoa": 0,
    "contract": 0,
    "unknown": -20,
}


@dataclass(frozen=True, slots=True)
class PillarScore:
    """One pillar: its score (None: not scored, see evidence), the rule that set it, the evidence for people and
    the inputs the rule read by name (a change row names those that moved)."""

    name: str
    score: int | None
    rule: str
    evidence: str
    inputs: Mapping[str, str] = field(default_factory=dict)


def _clamp(points: int) -> int:
    return max(0, min(100, points))


def _pct(share: Fraction) -> str:
    return f"{float(share) * 100:.1f}%"


# --- control -------------------------------------------------------------------------------------------------


def chain_delay(chain: Sequence[AdminLink]) -> int:
    """The longest timelock delay on an admin chain (0 without a timelock): what any change must wait."""
    return max((link.delay_seconds or 0 for link in chain if link.kind == "timelock"), default=0)


def describe_chain(contract: ContractControl) -> str:
    hops = " -> ".join(f"{link.kind} {link.address}" for link in contract.admin_chain) or "no admin"
    notes = "".join(f"; {note}" for note in chain_notes(contract))
    return f"{contract.proxy.kind} proxy; {hops}; delay {chain_delay(contract.admin_chain)} s{notes}"


def chain_notes(contract: ContractControl) -> list[str]:
    """What the evidence must say beside the hops: nominees not yet accepted, holders whose grant is conditional."""
    notes = [
        f"pending owner {pending.kind} {pending.address} ({pending.via.split('(')[0]}(), not yet accepted)"
        for _, pending in _nominations(contract)
    ]
    notes += [
        f"conditional holder {holder} at {link.address} ({count} parameters; counted: a condition can be met)"
        for link in contract.admin_chain
        for holder, count in link.conditional
    ]
    return notes


def _nominations(contract: ContractControl) -> list[tuple[int, PendingOwner]]:
    """(how many links of the chain stay, the nominee) for each two-step handover started and not accepted: the
    contract's own (its first admin's successor: no link stays) and each link's (the links up to it stay)."""
    found = [(0, contract.pending)] if contract.pending is not None else []
    found += [(i + 1, link.pending) for i, link in enumerate(contract.admin_chain) if link.pending is not None]
    return found


def scored_chains(contract: ContractControl) -> list[tuple[PendingOwner | None, tuple[AdminLink, ...]]]:
    """The chains a contract is scored on, the weakest counting: its admin chain, and for each nominee not yet
    accepted the chain as it would be once accepted (the links it succeeds cut, the nominee's own link the end)."""
    chains: list[tuple[PendingOwner | None, tuple[AdminLink, ...]]] = [(None, contract.admin_chain)]
    for kept, pending in _nominations(contract):
        chains.append((pending, (*contract.admin_chain[:kept], pending.as_link())))
    return chains


def end_kinds(chain: Sequence[AdminLink]) -> tuple[str, ...]:
    """Who can act at the end of a chain: its last link's kind, or at a fork (several controllers listed, the
    chain ends) each controller's kind."""
    end = chain[-1]
    return tuple(end.controller_kinds) if end.controller_kinds else (end.kind,)


def _weakest_end(chain: Sequence[AdminLink]) -> str:
    """The end kind that earns the fewest `END_POINTS` (an EOA pool admin beside a governance executor)."""
    return min(end_kinds(chain), key=lambda kind: END_POINTS[kind])


def _renounced(link: AdminLink) -> bool:
    return bool(link.controllers) and not any(int(c, 16) for c in link.controllers)


def contract_score(contract: ContractControl) -> tuple[int, str, str]:
    """(score, rule, why) for one contract's control: the weakest of its `scored_chains` (a nominee not yet accepted
    may take over at any block, alone: ``control.pending-owner`` when that is weaker than the chain in force)."""
    weakest = chain_score(contract.admin_chain, contract.proxy)
    for pending, chain in scored_chains(contract)[1:]:
        assert pending is not None
        score, rule, why = chain_score(chain, contract.proxy)
        if score < weakest[0]:
            how = f"{pending.via.split('(')[0]}() {pending.address}, not yet accepted, may take over at any block"
            # Not understood stays the rule (a pause power never lifts it); else the nomination is what set it.
            weakest = score, rule if rule == UNKNOWN_ADMIN else "control.pending-owner", f"{how}: then {why}"
    notes = [note for note in chain_notes(contract) if note not in weakest[2]]
    return weakest[0], weakest[1], "; ".join([weakest[2], *notes])


def chain_score(chain: Sequence[AdminLink], proxy: ProxyInfo) -> tuple[int, str, str]:
    """(score, rule, why) for one admin chain of a contract that is ``proxy``."""
    if not chain:
        if proxy.kind != "none":
            return 0, UNKNOWN_ADMIN, f"{proxy.kind} proxy whose admin was not found: {proxy.admin_why}"
        why = "not a proxy, and answers no owner/admin/governor/feeToSetter/authority/ownership_admin/wards"
        return 100, "control.no-admin", why
    unknown = next((link for link in chain if link.kind == "unknown"), None)
    if unknown is not None:
        return 0, UNKNOWN_ADMIN, f"admin {unknown.address} not understood: {unknown.why}"
    end, delay = chain[-1], chain_delay(chain)
    if "unknown" in end.controller_kinds:
        return 0, UNKNOWN_ADMIN, f"a controller of {end.address} is not understood: {end.why}"
    if _renounced(end):
        return 100, "control.renounced", f"control renounced at {end.address}"
    kind = _weakest_end(chain)
    points = END_POINTS[kind]
    if kind == "multisig" and (end.threshold or 0) >= STRONG_THRESHOLD:
        points += STRONG_MULTISIG_POINTS
    points += next((p for least, p in DELAY_POINTS if delay >= least), 0)
    timing = "no-delay" if delay == 0 else "delay"
    at = f"{kind} {end.address}" if not end.controller_kinds else f"{end.address}, whose weakest controller is {kind}"
    return _clamp(points), f"control.{kind}-{timing}", f"ends at {at}, delay {delay} s"


def pause_holder_kind(power: PausePower, index: int) -> str:
    """Who holds a pause power: the kind of its ``index``-th holder (its own admin chain's first link), "unknown"
    when any link of that chain is not understood or the chain was not read."""
    chain = power.holder_chains[index] if index < len(power.holder_chains) else ()
    if not chain or any(link.kind == "unknown" for link in chain):
        return "unknown"
    return chain[0].kind


def pause_points(contracts: Iterable[ContractControl]) -> tuple[int, str]:
    """(points, what) for the pause powers of the protocol's own contracts: the weakest holder's `PAUSE_POINTS`; a
    power that was not read counts as unknown; no pause power: 0. A dss ward's `auth` (cage, rely, file) is the
    whole admin power, not a pause: it is not counted here."""
    held: list[tuple[int, str]] = []
    for contract in contracts:
        for power in contract.pause:
            if not power.power.startswith("pause"):
                continue
            if power.why is not None:
                held.append((PAUSE_POINTS["unknown"], f"{contract.name} {power.power}: not read ({power.why})"))
            for i, holder in enumerate(power.holders):
                kind = pause_holder_kind(power, i)
                held.append((PAUSE_POINTS[kind], f"{contract.name} {power.power}: {kind} {holder}"))
    if not held:
        return 0, "no pause power held"
    points, what = min(held, key=lambda item: item[0])
    return points, f"weakest pause holder: {what}"


def control_pillar(contracts: Iterable[ContractControl]) -> PillarScore:
    """The weakest of the protocol's own contracts (dependencies, such as tokens it holds, are not its control),
    plus the points of who can pause them (`pause_points`)."""
    own = [c for c in contracts if not c.dependency]
    if not own:
        return PillarScore("control", None, "control.no-contracts", "no fixed contract of its own was read")
    scored = [(contract_score(c), c) for c in own]
    (score, rule, why), weakest = min(scored, key=lambda item: item[0][0])
    pause, pause_why = pause_points(own)
    if rule == UNKNOWN_ADMIN:  # an admin not understood scores 0: a pause power does not lift it
        pause = min(pause, 0)
    inputs = {f"{c.name} ({c.proxy.address}).admin_chain": describe_chain(c) for c in own}
    inputs["pause"] = f"{pause_why} ({pause:+d})"
    evidence = f"weakest of {len(own)} contracts: {weakest.name} ({weakest.proxy.address}): {why}; {inputs['pause']}"
    if pause < 0 and rule != UNKNOWN_ADMIN:  # an unknown admin is what scored 0: its rule names the cause
        rule = "control.pause-unknown"
    return PillarScore("control", _clamp(score + pause), rule, evidence, inputs)


# --- code & audits, incidents --------------------------------------------------------------------------------

AUDITOR_POINTS: Final = 15
AUDITOR_POINTS_MAX: Final = 60
RECENT_AUDIT_DAYS: Final = 730
RECENT_AUDIT_POINTS, OLD_AUDIT_POINTS = 20, 5
BOUNTY_POINTS: Final = ((1_000_000, 20), (100_000, 10))


def fact_date(text: str) -> date:
    """A facts file's date; "YYYY-MM" is read as the month's first day."""
    year, month, *day = (int(part) for part in text.split("-"))
    return date(year, month, day[0] if day else 1)


def _day(timestamp: int) -> date:
    return datetime.fromtimestamp(timestamp, UTC).date()


def code_pillar(facts: ProtocolFacts, now: int) -> PillarScore:
    """Distinct auditors, how recent the newest audit is (at block time ``now``), and the bug bounty."""
    auditors = sorted({a.auditor for a in facts.audits})
    points = min(AUDITOR_POINTS_MAX, AUDITOR_POINTS * len(auditors))
    newest = max((fact_date(a.date) for a in facts.audits), default=None)
    if newest is not None:
        recent = (_day(now) - newest).days <= RECENT_AUDIT_DAYS
        points += RECENT_AUDIT_POINTS if recent else OLD_AUDIT_POINTS
    payout = facts.bounty.max_payout_usd if facts.bounty else 0
    points += next((p for least, p in BOUNTY_POINTS if payout >= least), 0)
    rule = "code.no-audits" if not auditors else "code.audits-and-bounty"
    bounty = f"bounty up to ${payout:,}" if payout else "no bounty recorded"
    newest_text = newest.isoformat() if newest else "none"
    evidence = f"{len(auditors)} auditors ({', '.join(auditors) or 'none recorded'}), newest {newest_text}; {bounty}"
    inputs = {"auditors": ", ".join(auditors), "newest_audit": newest_text, "bounty_usd": str(payout)}
    return PillarScore("code & audits", _clamp(points), rule, evidence, inputs)


#: Incident penalty by loss in USD (the first bracket it reaches); a loss not established is the worst bracket.
LOSS_PENALTIES: Final = ((10_000_000, 40), (1_000_000, 25), (1, 10), (0, 5))
UNKNOWN_LOSS_PENALTY: Final = 40
OLD_INCIDENT_DAYS: Final = 3 * 365
INSURANCE_POINTS: Final = 10


def incident_penalty(loss_usd: int | None) -> int:
    if loss_usd is None:
        return UNKNOWN_LOSS_PENALTY
    return next(p for least, p in LOSS_PENALTIES if loss_usd >= least)


def incidents_pillar(facts: ProtocolFacts, now: int) -> PillarScore:
    """100 less each incident's penalty (halved when older than 3 years), plus cover available from an insurer."""
    penalty = 0
    for incident in facts.incidents:
        cost = incident_penalty(incident.loss_usd)
        old = (_day(now) - fact_date(incident.date)).days > OLD_INCIDENT_DAYS
        penalty += cost // 2 if old else cost
    covered = any(c.capacity_usd for c in facts.insurance)
    points = 100 - penalty + (INSURANCE_POINTS if covered else 0)
    rule = "incidents.none-recorded" if not facts.incidents else "incidents.losses"
    cover = "cover available" if covered else "no cover with a known capacity"
    evidence = f"incidents recorded: {len(facts.incidents)}, penalty {penalty}; {cover}"
    losses = ", ".join(f"{i.date}:{i.loss_usd if i.loss_usd is not None else 'unknown'}" for i in facts.incidents)
    return PillarScore("incidents", _clamp(points), rule, evidence, {"incidents": losses, "insured": str(covered)})


# --- oracle dependence ---------------------------------------------------------------------------------------

DEX_PENALTY: Final = 40  # times the share of value priced from DEX pools (spot or TWAP, manipulable)
SINGLE_SOURCE_SHARE: Final = Fraction(1, 2)
SINGLE_SOURCE_PENALTY: Final = 20
ADAPTER_ORACLE_PENALTY: Final = 20
UNPRICED_PENALTY: Final = 10


def oracle_pillar(oracles: OracleDependence | None) -> PillarScore:
    """From the feeds that valued the protocol and the oracles its own contracts read (docs/risk.md)."""
    if oracles is None:
        return PillarScore("oracle dependence", None, "oracle.no-snapshot", "no snapshot of it is stored yet")
    dex = oracles.share_of("dex") or Fraction(0)
    single = oracles.single_source_share
    terms = {
        "oracle.dex-priced": round(DEX_PENALTY * dex),
        "oracle.single-source": SINGLE_SOURCE_PENALTY if single is not None and single > SINGLE_SOURCE_SHARE else 0,
        "oracle.protocol-reads-oracle": ADAPTER_ORACLE_PENALTY if oracles.adapter_oracles else 0,
        "oracle.unpriced": UNPRICED_PENALTY if oracles.unpriced else 0,
    }
    worst = max(terms, key=lambda rule: terms[rule])
    rule = worst if terms[worst] else "oracle.diverse"
    feeds = ", ".join(f"{source} ${usd:,.0f}" for source, usd in oracles.feeds) or "none"
    single_text = _pct(single) if single is not None else "n/a"
    evidence = (
        f"{len(oracles.feeds)} feeds ({', '.join(oracles.kinds) or 'none'}): {feeds}; largest single feed "
        f"{single_text}; the adapter itself read {len(oracles.adapter_oracles)} price oracles; "
        f"{oracles.unpriced} unpriced"
    )
    inputs = {
        "feeds": ", ".join(source for source, _ in oracles.feeds),
        "dex_share": _pct(dex),
        "single_source_share": single_text,
        "adapter_oracles": ", ".join(oracles.adapter_oracles),
        "unpriced": str(oracles.unpriced),
    }
    return PillarScore("oracle dependence", _clamp(100 - sum(terms.values())), rule, evidence, inputs)


# --- governance ----------------------------------------------------------------------------------------------

NAKAMOTO_POINTS: Final = ((10, 40), (5, 30), (3, 20), (2, 10))
TOP5_POINTS: Final = ((Fraction(1, 2), 20), (Fraction(4, 5), 10))
QUORUM_POINTS: Final = 20
TIMELOCK_POINTS: Final = ((2 * DAY, 20), (DAY, 10))
CONTROL_SHARE: Final = Fraction(1, 2)
CONTROL_SHARE_PENALTY: Final = 10


def governance_pillar(health: GovernanceHealth) -> PillarScore:
    """Concentration, quorum reach, timelock delay; unknown concentration or reach earns nothing (worst case)."""
    delay = health.timelock_delay or 0
    if health.governance is None:
        evidence = f"{health.why_none}; longest timelock delay {delay} s"
        return PillarScore("governance", None, "governance.none-followed", evidence, {"timelock_delay": str(delay)})
    nakamoto = next((p for least, p in NAKAMOTO_POINTS if (health.nakamoto or 0) >= least), 0)
    top5 = health.top5_share
    top = 0 if top5 is None else next((p for most, p in TOP5_POINTS if top5 <= most), 0)
    quorum = QUORUM_POINTS * health.reached // health.decided if health.decided else 0
    timelock = next((p for least, p in TIMELOCK_POINTS if delay >= least), 0)
    share = health.control_share
    churn = CONTROL_SHARE_PENALTY if share is not None and share > CONTROL_SHARE else 0
    parts = {
        "governance.concentration": nakamoto + top,
        "governance.quorum-reach": quorum,
        "governance.timelock": timelock,
    }
    weakest = min(parts, key=lambda rule: parts[rule] / _max_points(rule))
    concentration = (
        f"Nakamoto {health.nakamoto}, top-5 {_pct(top5)}"
        if top5 is not None and health.nakamoto is not None
        else f"voting power unknown ({health.concentration_why})"
    )
    control = f"{health.control_changes} of {health.proposals} recent proposals upgrade or change an admin"
    evidence = (
        f"{health.governance}: {concentration}; quorum reached by {health.reached} of {health.decided} decided "
        f"proposals; timelock delay {delay} s; {control}"
    )
    inputs = {
        "nakamoto": str(health.nakamoto),
        "top5_share": _pct(top5) if top5 is not None else "unknown",
        "quorum_reach": f"{health.reached}/{health.decided}",
        "timelock_delay": str(delay),
        "control_changes": f"{health.control_changes}/{health.proposals}",
    }
    rule = "governance.control-churn" if churn else weakest
    return PillarScore("governance", _clamp(sum(parts.values()) - churn), rule, evidence, inputs)


def _max_points(rule: str) -> int:
    return {"governance.concentration": 60, "governance.quorum-reach": 20, "governance.timelock": 20}[rule]


# --- economic ------------------------------------------------------------------------------------------------

LARGEST_ASSET_POINTS: Final = ((Fraction(1, 3), 50), (Fraction(1, 2), 35), (Fraction(4, 5), 20), (Fraction(1), 5))
UTILISATION_POINTS: Final = ((Fraction(4, 5), 50), (Fraction(9, 10), 30), (Fraction(95, 100), 15), (Fraction(1), 0))


#: Economic: points the bad debt takes, by its share of what is supplied (TVL + borrowed); bad debt that is not
#: priced takes the most (its size is not known).
BAD_DEBT_PENALTIES: Final = ((Fraction(1, 100), 40), (Fraction(1, 1000), 20), (Fraction(0), 10))
UNPRICED_BAD_DEBT_PENALTY: Final = 40


def bad_debt_penalty(economy: EconomicExposure) -> tuple[int, str]:
    """(points taken, evidence) for the bad debt: none when it was not read (said so, never taken as 0)."""
    figure = economy.bad_debt
    if figure is None:
        return 0, BAD_DEBT_UNKNOWN
    unread = f"; not read: {'; '.join(figure.unread)}" if figure.unread else ""
    if not figure.read:
        return 0, f"bad debt: not read, not scored{unread}"
    if figure.unpriced:
        return UNPRICED_BAD_DEBT_PENALTY, f"bad debt not priced: {', '.join(figure.unpriced)}{unread}"
    share = economy.bad_debt_share or Fraction(0)
    penalty = next((p for least, p in BAD_DEBT_PENALTIES if share > least), 0)
    return penalty, f"bad debt ${figure.usd:,.2f} ({_pct(share)} of supplied){unread}"


def economic_pillar(economy: EconomicExposure | None) -> PillarScore:
    """Concentration of TVL in one asset, (lending) utilisation, and bad debt where the protocol exposes it."""
    if economy is None or economy.largest is None:
        why = "no snapshot of it is stored yet" if economy is None else "nothing of its TVL is valued"
        return PillarScore("economic", None, "economic.no-figures", why)
    symbol, share = economy.largest
    largest = next(p for most, p in LARGEST_ASSET_POINTS if share <= most)
    utilisation = economy.utilisation
    used = 50 if utilisation is None else next(p for most, p in UTILISATION_POINTS if utilisation <= most)
    debt, debt_text = bad_debt_penalty(economy)
    rule = "economic.asset-concentration" if 50 - largest >= 50 - used else "economic.utilisation"
    if debt > max(50 - largest, 50 - used):
        rule = "economic.bad-debt"
    lending = "nothing borrowed" if utilisation is None else f"utilisation {_pct(utilisation)}"
    evidence = f"largest asset {symbol} {_pct(share)} of TVL; {lending}; {debt_text}"
    if economy.unpriced:
        evidence += f"; {economy.unpriced} TVL tokens unpriced (not in the shares)"
    inputs = {
        "largest_asset": f"{symbol} {_pct(share)}",
        "utilisation": "n/a" if utilisation is None else _pct(utilisation),
    }
    if economy.bad_debt is not None:
        inputs["bad_debt"] = debt_text
    return PillarScore("economic", _clamp(largest + used - debt), rule, evidence, inputs)
