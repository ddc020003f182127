"""Aave V3 on the devnet, from the real `@aave/core-v3` 1.19.3 artifacts: three markets, with seeded users.

Example::

    registry = deploy_aave_v3(sender, ETHEREUM, tokens, contracts)
    registry["AaveV3Pool"], registry["AaveV3AToken:WETH"], registry["AaveV3Pool:Prime"]

As on Ethereum, three markets, each its own PoolAddressesProvider, Pool, oracle and reserve list, named in
the registry as on mainnet (`deployments.aave_v3_registry`: Core unsuffixed, ``AaveV3Pool:Prime``,
``AaveV3AToken:EtherFi:weETH``): Core (WETH, wstETH, WBTC, USDC, USDT, DAI), Prime (WETH, wstETH, USDC)
and EtherFi (weETH as collateral only, USDC to borrow). The logic libraries are deployed once and linked
into each market's Pool.

What is deployed per market (in Aave's own order): PoolAddressesProvider, ACLManager, Pool (FlashLoanLogic
itself links BorrowLogic) and PoolConfigurator (ConfiguratorLogic) behind the provider's proxies;
AaveOracle reading the devnet feeds (`latestAnswer`, USD with 8 decimals); AaveProtocolDataProvider;
AToken / StableDebtToken / VariableDebtToken implementations; one DefaultReserveInterestRateStrategy per
reserve. Core's reserve parameters are Aave V3 Ethereum's published ones (risk parameters and rate curves
as set by governance, 2023-2024); Prime's and EtherFi's are patterned on theirs (rounded).

The 1.19.3 contracts are Aave v3.0.2: every reserve gets a stable-debt token at ``initReserves``. Since
v3.2 reserves have none (``getReserveData`` answers address zero for them). Reserves listed "after v3.2"
(`MarketParams.without_stable_debt`) are given that shape after seeding: stable borrowing is never enabled
on them, and their ``stableDebtTokenAddress`` word in the Pool's storage is set to zero
(``anvil_setStorageAt``, checked against the address it replaces). A v3.0 Pool reads that token on every
state update of the reserve, so such a reserve must be one nobody borrows or touches after seeding (EtherFi's
weETH: collateral only, as on mainnet).

Seeding: lenders and borrowers at realistic sizes (hundreds of millions of USD), so every reserve's
utilisation lies between 30 % and 90 % (32 to 51 % in Core) and health factors spread from 1.03 to 4. Their
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

from defiscope.deployments.aave_v3_registry import market_suffix
from defiscope.devnet.artifacts import Artifact, contract_artifact, load_npm_artifact
from defiscope.devnet.deployment import SEQUENCER_FEED
from defiscope.devnet.spec import FEED_DECIMALS, ChainSpec
from defiscope.devnet.tokens import feed_name
from defiscope.devnet.tx import MAX_UINT256, Sender

AAVE_ROOT: Final = "@aave/core-v3/artifacts/contracts/"
RAY: Final = 10**27
#: Aave V3 Ethereum's flash-loan premium: 0.05 % (in basis points).
FLASHLOAN_PREMIUM_TOTAL: Final = 5
VARIABLE: Final = 2  # interestRateMode of a variable-rate borrow
LIBRARIES: Final = ("SupplyLogic", "BorrowLogic", "LiquidationLogic", "EModeLogic", "BridgeLogic", "PoolLogic")
REGISTRY_PREFIX: Final = "AaveV3"
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
#: ``PoolStorage._reserves`` is the Pool's first own variable, after VersionedInitializable's
#: ``lastInitializedRevision`` (slot 0), ``initializing`` (1) and ``______gap[50]`` (2..51).
RESERVES_SLOT: Final = 52
#: ``DataTypes.ReserveData`` words: configuration, 2 x (index, rate), (stable rate, timestamp, id), aToken,
#: then the stable-debt token (word 5).
STABLE_DEBT_WORD: Final = 5


def aave_artifact(path: str) -> Artifact:
    """An artifact of `@aave/core-v3` by its path under `artifacts/contracts/`, without `.sol/<Name>.json`."""
    name = path.rsplit("/", 1)[-1]
    return load_npm_artifact(f"{AAVE_ROOT}{path}.sol/{name}.json")


def _pct(value: str) -> int:
    """A percentage as ray: "2.7" -> 0.027e27."""
    return int(Fraction(value) * RAY / 100)


@dataclass(frozen=True, slots=True)
class ReserveParams:
    """One reserve's configuration: risk in basis points (bonus includes the 100 %), rates in ray.

    A zero liquidation threshold leaves the reserve out of collateral (borrow-only, as EtherFi's stablecoins).
    """

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
    borrowable: bool = True


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

PRIME_RESERVES: Final = (
    ReserveParams("WETH", "ETH/USD", 8400, 8600, 10500, 1500, _pct("90"), 0, _pct("2.7"), _pct("80"),
                  _pct("2.7"), _pct("80")),
    ReserveParams("wstETH", "WSTETH/USD", 8100, 8300, 10600, 500, _pct("80"), 0, _pct("2"), _pct("85"),
                  _pct("2"), _pct("85")),
    ReserveParams("USDC", "USDC/USD", 7800, 8100, 10450, 1000, _pct("92"), 0, _pct("6.5"), _pct("40"),
                  _pct("6.5"), _pct("40")),
)  # fmt: skip

ETHERFI_RESERVES: Final = (
    ReserveParams("weETH", "WEETH/USD", 7250, 7500, 10700, 4500, _pct("35"), 0, _pct("7"), _pct("300"),
                  _pct("7"), _pct("300"), borrowable=False),
    ReserveParams("USDC", "USDC/USD", 0, 0, 0, 1000, _pct("92"), 0, _pct("6.5"), _pct("40"),
                  _pct("6.5"), _pct("40")),
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
    # Core lends about $59M less than before Prime and EtherFi were seeded: the three markets together keep
    # Aave's devnet TVL (`devnet.sizes`).
    SeedUser("stable lender", (("USDC", 85_000_000), ("USDT", 85_000_000), ("DAI", 40_000_000))),
    SeedUser("eth lender", (("WETH", 20_000),)),
    SeedUser("btc lender", (("WBTC", 1_000),)),
    SeedUser("wsteth lender", (("wstETH", 22_000),)),
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

PRIME_USERS: Final = (
    SeedUser("prime usdc lender", (("USDC", 10_000_000),)),
    SeedUser("prime eth lender", (("WETH", 10_000),), (("USDC", 6_000_000),)),
    SeedUser("prime wsteth looper", (("wstETH", 8_000),), (("WETH", 7_000),)),
)

ETHERFI_USERS: Final = (
    SeedUser("etherfi usdc lender", (("USDC", 10_000_000),)),
    SeedUser("etherfi weeth looper", (("weETH", 5_000),), (("USDC", 8_000_000),)),
)


@dataclass(frozen=True, slots=True)
class MarketParams:
    """One market: its name in the registry, PoolAddressesProvider id, token naming, reserves and users."""

    name: str  # "Core", "Prime", "EtherFi"
    market_id: str
    token_tag: str  # aToken symbols: a<tag><symbol>, as aEthWETH / aEthLidoWETH
    reserves: tuple[ReserveParams, ...]
    users: tuple[SeedUser, ...]
    #: Reserves listed "after v3.2": no stable-debt token (see the module docstring).
    without_stable_debt: tuple[str, ...] = ()


ARBITRUM_RESERVES: Final = (
    ReserveParams("WETH", "ETH/USD", 8000, 8300, 10500, 1500, _pct("90"), 0, _pct("2.7"), _pct("80"),
                  _pct("2.7"), _pct("80")),
    ReserveParams("WBTC", "BTC/USD", 7300, 7800, 10500, 2000, _pct("45"), 0, _pct("4"), _pct("300"),
                  _pct("7"), _pct("300")),
    ReserveParams("USDC", "USDC/USD", 7500, 7800, 10500, 1000, _pct("92"), 0, _pct("6.5"), _pct("60"),
                  _pct("6.5"), _pct("60")),
    ReserveParams("USDT", "USDT/USD", 7500, 7800, 10500, 1000, _pct("92"), 0, _pct("6.5"), _pct("60"),
                  _pct("6.5"), _pct("60")),
)  # fmt: skip

ARBITRUM_USERS: Final = (
    SeedUser("arbitrum stable lender", (("USDC", 30_000_000), ("USDT", 15_000_000))),
    SeedUser("arbitrum eth long", (("WETH", 6_000),), (("USDC", 12_000_000),)),
    SeedUser("arbitrum btc borrower", (("WBTC", 200),), (("USDT", 8_000_000), ("WETH", 1_000))),
)

AAVE_MARKETS: Final = (
    MarketParams("Core", "Aave Ethereum Market", "Eth", AAVE_RESERVES, SEED_USERS),
    MarketParams("Prime", "Aave Ethereum Lido Market", "EthLido", PRIME_RESERVES, PRIME_USERS),
    MarketParams("EtherFi", "Aave Ethereum EtherFi Market", "EthEtherFi", ETHERFI_RESERVES, ETHERFI_USERS,
                 without_stable_debt=("weETH",)),
)  # fmt: skip

#: Chain id -> its markets. Arbitrum's Pool checks a PriceOracleSentinel (the L2 sequencer-uptime gate).
MARKETS_BY_CHAIN: Final = {
    1: AAVE_MARKETS,
    42161: (MarketParams("Core", "Aave Arbitrum Market", "Arb", ARBITRUM_RESERVES, ARBITRUM_USERS),),
}
#: Chains whose Pools refuse borrows (and most liquidations) while the sequencer is down or just back up.
SEQUENCED_CHAINS: Final = frozenset({42161})
#: PriceOracleSentinel's grace period after the sequencer comes back up (Aave V3 Arbitrum: one hour).
SENTINEL_GRACE: Final = 3600


def seed_address(name: str) -> ChecksumAddress:
    """The deterministic address of an extra seeded user."""
    return Web3.to_checksum_address(Web3.keccak(text=f"defiscope aave-v3 seed {name}")[12:])


@dataclass(slots=True)
class AaveV3:
    """One deployed market's contracts (web3 handles, for the seeding steps and tests)."""

    params: MarketParams
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
        suffix = market_suffix(self.params.name)
        found: dict[str, str] = {REGISTRY_PREFIX + name + suffix: c.address for name, c in names.items()}
        for symbol, (a_token, stable, variable) in self.reserves.items():
            found[f"{REGISTRY_PREFIX}AToken{suffix}:{symbol}"] = a_token
            if int(stable, 16):
                found[f"{REGISTRY_PREFIX}StableDebtToken{suffix}:{symbol}"] = stable
            found[f"{REGISTRY_PREFIX}VariableDebtToken{suffix}:{symbol}"] = variable
            found[f"{REGISTRY_PREFIX}RateStrategy{suffix}:{symbol}"] = self.strategies[symbol].address
        return found


def deploy_aave_v3(
    sender: Sender, spec: ChainSpec, tokens: Mapping[str, Contract], contracts: Mapping[str, str]
) -> dict[str, str]:
    """Deploy and seed the chain's markets (Ethereum: three; Arbitrum: one behind the sequencer gate; other
    chains none); return registry entries.

    ``contracts`` is the registry so far: the oracle's sources are its feeds (``feed:ETH/USD``, ...).
    """
    markets = MARKETS_BY_CHAIN.get(spec.chain_id, ())
    if not markets:
        return {}
    registry: dict[str, str] = {}
    sequencer = None
    if spec.chain_id in SEQUENCED_CHAINS:
        sequencer = deploy_sequencer_feed(sender)
        registry[SEQUENCER_FEED] = sequencer.address
    libraries = _deploy_libraries(sender)
    for params in markets:
        market = _deploy_market(sender, params, libraries, tokens, contracts)
        if sequencer is not None:
            sentinel = sender.deploy(
                aave_artifact("protocol/configuration/PriceOracleSentinel"),
                market.provider.address,
                sequencer.address,
                SENTINEL_GRACE,
            )
            sender.send(market.provider.functions.setPriceOracleSentinel(sentinel.address))
            registry[f"{REGISTRY_PREFIX}PriceOracleSentinel{market_suffix(params.name)}"] = sentinel.address
        _init_reserves(sender, market, tokens)
        _seed(sender, market, tokens)
        for symbol in params.without_stable_debt:
            _drop_stable_debt_token(sender, market, symbol, tokens[symbol].address)
        registry |= market.registry()
    return registry


def deploy_sequencer_feed(sender: Sender) -> Contract:
    """Chainlink's L2 sequencer-uptime feed, as our feed stand-in: answer 0 (up) since a day ago.

    Aave's PriceOracleSentinel reads its ``updatedAt``, Chainlink's guidance its ``startedAt``: both are
    the time the status began, so borrowing is open at once (the grace period has long passed).
    """
    feed = sender.deploy(contract_artifact("PriceFeed"), 0, "L2 Sequencer Uptime Status Feed", 0)
    now = int(sender.w3.eth.get_block("latest")["timestamp"])
    sender.send(feed.functions.updateRoundData(2, 0, now - 86_400, now - 86_400))
    return feed


def _deploy_libraries(sender: Sender) -> dict[str, str]:
    """The Pool's logic libraries (FlashLoanLogic links BorrowLogic), shared by every market's Pool."""
    libraries: dict[str, str] = {
        name: sender.deploy(aave_artifact(f"protocol/libraries/logic/{name}")).address for name in LIBRARIES
    }
    flash = aave_artifact("protocol/libraries/logic/FlashLoanLogic").link(libraries)
    libraries["FlashLoanLogic"] = sender.deploy(flash).address
    libraries["ConfiguratorLogic"] = sender.deploy(aave_artifact("protocol/libraries/logic/ConfiguratorLogic")).address
    return libraries


def _deploy_market(
    sender: Sender,
    params: MarketParams,
    libraries: Mapping[str, str],
    tokens: Mapping[str, Contract],
    contracts: Mapping[str, str],
) -> AaveV3:
    provider, acl, pool, configurator = _deploy_core(sender, params.market_id, libraries)
    oracle = sender.deploy(
        aave_artifact("misc/AaveOracle"),
        provider.address,
        [tokens[r.symbol].address for r in params.reserves],
        [contracts[feed_name(r.feed)] for r in params.reserves],
        ZERO_ADDRESS,  # no fallback oracle
        ZERO_ADDRESS,  # base currency: USD ...
        10**FEED_DECIMALS,  # ... with the feeds' 8 decimals
    )
    sender.send(provider.functions.setPriceOracle(oracle.address))
    data_provider = sender.deploy(aave_artifact("misc/AaveProtocolDataProvider"), provider.address)
    sender.send(provider.functions.setPoolDataProvider(data_provider.address))
    return AaveV3(params, provider, pool, configurator, oracle, data_provider, acl, {}, {})


def _deploy_core(
    sender: Sender, market_id: str, libraries: Mapping[str, str]
) -> tuple[Contract, Contract, Contract, Contract]:
    """Provider, ACL manager, Pool and PoolConfigurator (behind the provider's proxies)."""
    owner = sender.owner
    provider = sender.deploy(aave_artifact("protocol/configuration/PoolAddressesProvider"), market_id, owner)
    sender.send(provider.functions.setACLAdmin(owner))
    acl = sender.deploy(aave_artifact("protocol/configuration/ACLManager"), provider.address)
    sender.send(provider.functions.setACLManager(acl.address))
    for grant in (acl.functions.addPoolAdmin, acl.functions.addEmergencyAdmin, acl.functions.addRiskAdmin):
        sender.send(grant(owner))

    pool_libraries = {name: libraries[name] for name in (*LIBRARIES, "FlashLoanLogic")}
    pool_impl = sender.deploy(aave_artifact("protocol/pool/Pool").link(pool_libraries), provider.address)
    sender.send(provider.functions.setPoolImpl(pool_impl.address))  # creates the proxy and initializes it
    pool = sender.contract(aave_artifact("protocol/pool/Pool"), provider.functions.getPool().call())

    configurator_artifact = aave_artifact("protocol/pool/PoolConfigurator")
    linked = configurator_artifact.link({"ConfiguratorLogic": libraries["ConfiguratorLogic"]})
    configurator_impl = sender.deploy(linked)
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
    tag = market.params.token_tag
    inputs = []
    for r in market.params.reserves:
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
                f"Aave {tag} {r.symbol}",
                f"a{tag}{r.symbol}",
                f"Aave {tag} Variable Debt {r.symbol}",
                f"variableDebt{tag}{r.symbol}",
                f"Aave {tag} Stable Debt {r.symbol}",
                f"stableDebt{tag}{r.symbol}",
                b"",
            )
        )
    configurator = market.configurator.functions
    sender.send(configurator.initReserves(inputs))
    for r in market.params.reserves:
        asset = tokens[r.symbol].address
        if r.liquidation_threshold:
            sender.send(
                configurator.configureReserveAsCollateral(asset, r.ltv, r.liquidation_threshold, r.liquidation_bonus)
            )
        sender.send(configurator.setReserveBorrowing(asset, r.borrowable))
        sender.send(configurator.setReserveFactor(asset, r.reserve_factor))
        sender.send(configurator.setReserveFlashLoaning(asset, True))
        data = market.pool.functions.getReserveData(asset).call()
        market.reserves[r.symbol] = (data[8], data[9], data[10])


def reserve_word(asset: str, word: int) -> int:
    """The storage slot of word ``word`` of ``_reserves[asset]`` in a v3.0 Pool."""
    base = Web3.solidity_keccak(["uint256", "uint256"], [int(asset, 16), RESERVES_SLOT])
    return int.from_bytes(base, "big") + word


def _drop_stable_debt_token(sender: Sender, market: AaveV3, symbol: str, asset: str) -> None:
    """Give a reserve v3.2's shape: no stable-debt token (stable borrowing was never enabled on it)."""
    slot = hex(reserve_word(asset, STABLE_DEBT_WORD))
    a_token, stable, variable = market.reserves[symbol]
    stored = int(sender.rpc("eth_getStorageAt", [market.pool.address, slot, "latest"]), 16)
    if stored != int(stable, 16):  # the layout is not the one this replica was written for
        raise RuntimeError(f"aave devnet: Pool slot {slot} holds {stored:#x}, not {symbol}'s stable-debt token")
    sender.rpc("anvil_setStorageAt", [market.pool.address, slot, "0x" + "00" * 32])
    sender.rpc("evm_mine", [])
    market.reserves[symbol] = (a_token, ZERO_ADDRESS, variable)


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
    users = market.params.users
    # WETH9 balances come from deposits: wrap what the seeds need (account 0 holds the native coin).
    weth_needed = sum(whole for user in users for symbol, whole in user.supply if symbol == "WETH")
    if weth_needed:
        sender.send(tokens["WETH"].functions.deposit(), value=weth_needed * 10**18)
    pool = market.pool.functions
    for user in users:
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
