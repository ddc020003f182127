"""The control surface of a protocol on one chain: every contract its adapters read, as a proxy and as an
admin chain, with the pause powers the contract has.

    found = found_contracts(engine.adapters, block)      # what discovery listed: slug -> kind -> addresses
    surface = await control_surface(reader, deployment, "compound-v2", found=found["compound-v2"])
    [c.to_json() for c in surface.contracts]   # {"contract", "address", "proxy", "implementation", "admin_chain", ...}
    [k.to_json() for k in surface.discovered]  # each cToken inspected, grouped by the admin chain they share

The fixed contracts (registry addresses) are inspected one by one. Contracts found at run time are taken from what
the adapters' discovery listed at the block (`Adapter.found_contracts`) and handled by the rule of their kind
(`discovered`): inspected in the same rounds and grouped, or immutable by construction (factory pools, a bounded
sample checked), or dependencies. ERC-20s and feeds the protocol reads but does not run (declared with a
``common/`` interface) are marked as dependencies.
"""

from __future__ import annotations

from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from eth_utils import to_checksum_address

from defiscope.chain.errors import CallReverted
from defiscope.chain.logs import log_hex, log_int
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.errors import InputError
from defiscope.protocols.base import Adapter
from defiscope.protocols.control import surface
from defiscope.protocols.control.admin import (
    AdminLink,
    PendingOwner,
    admin_chain,
    chain_after,
    classify,
    ward_chain,
    wards_probe,
)
from defiscope.protocols.control.aragon import ARAGON_PATTERNS, aragon_chain, set_app_history
from defiscope.protocols.control.discovered import (
    NAMED_BY,
    UNREAD,
    DiscoveredKind,
    KindPlan,
    NamedBy,
    grouped,
    history_source,
    namespace,
    plan_kind,
    plan_named,
)
from defiscope.protocols.control.eigenlayer import PAUSABLE_INTERFACES, pauser_roles
from defiscope.protocols.control.lido_pause import steth_pause_powers
from defiscope.protocols.control.proxy import (
    ADMIN_SLOT,
    IMPLEMENTATION_SLOT,
    ProxyInfo,
    eip1967_proxy,
    read_proxy,
    word_address,
)
from defiscope.protocols.control.role_run import ROLE_RUN, RoleRun, roles_link
from defiscope.protocols.control.roles import WARDS_CAVEAT, role_holders, ward_holders
from defiscope.protocols.control.rounds import ControlLogs, Rounds, in_rounds
from defiscope.protocols.registry import adapters_for
from defiscope.protocols.surface import ContractUse, event_topic

#: topic0 of EIP-1967's Upgraded(address): a proxy's implementation changed.
UPGRADED_TOPIC: Final = "0x" + event_topic(surface.UPGRADED).hex()
#: topic0 of the Unitroller's NewImplementation(address,address): the Comptroller's implementation changed (not
#: indexed: the new one is the second word of the data).
NEW_IMPLEMENTATION_TOPIC: Final = "0x" + event_topic(surface.NEW_IMPLEMENTATION).hex()


class UnknownProtocolHere(InputError):
    """A slug no adapter of this chain's deployment has."""


@dataclass(frozen=True, slots=True)
class PausePower:
    """Who can pause (or freeze) the contract: a guardian call or an AccessControl role; ``why`` when unread."""

    power: str
    holders: tuple[str, ...]
    source: str
    why: str | None = None
    #: Each holder's own admin chain (a Safe: its threshold and signers), in the order of ``holders``.
    holder_chains: tuple[tuple[AdminLink, ...], ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "power": self.power,
            "holders": list(self.holders),
            "holder_chains": [[link.to_json() for link in chain] for chain in self.holder_chains],
            "source": self.source,
            "why": self.why,
        }


@dataclass(frozen=True, slots=True)
class Upgrade:
    block: int
    implementation: str
    transaction: str


@dataclass(frozen=True, slots=True)
class ContractControl:
    name: str
    interface: str
    dependency: bool
    proxy: ProxyInfo
    admin_chain: tuple[AdminLink, ...]
    pause: tuple[PausePower, ...]
    upgrades: tuple[Upgrade, ...]
    #: Who was nominated to succeed its first admin and has not accepted (``pendingOwner()``, ``pendingAdmin()``).
    pending: PendingOwner | None = None

    def to_json(self) -> dict[str, Any]:
        p = self.proxy
        return {
            "contract": self.name,
            "address": None if p.pattern == UNREAD else p.address,
            "interface": self.interface,
            "dependency": self.dependency,
            "proxy": p.kind,
            "pattern": p.pattern,
            "implementation": p.implementation,
            "beacon": p.beacon,
            "admin_chain": [link.to_json() for link in self.admin_chain],
            "admin_why": p.admin_why if not self.admin_chain else None,
            "pending_owner": None if self.pending is None else self.pending.to_json(),
            "pause": [power.to_json() for power in self.pause],
            "upgrades": [
                {"block": u.block, "implementation": u.implementation, "transaction": u.transaction}
                for u in self.upgrades
            ],
        }


@dataclass(frozen=True, slots=True)
class ControlSurface:
    slug: str
    chain_id: int
    block: int
    contracts: tuple[ContractControl, ...]
    discovered: tuple[DiscoveredKind, ...]

    @property
    def scored(self) -> tuple[ContractControl, ...]:
        """What the score reads: the fixed contracts, and one contract for each group of those found at run time
        (its members share its control, so scoring one scores them all; an exception is a group of its own)."""
        return (*self.contracts, *(group.control for kind in self.discovered for group in kind.groups))

    def to_json(self) -> dict[str, Any]:
        return {
            "slug": self.slug,
            "chain_id": self.chain_id,
            "block": self.block,
            "control": [c.to_json() for c in self.contracts],
            "discovered": [kind.to_json() for kind in self.discovered],
        }


#: What discovery listed for one protocol at a block: kind (a `ContractUse` name) -> addresses.
Found = Mapping[str, Sequence[str]]


async def _guardian(rounds: Rounds, address: str, signature: str) -> tuple[PausePower, ...]:
    (answer,) = await rounds.call_many([Call.of(address, signature)])
    name = signature.split("(")[0]
    if not answer.success:
        return (PausePower("pause", (), name, why=f"{name}() failed: {answer.error}"),)
    holder = to_checksum_address(answer.value[0])
    return (PausePower("pause", (holder,) if int(holder, 16) else (), name),)


async def _aave_emergency_admins(rounds: Rounds, pool: str) -> tuple[PausePower, ...]:
    """Aave V3: EMERGENCY_ADMIN_ROLE holders of the market's ACLManager may pause the pool and its reserves."""
    (provider,) = await rounds.values([Call.of(pool, surface.ADDRESSES_PROVIDER)])
    (acl,) = await rounds.values([Call.of(provider, surface.GET_ACL_MANAGER)])
    rounds.prefetch(emitters=[acl])  # its role events, with the role's id
    (role,) = await rounds.values([Call.of(acl, surface.EMERGENCY_ADMIN_ROLE)])
    holders = await role_holders(rounds, acl, bytes(role), ask_ahead=lambda c: admin_chain(rounds, c))
    return (PausePower("pause pool and reserves", tuple(holders), f"ACLManager {acl} EMERGENCY_ADMIN_ROLE"),)


async def _dss_wards(rounds: Rounds, contract: str) -> tuple[PausePower, ...]:
    """dss: every ward may cage (shut down), rely and file; wards(a) cannot be enumerated (`roles.ward_holders`)."""
    holders = await ward_holders(rounds, contract, ask_ahead=lambda c: admin_chain(rounds, c))
    return (PausePower("auth: cage, rely, file", tuple(holders), f"wards from rely events; {WARDS_CAVEAT}"),)


async def _eigenlayer_pausers(rounds: Rounds, contract: str) -> tuple[PausePower, ...]:
    """EigenLayer: the PauserRegistry's pausers may set any pause flag of the contract (deposits, delegation,
    withdrawals, pods); its unpauser alone clears them and names the pausers (`control.eigenlayer`). The unpauser's
    power is listed, not scored as a pause (it is not one: `rules.pause_points` counts powers named "pause...")."""
    roles = await pauser_roles(rounds, contract, ask_ahead=lambda c: admin_chain(rounds, c))
    source = f"PauserRegistry {roles.registry}"
    return (
        PausePower("pause (any flag)", roles.pausers, f"{source} isPauser, from PauserStatusChanged events"),
        PausePower(
            "unpause; names the pausers and the unpauser",
            () if roles.unpauser is None else (roles.unpauser,),
            f"{source} unpauser()",
        ),
    )


#: Why a contract has no admin chain when its admin call answered the zero address.
RENOUNCED: Final = "the admin is the zero address (renounced)"

#: Who administers a contract that is not a proxy with an admin, asked in this order (the first non-zero answer).
#: A V2 factory has no owner: its `feeToSetter()` is who controls it (the protocol fee switch). A ds-auth contract
#: whose owner is zero is still run by its `authority()` (Maker's DSPause: the Chief): not renounced. A Curve owner
#: proxy is run by its `ownership_admin()`.
FIRST_ADMIN_CALLS: Final = (
    surface.OWNER,
    surface.ADMIN,
    surface.GOVERNOR,
    surface.FEE_TO_SETTER,
    surface.AUTHORITY,
    surface.OWNERSHIP_ADMIN,
)
#: A two-step handover's nominee, by the call that named the admin it would succeed (Ownable2Step; Compound's
#: Unitroller and cTokens). Asked in the first round with the admin calls.
NOMINEE_OF: Final[Mapping[str, str]] = {surface.OWNER: surface.PENDING_OWNER, surface.ADMIN: surface.PENDING_ADMIN}
NOMINEE_CALLS: Final = tuple(dict.fromkeys(NOMINEE_OF.values()))
#: Proxy patterns whose admin is their own ``admin()`` (Compound's Unitroller and CErc20Delegator).
ADMIN_CALL_PATTERNS: Final = frozenset({"compound-unitroller", "compound-delegator"})


@dataclass(frozen=True, slots=True)
class AdminOf:
    """A contract whose admin-only functions check another contract's admin: ``named_by`` (asked of it) names that
    contract, ``admin`` (asked of that one) answers the admin."""

    named_by: str
    admin: str


#: Interfaces whose admin is another contract's, asked as their own code asks it. Curve's registries:
#: ``assert msg.sender == self.address_provider.admin()`` (mainnet: Curve's Ownership Agent).
ADMIN_ELSEWHERE: Final[Mapping[str, AdminOf]] = {
    "curve/MainRegistry": AdminOf(surface.ADDRESS_PROVIDER_OF, surface.ADMIN),
}

PauseReader = Callable[[Rounds, str], Coroutine[Any, Any, tuple[PausePower, ...]]]
#: Pause powers by the interface a contract answers (as its `ContractUse` declares it).
PAUSE_POWERS: Final[Mapping[str, PauseReader]] = {
    "aave/IPool": _aave_emergency_admins,
    "compound/Comptroller": lambda r, a: _guardian(r, a, surface.PAUSE_GUARDIAN),
    "compound/Comet": lambda r, a: _guardian(r, a, surface.PAUSE_GUARDIAN),
    "maker/VatAbstract": _dss_wards,
    "maker/GemJoinAbstract": _dss_wards,
    "lido/StETH": steth_pause_powers,
    **dict.fromkeys(PAUSABLE_INTERFACES, _eigenlayer_pausers),
}


@in_rounds
async def upgrades_of(rounds: Rounds, proxies: Sequence[str]) -> dict[str, tuple[Upgrade, ...]]:
    """Each proxy's implementation changes, oldest first, from its Upgraded events (a Unitroller's
    or CErc20Delegator's NewImplementation), among its control events."""
    events = await rounds.gather(*(rounds.control_logs(proxy) for proxy in proxies))
    found: dict[str, tuple[Upgrade, ...]] = {}
    for proxy, logs in zip(proxies, events, strict=True):
        upgrades = [
            Upgrade(log_int(log["blockNumber"]), _new_implementation(log), str(log["transactionHash"]))
            for log in logs
            if log_hex(log["topics"][0]) in (UPGRADED_TOPIC, NEW_IMPLEMENTATION_TOPIC)
        ]
        found[to_checksum_address(proxy)] = tuple(sorted(upgrades, key=lambda u: u.block))
    return found


def _new_implementation(log: Mapping[str, Any]) -> str:
    """Upgraded's indexed implementation, or NewImplementation's second data word."""
    if log_hex(log["topics"][0]) == UPGRADED_TOPIC:
        return _log_address(log["topics"][1])
    data = bytes.fromhex(log_hex(log["data"])[2:])
    return to_checksum_address(data[44:64])


def _log_address(topic: Any) -> str:
    raw = bytes.fromhex(topic[2:]) if isinstance(topic, str) else bytes(topic)
    return to_checksum_address(raw[-20:])


async def _first_admin(rounds: Rounds, proxy: ProxyInfo, elsewhere: AdminOf | None) -> str | None:
    """Who controls the contract first: the proxy's admin, else its owner(), admin() or (Comet) governor(), else the
    admin of the contract it names (`ADMIN_ELSEWHERE`)."""
    if proxy.admin is not None and proxy.pattern != "safe-proxy":
        return proxy.admin
    if not proxy.has_code or proxy.pattern == "safe-proxy":
        return proxy.address if proxy.pattern == "safe-proxy" else None
    first = _first_answer(await rounds.call_many([Call.of(proxy.address, s) for s in FIRST_ADMIN_CALLS]))
    if first is not None or elsewhere is None:
        return first
    (named,) = await rounds.call_many([Call.of(proxy.address, elsewhere.named_by)])
    if not named.success:
        return None
    (admin,) = await rounds.call_many([Call.of(to_checksum_address(named.value[0]), elsewhere.admin)])
    return to_checksum_address(admin.value[0]) if admin.success else None


async def _elsewhere_unread(rounds: Rounds, address: str, elsewhere: AdminOf | None) -> list[AdminLink]:
    """The chain of a contract whose admin is another contract's (`ADMIN_ELSEWHERE`) when a read on the way failed:
    ``unknown``, with the failed read (answered already: no round of its own), never "no admin"."""
    assert elsewhere is not None
    (named,) = await rounds.call_many([Call.of(address, elsewhere.named_by)])
    if named.success:
        target = to_checksum_address(named.value[0])
        (admin,) = await rounds.call_many([Call.of(target, elsewhere.admin)])
        failed = f"{elsewhere.admin.split('(')[0]}() of {target} failed: {admin.error}"
    else:
        failed = f"{elsewhere.named_by.split('(')[0]}() failed: {named.error}"
    why = f"its admin-only functions check the admin of the contract it names; {failed}"
    return [AdminLink(address, "unknown", detail="admin of the contract it names", why=why)]


def _first_answer(answers: Sequence[CallResult]) -> str | None:
    """The first non-zero address the calls answered (owner(), else admin(), ...); the zero address if every
    successful one answered zero (renounced); None if none succeeded."""
    answered = [to_checksum_address(answer.value[0]) for answer in answers if answer.success]
    return next((a for a in answered if int(a, 16)), answered[0] if answered else None)


async def _pause_powers(rounds: Rounds, use: ContractUse, address: str) -> tuple[PausePower, ...]:
    """The contract's pause powers by its interface; a call of theirs that reverted is reported as unread, with why
    (one protocol's revert does not hide the others read with it)."""
    pause_reader = PAUSE_POWERS.get(use.interface)
    if pause_reader is None:
        return ()
    try:
        return await pause_reader(rounds, address)
    except CallReverted as exc:
        return (PausePower("pause", (), use.interface, why=f"not read: {exc}"),)


@in_rounds
async def inspect_contract(rounds: Rounds, use: ContractUse) -> ContractControl:
    """One contract's control. Everything that needs only its address (slots, code, owner() and the like, pause
    reads, control events) is asked in its first round; what they name is read in the next ones."""
    assert use.address is not None
    address = to_checksum_address(use.address)
    run, elsewhere = ROLE_RUN.get(use.interface), ADMIN_ELSEWHERE.get(use.interface)
    first_round_calls = [wards_probe(address), *(run.first_calls(address) if run is not None else [])]
    first_round_calls += [Call.of(address, s) for s in NOMINEE_CALLS]
    first_round_calls += [Call.of(address, elsewhere.named_by)] if elsewhere is not None else []
    rounds.prefetch(calls=[*(Call.of(address, s) for s in FIRST_ADMIN_CALLS), *first_round_calls], emitters=[address])
    rounds.spawn(_pause_powers(rounds, use, address))  # ahead: kept only if there is code (answers are shared)
    rounds.spawn(_admin_chains_ahead(rounds, address))
    proxy = await read_proxy(rounds, address)
    first = await _first_admin(rounds, proxy, elsewhere)
    unread_elsewhere = first is None and elsewhere is not None and proxy.has_code
    (chain, pause), pending = await rounds.both(
        rounds.both(
            _elsewhere_unread(rounds, address, elsewhere)
            if unread_elsewhere
            else _admin_chain_of(rounds, proxy, first, run),
            _pause_powers(rounds, use, address) if proxy.has_code else _nothing(),
        ),
        _nominee(rounds, proxy, first),
    )
    holder_chains = tuple(await rounds.gather(*(_with_holder_chains(rounds, power) for power in pause)))
    holder_chains += deputy_powers(chain)
    if first is not None and not int(first, 16):
        proxy = _with_why(proxy, RENOUNCED)
    elif first is None and proxy.has_code:
        what = "a proxy without a readable admin" if proxy.kind != "none" else "not a proxy"
        why = (
            proxy.admin_why
            if proxy.kind != "none"
            else "answers none of owner(), admin(), governor(), feeToSetter(), authority(), ownership_admin(), wards()"
        )
        proxy = _with_why(proxy, f"{what}; {why}: control, if any, is by another scheme (wards, roles: see pause)")
    dependency = use.interface.startswith("common/")
    return ContractControl(use.name, use.interface, dependency, proxy, tuple(chain), holder_chains, (), pending)


#: Why a Curve owner proxy's parameter and emergency admins are named without their own chains.
DEPUTY_NOT_FOLLOWED: Final = (
    "its holder's own chain is not followed (named only, not scored): the ownership admin, whose chain this "
    "contract's is, may replace it at any block, and its powers change no code and move no funds; following it "
    "(an Aragon Agent's ACL is three rounds deep) would cost the profile rounds of its own"
)


def deputy_powers(chain: Sequence[AdminLink]) -> tuple[PausePower, ...]:
    """The powers of the parameter and emergency admins of a Curve owner proxy on the chain (`admin.Deputy`): over
    what the proxy owns, beside its ownership admin, who is the chain's next hop (`DEPUTY_NOT_FOLLOWED`)."""
    return tuple(
        PausePower(
            deputy.power,
            (deputy.address,) if int(deputy.address, 16) else (),
            f"{deputy.via.split('(')[0]}() of {link.address}",
            why=DEPUTY_NOT_FOLLOWED,
        )
        for link in chain
        for deputy in link.deputies
    )


async def _nominee(rounds: Rounds, proxy: ProxyInfo, first: str | None) -> PendingOwner | None:
    """Who was nominated to succeed ``first`` and has not accepted (`NOMINEE_OF` the call that named it, answered in
    the first round), classified while the admin chain is followed; None when there is none."""
    if first is None or not int(first, 16) or not proxy.has_code:
        return None
    if proxy.pattern in ADMIN_CALL_PATTERNS:
        named_by: str | None = surface.ADMIN
    elif proxy.admin is None:
        answers = await rounds.call_many([Call.of(proxy.address, s) for s in FIRST_ADMIN_CALLS])
        named_by = next(
            (s for s, a in zip(FIRST_ADMIN_CALLS, answers, strict=True) if a.success and _is(a, first)), None
        )
    else:
        return None
    via = NOMINEE_OF.get(named_by or "")
    if via is None:
        return None
    (answer,) = await rounds.call_many([Call.of(proxy.address, via)])
    if not answer.success or not int(to_checksum_address(answer.value[0]), 16):
        return None
    nominee = to_checksum_address(answer.value[0])
    return PendingOwner(via, nominee, await classify(rounds, nominee))


def _is(answer: CallResult, address: str) -> bool:
    return to_checksum_address(answer.value[0]) == address


async def _admin_of(rounds: Rounds, proxy: ProxyInfo, first: str | None) -> list[AdminLink]:
    """The admin chain from ``first``; without one, a contract that answers `wards(0)` is a dss contract its wards
    administer (`admin.ward_chain`: modules among them followed through their own wards; none found, unknown)."""
    if first is not None:
        return await _chain_of(rounds, proxy, first) if int(first, 16) else []
    if not proxy.has_code or not (await rounds.call_many([wards_probe(proxy.address)]))[0].success:
        return []
    return await ward_chain(rounds, proxy.address)


async def _admin_chain_of(
    rounds: Rounds, proxy: ProxyInfo, first: str | None, run: RoleRun | None
) -> Sequence[AdminLink]:
    """The chain from its first admin. A contract run by roles (`role_run.ROLE_RUN`): its first admin, if any, and
    the roles' holders are its controllers; one (the proxy admin holding the roles, as Lido's Agent does), the chain
    from it; several, a fork at the contract; none readable, unknown."""
    admin = first if first is not None and int(first, 16) else None
    if run is None or not proxy.has_code:
        return await _admin_of(rounds, proxy, first)
    link = await roles_link(rounds, proxy.address, run, ask_ahead=lambda c: classify(rounds, c))
    if link.kind == "unknown":
        return [link]
    controllers = tuple(dict.fromkeys((*(() if admin is None else (admin,)), *link.controllers)))
    if admin is not None and controllers == (admin,):
        return await _chain_of(rounds, proxy, admin)
    detail = link.detail if admin is None else f"proxy admin {admin}; {link.detail}"
    return await chain_after(rounds, replace(link, controllers=controllers, detail=detail))


def _chain_of(rounds: Rounds, proxy: ProxyInfo, first: str) -> Coroutine[Any, Any, list[AdminLink]]:
    """The admin chain from ``first``: an Aragon app's (and kernel's) goes through the kernel's ACL, not an owner."""
    return aragon_chain(rounds, proxy) if proxy.pattern in ARAGON_PATTERNS else admin_chain(rounds, first)


async def _admin_chains_ahead(rounds: Rounds, address: str) -> None:
    """Follow ahead the admins the first round names (the admin slot or an immutable, as if the proxy were not
    UUPS; the first of `FIRST_ADMIN_CALLS`), while the implementation is asked whether it is UUPS."""
    code = await rounds.code(address)
    implementation = word_address(await rounds.storage(address, IMPLEMENTATION_SLOT))
    admin_word = await rounds.storage(address, ADMIN_SLOT)
    candidates: list[str | None] = []
    if code and implementation is not None:
        not_uups = CallResult(Call.of(address, surface.PROXIABLE_UUID), False, error="not asked yet")
        as_transparent = eip1967_proxy(address, code, implementation, word_address(admin_word), not_uups)
        candidates.append(as_transparent.admin)
    candidates.append(_first_answer(await rounds.call_many([Call.of(address, s) for s in FIRST_ADMIN_CALLS])))
    for candidate in candidates:
        if candidate is not None and int(candidate, 16):
            rounds.spawn(admin_chain(rounds, candidate))


async def _with_holder_chains(rounds: Rounds, power: PausePower) -> PausePower:
    chains = await rounds.gather(*(admin_chain(rounds, holder) for holder in power.holders))
    return replace(power, holder_chains=tuple(tuple(chain) for chain in chains))


async def _nothing() -> tuple[()]:
    return ()


def _with_why(proxy: ProxyInfo, why: str) -> ProxyInfo:
    return replace(proxy, admin_why=why)


def fixed_contracts(deployment: Deployment, slug: str) -> tuple[list[ContractUse], list[ContractUse]]:
    """The protocol's contracts with a registry address (one use per address), and the kinds found at run time
    (one use per kind name)."""
    adapters = [a for a in adapters_for(deployment) if a.info.slug == slug]
    if not adapters:
        known = sorted({a.info.slug for a in adapters_for(deployment)})
        raise UnknownProtocolHere(
            f"slug: no protocol {slug!r} on chain {deployment.chain_id}; known: {', '.join(known)}"
        )
    fixed: dict[str, ContractUse] = {}
    discovered: dict[str, ContractUse] = {}
    for adapter in adapters:
        for use in adapter.surface():
            if use.address is None:
                discovered.setdefault(use.name, use)
            else:
                fixed.setdefault(use.address.lower(), use)
    return list(fixed.values()), list(discovered.values())


def _joining_kinds(uses: Sequence[ContractUse], plans: Sequence[KindPlan]) -> set[str]:
    """The registry contracts (lowercase addresses) that an inspected kind of the same interface lists."""
    by_interface = {(use.interface, use.address.lower()) for use in uses if use.address is not None}
    return {
        address.lower()
        for plan in plans
        if plan.rule == "inspected"
        for address in plan.inspect
        if (plan.use.interface, address.lower()) in by_interface
    }


def found_contracts(adapters: Sequence[Adapter], block: int) -> dict[str, Found]:
    """What the adapters' discovery listed by ``block`` (`Adapter.found_contracts`), by slug and kind: from
    memory, so an engine that read the block (the indexer's, a snapshot's) gives it without a request."""
    found: dict[str, dict[str, tuple[str, ...]]] = {}
    unread: set[str] = set()  # a slug with an adapter no read of which reached the block: not listed
    for adapter in adapters:
        listed = adapter.found_contracts(block)
        if listed is None:
            unread.add(adapter.info.slug)
            continue
        kinds = found.setdefault(adapter.info.slug, {})
        for kind, addresses in listed.items():
            kinds[kind] = tuple(dict.fromkeys((*kinds.get(kind, ()), *addresses)))
    return {slug: kinds for slug, kinds in found.items() if slug not in unread}


async def control_surfaces(
    reader: Reader,
    deployment: Deployment,
    slugs: Sequence[str],
    *,
    logs: ControlLogs | None = None,
    found: Mapping[str, Found] | None = None,
) -> dict[str, ControlSurface]:
    """The control surface of each protocol in ``slugs``, read together round by round: the rounds are as many as
    the deepest admin chain is long, however many protocols and contracts there are. ``logs`` keeps the control
    events read, so that the next profile asks only the blocks since (see `rounds.ControlLogs`); a first scan
    starts at the deployment's `first_block`. ``found``: what discovery listed at the block, by slug
    (`found_contracts`); a kind it lacks is reported as not listed."""
    rounds = Rounds(reader, logs=logs if logs is not None else ControlLogs(deployment.first_block))
    return await rounds.run(surfaces_in(rounds, deployment, slugs, found=found))


async def surfaces_in(
    rounds: Rounds, deployment: Deployment, slugs: Sequence[str], *, found: Mapping[str, Found] | None = None
) -> dict[str, ControlSurface]:
    """`control_surfaces` as a task of ``rounds``: other reads of the same rounds go out in the same batches."""
    plans = {slug: fixed_contracts(deployment, slug) for slug in dict.fromkeys(slugs)}
    found = found or {}
    surfaces = await rounds.gather(*(_surface(rounds, slug, *plan, found.get(slug)) for slug, plan in plans.items()))
    return dict(zip(plans, surfaces, strict=True))


async def control_surface(
    reader: Reader, deployment: Deployment, slug: str, *, found: Found | None = None
) -> ControlSurface:
    listed = None if found is None else {slug: found}
    return (await control_surfaces(reader, deployment, [slug], found=listed))[slug]


async def _surface(
    rounds: Rounds, slug: str, uses: Sequence[ContractUse], kinds: Sequence[ContractUse], found: Found | None
) -> ControlSurface:
    """The fixed contracts and those found at run time, inspected in the same rounds; then every proxy's upgrades.
    A registry contract that discovery lists under an inspected kind of its interface (Aave's registered aTokens)
    is inspected with its kind, in its group, not among the fixed ones."""
    own = {namespace(use.interface) for use in uses}
    named_kinds = [kind for kind in kinds if kind.interface in NAMED_BY]
    plans = [plan_kind(kind, found, own) for kind in kinds if kind.interface not in NAMED_BY]
    joining = _joining_kinds(uses, plans)
    uses = [use for use in uses if use.address is None or use.address.lower() not in joining]
    fixed = {use.address.lower() for use in uses if use.address is not None}
    listed = [[a for a in plan.inspect if a.lower() not in fixed] for plan in plans]
    found_uses = [
        replace(plan.use, address=a) for plan, addresses in zip(plans, listed, strict=True) for a in addresses
    ]
    inspected, named = await rounds.both(
        rounds.gather(*(inspect_contract(rounds, use) for use in (*uses, *found_uses))),
        rounds.gather(*(_inspect_named(rounds, kind, uses) for kind in named_kinds)),
    )
    named_controls = [control for _, controls in named for control in controls]
    sources = dict.fromkeys(history_source(c) for c in (*inspected, *named_controls) if c.proxy.kind != "none")
    history = await upgrades_of(rounds, list(sources))
    for control in inspected:  # an Aragon app's upgrades are its kernel's SetApp events (read with its chain)
        if control.proxy.pattern in ARAGON_PATTERNS:
            events = await set_app_history(rounds, control.proxy)
            history[history_source(control)] = tuple(Upgrade(*e) for e in events)
    contracts = [replace(c, upgrades=history.get(history_source(c), ())) for c in inspected[: len(uses)]]
    rest = iter(inspected[len(uses) :])
    by_name = {
        plan.use.name: grouped(plan, [next(rest) for _ in addresses], history)
        for plan, addresses in zip(plans, listed, strict=True)
    }
    by_name |= {plan.use.name: grouped(plan, controls, history) for plan, controls in named}
    discovered = [by_name[kind.name] for kind in kinds if kind.name in by_name]
    return ControlSurface(slug, rounds.chain_id, rounds.block_number, tuple(contracts), tuple(discovered))


async def _inspect_named(
    rounds: Rounds, kind: ContractUse, fixed: Sequence[ContractUse]
) -> tuple[KindPlan, list[ContractControl]]:
    """A kind that fixed contracts of the protocol name (`NAMED_BY`: the Comptroller's oracle()): the naming call is
    asked in the first round with the fixed contracts' own reads, so what it names is inspected from the second on
    (no round of its own), at the pinned block: a new oracle is inspected from the block it was set."""
    named = NAMED_BY[kind.interface]
    namers = dict.fromkeys(u.address for u in fixed if u.interface == named.interface and u.address is not None)
    answers = await rounds.call_many([Call.of(address, named.call) for address in namers])
    plan = plan_named(kind, named, answers)
    controls = await rounds.gather(*(inspect_contract(rounds, replace(kind, address=a)) for a in plan.inspect))
    unread = [_unread_named(kind, named, namer, error) for namer, error in plan.unread]
    return plan, [*(_admin_required(control) for control in controls), *unread]


def _unread_named(kind: ContractUse, named: NamedBy, namer: str, error: str) -> ContractControl:
    """What ``namer``'s naming call would have named, had it answered: a contract of the protocol whose control is
    ``unknown`` (scored 0), with why. Its address is not known: the entry is kept under the namer's (the link is the
    read that failed there) and reads null where an address is shown (pattern `UNREAD`)."""
    call = named.call.split("(")[0]
    why = f"{call}() of {namer} failed ({error}): the contract it names, and who controls it, are not known"
    proxy = ProxyInfo(namer, "none", UNREAD, admin_why=why)
    link = AdminLink(namer, "unknown", detail=f"{kind.name}: {call}() unread", why=why)
    return ContractControl(kind.name, kind.interface, False, proxy, (link,), (), ())


def _admin_required(control: ContractControl) -> ContractControl:
    """A named contract (a price oracle) is configured by someone: when no admin call answers, its admin is
    ``unknown`` (scored 0), never "no admin"; an admin renounced to the zero address stays renounced."""
    proxy = control.proxy
    if control.admin_chain or not proxy.has_code:
        return control
    if proxy.admin_why == RENOUNCED:
        zero = to_checksum_address("0x" + "00" * 20)
        renounced = AdminLink(proxy.address, "contract", controllers=(zero,), detail="Ownable", why=RENOUNCED)
        return replace(control, admin_chain=(renounced,))
    why = f"its admin is not known ({proxy.admin_why}): who configures its prices is not known"
    return replace(control, admin_chain=(AdminLink(proxy.address, "unknown", detail="price oracle", why=why),))
