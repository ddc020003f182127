"""EigenLayer's TVL: each strategy's underlying (sharesToUnderlyingView(totalShares)) plus natively restaked ETH.

Strategies are the registry's ``EigenLayerStrategy:<symbol>`` contracts (plus any given explicitly, which must be
whitelisted in the StrategyManager, else the read fails naming them). A strategy's position is in its
underlying token, so restaked stETH is marked a receipt of Lido and counted once in totals. Native restaking is
the sum of positive `podOwnerShares` (1 share = 1 wei of beacon-chain ETH) as WETH.

    adapter = EigenLayerAdapter(deployment)
    positions = await adapter.positions(reader)      # one per strategy with shares, one for native ETH

Pods are enumerated with the devnet's ``podOwners(i)``; on mainnet they are found from `PodDeployed` logs,
which the adapter does not scan yet.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.base import Adapter, AdapterError, BalanceKind, Position, ProtocolInfo
from defiscope.protocols.eigenlayer.strategy_math import shares_to_underlying

EIGENLAYER: Final = ProtocolInfo(
    slug="eigenlayer",
    name="EigenLayer",
    category="Restaking",
    methodology=(
        "Per strategy, sharesToUnderlyingView(totalShares) of its underlying token (stETH, rETH, cbETH...), "
        "plus natively restaked ETH (EigenPodManager podOwnerShares). Restaked stETH is Lido's receipt."
    ),
    url="https://www.eigenlayer.xyz",
)
STRATEGY_PREFIX: Final = "EigenLayerStrategy:"
STRATEGY_MANAGER, POD_MANAGER = "EigenLayerStrategyManager", "EigenLayerEigenPodManager"
#: The pseudo-strategy operator shares of native ETH are recorded under (same address on every chain).
BEACON_CHAIN_ETH_STRATEGY: Final = "0xbeaC0eeEeeeeEEeEeEEEEeeEEeEeeeEeeEEBEaC0"
#: Tokens issued by other protocols in our registry: slug of the issuer.
RECEIPTS: Final = {"stETH": "lido", "wstETH": "lido"}


@dataclass(frozen=True, slots=True)
class StrategyState:
    address: str
    underlying: str
    total_shares: int
    total_underlying: int


class EigenLayerAdapter(Adapter):
    info = EIGENLAYER

    def __init__(self, deployment: Deployment, extra_strategies: Sequence[str] = ()) -> None:
        super().__init__(deployment)
        self.manager = deployment.contract(STRATEGY_MANAGER)
        self.pods = deployment.contracts.get(POD_MANAGER)
        listed = [a for name, a in deployment.contracts.items() if name.startswith(STRATEGY_PREFIX)]
        self.strategies = list(dict.fromkeys([*listed, *extra_strategies]))
        self.receipt_of = {deployment.tokens[s].address: slug for s, slug in RECEIPTS.items() if s in deployment.tokens}
        self.underlying: dict[str, str] = {}  # strategy -> its token (immutable, read once)
        self.pod_owners: list[str] = []  # EigenPodManager.podOwners by index (append-only)

    async def positions(self, reader: Reader) -> list[Position]:
        # Concurrent, so both protocols' batches coalesce into the same multicalls.
        states, native = await asyncio.gather(self.strategy_states(reader), self.native_restaked(reader))
        positions = [
            Position(
                s.underlying,
                s.total_underlying,
                BalanceKind.TVL,
                s.address,
                f"strategy {s.address}",
                self.receipt_of.get(s.underlying),
            )
            for s in states
            if s.total_underlying  # a strategy with no shares holds nothing: no position, not an error
        ]
        if native:
            weth = self.deployment.token("WETH").address
            positions.append(Position(weth, native, BalanceKind.TVL, self.pods, "natively restaked ETH (EigenPods)"))
        return positions

    async def strategy_states(self, reader: Reader) -> list[StrategyState]:
        """One batch once the underlyings are known: whitelist, total shares and the strategy's token balance;
        the total in underlying is StrategyBase's own share math over those (`shares_to_underlying`)."""
        unknown = [s for s in self.strategies if s not in self.underlying]
        if unknown:
            found = await reader.call_many([Call.of(s, "underlyingToken()(address)") for s in unknown])
            for strategy, result in zip(unknown, found, strict=True):
                if not result.success:
                    raise self._not_a_strategy(strategy)
                self.underlying[strategy] = result.one()
        results = await reader.call_many(
            [
                call
                for s in self.strategies
                for call in (
                    Call.of(self.manager, "strategyIsWhitelistedForDeposit(address)(bool)", s),
                    Call.of(s, "totalShares()(uint256)"),
                    Call.of(self.underlying[s], "balanceOf(address)(uint256)", s),
                )
            ]
        )
        states = []
        for i, strategy in enumerate(self.strategies):
            listed, shares, balance = results[3 * i : 3 * i + 3]
            if not (listed.success and listed.one()) or not (shares.success and balance.success):
                raise self._not_a_strategy(strategy)
            total = shares_to_underlying(shares.one(), total_shares=shares.one(), token_balance=balance.one())
            states.append(StrategyState(strategy, self.underlying[strategy], shares.one(), total))
        return states

    def _not_a_strategy(self, strategy: str) -> AdapterError:
        return AdapterError(
            f"{self.info.slug}: {strategy} is not a strategy of the StrategyManager {self.manager} "
            f"on chain {self.deployment.chain_id}"
        )

    async def native_restaked(self, reader: Reader) -> int:
        """Sum of positive pod-owner shares (a negative balance is a debt from slashing, not negative TVL).

        Pod owners are cached by index (the list only grows): one batch reads the count and the known owners'
        shares; only new pods cost more rounds."""
        if self.pods is None:
            return 0
        known = list(self.pod_owners)
        first = await reader.call_many(
            [
                Call.of(self.pods, "numPods()(uint256)"),
                *(Call.of(self.pods, "podOwnerShares(address)(int256)", o) for o in known),
            ]
        )
        (count,) = self.require(first[:1])
        shares = self.require(first[1 : 1 + min(count, len(known))])
        if count > len(known):
            owners = self.require(
                await reader.call_many(
                    [Call.of(self.pods, "podOwners(uint256)(address)", i) for i in range(len(known), count)]
                )
            )
            if len(self.pod_owners) == len(known):  # a concurrent read may have learnt them already
                self.pod_owners.extend(owners)
            shares += self.require(
                await reader.call_many([Call.of(self.pods, "podOwnerShares(address)(int256)", o) for o in owners])
            )
        return sum(max(0, s) for s in shares)
