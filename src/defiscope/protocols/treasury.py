"""A "tokens held by these addresses" protocol: DAO treasuries, funds. Configured as data (`TreasurySpec`).

TVL = balanceOf(holder) of each listed token, for each holder, in one batch.
"""

from __future__ import annotations

from typing import Final

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment, TreasurySpec
from defiscope.protocols.base import Adapter, BalanceKind, Position, ProtocolInfo
from defiscope.protocols.surface import ContractUse

BALANCE_OF: Final = "balanceOf(address)(uint256)"


class TreasuryAdapter(Adapter):
    def __init__(self, deployment: Deployment, spec: TreasurySpec) -> None:
        super().__init__(deployment)
        self.spec = spec
        self.info = ProtocolInfo(
            slug=spec.slug,
            name=spec.name,
            category="Treasury",
            methodology=f"Balances of {', '.join(spec.tokens)} held by {', '.join(spec.holders)}.",
        )
        # Entries are symbols of the deployment's token list, or addresses (e.g. an LP token).
        self.tokens = [t if t.startswith("0x") else deployment.token(t).address for t in spec.tokens]

    def surface(self) -> tuple[ContractUse, ...]:
        return tuple(ContractUse(f"token {t}", "common/ERC20", calls=(BALANCE_OF,), address=t) for t in self.tokens)

    async def positions(self, reader: Reader) -> list[Position]:
        pairs = [(token, holder) for holder in self.spec.holders for token in self.tokens]
        balances = self.require(await reader.call_many([Call.of(t, BALANCE_OF, h) for t, h in pairs]))
        return [
            Position(token, amount, BalanceKind.TVL, holder, f"held by {holder}")
            for (token, holder), amount in zip(pairs, balances, strict=True)
            if amount
        ]
