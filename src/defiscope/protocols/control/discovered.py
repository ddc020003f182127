"""Contracts found at run time (cTokens, strategies, pools) in the control surface: which are inspected, which
are immutable by construction, and the inspected ones grouped by the control they share.

    plan = plan_kind(use, found, own={"compound"})   # the rule for the kind, and the addresses to inspect
    kind = grouped(plan, controls, history)           # one group per (proxy, implementation, admin chain, pause)
    kind.groups[0].addresses, kind.groups[1].exception   # every cToken the timelock administers; the odd one out

The rule of a kind (docs/risk.md, "Contracts found at run time"), by the real interface its uses declare:

- ``by-factory``: pools a factory deploys itself from creation code it fixes (Uniswap and PancakeSwap V2 pairs,
  V3 pools; Curve factory pools, whose admin powers check the factory's ``admin()``). No proxy, no admin of their
  own: their control is the factory's, which is a fixed contract inspected with the others. Mainnet has about
  300,000 V2 pairs, so only a bounded sample (`SAMPLE_FIRST` first and `SAMPLE_NEWEST` newest) is inspected, to
  check the construction; a sampled pool that is a proxy or answers an admin is its own group, scored.
- ``dependency``: tokens, feeds and other projects' contracts the protocol reads but does not run (``common/``
  interfaces, price feeds, a held stETH): not its control (the feeds are the oracle pillar's).
- ``named``: a contract of the protocol that one of its fixed contracts names by a call (`NAMED_BY`: the
  Comptroller's ``oracle()``), read at the pinned block in the rounds, so a new one is inspected from the block
  it is set; inspected as a fixed contract is, and one answering no admin call is ``unknown`` (never "no admin").
  A naming call that fails leaves what it names ``unknown`` (`KindPlan.unread`: scored 0, with the call's error),
  never absent: the protocol still runs on some contract there, whose control is not known.
- ``inspected``: every other kind (contracts with an admin of their own: cTokens, strategies, registry pools):
  each one listed is read as a fixed contract is (`inspect_contract`), in the same rounds.
- ``not-listed``: a kind of its own that its adapters did not list at the block (no read reached it, or they keep
  no list: routing reads of pools listed under another kind, governance candidates): said so, never "none".

Pure: the reads are `profile`'s; this module plans and groups.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence, Set
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Final, Literal

from eth_utils import to_checksum_address

from defiscope.chain.multicall import CallResult
from defiscope.protocols.control import surface
from defiscope.protocols.surface import ContractUse

if TYPE_CHECKING:  # data types only
    from defiscope.protocols.control.profile import ContractControl, Upgrade

DiscoveryRule = Literal["inspected", "by-factory", "dependency", "named", "not-listed"]

_V2_PAIR: Final = (
    "created by the factory's createPair with CREATE2 from the pair creation code the factory fixes; no proxy, "
    "no owner: the only control over pairs is the factory's feeToSetter turning the protocol fee on (feeTo)"
)
_V3_POOL: Final = (
    "created by the factory's createPool with CREATE2 from the pool creation code the factory fixes; no proxy, "
    "no owner: the factory's owner sets the protocol fee (setFeeProtocol) and fee tiers"
)
_CURVE_FACTORY_POOL: Final = (
    "deployed by the factory from its pool implementation or blueprint, fixed at creation; no admin of their own: "
    "ramp_A and fee changes check the factory's admin()"
)
#: The kinds immutable by construction, by their pools' interface, with why.
BY_FACTORY: Final[Mapping[str, str]] = {
    "uniswap/UniswapV2Pair": _V2_PAIR,
    "uniswap/UniswapV3Pool": _V3_POOL,
    "pancakeswap/PancakeV3Pool": _V3_POOL,
    "curve/FactoryPlain2Basic": _CURVE_FACTORY_POOL,
    "curve/StableSwapNGPlain": _CURVE_FACTORY_POOL,
    "curve/CryptoPool": _CURVE_FACTORY_POOL,
    "curve/TwocryptoNGPool": _CURVE_FACTORY_POOL,
    "curve/TricryptoNGPool": _CURVE_FACTORY_POOL,
}
#: Price feeds read by a protocol: their control is the oracle pillar's, not the protocol's admin.
FEED_INTERFACES: Final = frozenset({"aave/AggregatorInterface"})


@dataclass(frozen=True, slots=True)
class NamedBy:
    """Where a kind's one address is read: ``call`` on the fixed contracts declared with ``interface``."""

    interface: str
    call: str
    what: str  # why it is the protocol's own contract


#: Kinds (by interface) whose address a fixed contract of the protocol names. Compound V2's price oracle
#: (mainnet: 0x8CF4…55d9, owned by the community multisig) prices every collateral and borrow the Comptroller
#: checks: whoever configures it can make accounts liquidatable.
NAMED_BY: Final[Mapping[str, NamedBy]] = {
    "compound/PriceOracle": NamedBy(
        "compound/Comptroller",
        surface.PRICE_ORACLE,
        "the Comptroller's oracle(), which prices every collateral and borrow it liquidates against",
    ),
}
#: The proxy pattern of a named contract whose address could not be read (its entry's address is unknown).
UNREAD: Final = "unread"
#: A by-factory kind's sample: its first pools and its newest.
SAMPLE_FIRST: Final = 1
SAMPLE_NEWEST: Final = 2


@dataclass(frozen=True, slots=True)
class KindPlan:
    """What to do with one kind found at run time: its rule, why, how many were found (None: not listed) and the
    addresses to inspect (all of an ``inspected`` kind, a sample of a ``by-factory`` one)."""

    use: ContractUse
    rule: DiscoveryRule
    why: str
    count: int | None
    inspect: tuple[str, ...] = ()
    #: A ``named`` kind's naming calls that failed: (the fixed contract asked, the error).
    unread: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True, slots=True)
class ControlGroup:
    """Contracts of one kind sharing their control: ``control`` is the first one's, named by the kind (what the
    score reads for all); ``upgrades`` are each member's implementation changes (a beacon's are its beacon's)."""

    control: ContractControl
    addresses: tuple[str, ...]
    upgrades: tuple[tuple[str, Upgrade], ...]
    exception: bool  # not the kind's largest group: a contract controlled otherwise than its peers

    def to_json(self) -> dict[str, Any]:
        return {
            **self.control.to_json(),
            "addresses": list(self.addresses),
            "count": len(self.addresses),
            "exception": self.exception,
            "upgrades": [
                {"address": a, "block": u.block, "implementation": u.implementation, "transaction": u.transaction}
                for a, u in self.upgrades
            ],
        }


@dataclass(frozen=True, slots=True)
class DiscoveredKind:
    """One kind of contract found at run time, with its rule and (inspected or sampled) groups."""

    name: str
    interface: str
    rule: DiscoveryRule
    why: str
    count: int | None
    groups: tuple[ControlGroup, ...] = ()

    def to_json(self) -> dict[str, Any]:
        return {
            "kind": self.name,
            "interface": self.interface,
            "rule": self.rule,
            "why": self.why,
            "count": self.count,
            "groups": [group.to_json() for group in self.groups],
        }


def sample(addresses: Sequence[str]) -> tuple[str, ...]:
    """The first `SAMPLE_FIRST` and newest `SAMPLE_NEWEST` addresses, each once, in order.

    >>> sample(["a", "b", "c", "d", "e"])
    ('a', 'd', 'e')
    """
    picked = [*addresses[:SAMPLE_FIRST], *addresses[max(SAMPLE_FIRST, len(addresses) - SAMPLE_NEWEST) :]]
    return tuple(dict.fromkeys(picked))


def namespace(interface: str) -> str:
    """The project an interface belongs to: "compound" for "compound/CErc20"."""
    return interface.split("/", 1)[0]


def plan_kind(use: ContractUse, found: Mapping[str, Sequence[str]] | None, own: Set[str]) -> KindPlan:
    """The rule for a kind found at run time (``use`` has no address), given what its adapters listed at the block
    by kind (None: no read of them reached the block) and the protocol's ``own`` interface namespaces (those of
    its fixed contracts: a kind of another project's, such as a held stETH, is a dependency)."""
    listed = None if found is None else found.get(use.name)
    count = None if listed is None else len(listed)
    if use.interface.startswith("common/") or use.interface in FEED_INTERFACES or namespace(use.interface) not in own:
        why = "tokens, feeds and other protocols' contracts it reads but does not run: not its control"
        return KindPlan(use, "dependency", why, count)
    construction = BY_FACTORY.get(use.interface)
    if construction is not None:
        picked = sample(listed or ())
        checked = f"; {len(picked)} of {count} checked (the first and newest)" if listed is not None else ""
        return KindPlan(use, "by-factory", f"immutable by construction: {construction}{checked}", count, picked)
    if listed is not None:
        return KindPlan(use, "inspected", "each one inspected as the fixed contracts are", count, tuple(listed))
    why = (
        "not inspected: no read of its adapters reached this block"
        if found is None
        else "not inspected: its adapters keep no list of these (read through other contracts or as candidates)"
    )
    return KindPlan(use, "not-listed", why, None)


def plan_named(use: ContractUse, named: NamedBy, answers: Sequence[CallResult]) -> KindPlan:
    """The plan of a kind its protocol's fixed contracts name (``answers``: ``named.call`` on each of them, at the
    block): every address named, once, to inspect; each call that failed, unread (its contract is unknown)."""
    if not answers:
        return KindPlan(use, "not-listed", f"not inspected: no {named.interface}", None)
    read = [answer for answer in answers if answer.success]
    unread = tuple((to_checksum_address(a.call.target), str(a.error)) for a in answers if not a.success)
    addresses = tuple(dict.fromkeys(to_checksum_address(answer.value[0]) for answer in read))
    inspect = tuple(a for a in addresses if int(a, 16))
    why = f"named by {named.what}; inspected as the fixed contracts are"
    if unread:
        call, failed = named.call.split("(")[0], ", ".join(target for target, _ in unread)
        why += f"; {call}() failed at {failed}: what it names is unknown, scored as such"
    return KindPlan(use, "named", why, len(inspect) + len(unread), inspect, unread)


def _shape(control: ContractControl) -> tuple[object, ...]:
    """What a group's members share: the proxy (kind, pattern, implementation, beacon, why no admin), the admin
    chain, the pause powers and a nominee not yet accepted."""
    p = control.proxy
    return (
        p.kind,
        p.pattern,
        p.implementation,
        p.beacon,
        p.admin_why,
        control.admin_chain,
        control.pause,
        control.pending,
    )


def grouped(
    plan: KindPlan, controls: Iterable[ContractControl], history: Mapping[str, tuple[Upgrade, ...]]
) -> DiscoveredKind:
    """The kind with its inspected contracts grouped by shape, the largest group first. A listed address without
    code at the block (a market listed later than the block) is left out; ``history`` is the implementation
    changes by history source (the proxy, or a beacon proxy's beacon)."""
    members: dict[tuple[object, ...], list[ContractControl]] = {}
    for control in controls:
        if control.proxy.has_code:
            members.setdefault(_shape(control), []).append(control)
    ordered = sorted(members.values(), key=lambda group: (-len(group), group[0].proxy.address))
    groups = tuple(
        ControlGroup(
            replace(group[0], name=plan.use.name),
            tuple(c.proxy.address for c in group if c.proxy.pattern != UNREAD),
            tuple((c.proxy.address, u) for c in group for u in history.get(history_source(c), ())),
            exception=i > 0,
        )
        for i, group in enumerate(ordered)
    )
    count = sum(len(g.addresses) for g in groups) if plan.rule == "inspected" else plan.count
    return DiscoveredKind(plan.use.name, plan.use.interface, plan.rule, plan.why, count, groups)


def history_source(control: ContractControl) -> str:
    """Where a proxy's implementation changes are logged: a beacon proxy's in its beacon (Upgraded), others in
    the proxy itself (Upgraded, or Compound's NewImplementation)."""
    proxy = control.proxy
    return proxy.beacon if proxy.kind == "beacon" and proxy.beacon is not None else proxy.address
