"""An admin chain followed to its end: each hop classified by what the account answers at the pinned block.

    chain = await admin_chain(reader, "0xTimelock…")
    [(link.kind, link.address) for link in chain]   # [("timelock", …), ("governor", …)]

Each account is probed once, its code, every classifying call and its control events in one round:

- no code: ``eoa`` (the end);
- ``getThreshold()`` and ``getOwners()``: ``multisig`` (a Safe), the end — its owners are listed;
- ``getMinDelay()``: ``timelock`` (OpenZeppelin TimelockController); the next hop is who holds PROPOSER_ROLE
  (from RoleGranted/RoleRevoked events, confirmed with hasRole);
- ``delay()`` and ``admin()``: ``timelock`` (Compound's Timelock); the next hop is its admin;
- ``delay()`` and ``authority()``: ``timelock`` (Maker's DSPause: a plan waits ``delay`` before exec); the next hop
  is its authority (the Chief), and its owner too when it has one;
- ``GOV()`` and ``hat()``: ``governor`` (Maker's DSChief: approval voting with locked MKR), the end;
- ``token()`` (OpenZeppelin) or ``comp()`` (GovernorBravo) and ``votingPeriod()``: ``governor``, the end —
  power is the token's holders'; so is an Aragon Voting (Lido's DAO Voting): ``token()`` and ``voteTime()``;
- Aave's PoolConfigurator (``contract`` acting for the ACLManager's POOL_ADMIN_ROLE holders), Governance V3's
  PayloadsController (``timelock``) and GovernanceCore (``governor``): see `control.aave`, asked before owner();
- ``ownership_admin()``: ``contract`` (a Curve owner proxy, as the StableSwap Owner Proxy that is the old stable
  factory's admin); the next hop is its ownership admin, who makes every admin call of what the proxy owns and
  replaces all three admins at once (commit_set_admins, apply_set_admins: no delay). Its parameter and emergency
  admins, if it answers them, are the link's `Deputy`s: powers over the pools' parameters and emergencies, named
  beside the contract's own powers (`profile.deputy_powers`), not a fork, and not followed;
- ``owner()``: ``contract`` (Ownable); the next hop is its owner;
- a nominee not yet accepted (``pendingOwner()`` of an Ownable2Step, ``pendingAdmin()`` of Compound's Timelock) is
  asked with the probes and shown on the link (`PendingOwner`), classified while the next hop is (no round of its
  own): it may accept at any block, alone;
- ``wards(0)`` answered (and none of the above): ``contract`` administered by its dss wards (Maker's Vat, Jug, a
  join, End: `rely`/`deny`/`file` under `auth`), confirmed from its rely events (`roles.ward_holders`). A ward that
  is itself a dss module is followed through its own wards (cycles and past `MAX_WARD_DEPTH` cut): the link's
  controllers are the accounts its wards lead to (one: the chain goes on, the pause proxy's; several: a fork). No
  ward found: ``unknown`` (a ward set in a constructor logs nothing), never "no admin";
- otherwise ``unknown``, with why. Never "safe": an account not understood is reported as not understood.

A hop with several controllers (two proposers, several Aave pool admins) lists them, each with its kind, and ends
the chain there: the chain does not pick one (the score takes the weakest). A cycle (a timelock that is its own
admin) ends the chain too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Final, Literal

from eth_utils import to_checksum_address

from defiscope.chain.multicall import Call, CallResult
from defiscope.protocols.control.roles import WARDS_CAVEAT, role_holders, ward_holders
from defiscope.protocols.control.rounds import Rounds, in_rounds
from defiscope.protocols.control.surface import (
    ADMIN,
    AUTHORITY,
    CHIEF_GOV,
    CHIEF_HAT,
    COMP,
    DELAY,
    EMERGENCY_ADMIN,
    GET_MIN_DELAY,
    GET_OWNERS,
    GET_THRESHOLD,
    MIN_ACCEPT_QUORUM_PCT,
    OWNER,
    OWNERSHIP_ADMIN,
    PARAMETER_ADMIN,
    PENDING_ADMIN,
    PENDING_OWNER,
    PROPOSER_ROLE,
    SUPPORT_REQUIRED_PCT,
    TOKEN,
    VOTE_TIME,
    VOTING_PERIOD,
    WARDS,
)

AdminKind = Literal["eoa", "multisig", "timelock", "governor", "contract", "unknown"]
#: Hops followed before giving up (mainnet chains are 2-4 long).
MAX_HOPS: Final = 8
PROBES: Final = (
    GET_THRESHOLD,
    GET_OWNERS,
    GET_MIN_DELAY,
    PROPOSER_ROLE,
    DELAY,
    ADMIN,
    TOKEN,
    COMP,
    VOTING_PERIOD,
    VOTE_TIME,
    SUPPORT_REQUIRED_PCT,
    MIN_ACCEPT_QUORUM_PCT,
    OWNER,
    PENDING_OWNER,
    PENDING_ADMIN,
    AUTHORITY,
    CHIEF_GOV,
    CHIEF_HAT,
    OWNERSHIP_ADMIN,
    PARAMETER_ADMIN,
    EMERGENCY_ADMIN,
)

#: A dss contract answers `wards(a)` for any account (0 for the zero address); anything else reverts.
ZERO_ADDRESS: Final = "0x" + "00" * 20
#: The detail of a link administered by dss wards.
DSS_WARDS: Final = "dss wards"
#: dss modules followed through their own wards, below the contract a chain reached (mainnet: Vat <- Jug <- pause
#: proxy is one level).
MAX_WARD_DEPTH: Final = 3

#: An Aragon Voting's support and quorum thresholds, fractions of 10**18.
PERCENTAGES: Final = (SUPPORT_REQUIRED_PCT, MIN_ACCEPT_QUORUM_PCT)

#: A Curve owner proxy's admins besides its ownership admin, and what each may do to what the proxy owns
#: (curvefi/curve-factory `contracts/OwnerProxy.vy`, the StableSwap Owner Proxy's version; the ownership admin may
#: replace either at any block).
DEPUTY_POWERS: Final = (
    (PARAMETER_ADMIN, "pool parameters: ramp A, commit new fees of the pools it owns"),
    (EMERGENCY_ADMIN, "emergency: stop an A ramp, kill gauges, set the factory's manager"),
)
#: The detail of a Curve owner proxy's link.
OWNER_PROXY: Final = "Curve owner proxy"


@dataclass(frozen=True, slots=True)
class Deputy:
    """An admin of a Curve owner proxy besides its ownership admin: ``power`` over what the proxy owns, named by
    ``via`` (its getter on the proxy)."""

    power: str
    via: str
    address: str


@dataclass(frozen=True, slots=True)
class PendingOwner:
    """An account nominated to take over and not yet accepted: Ownable2Step's ``pendingOwner()``, Compound's
    ``pendingAdmin()``. Nothing but its own ``acceptOwnership()``/``_acceptAdmin()`` stands between it and control,
    at any block. ``link`` is what it is (classified; None until then)."""

    via: str  # the call that named it
    address: str
    link: AdminLink | None = None

    @property
    def kind(self) -> AdminKind:
        return "unknown" if self.link is None else self.link.kind

    def as_link(self) -> AdminLink:
        """Its link; not classified, ``unknown`` (never taken as safe)."""
        return self.link or AdminLink(self.address, "unknown", why="a nominee not classified")

    def to_json(self) -> dict[str, object]:
        link = self.link
        return {
            "address": self.address,
            "type": self.kind,
            "threshold": None if link is None else link.threshold,
            "delay_seconds": None if link is None else link.delay_seconds,
            "via": self.via.split(")")[0] + ")",
        }


@dataclass(frozen=True, slots=True)
class AdminLink:
    """One account in an admin chain. ``controllers`` are who control it next (the next hop when only one);
    ``why`` explains an ``unknown`` or an end that is not the natural one."""

    address: str
    kind: AdminKind
    threshold: int | None = None
    delay_seconds: int | None = None
    signers: tuple[str, ...] = ()
    controllers: tuple[str, ...] = ()
    detail: str = ""
    why: str | None = None
    #: At a fork (several controllers, where the chain ends), what each controller is, in their order: the
    #: weakest of them is who can act (an EOA pool admin beside a governance executor).
    controller_kinds: tuple[AdminKind, ...] = ()
    #: Who was nominated to succeed its controller and has not accepted yet (`PendingOwner`).
    pending: PendingOwner | None = None
    #: Holders of the link's power whose grant carries conditions (an Aragon ACL's `grantPermissionP`), each with
    #: how many parameters: counted as controllers all the same (a condition can be met).
    conditional: tuple[tuple[str, int], ...] = ()
    #: A Curve owner proxy's parameter and emergency admins (its `controllers` is its ownership admin alone): shown
    #: in ``detail`` here, and as powers of the contract whose chain this is (`profile.inspect_contract`).
    deputies: tuple[Deputy, ...] = ()

    def to_json(self) -> dict[str, object]:
        return {
            "address": self.address,
            "type": self.kind,
            "threshold": self.threshold,
            "delay_seconds": self.delay_seconds,
            "signers": list(self.signers),
            "controllers": list(self.controllers),
            "controller_types": list(self.controller_kinds),
            "detail": self.detail,
            "why": self.why,
            "pending_owner": None if self.pending is None else self.pending.to_json(),
            "conditional": [{"address": a, "params": n} for a, n in self.conditional],
        }


@dataclass(slots=True)
class _Probe:
    results: dict[str, CallResult] = field(default_factory=dict)

    def ok(self, *signatures: str) -> bool:
        return all(self.results[s].success for s in signatures)

    def integer(self, signature: str) -> int:
        return int(self.results[signature].value[0])

    def address(self, signature: str) -> str:
        return to_checksum_address(self.results[signature].value[0])

    def addresses(self, signature: str) -> tuple[str, ...]:
        return tuple(to_checksum_address(a) for a in self.results[signature].value[0])

    def word(self, signature: str) -> bytes:
        return bytes(self.results[signature].value[0])

    def pending(self, signature: str) -> PendingOwner | None:
        """The nominee ``signature`` answers (pendingOwner(), pendingAdmin()); None: none, or not two-step."""
        if not self.ok(signature) or not int(self.address(signature), 16):
            return None
        return PendingOwner(signature, self.address(signature))


@in_rounds
async def classify(rounds: Rounds, address: str) -> AdminLink:
    """What ``address`` is as an admin, and who controls it next. Its code, every probe and its control events are
    asked in one round; a timelock's proposer candidates are classified ahead while they are confirmed."""
    from defiscope.protocols.control.aave import aave_link  # it builds AdminLinks: no import cycle
    from defiscope.protocols.control.aragon import agent_link

    address = to_checksum_address(address)
    probes = [Call.of(address, s) for s in PROBES]
    probe_ahead(rounds, address)
    if not await rounds.code(address):
        return AdminLink(address, "eoa")
    probe = _Probe(dict(zip(PROBES, await rounds.call_many(probes), strict=True)))
    aave = await aave_link(rounds, address, ask_ahead=lambda c: classify(rounds, c))
    if aave is not None:
        return aave
    agent = await agent_link(rounds, address, ahead=lambda c: probe_ahead(rounds, c))
    if agent is not None:
        return agent
    proposers: list[str] = []
    if probe.ok(GET_MIN_DELAY, PROPOSER_ROLE) and not probe.ok(GET_THRESHOLD, GET_OWNERS):
        proposers = await role_holders(
            rounds, address, probe.word(PROPOSER_ROLE), ask_ahead=lambda c: classify(rounds, c)
        )
    link = link_from(address, probe, proposers)
    if link.kind == "unknown" and (await rounds.call_many([wards_probe(address)]))[0].success:
        return await dss_ward_link(rounds, address)
    return link


def wards_probe(address: str) -> Call:
    """`wards(0)`: answered by a dss contract (with 0), reverted by anything else."""
    return Call.of(address, WARDS, ZERO_ADDRESS)


def probe_ahead(rounds: Rounds, address: str) -> None:
    """Ask ahead what `classify` asks of ``address`` first (its code, the probes, Aave's and the Aragon Agent's, dss
    wards, its control events), without following it: a fork's controllers are classified with the answers in, and
    a cycle of forwarders or of dss modules relying each other cannot recurse. The events too: a chain's last hop
    (a Voting) is then classified with nothing left to ask, not in a round of its own for them."""
    from defiscope.protocols.control.aave import aave_calls
    from defiscope.protocols.control.aragon import agent_calls

    probes = [Call.of(address, s) for s in PROBES]
    calls = [*probes, *aave_calls(address), *agent_calls(address), wards_probe(address)]
    rounds.prefetch(codes=[address], calls=calls, emitters=[address])


async def dss_ward_link(rounds: Rounds, address: str) -> AdminLink:
    """A contract its dss wards administer (``wards(0)`` answered): a ``contract`` link whose controllers are its
    wards confirmed from its rely events (each probed ahead, with its own events: a module's wards are read next);
    none found, ``unknown`` (`WARDS_CAVEAT`)."""

    async def ahead(candidate: str) -> None:
        probe_ahead(rounds, candidate)

    wards = await ward_holders(rounds, address, ask_ahead=ahead)
    if not wards:
        why = f"answers wards() but no ward was found from its rely events ({WARDS_CAVEAT})"
        return AdminLink(address, "unknown", detail=DSS_WARDS, why=why)
    detail = f"{DSS_WARDS}: {', '.join(wards)} (from rely events; {WARDS_CAVEAT})"
    return AdminLink(address, "contract", controllers=tuple(wards), detail=detail)


def _is_ward_link(link: AdminLink) -> bool:
    return link.kind == "contract" and link.detail.startswith(DSS_WARDS)


async def _ward_ends(rounds: Rounds, link: AdminLink, seen: frozenset[str], depth: int) -> list[tuple[str, str]]:
    """(account, why-unknown or "") for what ``link``'s wards lead to: a ward that is a dss module replaced by what
    its own wards lead to; a ward already on the way (modules relying each other) skipped, its power counted where
    it was met; past `MAX_WARD_DEPTH`, the module itself, not understood."""
    wards = [ward for ward in link.controllers if ward not in seen]
    links = await rounds.gather(*(classify(rounds, ward) for ward in wards))
    ends: list[list[tuple[str, str]]] = await rounds.gather(
        *(_ward_end(rounds, ward_link, seen | {ward_link.address}, depth) for ward_link in links)
    )
    return [end for found in ends for end in found]


async def _ward_end(rounds: Rounds, link: AdminLink, seen: frozenset[str], depth: int) -> list[tuple[str, str]]:
    if not _is_ward_link(link):
        return [(link.address, "")]
    if depth >= MAX_WARD_DEPTH:
        return [(link.address, f"a dss module not followed past {MAX_WARD_DEPTH} levels of wards")]
    return await _ward_ends(rounds, link, seen, depth + 1)


async def _through_wards(rounds: Rounds, link: AdminLink, seen: frozenset[str]) -> AdminLink:
    """``link`` (administered by dss wards) with its controllers the accounts its wards lead to: one, the chain goes
    on through it; several, a fork whose weakest end is scored; only modules relying each other, ``unknown``."""
    found = await _ward_ends(rounds, link, seen | {link.address}, 0)
    ends = list(dict.fromkeys(address for address, _ in found))
    unread = [why for _, why in found if why]
    modules = [ward for ward in link.controllers if ward not in ends]
    detail = link.detail + (f"; modules followed through their own wards: {', '.join(modules)}" if modules else "")
    if not ends:
        why = "its wards are only dss modules relying each other: who controls them is not known"
        return replace(link, kind="unknown", controllers=(), detail=detail, why=why)
    if len(ends) == 1:
        if unread:
            return replace(link, kind="unknown", controllers=(), detail=detail, why=unread[0])
        return replace(link, controllers=tuple(ends), detail=detail)
    kinds = await rounds.gather(*(classify(rounds, end) for end in ends))
    by_end = {address: why for address, why in found if why}
    controller_kinds: tuple[AdminKind, ...] = tuple(
        "unknown" if end in by_end else kind.kind for end, kind in zip(ends, kinds, strict=True)
    )
    why = "; ".join(dict.fromkeys(unread)) or f"{len(ends)} controllers: the chain is not followed further"
    return replace(link, controllers=tuple(ends), controller_kinds=controller_kinds, detail=detail, why=why)


def link_from(address: str, probe: _Probe, proposers: Sequence[str]) -> AdminLink:
    """The link a contract's probe answers make (``proposers``: a TimelockController's, confirmed)."""
    if probe.ok(GET_THRESHOLD, GET_OWNERS):
        owners, threshold = probe.addresses(GET_OWNERS), probe.integer(GET_THRESHOLD)
        return AdminLink(
            address, "multisig", threshold=threshold, signers=owners, detail=f"{threshold}-of-{len(owners)} Safe"
        )
    if probe.ok(GET_MIN_DELAY, PROPOSER_ROLE):
        delay = probe.integer(GET_MIN_DELAY)
        return AdminLink(
            address, "timelock", delay_seconds=delay, controllers=tuple(proposers), detail="TimelockController"
        )
    if probe.ok(DELAY, ADMIN):
        delay, admin = probe.integer(DELAY), probe.address(ADMIN)
        return AdminLink(
            address,
            "timelock",
            delay_seconds=delay,
            controllers=(admin,),
            detail="Compound Timelock",
            pending=probe.pending(PENDING_ADMIN),
        )
    if probe.ok(DELAY, AUTHORITY):
        return _ds_pause(address, probe)
    if probe.ok(CHIEF_GOV, CHIEF_HAT):
        detail = f"DSChief: approval voting with locked {probe.address(CHIEF_GOV)}; hat {probe.address(CHIEF_HAT)}"
        return AdminLink(address, "governor", detail=detail)
    for token_call, kind in ((TOKEN, "Governor"), (COMP, "GovernorBravo")):
        if probe.ok(token_call, VOTING_PERIOD):
            token, period = probe.address(token_call), probe.integer(VOTING_PERIOD)
            detail = f"{kind}: votes of {token}, voting period {period} (its clock's units)"
            return AdminLink(address, "governor", detail=detail)
    if probe.ok(TOKEN, VOTE_TIME, SUPPORT_REQUIRED_PCT, MIN_ACCEPT_QUORUM_PCT):
        return AdminLink(address, "governor", detail=aragon_voting_detail(probe))
    if probe.ok(OWNERSHIP_ADMIN):
        return owner_proxy_link(address, probe)
    if probe.ok(OWNER):
        owner, pending = probe.address(OWNER), probe.pending(PENDING_OWNER)
        return AdminLink(address, "contract", controllers=(owner,), detail="Ownable", pending=pending)
    why = (
        "a contract answering none of getThreshold/getOwners, getMinDelay, delay/admin, delay/authority, "
        "GOV/hat, token or comp/votingPeriod, token/voteTime, ownership_admin, owner"
    )
    return AdminLink(address, "unknown", why=why)


def owner_proxy_link(address: str, probe: _Probe) -> AdminLink:
    """A Curve owner proxy: run by its ownership admin (the next hop), with its other admins as `Deputy`s."""
    ownership = probe.address(OWNERSHIP_ADMIN)
    deputies = tuple(Deputy(power, via, probe.address(via)) for via, power in DEPUTY_POWERS if probe.ok(via))
    named = "; ".join(f"{d.via.split('(')[0]} {d.address} ({d.power})" for d in deputies)
    detail = (
        f"{OWNER_PROXY}: ownership_admin {ownership} (every admin call of what it owns; replaces all its admins "
        "at once)" + (f"; {named}" if named else "")
    )
    return AdminLink(address, "contract", controllers=(ownership,), detail=detail, deputies=deputies)


def _ds_pause(address: str, probe: _Probe) -> AdminLink:
    """Maker's DSPause: its authority (the Chief's hat) and its owner, if any, may plot a plan that runs ``delay``
    seconds later through the pause proxy."""
    delay, authority = probe.integer(DELAY), probe.address(AUTHORITY)
    owner = probe.address(OWNER) if probe.ok(OWNER) else None
    controllers = tuple(a for a in (authority, owner) if a is not None and int(a, 16))
    detail = f"DSPause: plans run {delay} s after they are plotted by its authority {authority} or owner"
    return AdminLink(address, "timelock", delay_seconds=delay, controllers=controllers, detail=detail)


def aragon_voting_detail(probe: _Probe) -> str:
    """An Aragon Voting's settings: thresholds are fractions of 10**18 (aragonOS's PCT_BASE)."""
    support, quorum = (Decimal(probe.integer(s)).scaleb(-16).normalize() for s in PERCENTAGES)
    return (
        f"Aragon Voting: votes of {probe.address(TOKEN)}, vote time {probe.integer(VOTE_TIME)} s, "
        f"support > {support:f}% of votes, yes > {quorum:f}% of supply"
    )


@in_rounds
async def admin_chain(rounds: Rounds, first: str) -> list[AdminLink]:
    """The chain of control from ``first`` to its end (EOA, multisig, governor, unknown, or a fork/cycle)."""
    return await _followed(rounds, [], to_checksum_address(first))


@in_rounds
async def chain_after(rounds: Rounds, link: AdminLink) -> list[AdminLink]:
    """The chain of a contract whose own link is known without probing it (one run by an ACL's roles): that link,
    then its controller's chain, or the fork of its controllers."""
    return await _followed(rounds, [_closed(link)], _next(link))


@in_rounds
async def ward_chain(rounds: Rounds, contract: str) -> list[AdminLink]:
    """The chain of control of a contract its dss wards administer (it answers ``wards(0)``): as an owner's, from
    what its wards lead to when that is one account (the pause proxy's chain); else the contract's own link, a fork
    (each end classified: the score takes the weakest) or ``unknown`` (no ward found)."""
    contract = to_checksum_address(contract)
    link = await dss_ward_link(rounds, contract)
    if _is_ward_link(link):
        link = await _through_wards(rounds, link, frozenset())
    if link.kind == "contract" and len(link.controllers) == 1:
        return await _followed(rounds, [], link.controllers[0])
    return [link]


async def _followed(rounds: Rounds, chain: list[AdminLink], current: str | None) -> list[AdminLink]:
    seen = {link.address for link in chain}
    while current is not None:
        if current in seen:
            chain[-1] = _ended(chain[-1], f"controlled by {current}, already in the chain (a cycle)")
            break
        if len(chain) == MAX_HOPS:
            chain.append(AdminLink(current, "unknown", why=f"not followed past {MAX_HOPS} hops"))
            break
        seen.add(current)
        link = await classify(rounds, current)
        if _is_ward_link(link):
            link = await _through_wards(rounds, link, frozenset(seen))
        if link.pending is not None:  # classified beside the next hop: no round of its own
            rounds.spawn(classify(rounds, link.pending.address))
        chain.append(_closed(link))
        current = _next(link)
    if len(chain[-1].controllers) > 1 and not chain[-1].controller_kinds:
        chain[-1] = await _with_controller_kinds(rounds, chain[-1])
    if any(link.pending is not None for link in chain):
        chain = await rounds.gather(*(with_pending_classified(rounds, link) for link in chain))
    return chain


async def with_pending_classified(rounds: Rounds, link: AdminLink) -> AdminLink:
    """``link`` with its nominee (if any) classified: what it would be once it accepts."""
    pending = link.pending
    if pending is None or pending.link is not None:
        return link
    return replace(link, pending=replace(pending, link=await classify(rounds, pending.address)))


def _closed(link: AdminLink) -> AdminLink:
    """``link`` with why the chain stops there, when it stops short of a natural end (renounced, a fork)."""
    if _next(link) is not None:
        return link
    if link.controllers and not any(int(c, 16) for c in link.controllers):
        return _ended(link, "controlled by the zero address: renounced")
    if link.kind in ("timelock", "contract") and len(link.controllers) != 1 and not link.why:
        what = "no controller found" if not link.controllers else f"{len(link.controllers)} controllers"
        return _ended(link, f"{what}: the chain is not followed further")
    return link


async def _with_controller_kinds(rounds: Rounds, fork: AdminLink) -> AdminLink:
    """A fork's controllers classified (each asked ahead when its role was read: answers already in)."""
    links = await rounds.gather(*(classify(rounds, c) for c in fork.controllers))
    return replace(fork, controller_kinds=tuple(link.kind for link in links))


def _next(link: AdminLink) -> str | None:
    if link.kind in ("timelock", "contract") and len(link.controllers) == 1:
        zero = "0x" + "00" * 20
        return None if link.controllers[0].lower() == zero else link.controllers[0]
    return None


def _ended(link: AdminLink, why: str) -> AdminLink:
    return replace(link, why=why)
