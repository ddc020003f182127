"""MakerDAO adapter: TVL = collateral locked in the GemJoins; borrowed = DAI supply (what vaults minted).

Joins are the registry's ``MakerGemJoin:<ilk>`` entries; each join's `gem()` is read once and cached.

    adapter = MakerAdapter(deployment)
    positions = await adapter.positions(reader)   # gem held per join (tvl) and DAI totalSupply (borrowed)
"""

from __future__ import annotations

from typing import Final

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, BalanceKind, Position, ProtocolInfo

JOIN_PREFIX: Final = "MakerGemJoin:"
DAI: Final = "MakerDai"

INFO: Final = ProtocolInfo(
    slug="makerdao",
    name="MakerDAO",
    category="CDP",
    methodology=(
        "TVL is the collateral held by each ilk's GemJoin (balanceOf(join) of its gem); borrowed is the DAI "
        "supply (totalSupply of the DAI token minted through the DaiJoin)."
    ),
    url="https://makerdao.com",
)


def gem_joins(deployment: Deployment) -> dict[str, str]:
    """Ilk name -> GemJoin address."""
    return {n[len(JOIN_PREFIX) :]: a for n, a in deployment.contracts.items() if n.startswith(JOIN_PREFIX)}


class MakerAdapter(Adapter):
    info = INFO

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        self.joins = gem_joins(deployment)
        self.dai = deployment.contract(DAI)
        self.gems: dict[str, str] = {}  # join -> gem

    async def positions(self, reader: Reader) -> list[Position]:
        unknown = [j for j in self.joins.values() if j not in self.gems]
        gems = self.require(await reader.call_many([Call.of(j, "gem()(address)") for j in unknown]))
        self.gems.update(zip(unknown, gems, strict=True))
        joins = list(self.joins.items())
        calls = [Call.of(self.gems[j], "balanceOf(address)(uint256)", j) for _, j in joins]
        values = self.require(await reader.call_many([*calls, Call.of(self.dai, "totalSupply()(uint256)")]))
        positions = [
            Position(self.gems[join], held, BalanceKind.TVL, join, f"{ilk} GemJoin")
            for (ilk, join), held in zip(joins, values, strict=False)
        ]
        positions.append(Position(self.dai, values[-1], BalanceKind.BORROWED, self.dai, "DAI supply"))
        return positions
