"""The world each devnet chain gets, as data: tokens, price feeds and seeded pools.

Prices are exact fractions of a US dollar; pool sizes are US dollars per side. The deployers turn them
into integer token amounts, feed answers (8 decimals) and V3 sqrt prices, so pools and feeds agree.
Pool sizes put each DEX near its real mid-2025 TVL scaled down (see `devnet.sizes`).

>>> ETHEREUM.token("USDC").decimals
6
>>> BNB.token("USDT").decimals   # 18 on BNB Chain, as the real Binance-Peg USDT
18
>>> ETHEREUM.feed("ETH/USD").answer(8)
300000000000
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from types import MappingProxyType
from typing import Final, Literal

from defiscope.devnet.supplies import supply_of

FEED_DECIMALS: Final = 8
# Accounts 1..9 get balances too, so tests can act as users other than the deployer.
USER_ACCOUNTS: Final = range(1, 10)

#: Which contract a token is: our ERC-20 (DevToken), the ERC20Votes token the Compound and Uniswap governors
#: count (GovernanceToken), AAVE (Aave's AaveTokenV2 behind its proxy), MKR (a ds-token, the chief's).
TokenContract = Literal["DevToken", "GovernanceToken", "AaveToken", "DSToken"]


@dataclass(frozen=True, slots=True)
class TokenSpec:
    """A token: ``supply`` whole tokens (its total supply) go to account 0, which passes ``per_account`` to
    each of accounts 1..9 (and, for the graded tokens, the non-circulating holdings of `devnet.supplies`).

    ``wrapped_native`` marks WETH9 (registered as WETH or WBNB): its balances come from deposits.
    """

    symbol: str
    name: str
    decimals: int
    usd: Fraction
    supply: int
    per_account: int
    wrapped_native: bool = False
    contract: TokenContract = "DevToken"

    def units(self, whole: int | Fraction) -> int:
        """Whole tokens to the integer amount the contract holds (rounded down)."""
        return int(Fraction(whole) * 10**self.decimals)

    def amount_for_usd(self, usd: int | Fraction) -> int:
        return self.units(Fraction(usd) / self.usd)


@dataclass(frozen=True, slots=True)
class FeedSpec:
    """A Chainlink-style USD feed: ``pair`` like "ETH/USD", ``price`` in US dollars."""

    pair: str
    price: Fraction

    @property
    def description(self) -> str:
        base, quote = self.pair.split("/")
        return f"{base} / {quote}"

    def answer(self, decimals: int = FEED_DECIMALS) -> int:
        return int(self.price * 10**decimals)


@dataclass(frozen=True, slots=True)
class PoolSpec:
    """A pool to seed with ``usd_per_side`` dollars of each token. V2 pools ignore ``fee`` (always 0.3 %)."""

    token_a: str
    token_b: str
    usd_per_side: int
    fee: int = 3000


@dataclass(frozen=True, slots=True)
class ChainSpec:
    chain_id: int
    name: str
    native_symbol: str
    native_usd: Fraction
    # Native balance set on account 0 with anvil_setBalance: enough to wrap for every seeded pool.
    owner_native: int
    tokens: tuple[TokenSpec, ...]
    feeds: tuple[FeedSpec, ...]
    v2_pools: tuple[PoolSpec, ...]
    v3_pools: tuple[PoolSpec, ...]

    def token(self, symbol: str) -> TokenSpec:
        return next(t for t in self.tokens if t.symbol == symbol)

    def feed(self, pair: str) -> FeedSpec:
        return next(f for f in self.feeds if f.pair == pair)


def _usd(value: str) -> Fraction:
    return Fraction(value)


def _graded(
    chain_id: int, symbol: str, name: str, usd: str, per_account: int, contract: TokenContract = "DevToken"
) -> TokenSpec:
    """A graded protocol's token at its mainnet total supply (`devnet.supplies`), 18 decimals as all eight."""
    supply = supply_of(chain_id, symbol)
    if supply is None:
        raise KeyError(f"no supply figures for {symbol} on chain {chain_id}")
    return TokenSpec(symbol, name, 18, _usd(usd), supply.total, per_account, contract=contract)


ETHEREUM: Final = ChainSpec(
    chain_id=1,
    name="ethereum",
    native_symbol="ETH",
    native_usd=_usd("3000"),
    owner_native=1_000_000,
    tokens=(
        TokenSpec("WETH", "Wrapped Ether", 18, _usd("3000"), 100_000, 100, wrapped_native=True),
        TokenSpec("USDC", "USD Coin", 6, _usd("1"), 40_000_000_000, 1_000_000),
        TokenSpec("USDT", "Tether USD", 6, _usd("1"), 60_000_000_000, 1_000_000),
        TokenSpec("DAI", "Dai Stablecoin", 18, _usd("1"), 5_000_000_000, 1_000_000),
        TokenSpec("WBTC", "Wrapped BTC", 8, _usd("100000"), 150_000, 10),
        TokenSpec("LINK", "ChainLink Token", 18, _usd("15"), 1_000_000_000, 10_000),
        TokenSpec("weETH", "Wrapped eETH", 18, _usd("3200"), 100_000, 10),  # Aave's EtherFi market
        # The graded protocols' tokens, one address each: the governors, the chief and Aave's governance count
        # these very tokens. Prices: late-2025 (SKY ~$0.055 x 24,000 for MKR).
        _graded(1, "UNI", "Uniswap", "8", 10_000, "GovernanceToken"),
        _graded(1, "COMP", "Compound", "33", 100, "GovernanceToken"),
        _graded(1, "AAVE", "Aave Token", "158", 100, "AaveToken"),
        _graded(1, "MKR", "Maker", "1320", 1, "DSToken"),
        _graded(1, "CRV", "Curve DAO Token", "0.43", 10_000),
        _graded(1, "LDO", "Lido DAO Token", "0.75", 10_000),
        _graded(1, "EIGEN", "Eigen", "1.2", 10_000),
    ),
    feeds=(
        FeedSpec("ETH/USD", _usd("3000")),
        FeedSpec("BTC/USD", _usd("100000")),
        FeedSpec("USDC/USD", _usd("1")),
        FeedSpec("USDT/USD", _usd("1")),
        FeedSpec("DAI/USD", _usd("1")),
        FeedSpec("LINK/USD", _usd("15")),
        FeedSpec("UNI/USD", _usd("8")),
        FeedSpec("STETH/USD", _usd("2995")),
        FeedSpec("WSTETH/USD", _usd("3600")),  # Aave V3 prices wstETH through it
        FeedSpec("EIGEN/USD", _usd("1.2")),  # EIGEN staked in EigenLayer
        FeedSpec("WEETH/USD", _usd("3200")),  # Aave V3 EtherFi prices weETH through it
        FeedSpec("COMP/USD", _usd("33")),
        FeedSpec("AAVE/USD", _usd("158")),
        FeedSpec("MKR/USD", _usd("1320")),
        FeedSpec("CRV/USD", _usd("0.43")),
        FeedSpec("LDO/USD", _usd("0.75")),
    ),
    v2_pools=(
        PoolSpec("WETH", "USDC", 6_000_000),
        PoolSpec("WETH", "USDT", 3_000_000),
        PoolSpec("WETH", "DAI", 2_000_000),
        PoolSpec("WBTC", "WETH", 3_000_000),
        PoolSpec("USDC", "USDT", 2_000_000),
        # Governance tokens against WETH, mainnet's deepest venue for each, at the devnet's 1/30 scale.
        PoolSpec("MKR", "WETH", 300_000),
        PoolSpec("COMP", "WETH", 200_000),
    ),
    v3_pools=(
        PoolSpec("WETH", "USDC", 29_000_000, fee=500),
        PoolSpec("WETH", "USDC", 7_000_000, fee=3000),
        PoolSpec("WBTC", "WETH", 12_000_000, fee=3000),
        PoolSpec("USDC", "USDT", 8_000_000, fee=100),
        PoolSpec("DAI", "USDC", 5_000_000, fee=100),
        PoolSpec("UNI", "WETH", 1_000_000, fee=3000),
        PoolSpec("AAVE", "WETH", 500_000, fee=3000),
        PoolSpec("LDO", "WETH", 300_000, fee=3000),
        PoolSpec("CRV", "WETH", 200_000, fee=3000),
        PoolSpec("EIGEN", "WETH", 200_000, fee=3000),
    ),
)

BNB: Final = ChainSpec(
    chain_id=56,
    name="bnb",
    native_symbol="BNB",
    native_usd=_usd("600"),
    owner_native=1_000_000,
    tokens=(
        TokenSpec("WBNB", "Wrapped BNB", 18, _usd("600"), 200_000, 500, wrapped_native=True),
        TokenSpec("USDT", "Tether USD", 18, _usd("1"), 5_000_000_000, 1_000_000),
        TokenSpec("USDC", "USD Coin", 18, _usd("1"), 1_000_000_000, 1_000_000),
        TokenSpec("BTCB", "BTCB Token", 18, _usd("100000"), 60_000, 10),
        TokenSpec("ETH", "Binance-Peg Ethereum", 18, _usd("3000"), 700_000, 100),
        _graded(56, "CAKE", "PancakeSwap Token", "2.5", 10_000),
    ),
    feeds=(
        FeedSpec("BNB/USD", _usd("600")),
        FeedSpec("ETH/USD", _usd("3000")),
        FeedSpec("BTC/USD", _usd("100000")),
        FeedSpec("USDT/USD", _usd("1")),
        FeedSpec("USDC/USD", _usd("1")),
        FeedSpec("CAKE/USD", _usd("2.5")),
    ),
    v2_pools=(
        PoolSpec("WBNB", "USDT", 3_000_000),
        PoolSpec("ETH", "WBNB", 2_000_000),
        PoolSpec("BTCB", "WBNB", 2_000_000),
        PoolSpec("USDT", "USDC", 2_000_000),
        PoolSpec("CAKE", "WBNB", 1_000_000),
    ),
    v3_pools=(
        PoolSpec("WBNB", "USDT", 5_000_000, fee=500),
        PoolSpec("ETH", "WBNB", 2_000_000, fee=3000),
        PoolSpec("BTCB", "WBNB", 2_000_000, fee=3000),
        PoolSpec("USDT", "USDC", 3_000_000, fee=100),
    ),
)

#: Arbitrum One: opt-in (``defiscope devnet up --chain 42161``; not in DEFAULT_CHAIN_IDS): Aave V3 behind the
#: L2 sequencer-uptime gate, and a few Uniswap pools (the simulation trades on them).
ARBITRUM: Final = ChainSpec(
    chain_id=42161,
    name="arbitrum",
    native_symbol="ETH",
    native_usd=_usd("3000"),
    owner_native=100_000,
    tokens=(
        TokenSpec("WETH", "Wrapped Ether", 18, _usd("3000"), 10_000, 10, wrapped_native=True),
        TokenSpec("USDC", "USD Coin", 6, _usd("1"), 1_000_000_000, 100_000),
        TokenSpec("USDT", "Tether USD", 6, _usd("1"), 1_000_000_000, 100_000),
        TokenSpec("WBTC", "Wrapped BTC", 8, _usd("100000"), 10_000, 1),
    ),
    feeds=(
        FeedSpec("ETH/USD", _usd("3000")),
        FeedSpec("BTC/USD", _usd("100000")),
        FeedSpec("USDC/USD", _usd("1")),
        FeedSpec("USDT/USD", _usd("1")),
    ),
    v2_pools=(PoolSpec("WETH", "USDC", 1_000_000),),
    v3_pools=(
        PoolSpec("WETH", "USDC", 5_000_000, fee=500),
        PoolSpec("WBTC", "WETH", 2_000_000, fee=500),
        PoolSpec("USDC", "USDT", 2_000_000, fee=100),
    ),
)

CHAIN_SPECS: Final[Mapping[int, ChainSpec]] = MappingProxyType(
    {spec.chain_id: spec for spec in (ETHEREUM, BNB, ARBITRUM)}
)

#: PancakeSwap V2 pairs seeded on BNB Chain (0.25 % fee), US dollars per side.
PANCAKE_V2_POOLS: Final = (
    PoolSpec("WBNB", "USDT", 7_000_000, fee=2500),
    PoolSpec("CAKE", "WBNB", 3_000_000, fee=2500),
    PoolSpec("BTCB", "WBNB", 3_500_000, fee=2500),
)

#: PancakeSwap V3 pools seeded on BNB Chain (fee tiers 100 / 500 / 2500), US dollars per side.
PANCAKE_V3_POOLS: Final = (
    PoolSpec("WBNB", "USDT", 15_000_000, fee=500),
    PoolSpec("ETH", "WBNB", 7_000_000, fee=2500),
    PoolSpec("USDT", "USDC", 5_000_000, fee=100),
)

#: Tokens that protocol deployers add to the registry (not minted as DevTokens): symbol -> decimals.
PROTOCOL_TOKENS: Final[Mapping[int, Mapping[str, int]]] = MappingProxyType(
    {
        1: MappingProxyType(
            {"stETH": 18, "wstETH": 18, "rETH": 18, "cbETH": 18}
            | {"swETH": 18, "wBETH": 18, "sfrxETH": 18, "OETH": 18}  # EigenLayer's devnet LSTs
        )
    }
)


@dataclass(frozen=True, slots=True)
class CurvePoolSpec:
    """A Curve pool: coins by symbol, US dollars seeded per coin, and the registry or factory listing it.

    "ETH" is native ether (the pool's coin 0xEeee...EEeE); "3Crv" is the LP token of ``Curve3Pool`` (a
    metapool's base). StableSwap pools (``CurveRegistry``, ``CurveStableFactory``, ``CurveStableNgFactory``)
    are our Vyper pool: ``amplification`` is Curve's A; ``fee`` and ``admin_fee`` in 1e10 units (1_000_000 =
    0.01 %). Crypto pools (``CurveTwocryptoNgFactory``, ``CurveTricryptoNgFactory``) are a TVL-only stand-in:
    A (times 10,000, as twocrypto/tricrypto keep it) and the fee are what their getters answer.
    """

    registry_name: str
    lp_symbol: str
    coins: tuple[str, ...]
    usd_per_coin: tuple[int, ...]
    amplification: int
    fee: int
    admin_fee: int = 5_000_000_000
    listed_by: str = "CurveRegistry"


_NG: Final = "CurveStableNgFactory"
_OLD: Final = "CurveStableFactory"
_TWO: Final = "CurveTwocryptoNgFactory"
_TRI: Final = "CurveTricryptoNgFactory"
#: Curve on Ethereum, shaped like mainnet: the main registry's 3pool, USDC/USDT and ETH/stETH (native ether);
#: stable-factory pools, one a 3pool metapool (its 3Crv is not counted again: the 3pool counts the coins);
#: stable-ng pools; twocrypto-ng and tricrypto-ng pools. The 3pool stays first and deepest (routing tests
#: trade through it); the dollars split Curve's devnet size (sizes.py), a little imbalanced as live pools are.
CURVE_POOLS: Final = (
    CurvePoolSpec("Curve3Pool", "3Crv", ("DAI", "USDC", "USDT"), (14_000_000, 19_000_000, 21_000_000), 2000, 1_000_000),
    CurvePoolSpec("CurveUsdcUsdtPool", "USDCUSDT-f", ("USDC", "USDT"), (1_000_000, 900_000), 500, 4_000_000),
    CurvePoolSpec("CurveEthStethPool", "steCRV", ("ETH", "stETH"), (1_000_000, 1_000_000), 50, 4_000_000),
    CurvePoolSpec("CurveDaiUsdcPool", "DAIUSDC-f", ("DAI", "USDC"), (500_000, 400_000), 400, 1_000_000, listed_by=_OLD),
    CurvePoolSpec(
        "CurveUsdt3CrvPool", "USDT3CRV-f", ("USDT", "3Crv"), (500_000, 500_000), 200, 4_000_000, listed_by=_OLD
    ),
    CurvePoolSpec(
        "CurveDaiUsdtNgPool", "DAIUSDT-ng", ("DAI", "USDT"), (400_000, 350_000), 1000, 1_000_000, listed_by=_NG
    ),
    CurvePoolSpec(
        "CurveWethStethNgPool", "stETH-ng", ("WETH", "stETH"), (500_000, 500_000), 1500, 1_000_000, listed_by=_NG
    ),
    CurvePoolSpec(
        "CurveUsdcDaiNgPool", "USDCDAI-ng", ("USDC", "DAI"), (300_000, 300_000), 1000, 1_000_000, listed_by=_NG
    ),
    CurvePoolSpec(
        "CurveWethLinkPool", "LINKETH-f", ("WETH", "LINK"), (400_000, 400_000), 400_000, 26_000_000, listed_by=_TWO
    ),
    CurvePoolSpec(
        "CurveWbtcWethPool", "WBTCETH-f", ("WBTC", "WETH"), (500_000, 500_000), 400_000, 26_000_000, listed_by=_TWO
    ),
    CurvePoolSpec(
        "CurveTricryptoUsdcPool",
        "USDCWBTCWETH",
        ("USDC", "WBTC", "WETH"),
        (400_000,) * 3,
        1_707_629,
        30_000_000,
        listed_by=_TRI,
    ),
    CurvePoolSpec(
        "CurveTricryptoUsdtPool",
        "USDTWBTCWETH",
        ("USDT", "WBTC", "WETH"),
        (400_000,) * 3,
        1_707_629,
        30_000_000,
        listed_by=_TRI,
    ),
)
