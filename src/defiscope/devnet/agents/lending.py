"""Lenders and borrowers on Aave V3, Compound V2 and Compound III, as simulation agents.

Example::

    agents = (AaveUsers(), CompoundV2Users(), CometUsers())
    sim = Simulation(devnet.chain(1), SimulationConfig(seed=7, agents=agents))

Each tick an agent acts with probability ``activity``: one of its lenders supplies or withdraws, or one of
its borrowers (WETH collateral) borrows a share of what it still may borrow, or repays part of its debt.
Borrowers draw up to ``max_borrow_share`` of their headroom, so price moves later make some liquidatable.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, ClassVar, Final

from web3.contract import Contract

from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.agents.wallet import Wallet
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.compound import COMETS, CometSpec
from defiscope.devnet.spec import FEED_DECIMALS
from defiscope.protocols.compound.v3 import COMET_PREFIX

if TYPE_CHECKING:
    from defiscope.devnet.simulation import Simulation

VARIABLE: Final = 2  # Aave's interestRateMode of a variable-rate borrow
LEND_SYMBOLS: Final = ("WETH", "USDC", "USDT", "DAI", "WBTC")
BORROW_SYMBOLS: Final = ("USDC", "USDT", "DAI")
COMPOUND_SYMBOLS: Final = ("WETH", "USDC", "DAI", "WBTC")


@dataclass(frozen=True, slots=True)
class LendingProfile:
    """What varies between agents: how many users, how active, how big, how greedy."""

    lenders: int = 3
    borrowers: int = 3
    activity: float = 0.6  # probability of one action per tick
    supply_usd: tuple[int, int] = (5_000, 500_000)  # log-uniform range of a supply
    collateral_eth: tuple[int, int] = (10, 200)  # whole WETH a borrower posts first
    max_borrow_share: Fraction = Fraction(9, 10)
    lend_symbols: tuple[str, ...] = LEND_SYMBOLS  # what lenders supply (Compound V2: its markets among them)
    borrow_symbols: tuple[str, ...] = BORROW_SYMBOLS  # what borrowers take (Compound V2: USDC, DAI only)


def usd_amount(sim: Simulation, wallet: Wallet, symbol: str, usd: Fraction) -> int:
    """Raw units of ``symbol`` worth ``usd`` at the simulation's feed prices."""
    spec = next(t for t in sim.spec.tokens if t.symbol == symbol)
    return spec.units(usd / sim._usd(wallet.token(symbol).address))


def log_uniform(rng: random.Random, low: int, high: int) -> Fraction:
    return Fraction(math.exp(rng.uniform(math.log(low), math.log(high)))).limit_denominator(100)


def share(rng: random.Random, low: int, high: int) -> Fraction:
    """A random percentage in [low, high] as a fraction."""
    return Fraction(rng.randint(low, high), 100)


def portion(rng: random.Random, amount: int, low: int, high: int) -> int:
    """A random percentage in [low, high] of a raw amount, rounded down (on-chain amounts stay ints)."""
    return amount * rng.randint(low, high) // 100


@dataclass(slots=True)
class _Users:
    """The wallets of one lending agent, created on first use (they need the running simulation)."""

    protocol: str
    profile: LendingProfile
    lenders: list[Wallet] = field(default_factory=list)
    borrowers: list[Wallet] = field(default_factory=list)

    def ensure(self, sim: Simulation) -> None:
        if self.lenders or self.borrowers:
            return
        self.lenders = [Wallet.of(sim, f"{self.protocol} lender {i}") for i in range(self.profile.lenders)]
        self.borrowers = [Wallet.of(sim, f"{self.protocol} borrower {i}") for i in range(self.profile.borrowers)]

    def pick(self, rng: random.Random) -> tuple[Wallet, bool]:
        """A random user and whether it is a borrower."""
        everyone = [(w, False) for w in self.lenders] + [(w, True) for w in self.borrowers]
        return rng.choice(everyone)


class _LendingAgent:
    """The shape every lending agent shares: act with probability `activity`, on one of its lenders or
    borrowers; subclasses say which protocol (`slug`) and what a lender and a borrower do (`_act`)."""

    slug: ClassVar[str]

    def __init__(self, profile: LendingProfile | None = None) -> None:
        self.profile = profile or LendingProfile()
        self.users = _Users(self.slug, self.profile)
        self.actions = 0

    def __call__(self, sim: Simulation, rng: random.Random) -> None:
        if rng.random() >= self.profile.activity:
            return
        self.users.ensure(sim)
        wallet, borrower = self.users.pick(rng)
        self.actions += self._act(sim, rng, wallet, borrower=borrower)

    def _act(self, sim: Simulation, rng: random.Random, wallet: Wallet, *, borrower: bool) -> bool:
        raise NotImplementedError


class AaveUsers(_LendingAgent):
    """Aave V3 lenders (``supply``/``withdraw``) and WETH-backed stablecoin borrowers (``borrow``/``repay``)."""

    slug = "aave-v3"

    def _act(self, sim: Simulation, rng: random.Random, wallet: Wallet, *, borrower: bool) -> bool:
        pool = sim.sender.contract(aave_artifact("protocol/pool/Pool"), sim.chain.contracts["AaveV3Pool"])
        return self._borrower(sim, rng, pool, wallet) if borrower else self._lender(sim, rng, pool, wallet)

    @staticmethod
    def _listed(sim: Simulation, symbols: tuple[str, ...]) -> list[str]:
        """The symbols the chain's (Core) market lists: Arbitrum's has no DAI."""
        return [s for s in symbols if f"AaveV3AToken:{s}" in sim.chain.contracts]

    def _lender(self, sim: Simulation, rng: random.Random, pool: Contract, wallet: Wallet) -> bool:
        symbol = rng.choice(self._listed(sim, self.profile.lend_symbols))
        asset = wallet.token(symbol).address
        a_token = wallet.sim.sender.contract(
            contract_artifact("DevToken"), sim.chain.contracts[f"AaveV3AToken:{symbol}"]
        )
        held = int(a_token.functions.balanceOf(wallet.address).call())
        functions = pool.functions
        if held and rng.random() < 0.4:
            return wallet.send(functions.withdraw(asset, portion(rng, held, 10, 100), wallet.address))
        amount = usd_amount(sim, wallet, symbol, log_uniform(rng, *self.profile.supply_usd))
        wallet.fund(symbol, amount)
        wallet.approve(symbol, pool.address)
        return wallet.send(functions.supply(asset, amount, wallet.address, 0))

    def _borrower(self, sim: Simulation, rng: random.Random, pool: Contract, wallet: Wallet) -> bool:
        functions = pool.functions
        data = functions.getUserAccountData(wallet.address).call()
        collateral_base, debt_base, available_base = data[0], data[1], data[2]
        weth = wallet.wrapped_symbol
        if collateral_base == 0:
            amount = wallet.token(weth).functions.decimals().call()
            amount = rng.randint(*self.profile.collateral_eth) * 10**amount
            wallet.fund(weth, amount)
            wallet.approve(weth, pool.address)
            return wallet.send(functions.supply(wallet.token(weth).address, amount, wallet.address, 0))
        symbol = rng.choice(self._listed(sim, self.profile.borrow_symbols))
        asset = wallet.token(symbol).address
        if debt_base and rng.random() < 0.45:
            debt_token = sim.chain.contracts[f"AaveV3VariableDebtToken:{symbol}"]
            owed = int(wallet.sim.sender.contract(contract_artifact("DevToken"), debt_token)
                       .functions.balanceOf(wallet.address).call())  # fmt: skip
            if owed == 0:
                return False
            amount = portion(rng, owed, 20, 100)
            wallet.fund(symbol, amount)
            wallet.approve(symbol, pool.address)
            return wallet.send(functions.repay(asset, amount, VARIABLE, wallet.address))
        usd = Fraction(available_base, 10**FEED_DECIMALS) * share(rng, 20, 90) * self.profile.max_borrow_share
        amount = usd_amount(sim, wallet, symbol, usd)
        return amount > 0 and wallet.send(functions.borrow(asset, amount, VARIABLE, 0, wallet.address))


class CompoundV2Users(_LendingAgent):
    """Compound V2 lenders (``mint``/``redeem``) and WETH-backed borrowers (``borrow``/``repayBorrow``)."""

    slug = "compound-v2"

    def _act(self, sim: Simulation, rng: random.Random, wallet: Wallet, *, borrower: bool) -> bool:
        return self._borrower(sim, rng, wallet) if borrower else self._lender(sim, rng, wallet)

    def _ctoken(self, sim: Simulation, symbol: str) -> Contract:
        artifact = "CEther" if _is_native(sim, symbol) else "CErc20"
        return sim.sender.contract(contract_artifact(artifact), sim.chain.contracts[f"CompoundV2cToken:{symbol}"])

    def _mint(self, sim: Simulation, wallet: Wallet, symbol: str, amount: int) -> bool:
        """Supply ``amount``: cETH takes native ETH sent with mint(), a CErc20 pulls the approved token."""
        ctoken = self._ctoken(sim, symbol)
        if _is_native(sim, symbol):
            fund_native(sim, wallet, amount)
            return wallet.send(ctoken.functions.mint(), value=amount)
        wallet.fund(symbol, amount)
        wallet.approve(symbol, ctoken.address)
        return wallet.send(ctoken.functions.mint(amount))

    def _lender(self, sim: Simulation, rng: random.Random, wallet: Wallet) -> bool:
        symbol = rng.choice([s for s in self.profile.lend_symbols if s in COMPOUND_SYMBOLS])
        ctoken = self._ctoken(sim, symbol).functions
        held = int(ctoken.balanceOf(wallet.address).call())
        if held and rng.random() < 0.4:
            return wallet.send(ctoken.redeem(portion(rng, held, 10, 100)))
        amount = usd_amount(sim, wallet, symbol, log_uniform(rng, *self.profile.supply_usd))
        return self._mint(sim, wallet, symbol, amount)

    def _borrower(self, sim: Simulation, rng: random.Random, wallet: Wallet) -> bool:
        weth = wallet.wrapped_symbol
        cweth = self._ctoken(sim, weth).functions
        if int(cweth.balanceOf(wallet.address).call()) == 0:
            comptroller = sim.sender.contract(
                contract_artifact("Comptroller"), sim.chain.contracts["CompoundV2Comptroller"]
            )
            wallet.send(comptroller.functions.enterMarkets([sim.chain.contracts[f"CompoundV2cToken:{weth}"]]))
            amount = rng.randint(*self.profile.collateral_eth) * 10**18
            return self._mint(sim, wallet, weth, amount)
        symbol = rng.choice([s for s in self.profile.borrow_symbols if s in COMPOUND_SYMBOLS])
        ctoken = self._ctoken(sim, symbol).functions
        owed = int(ctoken.borrowBalanceStored(wallet.address).call())
        if owed and rng.random() < 0.45:
            amount = portion(rng, owed, 20, 100)
            wallet.fund(symbol, amount)
            wallet.approve(symbol, sim.chain.contracts[f"CompoundV2cToken:{symbol}"])
            return wallet.send(ctoken.repayBorrow(amount))
        comptroller = sim.sender.contract(
            contract_artifact("Comptroller"), sim.chain.contracts["CompoundV2Comptroller"]
        )
        _, liquidity, _ = comptroller.functions.getAccountLiquidity(wallet.address).call()
        usd = Fraction(liquidity, 10**18) * share(rng, 20, 90) * self.profile.max_borrow_share
        amount = usd_amount(sim, wallet, symbol, usd)
        return amount > 0 and wallet.send(ctoken.borrow(amount))


def _is_native(sim: Simulation, symbol: str) -> bool:
    """Compound V2's market of the wrapped native symbol is cETH (CEther): it takes the native coin."""
    return any(t.symbol == symbol and t.wrapped_native for t in sim.spec.tokens)


def fund_native(sim: Simulation, wallet: Wallet, amount: int) -> None:
    """Give the wallet ``amount`` of native coin on top of what it has (gas money included)."""
    sim.sender.credit(wallet.address, amount)


class CometUsers(_LendingAgent):
    """Compound III lenders (the base token of any Comet whose base the simulation can mint or wrap) and
    WETH-backed borrowers (the USD Comets that list WETH): ``supply`` and ``withdraw`` only.

    Each wallet keeps to one Comet (chosen from its address), so its collateral and debt stay together.
    """

    slug = "compound-v3"

    def _act(self, sim: Simulation, rng: random.Random, wallet: Wallet, *, borrower: bool) -> bool:
        fundable = {t.symbol for t in sim.spec.tokens}
        eligible = [
            c
            for c in COMETS
            if f"{COMET_PREFIX}{c.base}" in sim.chain.contracts
            and c.base in fundable
            and (not borrower or (c.quote == "USD" and any(a.symbol == "WETH" for a in c.assets)))
        ]
        if not eligible:
            return False
        spec = eligible[int(wallet.address, 16) % len(eligible)]
        comet = sim.sender.contract(contract_artifact("Comet"), sim.chain.contracts[f"{COMET_PREFIX}{spec.base}"])
        if borrower:
            return self._borrower(sim, rng, comet, spec, wallet)
        return self._lender(sim, rng, comet, spec.base, wallet)

    def _lender(self, sim: Simulation, rng: random.Random, comet: Contract, base: str, wallet: Wallet) -> bool:
        functions = comet.functions
        token = wallet.token(base).address
        held = int(functions.balanceOf(wallet.address).call())
        if held and rng.random() < 0.4:
            return wallet.send(functions.withdraw(token, portion(rng, held, 10, 100)))
        amount = usd_amount(sim, wallet, base, log_uniform(rng, *self.profile.supply_usd))
        wallet.fund(base, amount)
        wallet.approve(base, comet.address)
        return wallet.send(functions.supply(token, amount))

    def _borrower(self, sim: Simulation, rng: random.Random, comet: Contract, spec: CometSpec, wallet: Wallet) -> bool:
        functions = comet.functions
        weth = wallet.token(wallet.wrapped_symbol).address
        base = wallet.token(spec.base).address
        collateral = int(functions.collateralBalanceOf(wallet.address, weth).call())
        if collateral == 0:
            amount = rng.randint(*self.profile.collateral_eth) * 10**18
            wallet.fund(wallet.wrapped_symbol, amount)
            wallet.approve(wallet.wrapped_symbol, comet.address)
            return wallet.send(functions.supply(weth, amount))
        owed = int(functions.borrowBalanceOf(wallet.address).call())
        if owed and rng.random() < 0.45:
            amount = portion(rng, owed, 20, 100)
            wallet.fund(spec.base, amount)
            wallet.approve(spec.base, comet.address)
            return wallet.send(functions.supply(base, amount))
        borrow_cf = Fraction(int(functions.getAssetInfoByAddress(weth).call()[4]), 10**18)
        base_scale = int(functions.baseScale().call())
        capacity = Fraction(collateral, 10**18) * sim._usd(weth) * borrow_cf
        usd = (capacity - Fraction(owed, base_scale) * sim._usd(base)) * share(rng, 20, 90)
        amount = usd_amount(sim, wallet, spec.base, usd * self.profile.max_borrow_share)
        # Comet refuses a borrow balance under its minimum.
        borrow_min = int(functions.baseBorrowMin().call())
        return owed + amount >= borrow_min and wallet.send(functions.withdraw(base, amount))
