"""Liquidators as simulation agents: Aave V3 ``liquidationCall``, Compound V2 ``liquidateBorrow``, Compound III
``absorb`` + ``buyCollateral`` and Maker ``Dog.bark``.

Example::

    keeper = AaveLiquidator()
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7, agents=(AaveUsers(), keeper)))
    sim.run(50)
    keeper.liquidations   # [(account, collateral symbol, debt symbol), ...]

Each lending liquidator finds borrowers from its protocol's events (Aave's Supply/Borrow, the Comptroller's
MarketEntered, Comet's Withdraw), scans them in a few Multicall3 batches with the protocol's position reader
(`protocols.aave.positions`, `protocols.compound.positions`) and acts on every unhealthy account: Aave and
Compound V2 repay the largest debt leg against the largest collateral leg, capped by the close factor (and,
for V2, by the collateral the account holds, from `liquidation_math.seize_tokens`); Compound III absorbs
the account, then buys the absorbed collateral back from the protocol at its storefront discount. The
Maker keeper pokes the Spotter (the ilk's ``spot`` follows the feed) and barks unsafe urns: every cdp of the
CdpManager (seeded vaults and the vault agent's) and the urns driven directly through the Vat.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final, cast

from web3.contract import Contract

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.agents.lending import fund_native
from defiscope.devnet.agents.wallet import Wallet, calldata
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.maker import DIRECT_URNS, ILKS, direct_urn, ilk_id
from defiscope.devnet.tx import MAX_UINT256
from defiscope.protocols.aave.market import AaveMarket
from defiscope.protocols.aave.positions import AccountPosition, discover_accounts, scan_accounts
from defiscope.protocols.compound.liquidation_math import max_close, max_repay_for_collateral
from defiscope.protocols.compound.positions import (
    CometAccount,
    CometMarket,
    V2Account,
    V2Holding,
    discover_comet_accounts,
    discover_v2_accounts,
    read_comet,
    scan_comet_accounts,
    scan_v2_accounts,
)
from defiscope.protocols.compound.v3 import comets

if TYPE_CHECKING:
    from defiscope.devnet.simulation import Simulation

#: Tokens the liquidator can raise (minted dev tokens or wrapped native); others are skipped.
FUNDABLE: Final = frozenset({"WETH", "USDC", "USDT", "DAI", "WBTC"})


Discover = Callable[[ChainClient, str, int, int], Awaitable[list[str]]]


@dataclass(slots=True)
class AccountBook:
    """The borrowers a liquidator knows: found in ``contract``'s logs, each block range read once."""

    discover: Discover
    accounts: list[str] = field(default_factory=list)
    scanned_to: int = -1

    async def update(self, client: ChainClient, contract: str, head: int) -> list[str]:
        if head > self.scanned_to:
            found = await self.discover(client, contract, self.scanned_to + 1, head)
            self.accounts += [a for a in found if a not in self.accounts]
            self.scanned_to = head
        return self.accounts


@dataclass(slots=True)
class AaveLiquidator:
    liquidations: list[tuple[str, str, str]] = field(default_factory=list)
    wallet: Wallet | None = None
    book: AccountBook = field(default_factory=lambda: AccountBook(discover_accounts))

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
            accounts = await self.book.update(client, pool, snapshot.block.number)
            if not accounts:
                return []
            market = AaveMarket(pool, sim.chain.contracts["AaveV3Oracle"])
            return await scan_accounts(Batcher(snapshot).reader("simulation"), market, accounts)

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
class CompoundV2Liquidator:
    """Repays up to the close factor of an account in shortfall and seizes its largest collateral."""

    liquidations: list[tuple[str, str, str]] = field(default_factory=list)  # (account, collateral, debt)
    wallet: Wallet | None = None
    book: AccountBook = field(default_factory=lambda: AccountBook(discover_v2_accounts))

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        del rng  # deterministic: every account in shortfall, in discovery order
        if self.wallet is None:
            self.wallet = Wallet.of(sim, "compound-v2 liquidator")
        comptroller = sim.sender.contract(
            contract_artifact("Comptroller"), sim.chain.contracts["CompoundV2Comptroller"]
        )
        close_factor = int(comptroller.functions.closeFactorMantissa().call())
        incentive = int(comptroller.functions.liquidationIncentiveMantissa().call())
        for account in asyncio.run(self._scan(sim)):
            if account.liquidity.liquidatable:
                self._liquidate(sim, self.wallet, account, close_factor, incentive)

    async def _scan(self, sim: Simulation) -> list[V2Account]:
        deployment = devnet_deployment(sim.chain)
        async with ChainClient.connect(sim.chain.chain_id, [sim.chain.rpc_url]) as client:
            snapshot = await client.snapshot()
            comptroller = sim.chain.contracts["CompoundV2Comptroller"]
            accounts = await self.book.update(client, comptroller, snapshot.block.number)
            if not accounts:
                return []
            return await scan_v2_accounts(Batcher(snapshot).reader("simulation"), deployment, accounts)

    def _liquidate(
        self, sim: Simulation, wallet: Wallet, account: V2Account, close_factor: int, incentive: int
    ) -> None:
        debts = [h for h in account.holdings if h.asset.borrow_balance and h.symbol in FUNDABLE]
        collaterals = [h for h in account.holdings if h.asset.ctoken_balance and h.asset.collateral_factor]
        if not debts or not collaterals:
            return
        debt = max(debts, key=lambda h: h.usd(h.asset.borrow_balance))
        collateral = max(collaterals, key=lambda h: h.usd(h.supplied))
        repay = min(max_close(close_factor, debt.asset.borrow_balance), _coverable(debt, collateral, incentive))
        if repay == 0:
            return
        if debt.symbol == wallet.wrapped_symbol:  # cETH: repaid in native ETH sent with the call
            ceth = sim.sender.contract(contract_artifact("CEther"), debt.ctoken)
            fund_native(sim, wallet, repay)
            done = wallet.send(ceth.functions.liquidateBorrow(account.account, collateral.ctoken), value=repay)
        else:
            ctoken = sim.sender.contract(contract_artifact("CErc20"), debt.ctoken)
            wallet.fund(debt.symbol, repay)
            wallet.approve(debt.symbol, debt.ctoken)
            done = wallet.send(ctoken.functions.liquidateBorrow(account.account, repay, collateral.ctoken))
        if done:
            self.liquidations.append((account.account, collateral.symbol, debt.symbol))


def _coverable(debt: V2Holding, collateral: V2Holding, incentive: int) -> int:
    """The largest repayment whose seizure the account's collateral cTokens cover (else LIQUIDATE_SEIZE_TOO_MUCH).

    The exchange rate only grows until the liquidation's block, so fewer cTokens are seized then, never more.
    """
    return max_repay_for_collateral(
        incentive,
        debt.asset.price,
        collateral.asset.price,
        collateral.asset.exchange_rate,
        collateral.asset.ctoken_balance,
    )


@dataclass(slots=True)
class CometLiquidator:
    """On every Comet: absorbs each liquidatable account, then buys the absorbed collateral at the storefront
    price (when it can raise the Comet's base token)."""

    absorbed: list[str] = field(default_factory=list)
    bought: list[tuple[str, int, int]] = field(default_factory=list)  # (asset symbol, base paid, collateral)
    wallet: Wallet | None = None
    books: dict[str, AccountBook] = field(default_factory=dict)  # Comet address -> its borrowers

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        del rng  # deterministic: every liquidatable account, in discovery order
        if self.wallet is None:
            self.wallet = Wallet.of(sim, "compound-v3 liquidator")
        for market, accounts in asyncio.run(self._scan(sim)):
            comet = sim.sender.contract(contract_artifact("Comet"), market.comet)
            # One account per transaction: interest accrued at the absorb's block may tip a borderline one back.
            for account in accounts:
                if account.liquidatable and self.wallet.send(
                    comet.functions.absorb(self.wallet.address, [account.account])
                ):
                    self.absorbed.append(account.account)
            if market.base_symbol in FUNDABLE:
                self._buy(sim, self.wallet, comet, market)

    async def _scan(self, sim: Simulation) -> list[tuple[CometMarket, list[CometAccount]]]:
        """Each Comet with known borrowers, scanned at one block over one connection."""
        deployment = devnet_deployment(sim.chain)
        async with ChainClient.connect(sim.chain.chain_id, [sim.chain.rpc_url]) as client:
            snapshot = await client.snapshot()
            reader = Batcher(snapshot).reader("simulation")

            async def scan(address: str) -> tuple[CometMarket, list[CometAccount]] | None:
                book = self.books.setdefault(address, AccountBook(discover_comet_accounts))
                accounts = await book.update(client, address, snapshot.block.number)
                if not accounts:
                    return None
                market = await read_comet(reader, deployment, address)
                return market, await scan_comet_accounts(reader, market, accounts)

            # Every Comet at once: their reads share batches.
            scanned = await asyncio.gather(*(scan(a) for a in comets(deployment).values()))
        return [s for s in scanned if s is not None]

    def _buy(self, sim: Simulation, wallet: Wallet, comet: Contract, market: CometMarket) -> None:
        functions = comet.functions
        for asset in market.assets:
            for_sale = int(functions.getCollateralReserves(asset.address).call())
            if for_sale == 0:
                continue
            per_base_unit = int(functions.quoteCollateral(asset.address, market.base_scale).call())
            base = for_sale * market.base_scale // per_base_unit  # rounds down: never more than is for sale
            collateral = int(functions.quoteCollateral(asset.address, base).call())
            if base == 0 or collateral == 0:
                continue
            wallet.fund(market.base_symbol, base)
            wallet.approve(market.base_symbol, comet.address)
            if wallet.send(functions.buyCollateral(asset.address, collateral, base, wallet.address)):
                self.bought.append((asset.symbol, base, collateral))


@dataclass(slots=True)
class MakerKeeper:
    """Pokes every ilk's spot, then barks each unsafe urn: the CdpManager's cdps and the directly driven urns."""

    urns: tuple[str, ...] = ()  # more urns to watch, on every ilk
    barks: list[tuple[str, str]] = field(default_factory=list)
    wallet: Wallet | None = None

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        del rng
        if self.wallet is None:
            self.wallet = Wallet.of(sim, "maker keeper")
        vat = sim.sender.contract(contract_artifact("Vat"), sim.chain.contracts["MakerVat"])
        spotter = sim.sender.contract(contract_artifact("Spotter"), sim.chain.contracts["MakerSpotter"])
        dog = sim.sender.contract(contract_artifact("Dog"), sim.chain.contracts["MakerDog"])
        ids = [ilk_id(ilk.name) for ilk in ILKS]
        _poke_all(sim, self.wallet, spotter, ids)
        by_ilk = _maker_urns(sim)
        owners = {i: [*by_ilk.get(i, ()), *self.urns] for i in ids}
        # One JSON-RPC batch for every ilk and all its urns, not a request per urn.
        with sim.sender.w3.batch_requests() as batch:
            for i in ids:
                batch.add(vat.functions.ilks(i))
                for urn in owners[i]:
                    batch.add(vat.functions.urns(i, urn))
            answers = iter(cast(list[Any], batch.execute()))  # decoded call results, in the order added
        for ilk, i in zip(ILKS, ids, strict=True):
            ilk_data = next(answers)
            rate, spot = int(ilk_data[1]), int(ilk_data[2])
            for urn in owners[i]:
                ink, art = next(answers)
                if (
                    art
                    and ink * spot < art * rate
                    and self.wallet.send(dog.functions.bark(i, urn, self.wallet.address))
                ):
                    self.barks.append((ilk.name, urn))


def _poke_all(sim: Simulation, wallet: Wallet, spotter: Contract, ids: list[bytes]) -> None:
    """Every ilk's spot follows its feed: the pokes in one Multicall3 transaction (a dozen transactions of their own
    were most of the keeper's time in a tick), each allowed to fail alone as a transaction of its own would."""
    multicall = sim.sender.contract(contract_artifact("Multicall3"), sim.chain.contracts["Multicall3"])
    wallet.send(multicall.functions.aggregate3([(spotter.address, True, calldata(spotter, "poke", i)) for i in ids]))


def _maker_urns(sim: Simulation) -> dict[bytes, list[str]]:
    """Urns per ilk: every cdp of the CdpManager (one batch) and the seeded urns driven through the Vat."""
    manager = sim.sender.contract(contract_artifact("MakerCdpManager"), sim.chain.contracts["MakerCdpManager"])
    cdps = range(1, int(manager.functions.cdpi().call()) + 1)
    found: dict[bytes, list[str]] = {}
    if cdps:
        with sim.sender.w3.batch_requests() as batch:
            for cdp in cdps:
                batch.add(manager.functions.urns(cdp))
                batch.add(manager.functions.ilks(cdp))
            values = cast(list[Any], batch.execute())
        for urn, ilk in zip(values[::2], values[1::2], strict=True):
            found.setdefault(bytes(ilk), []).append(str(urn))
    for vault in DIRECT_URNS:
        found.setdefault(ilk_id(vault.ilk), []).append(direct_urn(vault))
    return found
