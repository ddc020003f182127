"""Compound accounts, scanned in batches: V2 account liquidity and Comet collateralization from our math.

Each scan is a few multicall rounds whatever the number of accounts; the figures come from
`v2_math.account_liquidity` and `comet_math.liquidity`, which the tests prove equal to the contracts'
`getAccountLiquidity`, `isLiquidatable` and `isBorrowCollateralized`.

    accounts = await discover_v2_accounts(client, comptroller, 0, head)
    scanned = await scan_v2_accounts(reader, deployment, accounts)
    scanned[0].liquidity.shortfall, scanned[0].to_risk()      # a lending.risk.Position
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final

from eth_utils import keccak

from defiscope.chain.client import ChainClient
from defiscope.chain.logs import topic_address, word_address
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.errors import DefiscopeError
from defiscope.protocols.compound.comet_math import CollateralHolding, CometState, liquidity
from defiscope.protocols.compound.rates import CometRates
from defiscope.protocols.compound.v2 import (
    ACCOUNT_SNAPSHOT,
    COMPTROLLER,
    GET_ASSETS_IN,
    MARKET_ENTERED_EVENT,
    MARKETS,
    ORACLE,
    UNDERLYING,
    UNDERLYING_PRICE,
)
from defiscope.protocols.compound.v2_math import AccountAsset, AccountLiquidity, account_liquidity, underlying_of
from defiscope.protocols.compound.v3 import (
    ASSET_INFO,
    BASE_SCALE,
    BASE_TOKEN,
    BASE_TOKEN_PRICE_FEED,
    COLLATERAL_BALANCE,
    CURVE_READS,
    GET_PRICE,
    NUM_ASSETS,
    TOTALS_BASIC,
    USD,
    USER_BASIC,
    WITHDRAW_EVENT,
)
from defiscope.protocols.lending.rates import WAD
from defiscope.protocols.lending.risk import Leg, Position, UnvaluedAccount

MARKET_ENTERED: Final = "0x" + keccak(text=MARKET_ENTERED_EVENT).hex()
COMET_WITHDRAW: Final = "0x" + keccak(text=WITHDRAW_EVENT).hex()
#: Comet prices have 8 decimals; V2 oracle prices are USD * 1e36 / 10**decimals.
PRICE_SCALE: Final = 10**8


class PositionError(DefiscopeError):
    """A position read that failed or makes no sense (no price, unknown market)."""


# ------------------------------------------------------------------------------------------ Compound V2


async def discover_v2_accounts(client: ChainClient, comptroller: str, from_block: int, to_block: int) -> list[str]:
    """Every account of a MarketEntered event (accounts that can borrow), first seen first."""
    logs = await client.get_logs(address=comptroller, topics=[MARKET_ENTERED], from_block=from_block, to_block=to_block)
    return list(dict.fromkeys(word_address(log["data"], 1) for log in logs))


@dataclass(frozen=True, slots=True)
class V2Holding:
    ctoken: str
    underlying: str
    symbol: str
    decimals: int
    asset: AccountAsset

    @property
    def supplied(self) -> int:
        """Underlying units the cTokens redeem for at the stored exchange rate."""
        return underlying_of(self.asset.ctoken_balance, self.asset.exchange_rate)

    def usd(self, amount: int) -> Fraction:
        """USD of ``amount`` underlying: price (1e36 / 10**decimals scale) * amount / 1e36."""
        return Fraction(self.asset.price * amount, 10**36)


@dataclass(frozen=True, slots=True)
class V2Account:
    account: str
    holdings: tuple[V2Holding, ...]
    liquidity: AccountLiquidity

    def to_risk(self) -> Position:
        collateral = tuple(
            Leg(h.symbol, h.usd(h.supplied), Fraction(h.asset.collateral_factor, WAD))
            for h in self.holdings
            if h.asset.ctoken_balance
        )
        debt = tuple(Leg(h.symbol, h.usd(h.asset.borrow_balance)) for h in self.holdings if h.asset.borrow_balance)
        return Position(self.account, collateral, debt)


async def scan_v2_accounts(
    reader: Reader, deployment: Deployment, accounts: Sequence[str], unvalued: list[UnvaluedAccount] | None = None
) -> list[V2Account]:
    """Three rounds: markets entered; snapshots, factors and prices; underlyings of the markets seen.

    An account in a market the oracle has no price for (0, or a failed call) raises `PositionError`, or, given
    an ``unvalued`` list, is left out of the result and appended there with the reason."""
    comptroller = deployment.contract(COMPTROLLER)
    first = await reader.values(
        [Call.of(comptroller, ORACLE)] + [Call.of(comptroller, GET_ASSETS_IN, a) for a in accounts]
    )
    oracle, entered = first[0], first[1:]
    markets = list(dict.fromkeys(m for ms in entered for m in ms))
    pairs = [(a, m) for a, ms in zip(accounts, entered, strict=True) for m in ms]
    calls = [Call.of(m, ACCOUNT_SNAPSHOT, a) for a, m in pairs]
    calls += [Call.of(comptroller, MARKETS, m) for m in markets]
    calls += [Call.of(oracle, UNDERLYING_PRICE, m) for m in markets]
    calls += [Call.of(m, UNDERLYING) for m in markets]
    results = await reader.call_many(calls)
    snapshots = [r.unwrap() for r in results[: len(pairs)]]
    n = len(markets)
    factors = {m: r.unwrap()[1] for m, r in zip(markets, results[len(pairs) : len(pairs) + n], strict=True)}
    price_results = dict(zip(markets, results[len(pairs) + n : len(pairs) + 2 * n], strict=True))
    # The oracle answers 0 for a market it cannot price (Compound's PriceOracle): no price, as a failed call.
    prices = {m: r.value[0] if r.success else 0 for m, r in price_results.items()}
    underlyings = {
        m: (r.value[0] if r.success else deployment.token("WETH").address)  # cETH holds native ETH
        for m, r in zip(markets, results[len(pairs) + 2 * n :], strict=True)
    }
    by_account: dict[str, list[V2Holding]] = {a: [] for a in accounts}
    for (account, market), (error, balance, borrow, rate) in zip(pairs, snapshots, strict=True):
        if error:
            raise PositionError(f"compound-v2: getAccountSnapshot({account}) on {market} returned error {error}")
        token = deployment.token_at(underlyings[market])
        symbol, decimals = (token.symbol, token.decimals) if token else (underlyings[market], 18)
        asset = AccountAsset(balance, borrow, rate, factors[market], prices[market])
        by_account[account].append(V2Holding(market, underlyings[market], symbol, decimals, asset))
    scanned = []
    for account, holdings in by_account.items():
        unpriced = next((h for h in holdings if h.asset.price == 0), None)
        if unpriced is not None:
            failed = price_results[unpriced.ctoken]
            why = "returned 0" if failed.success else f"failed: {failed.error}"
            reason = f"no oracle price for {unpriced.symbol} (getUnderlyingPrice({unpriced.ctoken}) {why})"
            if unvalued is None:
                raise PositionError(f"compound-v2: {account}: {reason}")
            borrowing = any(h.asset.borrow_balance for h in holdings)
            unvalued.append(UnvaluedAccount(account, reason, borrowing))
            continue
        scanned.append(V2Account(account, tuple(holdings), account_liquidity([h.asset for h in holdings])))
    return scanned


# ------------------------------------------------------------------------------------------ Compound III


async def discover_comet_accounts(client: ChainClient, comet: str, from_block: int, to_block: int) -> list[str]:
    """Every ``src`` of a Withdraw event: the accounts that withdrew base (borrowers among them)."""
    logs = await client.get_logs(address=comet, topics=[COMET_WITHDRAW], from_block=from_block, to_block=to_block)
    return list(dict.fromkeys(topic_address(log["topics"][1]) for log in logs))


@dataclass(frozen=True, slots=True)
class CometAsset:
    address: str
    symbol: str
    price_feed: str
    scale: int
    borrow_collateral_factor: int
    liquidate_collateral_factor: int


@dataclass(frozen=True, slots=True)
class CometMarket:
    comet: str
    base: str
    base_symbol: str
    base_scale: int
    base_price: int
    state: CometState  # as stored (what isLiquidatable reads)
    current: CometState  # accrued to the block read (what borrowBalanceOf reads)
    assets: tuple[CometAsset, ...]
    prices: tuple[int, ...]
    quote: str = USD  # what the 8-decimal prices are in: USD, or a token (cWETHv3's are in ETH)
    #: Token -> why its price could not be read (`read_comet(..., tolerate_unpriced=True)` only). Its price slot
    #: holds a placeholder that nothing values with: an account that uses it is `CometAccount.unpriced`.
    unpriced: Mapping[str, str] = field(default_factory=dict)

    def usd_prices(self) -> dict[str, Fraction]:
        """USD per whole token of the base and every collateral asset whose price was read; only a USD-quoted
        Comet knows them."""
        if self.quote != USD:
            return {}
        prices = {a.address: Fraction(p, PRICE_SCALE) for a, p in zip(self.assets, self.prices, strict=True)}
        priced = {**prices, self.base: Fraction(self.base_price, PRICE_SCALE)}
        return {token: price for token, price in priced.items() if token not in self.unpriced}


@dataclass(frozen=True, slots=True)
class CometAccount:
    account: str
    market: CometMarket
    principal: int
    balances: tuple[int, ...]  # per market asset

    @property
    def holdings(self) -> list[CollateralHolding]:
        m = self.market
        return [
            CollateralHolding(b, a.scale, p, a.borrow_collateral_factor, a.liquidate_collateral_factor)
            for a, p, b in zip(m.assets, m.prices, self.balances, strict=True)
        ]

    @property
    def unpriced(self) -> str | None:
        """Why this account cannot be valued (the base it owes or a collateral it holds has no readable price);
        None when it can."""
        m = self.market
        if self.principal < 0 and m.base in m.unpriced:
            return f"no price for {m.base_symbol}: {m.unpriced[m.base]}"
        held = (a for a, b in zip(m.assets, self.balances, strict=True) if b and a.address in m.unpriced)
        asset = next(held, None)
        return None if asset is None else f"no price for {asset.symbol}: {m.unpriced[asset.address]}"

    def _priced(self) -> None:
        if (why := self.unpriced) is not None:
            raise PositionError(f"compound-v3: {self.account} on Comet {self.market.comet} cannot be valued: {why}")

    @property
    def borrow_balance(self) -> int:
        """Base owed with interest to the block read, as `borrowBalanceOf`."""
        return max(-self.market.current.present_value(self.principal), 0)

    def liquidity(self, *, liquidate: bool) -> int:
        self._priced()
        m = self.market
        return liquidity(m.state, self.principal, m.base_price, m.base_scale, self.holdings, liquidate=liquidate)

    @property
    def liquidatable(self) -> bool:
        return self.liquidity(liquidate=True) < 0

    @property
    def collateralized(self) -> bool:
        return self.liquidity(liquidate=False) >= 0

    def to_risk(self, usd_per_quote: Fraction = Fraction(1)) -> Position:
        """The position in USD: the Comet's prices times the USD value of their unit (1 for a USD Comet)."""
        self._priced()
        m = self.market
        collateral = tuple(
            Leg(
                a.symbol,
                Fraction(b * p, a.scale * PRICE_SCALE) * usd_per_quote,
                Fraction(a.liquidate_collateral_factor, WAD),
            )
            for a, p, b in zip(m.assets, m.prices, self.balances, strict=True)
            if b
        )
        debt_usd = Fraction(self.borrow_balance * m.base_price, m.base_scale * PRICE_SCALE) * usd_per_quote
        debt = (Leg(m.base_symbol, debt_usd),) if self.borrow_balance else ()
        return Position(self.account, collateral, debt)


COMET_HEAD: Final = (BASE_TOKEN, BASE_TOKEN_PRICE_FEED, BASE_SCALE, NUM_ASSETS, TOTALS_BASIC)


async def read_comet(
    reader: Reader, deployment: Deployment, comet: str, quote: str = USD, *, tolerate_unpriced: bool = False
) -> CometMarket:
    """The market's stored state (`totalsBasic`), asset configs and current prices (three rounds).

    A price that cannot be read (`getPrice` reverts on a feed's non-positive answer) raises, or, with
    ``tolerate_unpriced``, is recorded in the market's ``unpriced`` with why, for the accounts using it to be
    listed rather than valued."""
    head = await reader.values([Call.of(comet, sig) for sig in (*COMET_HEAD, *CURVE_READS)])
    base, base_feed, base_scale, count, totals = head[:5]
    state = CometState.from_totals_basic(totals)
    rates = CometRates(*head[5:])
    infos = await reader.values([Call.of(comet, ASSET_INFO, i) for i in range(count)])
    feeds = [base_feed, *(info[2] for info in infos)]
    answers = await reader.call_many([Call.of(comet, GET_PRICE, f) for f in feeds])
    tokens = [base, *(info[1] for info in infos)]
    unpriced = {
        token: f"getPrice({feed}) on Comet {comet} failed: {r.error}"
        for token, feed, r in zip(tokens, feeds, answers, strict=True)
        if not r.success
    }
    if not tolerate_unpriced:
        unpriced = {}
    # A placeholder for an unpriced token, guarded by `unpriced` (never valued with); else one() raises.
    prices = [0 if token in unpriced else r.one() for token, r in zip(tokens, answers, strict=True)]
    assets = tuple(
        CometAsset(info[1], _symbol(deployment, info[1]), info[2], info[3], info[4], info[5]) for info in infos
    )
    # The views (borrowBalanceOf, totalBorrow) accrue to the block read: so do we.
    current = state.accrued(rates, reader.block.timestamp - state.last_accrual)
    return CometMarket(
        comet,
        base,
        _symbol(deployment, base),
        base_scale,
        prices[0],
        state,
        current,
        assets,
        tuple(prices[1:]),
        quote,
        unpriced,
    )


def usd_per_quote(market: CometMarket, usd_markets: Sequence[CometMarket]) -> Fraction:
    """USD per unit of a Comet's prices: 1 for a USD Comet; else the quote token's price on a USD Comet that
    lists it (cUSDCv3 prices WETH, wstETH and WBTC). None known: the positions cannot be valued."""
    if market.quote == USD:
        return Fraction(1)
    if market.base_price != PRICE_SCALE:
        # Priced in its base means a constant 1 base feed; anything else is a unit we do not know.
        raise PositionError(
            f"compound-v3: Comet {market.comet}'s base price is {market.base_price}, not the constant 1e8 of a "
            f"market priced in {market.quote}: its positions cannot be valued in USD"
        )
    for other in usd_markets:
        price = other.usd_prices().get(market.base)
        if price is not None:
            return price
    raise PositionError(
        f"compound-v3: Comet {market.comet} prices in {market.quote}, and no USD Comet prices {market.quote}: "
        "its positions cannot be valued in USD"
    )


async def scan_comet_accounts(reader: Reader, market: CometMarket, accounts: Sequence[str]) -> list[CometAccount]:
    """One round: each account's principal and collateral balances."""
    calls = []
    for a in accounts:
        calls.append(Call.of(market.comet, USER_BASIC, a))
        calls += [Call.of(market.comet, COLLATERAL_BALANCE, a, x.address) for x in market.assets]
    results = await reader.call_many(calls)
    width = 1 + len(market.assets)
    return [
        CometAccount(
            a,
            market,
            results[i * width].unwrap()[0],
            tuple(r.one() for r in results[i * width + 1 : (i + 1) * width]),
        )
        for i, a in enumerate(accounts)
    ]


def _symbol(deployment: Deployment, address: str) -> str:
    token = deployment.token_at(address)
    return token.symbol if token else address
