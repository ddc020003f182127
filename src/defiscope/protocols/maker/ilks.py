"""Maker's collateral types as the IlkRegistry lists them, and how each class of ilk is counted.

The IlkRegistry (``list()``, then per ilk ``join``/``gem``/``dec``/``class``) is the chainlog's own index of
ilks; its ``class`` says what kind of adapter an ilk has: 1 a GemJoin with a Clipper, 2 a GemJoin with a
legacy Flipper, 3 a real-world-asset (MIP-21) urn, 6 a "joinless" LitePSM whose gem sits in its ``pocket``.

    >>> rule_for(1).holder, rule_for(3).holder, rule_for(6).holder
    ('join', None, 'litepsm-pocket')
    >>> rule_for(3).reason
    'RWA (MIP-21) ilk: its gem is an unpriced placeholder token minted for the deal, not the off-chain asset'
    >>> ilk_name(ilk_id("ETH-A"))
    'ETH-A'
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader

ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
#: Registry names of a deployment's LitePSMs: ``MakerLitePsm:<ilk>`` (chainlog ``MCD_LITE_PSM_*``).
LITE_PSM_PREFIX: Final = "MakerLitePsm:"


def ilk_id(name: str) -> bytes:
    """An ilk name as Maker's bytes32 (``"ETH-A"`` left-aligned, zero padded)."""
    return name.encode().ljust(32, b"\0")


def ilk_name(ilk: bytes) -> str:
    return ilk.rstrip(b"\0").decode(errors="replace")


@dataclass(frozen=True, slots=True)
class CountingRule:
    """Where an ilk class keeps its collateral, or why it is not counted."""

    holder: str | None  # "join": the gem held by the join; "litepsm-pocket": held by the LitePSM's pocket
    reason: str = ""  # why not counted, when holder is None


#: IlkRegistry class -> counting rule (makerdao/ilk-registry: 1 clip, 2 flip, 3+ RWA or custom; 6 joinless).
RULES: Final[dict[int, CountingRule]] = {
    1: CountingRule("join"),
    2: CountingRule("join"),
    3: CountingRule(
        None, "RWA (MIP-21) ilk: its gem is an unpriced placeholder token minted for the deal, not the off-chain asset"
    ),
    6: CountingRule("litepsm-pocket"),
}


#: Classes of vault ilks (liquidated by a Clipper or Flipper): the ones with urns at risk and a stability fee.
VAULT_CLASSES: Final = frozenset({1, 2})


def rule_for(ilk_class: int) -> CountingRule:
    return RULES.get(ilk_class, CountingRule(None, f"IlkRegistry class {ilk_class}: no counting rule for this kind"))


@dataclass(frozen=True, slots=True)
class RegistryIlk:
    """One IlkRegistry entry."""

    name: str
    join: str  # the zero address for joinless ilks
    gem: str
    dec: int
    ilk_class: int

    @property
    def id(self) -> bytes:
        return ilk_id(self.name)

    @property
    def rule(self) -> CountingRule:
        return rule_for(self.ilk_class)


LIST: Final = "list()(bytes32[])"
REGISTRY_CALLS: Final = ("join(bytes32)(address)", "gem(bytes32)(address)", "dec(bytes32)(uint256)")
CLASS_CALL: Final = "class(bytes32)(uint256)"
#: Per ilk, in `RegistryIlk`'s field order after the name.
DETAIL_CALLS: Final = (*REGISTRY_CALLS, CLASS_CALL)


async def read_registry(reader: Reader, registry: str, known: Sequence[RegistryIlk] = ()) -> list[RegistryIlk]:
    """Every ilk the IlkRegistry lists, with its join, gem, decimals and class.

    ``known`` entries (from an earlier read) are re-checked in the same round as ``list()``; only ilks that
    are new or whose entry changed (governance ``file``/``put``) cost a second round."""
    calls = [Call.of(registry, LIST), *(Call.of(registry, sig, ilk.id) for ilk in known for sig in DETAIL_CALLS)]
    listed, *values = await reader.values(calls)
    confirmed = {}
    for i, ilk in enumerate(known):
        row = values[i * len(DETAIL_CALLS) : (i + 1) * len(DETAIL_CALLS)]
        if RegistryIlk(ilk.name, *row) == ilk:
            confirmed[ilk.name] = ilk
    names = [ilk_name(bytes(ilk)) for ilk in listed]
    fetched = await _read_details(reader, registry, [n for n in names if n not in confirmed])
    return [confirmed.get(name) or fetched[name] for name in names]


async def _read_details(reader: Reader, registry: str, names: Sequence[str]) -> dict[str, RegistryIlk]:
    values = await reader.values([Call.of(registry, sig, ilk_id(n)) for n in names for sig in DETAIL_CALLS])
    size = len(DETAIL_CALLS)
    return {n: RegistryIlk(n, *values[i * size : (i + 1) * size]) for i, n in enumerate(names)}
