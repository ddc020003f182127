"""An Aragon app's upgrade path read to its end: who may change its code through the kernel, and when it changed.

    chain = await aragon_chain(rounds, steth_proxy_info)   # kernel -> ACL -> Voting (governor)
    events = await set_app_history(rounds, steth_proxy_info)  # [SetAppEvent(block, implementation, tx), ...]
    link = await agent_link(rounds, lido_agent, ahead=...)     # "contract", controllers (Voting,): it acts for them

aragonOS 4 (``@aragon/os@4.4.0``): an AppProxyUpgradeable delegates to ``kernel.getApp(APP_BASES_NAMESPACE,
appId)``; ``Kernel.setApp(namespace, appId, app)`` changes it under ``auth(APP_MANAGER_ROLE, arr(namespace,
appId))`` and emits ``SetApp(namespace indexed, appId indexed, app)``. The ACL keeps who holds a role on an app
(``SetPermission(entity indexed, app indexed, role indexed, allowed)``) and who manages it
(``getPermissionManager(app, role)``: it may grant the role to anyone, itself included).

The chain is the kernel (a ``contract`` controlled by its ACL), the ACL (a ``contract`` whose controllers are
everyone who can upgrade: each holder of APP_MANAGER_ROLE on the kernel for this app and the role's manager),
then the chain of the weakest of them: each may act alone, so the weakest decides (an EOA beside the Voting caps
the score as an EOA alone would). Holders are the entities SetPermission events name, each confirmed with the
kernel's own ``hasPermission(who, kernel, APP_MANAGER_ROLE, namespace ‖ appId)`` at the pinned block, the very
check ``setApp`` makes, and ``getPermissionParamsLength(who, kernel, role)`` in the same round: a grant with
parameters (``grantPermissionP``: a condition on the arguments, the block, the time or an oracle) is a holder
whatever the condition answers now, shown as conditional with its parameter count (a condition can be met: not
safer). An ACL that cannot be read leaves the link ``unknown`` with why, never safe.

An Aragon Agent (Lido's DAO Agent, the admin of its OssifiableProxies) is an admin of its own kind (`agent_link`,
asked by `admin.classify`): it acts for whoever can use EXECUTE_ROLE, RUN_SCRIPT_ROLE or SAFE_EXECUTE_ROLE on it,
or APP_MANAGER_ROLE for its code, each role read as above (`AclRole`, `acl_role_holders`): its controllers.

Rounds (see `rounds`): the kernel's ``acl()``, the app's ``appId()`` and the kernel's events; then the ACL's events
and the role's manager; then the confirmations, while each candidate is classified ahead (an Aragon Voting answers
``token()`` and ``voteTime()``: a ``governor``, the end). An Agent met as an admin is one round shorter: the events
naming it and its kernel as the app (`Rounds.grants`) are asked with its kernel's ``acl()``, so the managers and
the confirmations go out together in the next round.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final, NamedTuple

from eth_utils import keccak, to_checksum_address

from defiscope.chain.logs import log_hex, log_int, topic_address
from defiscope.chain.multicall import Call
from defiscope.protocols.control import surface
from defiscope.protocols.control.admin import AdminLink, admin_chain
from defiscope.protocols.control.proxy import ProxyInfo
from defiscope.protocols.control.rounds import Rounds, in_rounds
from defiscope.protocols.surface import event_topic

#: aragonOS's namespace of app code (bases): keccak256("base").
APP_BASES_NAMESPACE: Final = keccak(text="base")
APP_MANAGER_ROLE: Final = keccak(text="APP_MANAGER_ROLE")
#: aragonOS's KernelConstants: a KernelProxy's code is the app KERNEL_CORE_APP_ID (apmNamehash("kernel")) of the
#: core namespace in its own registry.
CORE_NAMESPACE: Final = keccak(text="core")
KERNEL_CORE_APP_ID: Final = bytes.fromhex("3b4bf6bf3ad5000ecf0f989d5befde585c6860fea3e574a4fab4c49d1c177d9c")
#: Proxy patterns (`proxy.ProxyInfo.pattern`) upgraded through an Aragon kernel's setApp.
ARAGON_PATTERNS: Final = ("aragon-app", "aragon-kernel")
#: The ACL's stand-ins for "anyone" (a permission any caller meets) and "nobody, ever" (a burned manager).
ANY_ENTITY: Final[str] = to_checksum_address("0x" + "ff" * 20)
BURN_ENTITY: Final[str] = to_checksum_address("0x" + "00" * 19 + "01")
ZERO: Final[str] = to_checksum_address("0x" + "00" * 20)
#: A role's manager that is no one (never created) or no one ever again (burned): not an account to classify.
NO_MANAGER: Final = (ZERO, BURN_ENTITY)
SET_APP_TOPIC: Final = "0x" + event_topic(surface.SET_APP).hex()
SET_PERMISSION_TOPIC: Final = "0x" + event_topic(surface.SET_PERMISSION).hex()
#: Why an Aragon app's chain ends at its kernel's ACL when the ACL cannot be read.
ARAGON_ACL_WHY: Final = "upgrades through the Aragon kernel's ACL (APP_MANAGER_ROLE); not resolved"
#: End kinds from the weakest to the strongest, as the control score ranks them.
WEAKEST_FIRST: Final = ("unknown", "eoa", "contract", "timelock", "multisig", "governor")


@dataclass(frozen=True, slots=True)
class AclRole:
    """A permission an Aragon ACL keeps: ``role`` on the app ``where``, checked with the arguments ``how`` that the
    guarded function passes (empty: what an unconditional grant needs; a grant with parameters is judged on none)."""

    name: str
    role: bytes
    where: str
    how: bytes = b""


class RoleHolders(NamedTuple):
    """Who holds an `AclRole` at the pinned block (confirmed) and who manages it (0: no one; 1: burned)."""

    role: AclRole
    holders: tuple[str, ...]
    manager: str
    #: Holders whose grant carries parameters, with how many (they are among ``holders``).
    conditional: tuple[tuple[str, int], ...] = ()

    @property
    def managing(self) -> bool:
        return self.manager not in NO_MANAGER

    @property
    def controllers(self) -> tuple[str, ...]:
        """Everyone who can use the role: its holders, and its manager, who may grant it to itself."""
        return tuple(dict.fromkeys([*self.holders, *([self.manager] if self.managing else [])]))


class AclUnread(Exception):
    """An Aragon ACL whose permissions could not be read; ``why`` says which read failed."""

    def __init__(self, why: str) -> None:
        super().__init__(why)
        self.why = why


class SetAppEvent(NamedTuple):
    """A change of the app's code: the block, the new implementation, the transaction."""

    block: int
    implementation: str
    transaction: str


@in_rounds
async def aragon_chain(rounds: Rounds, app: ProxyInfo) -> list[AdminLink]:
    """``app``'s admin chain (an ``aragon-app`` proxy, its ``admin`` the kernel; or an ``aragon-kernel``, its own
    admin): the kernel, its ACL, the weakest upgrader's chain."""
    assert app.admin is not None, "an aragon-app proxy names its kernel"
    kernel = to_checksum_address(app.admin)
    rounds.prefetch(emitters=[kernel])  # SetApp events, for the history (`set_app_history`)
    own_code = app.pattern == "aragon-kernel"  # a KernelProxy: its code is its own core app
    app_calls = [] if own_code else [Call.of(app.address, surface.APP_ID)]
    acl, *app_id = await rounds.call_many([Call.of(kernel, surface.ACL), *app_calls])
    if not acl.success:
        why = f"{ARAGON_ACL_WHY}; the kernel answers no acl(): {acl.error}"
        return [AdminLink(kernel, "unknown", detail="Aragon Kernel", why=why)]
    acl_address = to_checksum_address(acl.value[0])
    kernel_link = AdminLink(kernel, "contract", controllers=(acl_address,), detail="Aragon Kernel")
    if app_id and not app_id[0].success:
        why = f"{ARAGON_ACL_WHY}; the app answers no appId(): {app_id[0].error}"
        return [kernel_link, AdminLink(acl_address, "unknown", detail="Aragon ACL", why=why)]
    upgrade = (
        app_manager_role(kernel, CORE_NAMESPACE, KERNEL_CORE_APP_ID)
        if own_code
        else app_manager_role(kernel, APP_BASES_NAMESPACE, bytes(app_id[0].value[0]))
    )
    return [kernel_link, *await _acl_onwards(rounds, kernel, acl_address, upgrade)]


async def _acl_onwards(rounds: Rounds, kernel: str, acl: str, upgrade: AclRole) -> list[AdminLink]:
    """The ACL's link and the weakest upgrader's chain after it."""
    try:
        held = await acl_role_holders(rounds, kernel, acl, upgrade, ahead=lambda c: chain_ahead(rounds, c))
    except AclUnread as exc:
        return [_unread_acl(acl, exc.why)]
    return await _upgraders(rounds, acl, held)


def chain_ahead(rounds: Rounds, candidate: str) -> None:
    """Classify ``candidate``'s chain ahead while candidates are confirmed (not the ACL's special entities)."""
    if candidate not in (ANY_ENTITY, ZERO, BURN_ENTITY):
        rounds.spawn(admin_chain(rounds, candidate))  # ahead, while the candidates are confirmed


def app_manager_role(kernel: str, namespace: bytes, app_id: bytes) -> AclRole:
    """Who may change an app's code: APP_MANAGER_ROLE on the kernel, with the arguments its ``setApp`` passes
    (aragonOS's arr(namespace, appId) cast to bytes: the words end to end)."""
    return AclRole("APP_MANAGER_ROLE", APP_MANAGER_ROLE, kernel, namespace + app_id)


async def acl_role_holders(
    rounds: Rounds, kernel: str, acl: str, role: AclRole, *, ahead: Callable[[str], None], by_app: bool = False
) -> RoleHolders:
    """Who holds ``role`` at the pinned block (the entities its SetPermission events name, each confirmed with the
    kernel's ``hasPermission``) and who manages it; ``ahead(candidate)`` is called for each candidate while they are
    confirmed, with the manager. The events are the ACL's own, or (``by_app``) those naming the role's app, asked
    by the app's topic (`Rounds.grants`, asked ahead of the ACL's address) and kept if the ACL emitted them. Raises
    `AclUnread` (with why) when the ACL cannot be read."""
    manager_call = Call.of(acl, surface.GET_PERMISSION_MANAGER, role.where, role.role)
    own, granted = ([], [role.where]) if by_app else ([acl], [])
    rounds.prefetch(calls=[manager_call], emitters=own, granted_on=granted)
    try:
        events = await (rounds.grants(role.where) if by_app else rounds.control_logs(acl))
    except Exception as exc:  # the provider's refusal, with its words: the ACL stays not understood
        raise AclUnread(f"its SetPermission events could not be read: {exc}") from exc
    candidates = permission_candidates([e for e in events if _emitted_by(e, acl)], role.where, role.role)
    early = rounds.answered(manager_call)  # read with the ACL's own events: its manager is probed with them
    named = [to_checksum_address(early.value[0])] if early is not None and early.success else []
    for candidate in dict.fromkeys([*candidates, *(m for m in named if m not in NO_MANAGER)]):
        ahead(candidate)
    checks = [Call.of(kernel, surface.KERNEL_HAS_PERMISSION, c, role.where, role.role, role.how) for c in candidates]
    params = [Call.of(acl, surface.GET_PERMISSION_PARAMS_LENGTH, c, role.where, role.role) for c in candidates]
    manager, *answers = await rounds.call_many([manager_call, *checks, *params])
    if not manager.success:
        raise AclUnread(f"getPermissionManager failed: {manager.error}")
    failed = next((answer for answer in answers if not answer.success), None)
    if failed is not None:
        raise AclUnread(f"{failed.call.function.name} failed: {failed.error}")
    manager_address = to_checksum_address(manager.value[0])
    if manager_address not in (*candidates, *named, *NO_MANAGER):
        ahead(manager_address)
    confirmed, counts = answers[: len(checks)], [int(a.value[0]) for a in answers[len(checks) :]]
    holders = tuple(c for c, ok, n in zip(candidates, confirmed, counts, strict=True) if ok.value[0] or n)
    conditional = tuple((c, n) for c, n in zip(candidates, counts, strict=True) if n)
    return RoleHolders(role, holders, manager_address, conditional)


def _emitted_by(entry: Mapping[str, Any], acl: str) -> bool:
    return str(entry["address"]).lower() == acl.lower()


async def _upgraders(rounds: Rounds, acl: str, held: RoleHolders) -> list[AdminLink]:
    upgraders = held.controllers
    detail = acl_detail(held)
    if not upgraders:
        why = "no one holds APP_MANAGER_ROLE for this app and the role has no manager: its code cannot change"
        return [AdminLink(acl, "contract", controllers=(ZERO,), detail=detail, why=why)]
    chains = await rounds.gather(*(_upgrader_chain(rounds, u) for u in upgraders))
    weakest = min(chains, key=weakness)
    acl_link = AdminLink(acl, "contract", controllers=tuple(upgraders), detail=detail, conditional=held.conditional)
    if len(upgraders) > 1:
        acl_link = replace(acl_link, why=f"{len(upgraders)} can upgrade, each alone: followed the weakest")
    return [acl_link, *weakest]


async def _upgrader_chain(rounds: Rounds, upgrader: str) -> list[AdminLink]:
    if upgrader == ANY_ENTITY:  # no code there: it would read as an EOA, and it is worse: anyone at all
        return [AdminLink(ANY_ENTITY, "eoa", detail="ANY_ENTITY: any account may upgrade")]
    return await admin_chain(rounds, upgrader)


def acl_detail(held: RoleHolders) -> str:
    return f"Aragon ACL: APP_MANAGER_ROLE on the kernel held by {_held_by(held)}; {_managed(held.manager)}"


def _held_by(held: RoleHolders) -> str:
    """The holders, a conditional grant marked with its parameter count."""
    counts = dict(held.conditional)
    named = [f"{h} (conditional: {counts[h]} parameters)" if h in counts else h for h in held.holders]
    return ", ".join(named) or "nobody"


def _managed(manager: str) -> str:
    return {ZERO: "no manager", BURN_ENTITY: "manager burned"}.get(manager, f"manager {manager}")


def weakness(chain: Sequence[AdminLink]) -> tuple[int, int, bool]:
    """A sort key, weakest first: a link not understood, else the end's kind, then the longest timelock delay;
    among equals, anyone (`ANY_ENTITY`) before one account.

    >>> weakness([AdminLink(ANY_ENTITY, "eoa")]) < weakness([AdminLink(ZERO, "eoa")])
    True
    """
    kinds = [link.kind for link in chain]
    end = "unknown" if "unknown" in kinds or not chain else chain[-1].kind
    delay = max((link.delay_seconds or 0 for link in chain if link.kind == "timelock"), default=0)
    return WEAKEST_FIRST.index(end), delay, not chain or chain[0].address != ANY_ENTITY


def permission_candidates(logs: Sequence[Mapping[str, Any]], app: str, role: bytes) -> list[str]:
    """Entities a SetPermission event of ``role`` on ``app`` names (granted or revoked), in order, without repeats."""
    wanted_app, wanted_role = "0x" + "00" * 12 + app[2:].lower(), "0x" + role.hex()
    found = [
        topic_address(entry["topics"][1])
        for entry in logs
        if log_hex(entry["topics"][0]) == SET_PERMISSION_TOPIC
        and log_hex(entry["topics"][2]) == wanted_app
        and log_hex(entry["topics"][3]) == wanted_role
    ]
    return list(dict.fromkeys(found))


@in_rounds
async def set_app_history(rounds: Rounds, app: ProxyInfo) -> list[SetAppEvent]:
    """The app's code changes, oldest first: its kernel's SetApp events in the bases namespace for its app id (a
    KernelProxy's: its own, in the core namespace for the kernel app); the first one is its first code. Empty when
    the kernel's events or the app id cannot be read (the chain says why)."""
    if app.admin is None:
        return []
    if app.pattern == "aragon-kernel":
        key: tuple[bytes, bytes] | None = (CORE_NAMESPACE, KERNEL_CORE_APP_ID)
    else:
        (app_id,) = await rounds.call_many([Call.of(app.address, surface.APP_ID)])
        key = (APP_BASES_NAMESPACE, bytes(app_id.value[0])) if app_id.success else None
    try:
        events = await rounds.control_logs(app.admin)
    except Exception:  # already reported by the chain's reads
        return []
    return set_app_events(events, *key) if key is not None else []


def set_app_events(logs: Sequence[Mapping[str, Any]], namespace: bytes, app_id: bytes) -> list[SetAppEvent]:
    """SetApp events of ``app_id`` in ``namespace``, oldest first."""
    wanted_namespace, wanted = "0x" + namespace.hex(), "0x" + app_id.hex()
    found = [
        SetAppEvent(log_int(e["blockNumber"]), _data_address(e["data"]), log_hex(e["transactionHash"]))
        for e in logs
        if log_hex(e["topics"][0]) == SET_APP_TOPIC
        and log_hex(e["topics"][1]) == wanted_namespace
        and log_hex(e["topics"][2]) == wanted
    ]
    return sorted(found, key=lambda e: e.block)


def _data_address(data: Any) -> str:
    return to_checksum_address(bytes.fromhex(log_hex(data)[2:])[12:32])


def _unread_acl(acl: str, why: str) -> AdminLink:
    return AdminLink(acl, "unknown", detail="Aragon ACL", why=f"{ARAGON_ACL_WHY}; {why}")


#: The Agent's calls that recognise it: a forwarder (``isForwarder()``) of an Aragon kernel answering its roles' ids.
AGENT_PROBES: Final = (
    surface.IS_FORWARDER,
    surface.EXECUTE_ROLE,
    surface.RUN_SCRIPT_ROLE,
    surface.KERNEL,
    surface.APP_ID,
)
#: Roles that make an Agent act, besides those every Agent answers: SAFE_EXECUTE_ROLE (any call but to its protected
#: tokens) is counted when the Agent answers it (Agents before apps-agent 2.1.0 do not).
AGENT_OPTIONAL_ROLES: Final = (surface.SAFE_EXECUTE_ROLE,)
#: Why an Agent's link is unknown when its ACL cannot be read.
AGENT_ACL_WHY: Final = "an Aragon Agent acting for its ACL's EXECUTE_ROLE and RUN_SCRIPT_ROLE holders; not resolved"


def agent_calls(address: str) -> list[Call]:
    """What `agent_link` asks of ``address``: asked with `admin.classify`'s other probes, in the same round."""
    return [Call.of(address, s) for s in (*AGENT_PROBES, *AGENT_OPTIONAL_ROLES)]


async def agent_link(rounds: Rounds, address: str, *, ahead: Callable[[str], None]) -> AdminLink | None:
    """``address`` as an Aragon Agent (Lido's DAO Agent, its OssifiableProxies' admin), or None when it is not one.

    It acts for everyone who can use a role that makes it act, each alone: the holders and the manager of
    EXECUTE_ROLE, RUN_SCRIPT_ROLE and SAFE_EXECUTE_ROLE on it, and those of APP_MANAGER_ROLE for its app id on the
    kernel (who can change its code). These are the link's controllers: one goes on as the next hop, several make a
    fork whose weakest scores. An ACL that cannot be read leaves it ``unknown`` with why."""
    signatures = (*AGENT_PROBES, *AGENT_OPTIONAL_ROLES)
    answers = dict(zip(signatures, await rounds.call_many(agent_calls(address)), strict=True))
    if not all(answers[s].success for s in AGENT_PROBES) or not answers[surface.IS_FORWARDER].value[0]:
        return None
    kernel = to_checksum_address(answers[surface.KERNEL].value[0])
    roles = [
        AclRole(s.split("(")[0], bytes(answers[s].value[0]), address)
        for s in (surface.EXECUTE_ROLE, surface.RUN_SCRIPT_ROLE, *AGENT_OPTIONAL_ROLES)
        if answers[s].success
    ]
    roles.append(app_manager_role(kernel, APP_BASES_NAMESPACE, bytes(answers[surface.APP_ID].value[0])))
    # The grants naming it and its kernel are asked with the kernel's acl(), by app, not after it by the ACL's
    # address: the ACL's answers then come in the next round, with the candidates' probes (one round fewer).
    rounds.prefetch(granted_on=[address, kernel])
    (acl,) = await rounds.call_many([Call.of(kernel, surface.ACL)])
    if not acl.success:
        return _unread_agent(address, f"its kernel {kernel} answers no acl(): {acl.error}")
    acl_address = to_checksum_address(acl.value[0])
    try:
        held = await rounds.gather(
            *(acl_role_holders(rounds, kernel, acl_address, r, ahead=ahead, by_app=True) for r in roles)
        )
    except AclUnread as exc:
        return _unread_agent(address, f"its ACL {acl_address}: {exc.why}")
    controllers = tuple(dict.fromkeys(c for h in held for c in h.controllers))
    detail = "Aragon Agent: " + "; ".join(role_detail(h) for h in held)
    if not controllers:
        return AdminLink(address, "contract", controllers=(ZERO,), detail=detail, why="no one can make it act")
    conditional = tuple(dict.fromkeys(c for h in held for c in h.conditional))
    return AdminLink(address, "contract", controllers=controllers, detail=detail, conditional=conditional)


def role_detail(held: RoleHolders) -> str:
    """A role's holders (conditional grants marked) and its manager."""
    return f"{held.role.name} held by {_held_by(held)} ({_managed(held.manager)})"


def _unread_agent(agent: str, why: str) -> AdminLink:
    return AdminLink(agent, "unknown", detail="Aragon Agent", why=f"{AGENT_ACL_WHY}; {why}")
