"""Compound V2 and Compound III (Comet) on the devnet, from our ABI-compatible contracts, seeded.

Example::

    registry = deploy_compound(sender, ETHEREUM, tokens, contracts)
    registry["CompoundV2Comptroller"], registry["CompoundV2cToken:USDC"], registry["CompoundV3Comet:USDC"]

Compound V2: a Comptroller behind a Unitroller (the registry's address), a price oracle over the devnet feeds,
one JumpRateModelV2 and one cToken per market (a CErc20Delegator over one shared CErc20Delegate, as mainnet's
cDAI and cUSDC; cETH a CEther holding native ETH, not upgradeable, with no underlying(), as on mainnet), with
Compound's mainnet-like parameters: collateral factors, reserve factors, rate curves and initial exchange rates
of 0.02 * 10**(18 - 8 + underlying decimals).
Compound III: four Comets, each an implementation behind a TransparentUpgradeableProxy (its governor and pause
guardian implementation immutables, account 0 until `governance` hands them over), shaped like mainnet's
(`COMETS`): cUSDCv3 (WETH, WBTC, wstETH collateral, its
storefront price factor 0.6 and 5M USDC target reserves), cUSDTv3 (five collateral assets), and cWETHv3 and
cWstETHv3, which price everything in their base token as on mainnet (a constant 1 base feed and collateral
feeds in the base; these cross feeds stay fixed when the simulation moves USD prices).

Seed users (fresh addresses funded from account 0; borrowed tokens go back to account 0) put V2's stablecoin
markets at about 60 % utilisation (WETH and WBTC at a few per cent) and the Comets at 45-70 %, with one
borrower a few per cent from liquidation in each protocol (V2 and cUSDCv3). Sizes follow the two protocols'
mid-2025 TVLs scaled down (`devnet.sizes`): about $6.8M for V2 (supplied minus borrowed) and $67M for the
Comets together.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from web3 import Web3
from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.proxies import deploy_transparent, deploy_unitroller
from defiscope.devnet.seeding import approve, fund, seed_user, units
from defiscope.devnet.spec import FEED_DECIMALS, ChainSpec, FeedSpec
from defiscope.devnet.tokens import feed_name
from defiscope.devnet.tx import Sender

WAD: Final = 10**18
#: Aave's step registers the same feed; if it did not run, ours deploys it.
WSTETH_FEED: Final = FeedSpec("WSTETH/USD", Fraction(3600))
FEEDS: Final = {
    "WETH": "ETH/USD",
    "WBTC": "BTC/USD",
    "USDC": "USDC/USD",
    "USDT": "USDT/USD",
    "DAI": "DAI/USD",
    "LINK": "LINK/USD",
    "UNI": "UNI/USD",
    "wstETH": "WSTETH/USD",
}


def wad_of(value: str) -> int:
    """A decimal string as an 18-decimal mantissa: "0.825" -> 825 * 10**15."""
    return int(Fraction(value) * WAD)


@dataclass(frozen=True, slots=True)
class V2Market:
    """One cToken: rate curve per year (JumpRateModelV2's constructor), factors as fractions of 1."""

    symbol: str
    base_rate: str
    multiplier: str
    jump_multiplier: str
    kink: str
    reserve_factor: str
    collateral_factor: str
    native: bool = False  # cETH: a CEther holding native ETH (valued as WETH), no underlying()

    @property
    def ctoken_symbol(self) -> str:
        return "cETH" if self.native else f"c{self.symbol}"


V2_MARKETS: Final = (
    V2Market("WETH", "0.02", "0.18", "4", "0.8", "0.2", "0.825", native=True),
    V2Market("USDC", "0", "0.05", "1.09", "0.8", "0.075", "0.855"),
    V2Market("DAI", "0", "0.05", "1.09", "0.8", "0.15", "0.835"),
    V2Market("WBTC", "0.02", "0.18", "5", "0.8", "0.2", "0.7"),
)
V2_CLOSE_FACTOR: Final = "0.5"
V2_LIQUIDATION_INCENTIVE: Final = "1.08"


@dataclass(frozen=True, slots=True)
class SeedUser:
    """Supplies (whole tokens) then borrows (whole tokens)."""

    name: str
    supply: tuple[tuple[str, int], ...]
    borrow: tuple[tuple[str, int], ...] = ()


V2_USERS: Final = (
    # cUSDC: 1,040,000 lent of 1,625,000 supplied, 64 % utilisation.
    SeedUser("lender", (("WETH", 600), ("USDC", 1_325_000), ("DAI", 700_000), ("WBTC", 12))),
    # 81 % of its borrowing power: liquidatable after a 20 % ETH drop.
    SeedUser("eth borrower", (("WETH", 250),), (("USDC", 400_000), ("WBTC", 1))),
    SeedUser("btc borrower", (("WBTC", 12),), (("DAI", 400_000),)),
    SeedUser("usdc looper", (("USDC", 300_000),), (("WETH", 40),)),
    SeedUser("btc usdc borrower", (("WBTC", 8),), (("USDC", 400_000),)),
    # 100 WETH x 0.825 = $247,500 of borrowing power: a 5 % ETH drop liquidates it.
    SeedUser("eth risky", (("WETH", 100),), (("USDC", 240_000),)),
)


@dataclass(frozen=True, slots=True)
class CometAsset:
    symbol: str
    borrow_cf: str
    liquidate_cf: str
    liquidation_factor: str
    supply_cap: int  # whole tokens


@dataclass(frozen=True, slots=True)
class CometSpec:
    """One Comet, with its mainnet twin's configuration (compound-finance/comet deployments/mainnet/<base>)."""

    base: str
    quote: str  # what getPrice answers in: "USD", or the base itself (a constant 1 base feed, as cWETHv3)
    assets: tuple[CometAsset, ...]
    #: Per year: supply kink, slope low, slope high, base; then the borrow curve.
    rates: tuple[str, str, str, str, str, str, str, str]
    borrow_min: str  # whole base tokens
    store_front_price_factor: str
    target_reserves: int  # whole base tokens
    users: tuple[SeedUser, ...]

    def user_name(self, user: SeedUser) -> str:
        """Seed names stay unique across Comets; cUSDCv3's keep their historical names."""
        return user.name if self.base == "USDC" else f"{self.base} {user.name}"


#: The Comets and their seeds, about $67M in all (`devnet.sizes`: compound-v3 at 1/30) split roughly as
#: mainnet's mid-2025 markets are: cUSDCv3 about half, cWETHv3 a quarter, cUSDTv3 and cWstETHv3 the rest.
#: TVL counts what each Comet holds: base supplied minus borrowed, plus collateral.
COMETS: Final = (
    # cUSDCv3 (~$33.6M): 23M USDC supplied, 15.8M lent; collateral 3,600 WETH, 115 WBTC, 1,150 wstETH.
    CometSpec(
        "USDC",
        "USD",
        (
            CometAsset("WETH", "0.83", "0.9", "0.95", 350_000),
            CometAsset("WBTC", "0.7", "0.77", "0.95", 12_000),
            CometAsset("wstETH", "0.82", "0.87", "0.92", 80_000),
        ),
        ("0.9", "0.054", "3.3", "0", "0.9", "0.0555", "4.8", "0.015"),
        "100",
        "0.6",
        5_000_000,
        (
            SeedUser("lender", (("USDC", 23_000_000),)),
            SeedUser("eth borrower", (("WETH", 3_500),), (("USDC", 5_750_000),)),
            SeedUser("btc borrower", (("WBTC", 115),), (("USDC", 6_900_000),)),
            SeedUser("wsteth borrower", (("wstETH", 1_150),), (("USDC", 2_875_000),)),
            # borrow CF 0.83 allows $249,000; liquidate CF 0.9 puts liquidation at an ETH price of $2,722.
            SeedUser("eth risky", (("WETH", 100),), (("USDC", 245_000),)),
        ),
    ),
    # cWETHv3 (~$16.9M), priced in ETH: 4,500 WETH supplied, 2,000 lent against 2,600 wstETH.
    CometSpec(
        "WETH",
        "WETH",
        (
            CometAsset("wstETH", "0.9", "0.93", "0.95", 100_000),
            CometAsset("WBTC", "0.8", "0.85", "0.9", 1_000),
        ),
        ("0.85", "0.0325", "0.4", "0", "0.85", "0.035", "0.25", "0.015"),
        "0.1",
        "0.5",
        5_000,
        (
            SeedUser("lender", (("WETH", 4_500),)),
            SeedUser("wsteth borrower", (("wstETH", 2_600),), (("WETH", 2_000),)),
        ),
    ),
    # cUSDTv3 (~$10M): 7.5M USDT supplied, 3.8M lent against WETH and WBTC.
    CometSpec(
        "USDT",
        "USD",
        (
            CometAsset("WETH", "0.825", "0.895", "0.95", 100_000),
            CometAsset("WBTC", "0.7", "0.77", "0.95", 5_000),
            CometAsset("wstETH", "0.825", "0.895", "0.95", 50_000),
            CometAsset("LINK", "0.79", "0.85", "0.93", 5_000_000),
            CometAsset("UNI", "0.75", "0.81", "0.93", 5_000_000),
        ),
        ("0.8", "0.0325", "0.4", "0", "0.8", "0.035", "0.25", "0.015"),
        "100",
        "0.5",
        5_000_000,
        (
            SeedUser("lender", (("USDT", 7_500_000),)),
            SeedUser("eth borrower", (("WETH", 1_100),), (("USDT", 2_000_000),)),
            SeedUser("btc borrower", (("WBTC", 30),), (("USDT", 1_800_000),)),
        ),
    ),
    # cWstETHv3 (~$6.4M), priced in wstETH: 1,300 wstETH supplied, 600 lent against 1,300 WETH.
    CometSpec(
        "wstETH",
        "wstETH",
        (CometAsset("WETH", "0.88", "0.91", "0.96", 100_000),),
        ("0.85", "0.012", "1", "0", "0.85", "0.014", "1.15", "0.01"),
        "0.1",
        "0.7",
        5_000,
        (
            SeedUser("lender", (("wstETH", 1_300),)),
            SeedUser("eth borrower", (("WETH", 1_300),), (("wstETH", 600),)),
        ),
    ),
)
#: cUSDCv3's, kept by name for the differential tests.
COMET_RATES: Final = COMETS[0].rates
COMET_USERS: Final = COMETS[0].users


def deploy_compound(
    sender: Sender, spec: ChainSpec, tokens: Mapping[str, Contract], contracts: dict[str, str]
) -> dict[str, str]:
    """Deploy and seed Compound V2 and III on Ethereum (other chains get nothing); registry entries."""
    if spec.chain_id != 1:
        return {}
    if feed_name(WSTETH_FEED.pair) not in contracts:
        feed = sender.deploy(
            contract_artifact("PriceFeed"), FEED_DECIMALS, WSTETH_FEED.description, WSTETH_FEED.answer()
        )
        contracts[feed_name(WSTETH_FEED.pair)] = feed.address
    feeds = {symbol: contracts[feed_name(pair)] for symbol, pair in FEEDS.items()}
    return {**deploy_compound_v2(sender, tokens, feeds), **deploy_comets(sender, spec, tokens, feeds)}


def hand_oracle_to(sender: Sender, oracle: str, owner: str) -> None:
    """Hand the price oracle (Ownable2Step) to ``owner`` as mainnet's community multisig took it: the current owner
    nominates it (`transferOwnership`), the nominee accepts (`acceptOwnership`; impersonated: the devnet's Safe signs
    nothing). Submitted: in an open block (the simulation) both are queued in it."""
    contract = sender.contract(contract_artifact("CompoundV2Oracle"), oracle).functions
    nominee = Web3.to_checksum_address(owner)
    sender.submit(contract.transferOwnership(nominee))
    with sender.impersonating(nominee, gas_money=10**18):
        sender.submit(contract.acceptOwnership(), sender=nominee)


def deploy_compound_v2(sender: Sender, tokens: Mapping[str, Contract], feeds: Mapping[str, str]) -> dict[str, str]:
    implementation = sender.deploy(contract_artifact("Comptroller"))
    comptroller = sender.contract(contract_artifact("Comptroller"), deploy_unitroller(sender, implementation))
    oracle = sender.deploy(contract_artifact("CompoundV2Oracle"), [])  # configs added per market below
    c = comptroller.functions
    sender.send(c._setPriceOracle(oracle.address))
    sender.send(c._setCloseFactor(wad_of(V2_CLOSE_FACTOR)))
    sender.send(c._setLiquidationIncentive(wad_of(V2_LIQUIDATION_INCENTIVE)))
    registry: dict[str, str] = {"CompoundV2Comptroller": comptroller.address, "CompoundV2Oracle": oracle.address}
    ctokens: dict[str, Contract] = {}
    native = {m.symbol for m in V2_MARKETS if m.native}
    delegate = sender.deploy(contract_artifact("CErc20Delegate"))  # one shared by the markets, as on mainnet
    for m in V2_MARKETS:
        model = sender.deploy(
            contract_artifact("JumpRateModelV2"),
            wad_of(m.base_rate),
            wad_of(m.multiplier),
            wad_of(m.jump_multiplier),
            wad_of(m.kink),
        )
        decimals = tokens[m.symbol].functions.decimals().call()
        market_args = (
            comptroller.address,
            model.address,
            2 * 10 ** (18 - 8 + decimals) // 100,
            "Compound Ether" if m.native else f"Compound {m.symbol}",
            m.ctoken_symbol,
            8,
            wad_of(m.reserve_factor),
        )
        if m.native:
            ctoken = sender.deploy(contract_artifact("CEther"), *market_args)
        else:
            ctoken = deploy_delegator(sender, delegate.address, tokens[m.symbol].address, market_args)
        sender.send(c._supportMarket(ctoken.address))
        sender.send(c._setCollateralFactor(ctoken.address, wad_of(m.collateral_factor)))
        sender.send(oracle.functions.addConfig((decimals, ctoken.address, feeds[m.symbol], 0)))
        ctokens[m.symbol] = ctoken
        registry[f"CompoundV2cToken:{m.symbol}"] = ctoken.address
        registry[f"CompoundV2RateModel:{m.symbol}"] = model.address
    for user in V2_USERS:
        address = seed_user(sender, "compound-v2", user.name)
        markets = [ctokens[symbol].address for symbol, _ in user.supply]
        sender.send(c.enterMarkets(markets), sender=address)
        for symbol, whole in user.supply:
            if symbol in native:
                amount = units(tokens[symbol], whole)
                sender.rpc("anvil_setBalance", [address, hex(10**18 + amount)])  # gas money plus the supply
                sender.send(ctokens[symbol].functions.mint(), sender=address, value=amount)
                continue
            amount = fund(sender, tokens, address, symbol, whole)
            approve(sender, tokens[symbol], address, ctokens[symbol].address)
            sender.send(ctokens[symbol].functions.mint(amount), sender=address)
        for symbol, whole in user.borrow:
            amount = units(tokens[symbol], whole)
            sender.send(ctokens[symbol].functions.borrow(amount), sender=address)
            if symbol not in native:  # borrowed ETH stays with the seed user
                sender.send(tokens[symbol].functions.transfer(sender.owner, amount), sender=address)
        sender.rpc("anvil_stopImpersonatingAccount", [address])
    return registry


def deploy_delegator(sender: Sender, delegate: str, underlying: str, market_args: tuple[object, ...]) -> Contract:
    """A CErc20 market as mainnet's cDAI or cUSDC: a CErc20Delegator over ``delegate``, set up through it by
    account 0 (its admin until governance takes over); ``market_args`` as CEther's constructor takes them (the
    reserve factor last, set after as Compound does). The market, with CErc20's ABI."""
    *setup, reserve_factor = market_args
    delegator = sender.deploy(contract_artifact("CErc20Delegator"), underlying, *setup, sender.owner, delegate, b"")
    market = sender.contract(contract_artifact("CErc20"), delegator.address)
    sender.send(market.functions._setReserveFactor(reserve_factor))
    return market


def comet_feeds(spec: ChainSpec, comet: CometSpec, feeds: Mapping[str, str], sender: Sender) -> dict[str, str]:
    """Price feed per symbol (base and collateral) as the Comet reads them.

    A USD Comet reads the USD feeds. A Comet priced in its base (cWETHv3, cWstETHv3) reads a constant 1 for
    the base and, per collateral, a feed of its price in the base, as mainnet's ETH-denominated feeds.
    """
    symbols = (comet.base, *(a.symbol for a in comet.assets))
    if comet.quote == "USD":
        return {symbol: feeds[symbol] for symbol in symbols}
    quote_usd = _usd_price(spec, comet.quote)
    found: dict[str, str] = {}
    for symbol in symbols:
        price = FeedSpec(f"{symbol}/{comet.quote}", _usd_price(spec, symbol) / quote_usd)
        found[symbol] = sender.deploy(
            contract_artifact("PriceFeed"), FEED_DECIMALS, price.description, price.answer()
        ).address
    return found


def _usd_price(spec: ChainSpec, symbol: str) -> Fraction:
    pair = FEEDS[symbol]
    return WSTETH_FEED.price if pair == WSTETH_FEED.pair else spec.feed(pair).price


def deploy_comet(
    sender: Sender, spec: ChainSpec, comet: CometSpec, tokens: Mapping[str, Contract], feeds: Mapping[str, str]
) -> str:
    """Deploy one Comet and seed its users; its address."""
    base = tokens[comet.base]
    prices = comet_feeds(spec, comet, feeds, sender)
    assets = [
        (
            tokens[a.symbol].address,
            prices[a.symbol],
            tokens[a.symbol].functions.decimals().call(),
            wad_of(a.borrow_cf),
            wad_of(a.liquidate_cf),
            wad_of(a.liquidation_factor),
            units(tokens[a.symbol], a.supply_cap),
        )
        for a in comet.assets
    ]
    decimals = base.functions.decimals().call()
    # Account 0 governs and guards until governance takes over (`governance.hand_comets_to`: a new implementation).
    implementation = sender.deploy(
        contract_artifact("Comet"),
        sender.owner,
        sender.owner,
        base.address,
        prices[comet.base],
        decimals,
        int(Fraction(comet.borrow_min) * 10**decimals),
        wad_of(comet.store_front_price_factor),
        comet.target_reserves * 10**decimals,
        tuple(wad_of(v) for v in comet.rates),
        assets,
    )
    init = bytes.fromhex(implementation.encode_abi("initializeStorage", args=[])[2:])
    proxy = deploy_transparent(sender, implementation.address, sender.owner, init)
    contract = sender.contract(contract_artifact("Comet"), proxy)
    for user in comet.users:
        address = seed_user(sender, "compound-v3", comet.user_name(user))
        for symbol, whole in user.supply:
            amount = fund(sender, tokens, address, symbol, whole)
            approve(sender, tokens[symbol], address, contract.address)
            sender.send(contract.functions.supply(tokens[symbol].address, amount), sender=address)
        for symbol, whole in user.borrow:
            amount = units(tokens[symbol], whole)
            sender.send(contract.functions.withdraw(tokens[symbol].address, amount), sender=address)
            sender.send(tokens[symbol].functions.transfer(sender.owner, amount), sender=address)
        sender.rpc("anvil_stopImpersonatingAccount", [address])
    return str(contract.address)


def deploy_comets(
    sender: Sender, spec: ChainSpec, tokens: Mapping[str, Contract], feeds: Mapping[str, str]
) -> dict[str, str]:
    return {f"CompoundV3Comet:{c.base}": deploy_comet(sender, spec, c, tokens, feeds) for c in COMETS}


#: Comet's rate getters, in the order of its constructor's RateConfig (per-second slopes, kinks as they are).
COMET_RATE_GETTERS: Final = (
    ("supplyKink", False),
    ("supplyPerSecondInterestRateSlopeLow", True),
    ("supplyPerSecondInterestRateSlopeHigh", True),
    ("supplyPerSecondInterestRateBase", True),
    ("borrowKink", False),
    ("borrowPerSecondInterestRateSlopeLow", True),
    ("borrowPerSecondInterestRateSlopeHigh", True),
    ("borrowPerSecondInterestRateBase", True),
)
SECONDS_PER_YEAR: Final = 31_536_000


def deploy_comet_implementation(
    sender: Sender, proxy: str, *, governor: str | None = None, pause_guardian: str | None = None
) -> str:
    """A new Comet implementation with the configuration the proxy runs now (as mainnet's Configurator deploys
    one before the ProxyAdmin upgrades to it), with a new ``governor`` or ``pause_guardian`` if given: per-year
    rates are the per-second ones times the year, which the constructor divides back exactly."""
    comet = sender.contract(contract_artifact("Comet"), proxy).functions
    rates = tuple(
        getattr(comet, name)().call() * (SECONDS_PER_YEAR if per_second else 1)
        for name, per_second in COMET_RATE_GETTERS
    )
    assets = []
    for index in range(comet.numAssets().call()):
        _, asset, feed, scale, borrow_cf, liquidate_cf, liquidation_factor, cap = comet.getAssetInfo(index).call()
        decimals = len(str(scale)) - 1
        assets.append((asset, feed, decimals, borrow_cf, liquidate_cf, liquidation_factor, cap))
    implementation = sender.deploy(
        contract_artifact("Comet"),
        governor or comet.governor().call(),
        pause_guardian or comet.pauseGuardian().call(),
        comet.baseToken().call(),
        comet.baseTokenPriceFeed().call(),
        comet.decimals().call(),
        comet.baseBorrowMin().call(),
        comet.storeFrontPriceFactor().call(),
        comet.targetReserves().call(),
        rates,
        assets,
    )
    return str(implementation.address)
