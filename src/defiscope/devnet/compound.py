"""Compound V2 and Compound III (Comet) on the devnet, from our ABI-compatible contracts, seeded.

Example::

    registry = deploy_compound(sender, ETHEREUM, tokens, contracts)
    registry["CompoundV2Comptroller"], registry["CompoundV2cToken:USDC"], registry["CompoundV3Comet:USDC"]

Compound V2: a Comptroller, a price oracle over the devnet feeds, one JumpRateModelV2 and one CErc20 per
market (cWETH stands in for cETH), with Compound's mainnet-like parameters: collateral factors,
reserve factors, rate curves and initial exchange rates of 0.02 * 10**(18 - 8 + underlying decimals).
Compound III: one USDC market with WETH, WBTC and wstETH collateral, cUSDCv3-like curves and cUSDCv3's
storefront price factor (0.6) and target reserves (5M USDC) for buying absorbed collateral.

Seed users (fresh addresses funded from account 0; borrowed tokens go back to account 0) put V2's stablecoin
markets at about 60 % utilisation (WETH and WBTC at a few per cent) and Comet's at 68 %, with one
borrower a few per cent from liquidation in each protocol. Sizes follow the two protocols' mid-2025 TVLs
scaled down (`devnet.sizes`): about $6.8M for V2 (supplied minus borrowed) and $67M for Comet.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.seeding import approve, fund, seed_user, units
from defiscope.devnet.spec import FEED_DECIMALS, ChainSpec, FeedSpec
from defiscope.devnet.tokens import feed_name
from defiscope.devnet.tx import Sender

WAD: Final = 10**18
#: Aave's step registers the same feed; if it did not run, ours deploys it.
WSTETH_FEED: Final = FeedSpec("WSTETH/USD", Fraction(3600))
FEEDS: Final = {"WETH": "ETH/USD", "WBTC": "BTC/USD", "USDC": "USDC/USD", "DAI": "DAI/USD", "wstETH": "WSTETH/USD"}


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


V2_MARKETS: Final = (
    V2Market("WETH", "0.02", "0.18", "4", "0.8", "0.2", "0.825"),
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


COMET_ASSETS: Final = (
    CometAsset("WETH", "0.83", "0.9", "0.95", 350_000),
    CometAsset("WBTC", "0.7", "0.77", "0.95", 12_000),
    CometAsset("wstETH", "0.82", "0.87", "0.92", 80_000),
)
#: cUSDCv3-like curve (per year): supply kink, slope low, slope high, base; then the borrow curve.
COMET_RATES: Final = ("0.9", "0.054", "3.3", "0", "0.9", "0.0555", "4.8", "0.015")
COMET_BASE_BORROW_MIN: Final = 100  # whole USDC
#: cUSDCv3's storeFrontPriceFactor and targetReserves (whole USDC), from Compound's mainnet configuration.
COMET_STORE_FRONT_PRICE_FACTOR: Final = "0.6"
COMET_TARGET_RESERVES: Final = 5_000_000
COMET_USERS: Final = (
    SeedUser("lender", (("USDC", 46_000_000),)),
    SeedUser("eth borrower", (("WETH", 7_000),), (("USDC", 11_500_000),)),
    SeedUser("btc borrower", (("WBTC", 230),), (("USDC", 13_800_000),)),
    SeedUser("wsteth borrower", (("wstETH", 2_300),), (("USDC", 5_750_000),)),
    # borrow CF 0.83 allows $249,000; liquidate CF 0.9 puts liquidation at an ETH price of $2,722.
    SeedUser("eth risky", (("WETH", 100),), (("USDC", 245_000),)),
)


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
    return {**deploy_compound_v2(sender, tokens, feeds), **deploy_comet(sender, tokens, feeds)}


def deploy_compound_v2(sender: Sender, tokens: Mapping[str, Contract], feeds: Mapping[str, str]) -> dict[str, str]:
    comptroller = sender.deploy(contract_artifact("Comptroller"))
    oracle = sender.deploy(contract_artifact("CompoundV2Oracle"))
    c = comptroller.functions
    sender.send(c._setPriceOracle(oracle.address))
    sender.send(c._setCloseFactor(wad_of(V2_CLOSE_FACTOR)))
    sender.send(c._setLiquidationIncentive(wad_of(V2_LIQUIDATION_INCENTIVE)))
    registry: dict[str, str] = {"CompoundV2Comptroller": comptroller.address, "CompoundV2Oracle": oracle.address}
    ctokens: dict[str, Contract] = {}
    for m in V2_MARKETS:
        model = sender.deploy(
            contract_artifact("JumpRateModelV2"),
            wad_of(m.base_rate),
            wad_of(m.multiplier),
            wad_of(m.jump_multiplier),
            wad_of(m.kink),
        )
        underlying = tokens[m.symbol]
        decimals = underlying.functions.decimals().call()
        ctoken = sender.deploy(
            contract_artifact("CErc20"),
            underlying.address,
            comptroller.address,
            model.address,
            2 * 10 ** (18 - 8 + decimals) // 100,
            f"Compound {m.symbol}",
            f"c{m.symbol}",
            8,
            wad_of(m.reserve_factor),
        )
        sender.send(c._supportMarket(ctoken.address))
        sender.send(c._setCollateralFactor(ctoken.address, wad_of(m.collateral_factor)))
        sender.send(oracle.functions.setFeed(ctoken.address, feeds[m.symbol]))
        ctokens[m.symbol] = ctoken
        registry[f"CompoundV2cToken:{m.symbol}"] = ctoken.address
        registry[f"CompoundV2RateModel:{m.symbol}"] = model.address
    for user in V2_USERS:
        address = seed_user(sender, "compound-v2", user.name)
        markets = [ctokens[symbol].address for symbol, _ in user.supply]
        sender.send(c.enterMarkets(markets), sender=address)
        for symbol, whole in user.supply:
            amount = fund(sender, tokens, address, symbol, whole)
            approve(sender, tokens[symbol], address, ctokens[symbol].address)
            sender.send(ctokens[symbol].functions.mint(amount), sender=address)
        for symbol, whole in user.borrow:
            amount = units(tokens[symbol], whole)
            sender.send(ctokens[symbol].functions.borrow(amount), sender=address)
            sender.send(tokens[symbol].functions.transfer(sender.owner, amount), sender=address)
        sender.rpc("anvil_stopImpersonatingAccount", [address])
    return registry


def deploy_comet(sender: Sender, tokens: Mapping[str, Contract], feeds: Mapping[str, str]) -> dict[str, str]:
    usdc = tokens["USDC"]
    assets = [
        (
            tokens[a.symbol].address,
            feeds[a.symbol],
            tokens[a.symbol].functions.decimals().call(),
            wad_of(a.borrow_cf),
            wad_of(a.liquidate_cf),
            wad_of(a.liquidation_factor),
            units(tokens[a.symbol], a.supply_cap),
        )
        for a in COMET_ASSETS
    ]
    rates = tuple(wad_of(v) for v in COMET_RATES)
    decimals = usdc.functions.decimals().call()
    comet = sender.deploy(
        contract_artifact("Comet"),
        usdc.address,
        feeds["USDC"],
        decimals,
        COMET_BASE_BORROW_MIN * 10**decimals,
        wad_of(COMET_STORE_FRONT_PRICE_FACTOR),
        COMET_TARGET_RESERVES * 10**decimals,
        rates,
        assets,
    )
    for user in COMET_USERS:
        address = seed_user(sender, "compound-v3", user.name)
        for symbol, whole in user.supply:
            amount = fund(sender, tokens, address, symbol, whole)
            approve(sender, tokens[symbol], address, comet.address)
            sender.send(comet.functions.supply(tokens[symbol].address, amount), sender=address)
        for symbol, whole in user.borrow:
            amount = units(tokens[symbol], whole)
            sender.send(comet.functions.withdraw(tokens[symbol].address, amount), sender=address)
            sender.send(tokens[symbol].functions.transfer(sender.owner, amount), sender=address)
        sender.rpc("anvil_stopImpersonatingAccount", [address])
    return {"CompoundV3Comet:USDC": comet.address}
