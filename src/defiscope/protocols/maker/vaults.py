"""Maker vaults, found from events and scanned in batches: ratio and liquidation price from `maker.math`.

Urns are found two ways, as mainnet's vaults are made: the DssCdpManager's ``NewCdp(usr, own, cdp)``
(``own`` is the DSProxy that opened it; the urn is ``urns(cdp)``, an UrnHandler) and the Vat's ``frob``
LogNotes (anonymous; topic1 = ilk, topic2 = urn), which also catch urns driven without the manager.
An ilk's price is the one the Vat holds it to: ``spot * mat * par`` (Spot.poke set ``spot = price / par /
mat``), so the risk report never calls the OSM's ``peek`` (which mainnet refuses to callers it has not
``kiss``ed). An ilk whose ``spot`` is 0 (the last poke had no price) has no price: its vaults are listed
as not valued, never valued at 0.

    ilks = await read_ilks(reader, deployment)
    urns = await discover_urns(client, reader, deployment, from_block, to_block)   # {"ETH-A": [urn, ...]}
    vaults = await scan_vaults(reader, deployment, ilks, urns)
    vaults[0].ratio, vaults[0].liquidation_price, vaults[0].to_risk()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

from defiscope.chain.client import ChainClient
from defiscope.chain.logs import log_hex, topic_address
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.lending.risk import Leg, Position
from defiscope.protocols.maker.ilks import VAULT_CLASSES, ilk_id, ilk_name, read_registry
from defiscope.protocols.maker.math import RAY, WAD, Urn
from defiscope.protocols.maker.surface import (
    CDP_ILKS,
    CDP_MANAGER,
    CDP_URNS,
    FROB,
    NEW_CDP,
    PAR,
    REGISTRY,
    SPOT_ILKS,
    SPOTTER,
    SYMBOL,
    VAT,
    VAT_ILKS,
    VAT_URNS,
)
from defiscope.protocols.surface import event_topic, note_topic

__all__ = ["Ilk", "Vault", "discover_urns", "ilk_id", "read_ilks", "scan_vaults"]


@dataclass(frozen=True, slots=True)
class Ilk:
    name: str
    join: str
    gem: str
    symbol: str
    art: int  # total normalised debt
    rate: int  # ray
    spot: int  # ray
    dust: int  # rad
    mat: int  # ray
    par: int  # ray

    @property
    def price(self) -> Fraction | None:
        """USD per unit of collateral the Vat last saw: spot * mat * par / RAY**3; None when spot is 0."""
        if self.spot == 0 or self.mat == 0:
            return None
        return Fraction(self.spot * self.mat * self.par, RAY**3)


@dataclass(frozen=True, slots=True)
class Vault:
    ilk: Ilk
    urn: str
    state: Urn

    @property
    def debt(self) -> Fraction:
        """DAI owed (art * rate), in whole DAI."""
        return self.state.debt(self.ilk.rate)

    @property
    def ratio(self) -> Fraction | None:
        """Collateral value over debt at the ilk's price (None without debt or price)."""
        price = self.ilk.price
        if price is None or self.state.art == 0:
            return None
        return Fraction(self.state.ink, WAD) * price / self.debt

    @property
    def liquidation_price(self) -> Fraction | None:
        return self.state.liquidation_price(self.ilk.rate, self.ilk.mat, self.ilk.par)

    @property
    def safe(self) -> bool:
        """What the Vat holds the vault to (frob's not-safe rule at the poked spot)."""
        return self.state.is_safe(self.ilk.rate, self.ilk.spot)

    @property
    def barkable(self) -> bool:
        """Dog.bark would accept it (spot > 0 and ink * spot < art * rate)."""
        return self.state.is_barkable(self.ilk.rate, self.ilk.spot)

    def to_risk(self) -> Position:
        """Collateral weighted by 1 / liquidation ratio (and par), DAI debt at $1 per par; needs a price."""
        price = self.ilk.price
        if price is None:
            raise ValueError(f"{self.ilk.name} has no price (spot 0): vault {self.urn} cannot be valued")
        weight = Fraction(RAY * RAY, self.ilk.mat * self.ilk.par)
        collateral = (Leg(self.ilk.symbol, Fraction(self.state.ink, WAD) * price, weight),)
        debt = (Leg("DAI", self.debt),) if self.state.art else ()
        return Position(self.urn, collateral, debt)


async def discover_urns(
    client: ChainClient, reader: Reader, deployment: Deployment, from_block: int, to_block: int
) -> dict[str, list[str]]:
    """Per ilk name, urns seen in CdpManager ``NewCdp`` events and Vat ``frob`` LogNotes, first seen first."""
    found: dict[str, dict[str, None]] = {}
    manager = deployment.contracts.get(CDP_MANAGER)
    if manager is not None:
        logs = await client.get_logs(
            address=manager, topics=["0x" + event_topic(NEW_CDP).hex()], from_block=from_block, to_block=to_block
        )
        cdps = [int(log_hex(log["topics"][3]), 16) for log in logs]
        calls = [Call.of(manager, sig, cdp) for cdp in cdps for sig in (CDP_URNS, CDP_ILKS)]
        values = await reader.values(calls)
        for urn, ilk in zip(values[::2], values[1::2], strict=True):
            found.setdefault(ilk_name(bytes(ilk)), {})[str(urn)] = None
    frobs = await client.get_logs(
        address=deployment.contract(VAT),
        topics=["0x" + note_topic(FROB).hex()],
        from_block=from_block,
        to_block=to_block,
    )
    for log in frobs:
        ilk, urn = ilk_name(bytes.fromhex(log_hex(log["topics"][1])[2:])), topic_address(log["topics"][2])
        found.setdefault(ilk, {})[urn] = None
    return {ilk: list(urns) for ilk, urns in found.items()}


async def read_ilks(reader: Reader, deployment: Deployment) -> list[Ilk]:
    """Every vault ilk of the IlkRegistry with its Vat and Spot state (three rounds)."""
    vat, spotter = deployment.contract(VAT), deployment.contract(SPOTTER)
    entries = [e for e in await read_registry(reader, deployment.contract(REGISTRY)) if e.ilk_class in VAULT_CLASSES]
    calls = [Call.of(spotter, PAR)]
    for entry in entries:
        calls += [Call.of(vat, VAT_ILKS, entry.id), Call.of(spotter, SPOT_ILKS, entry.id)]
    first, *rows = [r.unwrap() for r in await reader.call_many(calls)]
    (par,) = first
    # Symbols of gems the address registry does not know, as the IlkRegistry recorded them.
    unknown = [e for e in entries if deployment.token_at(e.gem) is None]
    registry = deployment.contract(REGISTRY)
    named = dict(zip(unknown, await reader.values([Call.of(registry, SYMBOL, e.id) for e in unknown]), strict=True))
    ilks = []
    for i, entry in enumerate(entries):
        art, rate, spot_ray, _line, dust = rows[2 * i]
        _pip, mat = rows[2 * i + 1]
        token = deployment.token_at(entry.gem)
        symbol = token.symbol if token else str(named[entry])
        ilks.append(Ilk(entry.name, entry.join, entry.gem, symbol, art, rate, spot_ray, dust, mat, par))
    return ilks


async def scan_vaults(
    reader: Reader, deployment: Deployment, ilks: Sequence[Ilk], urns: Mapping[str, Sequence[str]]
) -> list[Vault]:
    """One round: `vat.urns(ilk, urn)` of every listed urn."""
    vat = deployment.contract(VAT)
    pairs = [(ilk, u) for ilk in ilks for u in urns.get(ilk.name, ())]
    results = await reader.call_many([Call.of(vat, VAT_URNS, ilk_id(ilk.name), u) for ilk, u in pairs])
    return [Vault(ilk, u, Urn(*r.unwrap())) for (ilk, u), r in zip(pairs, results, strict=True)]
