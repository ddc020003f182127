"""Aave V3 on the devnet, from the real `@aave/core-v3` 1.19.3 artifacts, with seeded users.

Example::

    registry = deploy_aave_v3(sender, ETHEREUM, tokens, contracts)
    registry["AaveV3Pool"], registry["AaveV3AToken:WETH"]

What is deployed (in Aave's own order): PoolAddressesProvider, ACLManager, the logic libraries linked
into Pool (FlashLoanLogic itself links BorrowLogic) and ConfiguratorLogic into PoolConfigurator, both
behind the provider's proxies; AaveOracle reading the devnet feeds (`latestAnswer`, USD with 8 decimals);
AaveProtocolDataProvider; AToken / StableDebtToken / VariableDebtToken implementations; one
DefaultReserveInterestRateStrategy per reserve. Reserve parameters are Aave V3 Ethereum's published
ones (risk parameters and rate curves as set by governance, 2023-2024).

Seeding: lenders and borrowers at realistic sizes (hundreds of millions of USD), so every reserve's
utilisation lies between 30 % and 90 % (32 to 48 %) and health factors spread from 1.03 to 4. Their
tokens come from account 0; borrowed tokens go back to account 0, so accounts 1..9 end with the token
balances they started with (other tests rely on them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from defiscope.devnet.artifacts import Artifact, load_npm_artifact
from defiscope.devnet.spec import FEED_DECIMALS, ChainSpec
from defiscope.devnet.tokens import feed_name
from defiscope.devnet.tx import MAX_UINT256, Sender

AAVE_ROOT: Final = "@aave/core-v3/artifacts/contracts/"
MARKET_ID: Final = "Aave Ethereum Market"
RAY: Final = 10**27
#: Aave V3 Ethereum's flash-loan premium: 0.05 % (in basis points).
FLASHLOAN_PREMIUM_TOTAL: Final = 5
VARIABLE: Final = 2  # interestRateMode of a variable-rate borrow
LIBRARIES: Final = ("SupplyLogic", "BorrowLogic", "LiquidationLogic", "EModeLogic", "BridgeLogic", "PoolLogic")
REGISTRY_PREFIX: Final = "AaveV3"
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"


def aave_artifact(path: str) -> Artifact:
    """An artifact of `@aave/core-v3` by its path under `artifacts/contracts/`, without `.sol/<Name>.json`."""
    name = path.rsplit("/", 1)[-1]
    return load_npm_artifact(f"{AAVE_ROOT}{path}.sol/{name}.json")


def _pct(value: str) -> int:
    """A percentage as ray: "2.7" -> 0.027e27."""
    return int(Fraction(value) * RAY / 100)


@dataclass(frozen=True, slots=True)
class ReserveParams:
    """One reserve's configuration: risk in basis points (bonus includes the 100 %), rates in ray."""

    symbol: str
    feed: str  # the devnet feed pair the oracle reads
    ltv: int
    liquidation_threshold: int
    liquidation_bonus: int
    reserve_factor: int
    optimal_usage: int
    base_rate: int
    slope1: int
    slope2: int
    # Stable-rate parameters (stable borrowing stays disabled, as on Aave V3 Ethereum, but the strategy
    # computes a stable rate and the tests check it too).
    stable_slope1: int
    stable_slope2: int
    base_stable_offset: int = _pct("1")
    stable_excess_offset: int = _pct("8")
    optimal_stable_ratio: int = _pct("20")


AAVE_RESERVES: Final = (
    ReserveParams("WETH", "ETH/USD", 8050, 8300, 10500, 1500, _pct("90"), 0, _pct("2.7"), _pct("80"),
                  _pct("2.7"), _pct("80")),
    ReserveParams("wstETH", "WSTETH/USD", 7850, 8100, 10600, 1500, _pct("45"), _pct("0.25"), _pct("4.5"),
                  _pct("80"), _pct("4.5"), _pct("80")),
    ReserveParams("WBTC", "BTC/USD", 7300, 7800, 10500, 2000, _pct("45"), 0, _pct("4"), _pct("300"),
                  _pct("7"), _pct("300")),
    ReserveParams("USDC", "USDC/USD", 7700, 8000, 10450, 1000, _pct("90"), 0, _pct("6"), _pct("60"),
                  _pct("6"), _pct("60")),
    ReserveParams("USDT", "USDT/USD", 7400, 7600, 10450, 1000, _pct("90"), 0, _pct("6"), _pct("75"),
                  _pct("6"), _pct("75")),
    ReserveParams("DAI", "DAI/USD", 7700, 8000, 10500, 1000, _pct("90"), 0, _pct("6"), _pct("75"),
                  _pct("6"), _pct("75")),
)  # fmt: skip


@dataclass(frozen=True, slots=True)
class SeedUser:
    """A user of the seeded market: ``account`` 1..9 is an anvil account, else an extra address."""

    name: str
    supply: tuple[tuple[str, int], ...]  # (symbol, whole tokens)
    borrow: tuple[tuple[str, int], ...] = ()
    account: int | None = None


def _eth_borrower(index: int, weth: int, usdc: int) -> SeedUser:
    return SeedUser(f"account {index}", (("WETH", weth),), (("USDC", usdc),), account=index)


SEED_USERS: Final = (
    # Lenders.
    SeedUser("stable lender", (("USDC", 100_000_000), ("USDT", 100_000_000), ("DAI", 40_000_000))),
    SeedUser("eth lender", (("WETH", 20_000),)),
    SeedUser("btc lender", (("WBTC", 1_000),)),
    SeedUser("wsteth lender", (("wstETH", 30_000),)),
    # Borrowers (about $463M of debt), health factors 1.04 to 1.31.
    SeedUser("wsteth looper", (("wstETH", 20_000),), (("WETH", 18_000),)),
    SeedUser("eth long", (("WETH", 20_000),), (("USDC", 45_000_000),)),
    SeedUser("btc borrower", (("WBTC", 1_000),), (("USDT", 60_000_000), ("USDC", 10_000_000))),
    SeedUser("stable short", (("USDC", 150_000_000), ("DAI", 40_000_000)), (("WETH", 12_000), ("WBTC", 800))),
    SeedUser("eth dai", (("WETH", 5_000),), (("DAI", 11_000_000),)),
    SeedUser("wsteth short", (("USDT", 100_000_000), ("DAI", 20_000_000)), (("wstETH", 20_000),)),
    SeedUser("eth leverage", (("WETH", 15_000),), (("USDC", 36_000_000),)),
    SeedUser("btc usdt", (("WBTC", 500),), (("USDT", 35_000_000),)),
    SeedUser("eth dai 2", (("WETH", 10_000),), (("DAI", 24_000_000),)),
    # Accounts 1..9: 20 WETH ($60,000) each against USDC, health factors 1.03 .. 4.
    *(
        _eth_borrower(i, 20, usdc)
        for i, usdc in enumerate((48_200, 47_400, 45_200, 41_500, 38_300, 33_200, 24_900, 16_600, 12_450), start=1)
    ),
)


def seed_address(name: str) -> ChecksumAddress:
    """The deterministic address of an extra seeded user."""
    return Web3.to_checksum_address(Web3.keccak(text=f"defiscope aave-v3 seed {name}")[12:])


@dataclass(slots=True)
class AaveV3:
    """The deployed market's contracts (web3 handles, for the seeding steps and tests)."""

    provider: Contract
    pool: Contract
    configurator: Contract
    oracle: Contract
    data_provider: Contract
    acl: Contract
    strategies: dict[str, Contract]
    reserves: dict[str, tuple[str, str, str]]  # symbol -> (aToken, stableDebt, variableDebt)

    def registry(self) -> dict[str, str]:
        names = {
            "PoolAddressesProvider": self.provider,
            "ACLManager": self.acl,
            "Pool": self.pool,
            "PoolConfigurator": self.configurator,
            "Oracle": self.oracle,
            "ProtocolDataProvider": self.data_provider,
        }
        found: dict[str, str] = {REGISTRY_PREFIX + name: c.address for name, c in names.items()}
        for symbol, (a_token, stable, variable) in self.reserves.items():
            found[f"{REGISTRY_PREFIX}AToken:{symbol}"] = a_token
            found[f"{REGISTRY_PREFIX}StableDebtToken:{symbol}"] = stable
            found[f"{REGISTRY_PREFIX}VariableDebtToken:{symbol}"] = variable
            found[f"{REGISTRY_PREFIX}RateStrategy:{symbol}"] = self.strategies[symbol].address
        return found


def deploy_aave_v3(
    sender: Sender, spec: ChainSpec, tokens: Mapping[str, Contract], contracts: Mapping[str, str]
) -> dict[str, str]:
    """Deploy and seed the market on Ethereum (other chains get nothing); return registry entries.

    ``contracts`` is the registry so far: the oracle's sources are its feeds (``feed:ETH/USD``, ...).
    """
    if spec.chain_id != 1:
        return {}
    provider, acl, pool, configurator = _deploy_core(sender)
    oracle = sender.deploy(
        aave_artifact("misc/AaveOracle"),
        provider.address,
        [tokens[r.symbol].address for r in AAVE_RESERVES],
        [contracts[feed_name(r.feed)] for r in AAVE_RESERVES],
        ZERO_ADDRESS,  # no fallback oracle
        ZERO_ADDRESS,  # base currency: USD ...
        10**FEED_DECIMALS,  # ... with the feeds' 8 decimals
    )
    sender.send(provider.functions.setPriceOracle(oracle.address))
    data_provider = sender.deploy(aave_artifact("misc/AaveProtocolDataProvider"), provider.address)
    sender.send(provider.functions.setPoolDataProvider(data_provider.address))
    market = AaveV3(provider, pool, configurator, oracle, data_provider, acl, {}, {})
    _init_reserves(sender, market, tokens)
    _seed(sender, market, tokens)
    return market.registry()


def _deploy_core(sender: Sender) -> tuple[Contract, Contract, Contract, Contract]:
    """Provider, ACL manager, Pool and PoolConfigurator (behind the provider's proxies)."""
    owner = sender.owner
    provider = sender.deploy(aave_artifact("protocol/configuration/PoolAddressesProvider"), MARKET_ID, owner)
    sender.send(provider.functions.setACLAdmin(owner))
    acl = sender.deploy(aave_artifact("protocol/configuration/ACLManager"), provider.address)
    sender.send(provider.functions.setACLManager(acl.address))
    for grant in (acl.functions.addPoolAdmin, acl.functions.addEmergencyAdmin, acl.functions.addRiskAdmin):
        sender.send(grant(owner))

    libraries = {name: sender.deploy(aave_artifact(f"protocol/libraries/logic/{name}")).address for name in LIBRARIES}
    flash = aave_artifact("protocol/libraries/logic/FlashLoanLogic").link(libraries)
    libraries["FlashLoanLogic"] = sender.deploy(flash).address
    pool_impl = sender.deploy(aave_artifact("protocol/pool/Pool").link(libraries), provider.address)
    sender.send(provider.functions.setPoolImpl(pool_impl.address))  # creates the proxy and initializes it
    pool = sender.contract(aave_artifact("protocol/pool/Pool"), provider.functions.getPool().call())

    configurator_logic = sender.deploy(aave_artifact("protocol/libraries/logic/ConfiguratorLogic")).address
    configurator_artifact = aave_artifact("protocol/pool/PoolConfigurator")
    configurator_impl = sender.deploy(configurator_artifact.link({"ConfiguratorLogic": configurator_logic}))
    sender.send(provider.functions.setPoolConfiguratorImpl(configurator_impl.address))
    configurator = sender.contract(configurator_artifact, provider.functions.getPoolConfigurator().call())
    sender.send(configurator.functions.updateFlashloanPremiumTotal(FLASHLOAN_PREMIUM_TOTAL))
    return provider, acl, pool, configurator


def _init_reserves(sender: Sender, market: AaveV3, tokens: Mapping[str, Contract]) -> None:
    pool = market.pool.address
    a_token = sender.deploy(aave_artifact("protocol/tokenization/AToken"), pool).address
    stable = sender.deploy(aave_artifact("protocol/tokenization/StableDebtToken"), pool).address
    variable = sender.deploy(aave_artifact("protocol/tokenization/VariableDebtToken"), pool).address
    strategy_artifact = aave_artifact("protocol/pool/DefaultReserveInterestRateStrategy")
    inputs = []
    for r in AAVE_RESERVES:
        market.strategies[r.symbol] = sender.deploy(
            strategy_artifact,
            market.provider.address,
            r.optimal_usage,
            r.base_rate,
            r.slope1,
            r.slope2,
            r.stable_slope1,
            r.stable_slope2,
            r.base_stable_offset,
            r.stable_excess_offset,
            r.optimal_stable_ratio,
        )
        token = tokens[r.symbol]
        inputs.append(
            (
                a_token,
                stable,
                variable,
                token.functions.decimals().call(),
                market.strategies[r.symbol].address,
                token.address,
                sender.owner,  # treasury
                ZERO_ADDRESS,  # no incentives controller
                f"Aave Ethereum {r.symbol}",
                f"aEth{r.symbol}",
                f"Aave Ethereum Variable Debt {r.symbol}",
                f"variableDebtEth{r.symbol}",
                f"Aave Ethereum Stable Debt {r.symbol}",
                f"stableDebtEth{r.symbol}",
                b"",
            )
        )
    configurator = market.configurator.functions
    sender.send(configurator.initReserves(inputs))
    for r in AAVE_RESERVES:
        asset = tokens[r.symbol].address
        sender.send(
            configurator.configureReserveAsCollateral(asset, r.ltv, r.liquidation_threshold, r.liquidation_bonus)
        )
        sender.send(configurator.setReserveBorrowing(asset, True))
        sender.send(configurator.setReserveFactor(asset, r.reserve_factor))
        sender.send(configurator.setReserveFlashLoaning(asset, True))
        data = market.pool.functions.getReserveData(asset).call()
        market.reserves[r.symbol] = (data[8], data[9], data[10])


def _user_address(sender: Sender, user: SeedUser) -> ChecksumAddress:
    if user.account is not None:
        return sender.accounts[user.account]
    address = seed_address(user.name)
    sender.rpc("anvil_impersonateAccount", [address])
    sender.rpc("anvil_setBalance", [address, hex(10**18)])
    return address


def _seed(sender: Sender, market: AaveV3, tokens: Mapping[str, Contract]) -> None:
    """Give each seed user its tokens, supply them and borrow; borrowed tokens go back to account 0."""
    decimals = {symbol: tokens[symbol].functions.decimals().call() for symbol in tokens}
    # WETH9 balances come from deposits: wrap what the seeds need (account 0 holds the native coin).
    weth_needed = sum(whole for user in SEED_USERS for symbol, whole in user.supply if symbol == "WETH")
    sender.send(tokens["WETH"].functions.deposit(), value=weth_needed * 10**18)
    pool = market.pool.functions
    for user in SEED_USERS:
        address = _user_address(sender, user)
        for symbol, whole in user.supply:
            token, amount = tokens[symbol], whole * 10 ** decimals[symbol]
            sender.send(token.functions.transfer(address, amount))
            sender.send(token.functions.approve(market.pool.address, MAX_UINT256), sender=address)
            sender.send(pool.supply(token.address, amount, address, 0), sender=address)
        for symbol, whole in user.borrow:
            token, amount = tokens[symbol], whole * 10 ** decimals[symbol]
            sender.send(pool.borrow(token.address, amount, VARIABLE, 0, address), sender=address)
            sender.send(token.functions.transfer(sender.owner, amount), sender=address)
        if user.account is None:
            sender.rpc("anvil_stopImpersonatingAccount", [address])
