"""Liquidators as simulation agents: Aave V3 ``liquidationCall`` and Maker ``Dog.bark``.

Example::

    keeper = AaveLiquidator()
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7, agents=(AaveUsers(), keeper)))
    sim.run(50)
    keeper.liquidations   # [(account, collateral symbol, debt symbol), ...]

The Aave liquidator finds borrowers from the Pool's Supply and Borrow events, scans them with
`protocols.aave.positions.scan_accounts` (two Multicall3 batches for all of them) and liquidates every
account whose health factor is below 1: the largest debt leg against the largest collateral leg, the Pool
capping the repayment at its close factor. The Maker keeper pokes the Spotter (the ilk's ``spot`` follows
the feed) and barks unsafe urns of the seeded vaults and of the vault agent.

Not covered, because our contracts leave them out: Compound V2 ``liquidateBorrow`` (the CErc20 has none,
only the Comptroller's ``liquidateBorrowAllowed`` rule) and Compound III ``absorb``/``buyCollateral``.
"""

from __future__ import annotations

import asyncio
import random
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.agents.maker import VAULT_OWNERS
from defiscope.devnet.agents.wallet import Wallet
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.maker import ILKS, VAULTS, ilk_id
from defiscope.devnet.seeding import seed_address
from defiscope.devnet.tx import MAX_UINT256
from defiscope.protocols.aave.market import AaveMarket
from defiscope.protocols.aave.positions import AccountPosition, discover_accounts, scan_accounts

if TYPE_CHECKING:
    from defiscope.devnet.simulation import Simulation

#: Tokens the liquidator can raise (minted dev tokens or wrapped native); others are skipped.
FUNDABLE: Final = frozenset({"WETH", "USDC", "USDT", "DAI", "WBTC"})


@dataclass(slots=True)
class AaveLiquidator:
    liquidations: list[tuple[str, str, str]] = field(default_factory=list)
    wallet: Wallet | None = None
    accounts: list[str] = field(default_factory=list)
    scanned_to: int = -1

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        del rng  # the liquidator is deterministic: every unhealthy account, in discovery order
        if self.wallet is None:
            self.wallet = Wallet.of(sim, "aave liquidator")
        positions = asyncio.run(self._scan(sim))
        for position in positions:
            if position.data.liquidatable:
                self._liquidate(sim, self.wallet, position)

    async def _scan(self, sim: Simulation) -> list[AccountPosition]:
        pool = sim.chain.contracts["AaveV3Pool"]
        async with ChainClient.connect(sim.chain.chain_id, [sim.chain.rpc_url]) as client:
            snapshot = await client.snapshot()
            if snapshot.block.number > self.scanned_to:
                found = await discover_accounts(client, pool, self.scanned_to + 1, snapshot.block.number)
                self.accounts += [a for a in found if a not in self.accounts]
                self.scanned_to = snapshot.block.number
            if not self.accounts:
                return []
            market = AaveMarket(pool, sim.chain.contracts["AaveV3Oracle"])
            return await scan_accounts(Batcher(snapshot).reader("simulation"), market, self.accounts)

    def _liquidate(self, sim: Simulation, wallet: Wallet, position: AccountPosition) -> None:
        debts = [leg for leg in position.legs if leg.debt_base and leg.symbol in FUNDABLE]
        collaterals = [leg for leg in position.legs if leg.collateral_base]
        if not debts or not collaterals:
            return
        debt = max(debts, key=lambda leg: leg.debt_base)
        collateral = max(collaterals, key=lambda leg: leg.collateral_base)
        debt_token = sim.chain.contracts[f"AaveV3VariableDebtToken:{debt.symbol}"]
        owed = int(sim.sender.contract(contract_artifact("DevToken"), debt_token)
                   .functions.balanceOf(position.account).call())  # fmt: skip
        pool = sim.sender.contract(aave_artifact("protocol/pool/Pool"), sim.chain.contracts["AaveV3Pool"])
        # Ask for everything (uint max): the Pool takes its close factor of the debt at the liquidation's own
        # block (50 %, or 100 % under HF 0.95); 1 % on top covers the interest of the blocks in between.
        wallet.fund(debt.symbol, owed + owed // 100)
        wallet.approve(debt.symbol, pool.address)
        collateral_asset, debt_asset = wallet.token(collateral.symbol).address, wallet.token(debt.symbol).address
        call = pool.functions.liquidationCall(collateral_asset, debt_asset, position.account, MAX_UINT256, False)
        if wallet.send(call):
            self.liquidations.append((position.account, collateral.symbol, debt.symbol))


@dataclass(slots=True)
class MakerKeeper:
    """Pokes every ilk's spot, then barks each unsafe urn it knows of."""

    urns: tuple[str, ...] = ()  # more owners to watch, besides the seeded vaults and the vault agent's
    vault_owners: int = VAULT_OWNERS  # how many wallets the vault agent uses
    barks: list[tuple[str, str]] = field(default_factory=list)
    wallet: Wallet | None = None

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        del rng
        if self.wallet is None:
            self.wallet = Wallet.of(sim, "maker keeper")
        vat = sim.sender.contract(contract_artifact("Vat"), sim.chain.contracts["MakerVat"])
        spotter = sim.sender.contract(contract_artifact("Spotter"), sim.chain.contracts["MakerSpotter"])
        dog = sim.sender.contract(contract_artifact("Dog"), sim.chain.contracts["MakerDog"])
        owners = [seed_address("maker", v.name) for v in VAULTS] + [
            seed_address("simulation", f"maker vault {i}") for i in range(self.vault_owners)
        ] + list(self.urns)  # fmt: skip
        for ilk in ILKS:
            i = ilk_id(ilk.name)
            self.wallet.send(spotter.functions.poke(i))
            # One JSON-RPC batch for the ilk and all its urns, not a request per urn.
            with sim.sender.w3.batch_requests() as batch:
                batch.add(vat.functions.ilks(i))
                for urn in owners:
                    batch.add(vat.functions.urns(i, urn))
                ilk_data, *urns = cast(list[Any], batch.execute())  # decoded call results
            rate, spot = int(ilk_data[1]), int(ilk_data[2])
            for urn, (ink, art) in zip(owners, urns, strict=True):
                if (
                    art
                    and ink * spot < art * rate
                    and self.wallet.send(dog.functions.bark(i, urn, self.wallet.address))
                ):
                    self.barks.append((ilk.name, urn))
