"""EigenLayer's TVL: each whitelisted strategy's underlying plus natively restaked ETH; EIGEN as staking.

Strategies are what the StrategyManager's whitelist events say at the reader's block (`discovery`), so a
strategy whitelisted later (mainnet whitelists LSTs by governance and any token through its StrategyFactory)
is found on the next read and a removed one is dropped. A strategy holds ``sharesToUnderlyingView(totalShares)``
of its token, computed here from ``totalShares()`` and the token's balance with StrategyBase's own math
(`strategy_math`). The token balances are followed with `holdings.HolderBalances`: read once, then re-read only
for a strategy that a token log names (stETH as shares x the share rate, the rate read once per block). Restaked
stETH is Lido's receipt, counted once in totals. The EIGEN strategy holds bEIGEN
(EIGEN's 1:1 backing token), reported as EIGEN of kind `staking`, as DefiLlama does.

Native restaking is the sum of positive ``podOwnerDepositShares`` (1 share = 1 wei of beacon-chain ETH, as WETH)
of the pod owners named by `PodDeployed` logs; a negative balance (a pre-slashing-upgrade deficit) is a debt,
not negative TVL. The shares are read once; a later read at a newer block updates them exactly from the
`NewTotalShares` logs in between (every change of deposit shares emits one) instead of re-reading every pod.

    adapter = EigenLayerAdapter(deployment)
    positions = await adapter.positions(reader)      # one per strategy holding something, one for native ETH
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.deployments.mainnet import EIGENLAYER_START_BLOCKS
from defiscope.protocols.base import Adapter, AdapterError, BalanceKind, Position, ProtocolInfo
from defiscope.protocols.eigenlayer.discovery import (
    LEGACY_OPERATOR_REGISTERED_EVENT,
    NEW_TOTAL_SHARES,
    NEW_TOTAL_SHARES_EVENT,
    OPERATOR_REGISTERED_EVENT,
    POD_DEPLOYED,
    POD_DEPLOYED_EVENT,
    STRATEGY_ADDED,
    STRATEGY_ADDED_EVENT,
    STRATEGY_REMOVED,
    STRATEGY_REMOVED_EVENT,
    active_strategies,
    apply_pod_logs,
    seen_log,
    subjects,
)
from defiscope.protocols.eigenlayer.strategy_math import shares_to_underlying
from defiscope.protocols.holdings import HolderBalances
from defiscope.protocols.holdings_models import holdings_surface, registry_models
from defiscope.protocols.log_cursor import LogCursor
from defiscope.protocols.surface import ContractUse

EIGENLAYER: Final = ProtocolInfo(
    slug="eigenlayer",
    name="EigenLayer",
    category="Restaking",
    methodology=(
        "Per whitelisted strategy (found from the StrategyManager's whitelist events), "
        "sharesToUnderlyingView(totalShares) of its underlying token (stETH, rETH, cbETH...), plus natively "
        "restaked ETH (the EigenPodManager's positive podOwnerDepositShares of every pod owner found from "
        "PodDeployed events). Restaked stETH is Lido's receipt. EIGEN in its strategy is staking, not TVL."
    ),
    url="https://www.eigenlayer.xyz",
    counts=(
        "TVL: every strategy on the StrategyManager's deposit whitelist at the block, valued as "
        "sharesToUnderlyingView(totalShares) of its underlying token (what all its shares redeem for: the token "
        "balance less the virtual-offset rounding of StrategyBase), plus beacon-chain ETH restaked through "
        "EigenPods: the sum over pod owners of max(0, podOwnerDepositShares), 1 share = 1 wei, valued as WETH. "
        "Staking: the EIGEN strategy's bEIGEN, counted as EIGEN (bEIGEN is its 1:1 backing token). stETH in "
        "its strategy is marked Lido's receipt so aggregate totals count that ETH once. A strategy removed from "
        "the whitelist is no longer counted, though stakers' tokens may remain in it until withdrawn."
    ),
    discovery=(
        "Strategies: StrategyAddedToDepositWhitelist(address) and StrategyRemovedFromDepositWhitelist(address) "
        "logs of the StrategyManager, scanned from its deployment block (the registry's start block; genesis on "
        "the devnet) and then only over new blocks, replayed in order (a removed strategy is dropped). Pods: "
        "PodDeployed(address,address) logs of the EigenPodManager, same cursor; there is no on-chain pod list. "
        "Pod owners' deposit shares are read once, then updated exactly from NewTotalShares(address,int256) "
        "logs (emitted by every change of deposit shares) rather than re-read for every pod at each block. "
        "Operators (`defiscope staking operators`): OperatorRegistered(address,address) logs of the "
        "DelegationManager, and for operators registered before the slashing upgrade the M2 form "
        "OperatorRegistered(address,(address,address,uint32)) of the same proxy. Each strategy's underlying is "
        "read once (underlyingToken() is immutable). Its balance of that token is read once, then re-read only "
        "when a log of the token names the strategy (Transfer; for stETH also TransferShares and SharesBurnt, "
        "kept as sharesOf x getTotalPooledEther / getTotalShares, the rate read once per block)."
    ),
    defillama_difference=(
        "DefiLlama sums balanceOf(strategy) of each whitelisted strategy's underlying; we count "
        "sharesToUnderlyingView(totalShares), which leaves out the 1e3-wei virtual offsets' share of the balance "
        "(at most a few thousand wei per strategy) and any token sent to a strategy without a deposit (not "
        "redeemable by stakers). DefiLlama values native restaking as the beacon-chain balances of validators "
        "whose withdrawal credentials point at an EigenPod (an off-chain Allium query, 3 days behind); we read "
        "podOwnerDepositShares on chain at the block, which counts only validators whose credentials were proven "
        "to the pod (unproven validators are not restaked yet) and does not apply beacon-chain slashing factors "
        "(a pod owner's shares lose value through beaconChainSlashingFactor, not through deposit shares). Both "
        "leave bEIGEN out of TVL and report it as EIGEN staking."
    ),
)
STRATEGY_MANAGER, POD_MANAGER = "EigenLayerStrategyManager", "EigenLayerEigenPodManager"
DELEGATION_MANAGER: Final = "EigenLayerDelegationManager"
#: EIGEN's backing token (the EIGEN strategy's underlying on mainnet); reported as EIGEN.
BACKING_EIGEN: Final = "EigenLayerBackingEigen"
#: The pseudo-strategy operator shares of native ETH are recorded under (same address on every chain).
BEACON_CHAIN_ETH_STRATEGY: Final = "0xbeaC0eeEeeeeEEeEeEEEEeeEEeEeeeEeeEEBEaC0"
#: Tokens issued by other protocols in our registry: slug of the issuer.
RECEIPTS: Final = {"stETH": "lido", "wstETH": "lido"}
#: What is read of a strategy.
#: The kind of the strategies found at run time (the StrategyManager's whitelist events).
STRATEGY_KIND: Final = "strategy (whitelisted)"
STRATEGY_CALLS: Final = ("underlyingToken()(address)", "totalShares()(uint256)")
#: Operators' shares, many operators and strategies per call (by `operators.operator_stakes`).
OPERATORS_SHARES: Final = "getOperatorsShares(address[],address[])(uint256[][])"


@dataclass(frozen=True, slots=True)
class StrategyState:
    address: str
    underlying: str
    total_shares: int
    token_balance: int
    total_underlying: int

    def to_underlying(self, shares: int) -> int:
        """``sharesToUnderlyingView(shares)`` at this state."""
        return shares_to_underlying(shares, total_shares=self.total_shares, token_balance=self.token_balance)


@dataclass(frozen=True, slots=True)
class PodShares:
    """Pod owners' deposit shares as of one block."""

    block: int
    shares: Mapping[str, int]
    rewinds: int = 0  # the pod logs' `LogCursor.rewinds` then: after a reorg the shares are read again


class EigenLayerAdapter(Adapter):
    info = EIGENLAYER

    def __init__(self, deployment: Deployment) -> None:
        super().__init__(deployment)
        self.manager = deployment.contract(STRATEGY_MANAGER)
        self.pods = deployment.contracts.get(POD_MANAGER)
        self.delegation = deployment.contracts.get(DELEGATION_MANAGER)
        # The contracts' deployment block is known on mainnet; a devnet (same chain id) starts from genesis.
        start = EIGENLAYER_START_BLOCKS.get(deployment.chain_id, 0) if deployment.network == "mainnet" else 0
        self.start_block = start
        self.whitelist = LogCursor(self.manager, (STRATEGY_ADDED, STRATEGY_REMOVED), seen_log, start_block=start)
        pod_topics = (POD_DEPLOYED, NEW_TOTAL_SHARES)
        self.pod_logs = LogCursor(self.pods, pod_topics, seen_log, start_block=start) if self.pods else None
        self.pod_shares: PodShares | None = None  # the latest block's pod-owner deposit shares
        self.receipt_of = {deployment.tokens[s].address: slug for s, slug in RECEIPTS.items() if s in deployment.tokens}
        # Underlying token -> the token its staking position is reported in: EIGEN, and bEIGEN as EIGEN.
        eigen, backing = deployment.tokens.get("EIGEN"), deployment.contracts.get(BACKING_EIGEN)
        self.staked_as: dict[str, str] = {}
        if eigen is not None:
            self.staked_as = dict.fromkeys(filter(None, (eigen.address, backing)), eigen.address)
        self.underlying: dict[str, str] = {}  # strategy -> its token (immutable, read once)
        # The strategies' token balances, moved forward by the tokens' logs: a block re-reads only the strategies
        # a log names, plus stETH's share rate once (not balanceOf of every strategy).
        self.holdings = HolderBalances(registry_models(deployment))

    async def prefetch(self, reader: Reader) -> None:
        """The logs the next read at the reader's block needs: the cursors' and the holdings' (see
        `protocols.tracked.prefetch_logs`)."""
        await asyncio.gather(*(cursor.scan(reader) for cursor in self.log_cursors()), self.holdings.prefetch(reader))

    def surface(self) -> tuple[ContractUse, ...]:
        uses = [
            ContractUse(
                "StrategyManager",
                "eigenlayer/StrategyManager",
                events=(STRATEGY_ADDED_EVENT, STRATEGY_REMOVED_EVENT),
                address=self.manager,
            ),
            ContractUse(
                STRATEGY_KIND,
                "eigenlayer/IStrategy",
                calls=STRATEGY_CALLS,
            ),
            *holdings_surface(self.holdings.models.values()),  # the strategies' underlying balances
        ]
        if self.pods:
            uses.append(
                ContractUse(
                    "EigenPodManager",
                    "eigenlayer/EigenPodManager",
                    calls=("podOwnerDepositShares(address)(int256)",),
                    events=(POD_DEPLOYED_EVENT, NEW_TOTAL_SHARES_EVENT),
                    address=self.pods,
                )
            )
        if self.delegation:  # read by `operators.operator_stakes`
            uses.append(
                ContractUse(
                    "DelegationManager",
                    "eigenlayer/DelegationManager",
                    calls=(OPERATORS_SHARES,),
                    events=(OPERATOR_REGISTERED_EVENT,),
                    address=self.delegation,
                )
            )
            uses.append(  # the same proxy's logs from before the slashing upgrade
                ContractUse(
                    "DelegationManager (M2 logs)",
                    "eigenlayer/DelegationManagerM2",
                    events=(LEGACY_OPERATOR_REGISTERED_EVENT,),
                    address=self.delegation,
                )
            )
        return tuple(uses)

    async def positions(self, reader: Reader) -> list[Position]:
        # Concurrent, so both parts' batches coalesce into the same multicalls.
        states, native = await asyncio.gather(self.strategy_states(reader), self.native_restaked(reader))
        positions = [
            Position(
                self.staked_as.get(s.underlying, s.underlying),
                s.total_underlying,
                BalanceKind.STAKING if s.underlying in self.staked_as else BalanceKind.TVL,
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

    def found_contracts(self, block: int) -> dict[str, tuple[str, ...]] | None:
        """The deposit whitelist at ``block``, once the whitelist events were scanned that far."""
        if self.whitelist.scanned_to < block:
            return None
        return {STRATEGY_KIND: tuple(active_strategies(self.whitelist.upto(block)))}

    async def strategies(self, reader: Reader) -> list[str]:
        """The deposit whitelist at the reader's block, from the whitelist events."""
        await self.whitelist.scan(reader)
        return active_strategies(self.whitelist.upto(reader.block.number))

    async def strategy_states(self, reader: Reader) -> list[StrategyState]:
        """One batch once the underlyings are known: total shares and the strategy's token balance; the total
        in underlying is StrategyBase's own share math over those (`shares_to_underlying`)."""
        # The strategies whitelisted as of the last scan are read while the scan runs (one round); only a
        # whitelist change costs another.
        known = [s for s in active_strategies(self.whitelist.upto(reader.block.number)) if s in self.underlying]
        strategies, states = await asyncio.gather(self.strategies(reader), self._states(reader, known))
        by_address = {s.address: s for s in states}
        missing = [s for s in strategies if s not in by_address]
        if missing:
            by_address |= {s.address: s for s in await self._states(reader, missing)}
        return [by_address[s] for s in strategies]

    async def _states(self, reader: Reader, strategies: list[str]) -> list[StrategyState]:
        if not strategies:
            return []
        unknown = [s for s in strategies if s not in self.underlying]
        if unknown:
            found = await reader.call_many([Call.of(s, "underlyingToken()(address)") for s in unknown])
            for strategy, result in zip(unknown, found, strict=True):
                if not result.success:
                    raise self._unreadable(strategy, result.error)
                self.underlying[strategy] = result.one()
        totals, held = await asyncio.gather(
            reader.call_many([Call.of(s, "totalShares()(uint256)") for s in strategies]),
            self.holdings.follow(reader, [(s, self.underlying[s]) for s in strategies]),
        )
        states = []
        for strategy, shares in zip(strategies, totals, strict=True):
            if not shares.success:
                raise self._unreadable(strategy, f"{shares.call.describe()}: {shares.error}")
            underlying = self.underlying[strategy]
            why = held.reason(strategy, underlying)
            if why is not None:
                raise self._unreadable(strategy, why)
            balance = held.balance(strategy, underlying)
            total = shares_to_underlying(shares.one(), total_shares=shares.one(), token_balance=balance)
            states.append(StrategyState(strategy, underlying, shares.one(), balance, total))
        return states

    def _unreadable(self, strategy: str, reason: object) -> AdapterError:
        return AdapterError(
            f"{self.info.slug}: whitelisted strategy {strategy} of the StrategyManager {self.manager} "
            f"on chain {self.deployment.chain_id} cannot be read: {reason}"
        )

    async def pod_owners(self, reader: Reader) -> list[str]:
        """Owners of the pods deployed up to the reader's block (from `PodDeployed` logs)."""
        if self.pod_logs is None:
            return []
        await self.pod_logs.scan(reader)
        return subjects(self.pod_logs.upto(reader.block.number), POD_DEPLOYED)

    async def native_restaked(self, reader: Reader) -> int:
        """Sum of positive pod-owner deposit shares (a negative balance is a debt, not negative TVL)."""
        return sum(max(0, s) for s in (await self.pod_deposit_shares(reader)).values())

    async def pod_deposit_shares(self, reader: Reader) -> Mapping[str, int]:
        """Every pod owner's ``podOwnerDepositShares`` at the reader's block: from the shares known at an earlier
        block plus the pod logs in between, else read for every owner."""
        owners = await self.pod_owners(reader)  # scans the pod logs up to the block
        if self.pods is None or self.pod_logs is None:
            return {}
        block, known = reader.block.number, self.pod_shares
        if known is not None and known.block <= block and known.rewinds == self.pod_logs.rewinds:
            shares = apply_pod_logs(known.shares, self.pod_logs.between(known.block, block))
        else:
            calls = [Call.of(self.pods, "podOwnerDepositShares(address)(int256)", owner) for owner in owners]
            shares = dict(zip(owners, self.require(await reader.call_many(calls)) if calls else [], strict=True))
        latest = self.pod_shares
        if latest is None or latest.block < block or latest.rewinds != self.pod_logs.rewinds:
            self.pod_shares = PodShares(block, shares, self.pod_logs.rewinds)
        return shares
