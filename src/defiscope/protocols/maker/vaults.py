"""Maker vaults, scanned in batches: collateralization ratio and liquidation price from `maker.math`.

Vault owners are discovered from the gem's Transfer events into each GemJoin (who joined collateral);
on mainnet most vaults are CdpManager urn handlers joined through a DSProxy, so pass urns explicitly
there. The ilk's price is the pip's (`peek`), the one Spot pokes into the Vat.

    ilks = await read_ilks(reader, deployment)
    vaults = await scan_vaults(reader, deployment, ilks, {"ETH-A": [urn1, urn2]})
    vaults[0].ratio, vaults[0].liquidation_price, vaults[0].to_risk()
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from eth_utils import keccak, to_checksum_address

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.lending.risk import Leg, Position
from defiscope.protocols.maker.adapter import gem_joins
from defiscope.protocols.maker.math import RAY, WAD, Urn

TRANSFER: Final = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


def ilk_id(name: str) -> bytes:
    """An ilk name as Maker's bytes32."""
    return name.encode().ljust(32, b"\0")


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
    price: int | None  # wad, the pip's; None when the pip has no price


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
        """Collateral value over debt at the pip's price (None without debt or price)."""
        return None if self.ilk.price is None else self.state.collateralization(self.ilk.rate, self.ilk.price)

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
        """Collateral weighted by 1 / liquidation ratio (and par), DAI debt at $1 per par."""
        price = Fraction(self.ilk.price or 0, WAD)
        collateral = (
            Leg(
                self.ilk.symbol, Fraction(self.state.ink, WAD) * price, Fraction(RAY * RAY, self.ilk.mat * self.ilk.par)
            ),
        )
        debt = (Leg("DAI", self.debt),) if self.state.art else ()
        return Position(self.urn, collateral, debt)


async def discover_vault_owners(
    client: ChainClient, ilks: Sequence[Ilk], from_block: int, to_block: int
) -> dict[str, list[str]]:
    """Per ilk, the senders of gem transfers into its GemJoin, first seen first."""
    found: dict[str, list[str]] = {}
    for ilk in ilks:
        join_topic = "0x" + "0" * 24 + ilk.join.lower().removeprefix("0x")
        logs = await client.get_logs(
            address=ilk.gem, topics=[TRANSFER, None, join_topic], from_block=from_block, to_block=to_block
        )
        found[ilk.name] = list(dict.fromkeys(_topic_address(log["topics"][1]) for log in logs))
    return found


def _topic_address(topic: object) -> str:
    text = topic if isinstance(topic, str) else "0x" + bytes(topic).hex()  # type: ignore[call-overload]
    return str(to_checksum_address("0x" + text.removeprefix("0x")[-40:]))


async def read_ilks(reader: Reader, deployment: Deployment) -> list[Ilk]:
    """Every registry ilk's Vat, Spot and pip state (two rounds)."""
    vat, spotter = deployment.contract("MakerVat"), deployment.contract("MakerSpotter")
    joins = list(gem_joins(deployment).items())
    calls = [Call.of(spotter, "par()(uint256)")]
    for name, join in joins:
        calls += [
            Call.of(vat, "ilks(bytes32)(uint256,uint256,uint256,uint256,uint256)", ilk_id(name)),
            Call.of(spotter, "ilks(bytes32)(address,uint256)", ilk_id(name)),
            Call.of(join, "gem()(address)"),
        ]
    results = await reader.call_many(calls)
    par = results[0].one()
    rows = [tuple(results[1 + 3 * i + k] for k in range(3)) for i in range(len(joins))]
    peeks = await reader.call_many([Call.of(spot.unwrap()[0], "peek()(bytes32,bool)") for _, spot, _ in rows])
    ilks = []
    for (name, join), (vat_ilk, spot, gem), peek in zip(joins, rows, peeks, strict=True):
        art, rate, spot_ray, _line, dust = vat_ilk.unwrap()
        value, has = peek.unwrap() if peek.success else (b"", False)
        token = deployment.token_at(gem.one())
        ilks.append(
            Ilk(
                name,
                join,
                gem.one(),
                token.symbol if token else gem.one(),
                art,
                rate,
                spot_ray,
                dust,
                spot.unwrap()[1],
                par,
                int.from_bytes(value, "big") if has else None,
            )
        )
    return ilks


async def scan_vaults(
    reader: Reader, deployment: Deployment, ilks: Sequence[Ilk], urns: Mapping[str, Sequence[str]]
) -> list[Vault]:
    """One round: `vat.urns(ilk, urn)` of every listed urn."""
    vat = deployment.contract("MakerVat")
    pairs = [(ilk, u) for ilk in ilks for u in urns.get(ilk.name, ())]
    results = await reader.call_many(
        [Call.of(vat, "urns(bytes32,address)(uint256,uint256)", ilk_id(ilk.name), u) for ilk, u in pairs]
    )
    return [Vault(ilk, u, Urn(*r.unwrap())) for (ilk, u), r in zip(pairs, results, strict=True)]
