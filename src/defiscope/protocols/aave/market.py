"""Reading an Aave V3 market: its reserves, their configuration, totals and oracle prices, in one batch.

A chain may have several markets (Ethereum: Core, Prime, EtherFi), each a Pool with its own oracle;
`markets_of` finds them in the registry. The reserve list comes from the Pool (`getReservesList`); each
reserve's token addresses (aToken, stable and variable debt tokens) never change, so they are cached
after the first read. A snapshot then costs one Multicall3 batch: the list, every reserve's
`getReserveData`, token totals, the available liquidity and each asset's oracle price.

Pool versions differ in what they answer, and the same code reads them all:

- the available liquidity is ``getVirtualUnderlyingBalance(asset)`` on a Pool from v3.1 on (virtual
  accounting: tokens sent to the aToken by mistake are not liquidity); a v3.0 Pool lacks it, and the
  documented fallback is the underlying's ``balanceOf(aToken)``. Which one a Pool is, is found once, by the
  discovery batch's ``getVirtualUnderlyingBalance`` call, which is allowed to fail (a revert there says
  "v3.0", and the rest of the batch stands);
- stable-rate debt is gone since v3.2 (found with the e-mode bitmaps that came with it, by
  ``getEModeCategoryCollateralBitmap``, also allowed to fail): nothing stable is read there, and reserves
  listed since have no stable-debt token at all (address zero). Before, a reserve's stable-debt token
  answers ``getTotalSupplyAndAvgRate`` (v3.0) or ``totalSupply`` (v3.1).

    market = AaveMarket.of(deployment)
    reserves = await market.reserves(reader)
    weth = next(r for r in reserves if r.symbol == "WETH")
    weth.config.liquidation_threshold, weth.state.current_variable_borrow_rate, weth.utilisation

`ReserveConfig.from_bitmap` decodes ``ReserveConfigurationMap`` exactly as ``ReserveConfiguration.getParams``
and friends do:

    >>> config = ReserveConfig.from_bitmap(8050 | 8300 << 16 | 10500 << 32 | 18 << 48 | 1 << 56 | 1 << 58 | 1500 << 64)
    >>> config.ltv, config.liquidation_threshold, config.liquidation_bonus, config.decimals, config.reserve_factor
    (8050, 8300, 10500, 18, 1500)
    >>> config.active, config.frozen, config.borrowing_enabled, config.paused
    (True, False, True, False)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final

from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.errors import DefiscopeError
from defiscope.protocols.aave.rates import RAY, SECONDS_PER_YEAR, RateInputs, RateStrategy
from defiscope.protocols.lending.rates import apr_to_apy, ray_mul

POOL: Final = "AaveV3Pool"
ZERO_ADDRESS: Final = "0x0000000000000000000000000000000000000000"
ORACLE: Final = "AaveV3Oracle"
#: A chain's main market keeps the unsuffixed registry names; others are ``AaveV3Pool:<market>``.
CORE_MARKET: Final = "Core"
GET_VIRTUAL_BALANCE: Final = "getVirtualUnderlyingBalance(address)(uint128)"
EMODE_COLLATERAL_BITMAP: Final = "getEModeCategoryCollateralBitmap(uint8)(uint128)"
GET_RESERVES_LIST: Final = "getReservesList()(address[])"
GET_RESERVE_DATA: Final = (
    "getReserveData(address)(((uint256),uint128,uint128,uint128,uint128,uint128,uint40,uint16,"
    "address,address,address,address,uint128,uint128,uint128))"
)
GET_ASSET_PRICE: Final = "getAssetPrice(address)(uint256)"
GET_SOURCE_OF_ASSET: Final = "getSourceOfAsset(address)(address)"
LATEST_ROUND_DATA: Final = "latestRoundData()(uint80,int256,uint256,uint256,uint80)"
TOTAL_SUPPLY: Final = "totalSupply()(uint256)"
SCALED_TOTAL_SUPPLY: Final = "scaledTotalSupply()(uint256)"
STABLE_SUPPLY_AND_RATE: Final = "getTotalSupplyAndAvgRate()(uint256,uint256)"
BALANCE_OF: Final = "balanceOf(address)(uint256)"
SYMBOL: Final = "symbol()(string)"
#: The oracle quotes in USD with 8 decimals (``BASE_CURRENCY_UNIT``) on Aave V3 Ethereum and the devnet.
BASE_UNIT: Final = 10**8
#: The strategy getters, in `RateStrategy`'s field order (the stable offset is derived from its base rate).
STRATEGY_GETTERS: Final = (
    "OPTIMAL_USAGE_RATIO()(uint256)",
    "getBaseVariableBorrowRate()(uint256)",
    "getVariableRateSlope1()(uint256)",
    "getVariableRateSlope2()(uint256)",
    "getStableRateSlope1()(uint256)",
    "getStableRateSlope2()(uint256)",
    "getBaseStableBorrowRate()(uint256)",
    "getStableRateExcessOffset()(uint256)",
    "OPTIMAL_STABLE_TO_TOTAL_DEBT_RATIO()(uint256)",
)


class AaveError(DefiscopeError):
    """An Aave market cannot be read or a figure cannot be computed; the message says which and why."""


def _bits(bitmap: int, start: int, width: int) -> int:
    return (bitmap >> start) & ((1 << width) - 1)


@dataclass(frozen=True, slots=True)
class ReserveConfig:
    """``DataTypes.ReserveConfigurationMap`` decoded; percentages in basis points, caps in whole tokens."""

    ltv: int
    liquidation_threshold: int
    liquidation_bonus: int
    decimals: int
    active: bool
    frozen: bool
    borrowing_enabled: bool
    stable_borrowing_enabled: bool
    paused: bool
    borrowable_in_isolation: bool
    siloed_borrowing: bool
    flash_loan_enabled: bool
    reserve_factor: int
    borrow_cap: int
    supply_cap: int
    liquidation_protocol_fee: int
    emode_category: int
    unbacked_mint_cap: int
    debt_ceiling: int

    @classmethod
    def from_bitmap(cls, data: int) -> ReserveConfig:
        """Bit layout of ``ReserveConfiguration`` (the *_START_BIT_POSITION constants)."""
        return cls(
            ltv=_bits(data, 0, 16),
            liquidation_threshold=_bits(data, 16, 16),
            liquidation_bonus=_bits(data, 32, 16),
            decimals=_bits(data, 48, 8),
            active=bool(_bits(data, 56, 1)),
            frozen=bool(_bits(data, 57, 1)),
            borrowing_enabled=bool(_bits(data, 58, 1)),
            stable_borrowing_enabled=bool(_bits(data, 59, 1)),
            paused=bool(_bits(data, 60, 1)),
            borrowable_in_isolation=bool(_bits(data, 61, 1)),
            siloed_borrowing=bool(_bits(data, 62, 1)),
            flash_loan_enabled=bool(_bits(data, 63, 1)),
            reserve_factor=_bits(data, 64, 16),
            borrow_cap=_bits(data, 80, 36),
            supply_cap=_bits(data, 116, 36),
            liquidation_protocol_fee=_bits(data, 152, 16),
            emode_category=_bits(data, 168, 8),
            unbacked_mint_cap=_bits(data, 176, 36),
            debt_ceiling=_bits(data, 212, 40),
        )

    @property
    def status(self) -> str:
        """ "active", "frozen" (no new supply or borrow), "paused" (nothing moves) or "inactive"."""
        if not self.active:
            return "inactive"
        if self.paused:
            return "paused"
        return "frozen" if self.frozen else "active"


@dataclass(frozen=True, slots=True)
class ReserveState:
    """``Pool.getReserveData`` (``DataTypes.ReserveData``): indexes and rates in ray."""

    config: ReserveConfig
    liquidity_index: int
    current_liquidity_rate: int
    variable_borrow_index: int
    current_variable_borrow_rate: int
    current_stable_borrow_rate: int
    last_update_timestamp: int
    id: int
    a_token: str
    stable_debt_token: str
    variable_debt_token: str
    interest_rate_strategy: str
    accrued_to_treasury: int
    unbacked: int
    isolation_mode_total_debt: int

    @classmethod
    def decode(cls, value: tuple[Any, ...]) -> ReserveState:
        (config,), *rest = value
        return cls(ReserveConfig.from_bitmap(config), *rest)


@dataclass(frozen=True, slots=True)
class ReserveTokens:
    """The addresses of one reserve that never change (cached by `AaveMarket`)."""

    asset: str
    symbol: str
    a_token: str
    stable_debt_token: str  # zero for reserves listed since v3.2 (no stable debt)
    variable_debt_token: str
    price_source: str  # the oracle's source (a Chainlink-style feed) for this asset, zero if none

    @property
    def has_stable_debt_token(self) -> bool:
        return int(self.stable_debt_token, 16) != 0


@dataclass(frozen=True, slots=True)
class UnreadReserve:
    """A reserve whose state could not be read at a block, and why (the market's other reserves stand)."""

    tokens: ReserveTokens
    reason: str


@dataclass(frozen=True, slots=True)
class Reserve:
    """One reserve at one block: configuration, state, totals (raw units) and its oracle price."""

    tokens: ReserveTokens
    state: ReserveState
    a_token_supply: int  # aToken totalSupply: what suppliers are owed, interest included
    scaled_variable_debt: int
    variable_debt: int
    stable_debt: int
    average_stable_rate: int
    available_liquidity: int  # virtual underlying balance (v3.1+) or the underlying balance of the aToken
    price: int | None  # oracle price in BASE_UNIT (USD, 8 decimals); None if the oracle reverted
    price_error: str | None = None
    price_updated_at: int | None = None  # the source's latestRoundData updatedAt, if it answers one

    @property
    def asset(self) -> str:
        return self.tokens.asset

    @property
    def symbol(self) -> str:
        return self.tokens.symbol

    @property
    def config(self) -> ReserveConfig:
        return self.state.config

    @property
    def unit(self) -> int:
        return int(10**self.config.decimals)

    @property
    def total_debt(self) -> int:
        return self.variable_debt + self.stable_debt

    @property
    def utilisation(self) -> Fraction:
        """Borrowed over (available + borrowed), as the rate strategy's borrow usage ratio."""
        total = self.available_liquidity + self.total_debt
        return Fraction(self.total_debt, total) if total else Fraction(0)

    def rate_inputs(self) -> RateInputs:
        """What ``updateInterestRates`` passed to the strategy after the reserve's last action."""
        return RateInputs(
            available_liquidity=self.available_liquidity,
            total_variable_debt=self.variable_debt_at_index,
            total_stable_debt=self.stable_debt,
            average_stable_borrow_rate=self.average_stable_rate,
            reserve_factor=self.config.reserve_factor,
            unbacked=self.state.unbacked,
        )

    @property
    def variable_debt_at_index(self) -> int:
        """Scaled variable debt times the stored index (what the last rate update used)."""
        return ray_mul(self.scaled_variable_debt, self.state.variable_borrow_index)

    @property
    def supply_apr(self) -> Fraction:
        """``currentLiquidityRate`` as a fraction (simple annual rate, 1 = 100 %)."""
        return Fraction(self.state.current_liquidity_rate, RAY)

    @property
    def variable_borrow_apr(self) -> Fraction:
        return Fraction(self.state.current_variable_borrow_rate, RAY)

    def apy(self, apr: Fraction) -> Decimal:
        """An APR compounded every second, as Aave's interfaces show it (see `lending.rates`)."""
        return apr_to_apy(apr, SECONDS_PER_YEAR)

    def price_stale(self, now: int, max_age: int) -> bool:
        """True when the price source's last update is older than ``max_age`` seconds (or unknown).

        AaveOracle itself never checks freshness (it reads ``latestAnswer``): a stale feed still drives
        health factors and liquidations, so this is a warning for people, not a reason to stop.
        """
        return self.price_updated_at is None or now - self.price_updated_at > max_age

    def require_price(self) -> int:
        if self.price is None:
            raise AaveError(f"aave-v3: no oracle price for {self.symbol} ({self.asset}): {self.price_error}")
        return self.price


@dataclass(frozen=True, slots=True)
class PoolVersion:
    """What a Pool answers, found once per market (see the module docstring)."""

    virtual_accounting: bool  # v3.1+: getVirtualUnderlyingBalance
    #: v3.2+: e-mode categories say which reserves they cover by bitmaps (getEModeCategoryCollateralBitmap),
    #: no longer by each reserve's configuration, and price nothing themselves.
    emode_bitmaps: bool = False

    @property
    def stable_debt(self) -> bool:
        """v3.2 removed stable-rate debt (and brought the e-mode bitmaps): none to read after it."""
        return not self.emode_bitmaps

    def stable_call(self, tokens: ReserveTokens) -> Call | None:
        if not (self.stable_debt and tokens.has_stable_debt_token):
            return None
        if self.virtual_accounting:
            return Call.of(tokens.stable_debt_token, TOTAL_SUPPLY)
        return Call.of(tokens.stable_debt_token, STABLE_SUPPLY_AND_RATE)

    def available_call(self, pool: str, tokens: ReserveTokens) -> Call:
        if self.virtual_accounting:
            return Call.of(pool, GET_VIRTUAL_BALANCE, tokens.asset)
        return Call.of(tokens.asset, BALANCE_OF, tokens.a_token)


@dataclass(frozen=True, slots=True)
class _ReserveRead:
    """The calls of one reserve's snapshot, by what they answer (None: not asked on this reserve)."""

    data: Call
    a_supply: Call
    scaled_variable: Call
    variable: Call
    stable: Call | None
    available: Call
    price: Call
    round_data: Call | None

    def calls(self) -> list[Call]:
        return [c for c in (self.data, self.a_supply, self.scaled_variable, self.variable, self.stable,
                            self.available, self.price, self.round_data) if c is not None]  # fmt: skip

    def named(self, results: Sequence[CallResult]) -> dict[str, CallResult]:
        names = ("data", "a_supply", "scaled_variable", "variable", "stable", "available", "price", "round_data")
        asked = [n for n in names if getattr(self, n) is not None]
        return dict(zip(asked, results, strict=True))


def _price_error(result: CallResult) -> str:
    # AaveOracle falls back to its fallback oracle when a feed answers <= 0; with none, the call reverts.
    return f"the oracle reverted ({result.error}): its feed answers 0 or less and there is no fallback oracle"


@dataclass(frozen=True, slots=True)
class MarketAddresses:
    """Where one market is: its name ("Core", "Prime", "EtherFi"), Pool and AaveOracle."""

    name: str
    pool: str
    oracle: str


def markets_of(deployment: Deployment) -> tuple[MarketAddresses, ...]:
    """Every Aave V3 market in the registry: ``AaveV3Pool`` (Core) first, then ``AaveV3Pool:<market>``."""
    found = []
    for name, pool in deployment.contracts.items():
        if name == POOL:
            found.append(MarketAddresses(CORE_MARKET, pool, deployment.contract(ORACLE)))
        elif name.startswith(POOL + ":"):
            market = name.removeprefix(POOL + ":")
            found.append(MarketAddresses(market, pool, deployment.contract(f"{ORACLE}:{market}")))
    return tuple(sorted(found, key=lambda m: m.name != CORE_MARKET))  # then in registry order


class AaveMarket:
    """One Aave V3 market (a Pool and its oracle), the reserve addresses read so far and the Pool's version."""

    def __init__(self, pool: str, oracle: str, slug: str = "aave-v3", name: str = CORE_MARKET) -> None:
        self.pool = pool
        self.oracle = oracle
        self.slug = slug
        self.name = name
        self.tokens: dict[str, ReserveTokens] = {}  # asset (lowercase) -> addresses
        self.version: PoolVersion | None = None  # found by the first discovery
        self.listed_to: int | None = None  # the newest block whose getReservesList() was read

    @classmethod
    def of(cls, deployment: Deployment, market: str = CORE_MARKET) -> AaveMarket:
        found = next((m for m in markets_of(deployment) if m.name == market), None)
        if found is None:
            raise AaveError(f"aave-v3: no {market} market on chain {deployment.chain_id} ({deployment.network})")
        return cls(found.pool, found.oracle, name=found.name)

    @classmethod
    def all_of(cls, deployment: Deployment) -> list[AaveMarket]:
        return [cls(m.pool, m.oracle, name=m.name) for m in markets_of(deployment)]

    def _fail(self, result: CallResult) -> AaveError:
        return AaveError(f"{self.slug} {self.name}: {result.call.describe()} failed: {result.error}")

    def _one(self, result: CallResult) -> Any:
        if not result.success:
            raise self._fail(result)
        return result.one()

    def _read(self, tokens: ReserveTokens) -> _ReserveRead:
        version = self.version
        if version is None:  # reserves are known only once a discovery batch found the version too
            raise AaveError(f"{self.slug} {self.name}: the Pool's version is not known yet")
        has_source = int(tokens.price_source, 16) != 0
        return _ReserveRead(
            data=Call.of(self.pool, GET_RESERVE_DATA, tokens.asset),
            a_supply=Call.of(tokens.a_token, TOTAL_SUPPLY),
            scaled_variable=Call.of(tokens.variable_debt_token, SCALED_TOTAL_SUPPLY),
            variable=Call.of(tokens.variable_debt_token, TOTAL_SUPPLY),
            stable=version.stable_call(tokens),
            available=version.available_call(self.pool, tokens),
            price=Call.of(self.oracle, GET_ASSET_PRICE, tokens.asset),
            round_data=Call.of(tokens.price_source, LATEST_ROUND_DATA) if has_source else None,
        )

    async def _read_many(
        self, reader: Reader, head: Sequence[Call], known: Sequence[ReserveTokens]
    ) -> tuple[list[CallResult], dict[str, dict[str, CallResult]]]:
        """``head`` calls then every known reserve's snapshot, in one batch."""
        reads = [self._read(t) for t in known]
        results = await reader.call_many([*head, *(c for r in reads for c in r.calls())])
        at, by_asset = len(head), {}
        for tokens, read in zip(known, reads, strict=True):
            count = len(read.calls())
            by_asset[tokens.asset.lower()] = read.named(results[at : at + count])
            at += count
        return results[: len(head)], by_asset

    async def reserves(self, reader: Reader) -> list[Reserve]:
        """Every reserve of the Pool at the reader's block (one batch once the reserves are known)."""
        found, unread = await self.read_reserves(reader)
        if unread:
            raise AaveError(unread[0].reason)
        return found

    async def read_reserves(self, reader: Reader) -> tuple[list[Reserve], list[UnreadReserve]]:
        """`reserves`, except that a reserve whose own reads fail (its token's ``balanceOf`` reverts, its aToken
        has no code) is listed with why and the others stand; the Pool's own calls failing still raises."""
        head, by_asset = await self._read_many(
            reader, [Call.of(self.pool, GET_RESERVES_LIST)], list(self.tokens.values())
        )
        assets: tuple[str, ...] = self._one(head[0])
        missing = [a for a in assets if a.lower() not in by_asset]
        if missing:
            by_asset.update(await self._discover(reader, missing))
        self.listed_to = max(self.listed_to or 0, reader.block.number)
        found, unread = [], []
        for asset in assets:
            tokens = self.tokens[asset.lower()]
            try:
                found.append(self._reserve(tokens, by_asset[asset.lower()]))
            except AaveError as exc:
                unread.append(UnreadReserve(tokens, str(exc)))
        return found, unread

    async def _discover(self, reader: Reader, assets: Sequence[str]) -> dict[str, dict[str, CallResult]]:
        """Read new reserves' addresses and symbols (and, once, the Pool's version), cache them, then their state."""
        calls = [
            c
            for a in assets
            for c in (
                Call.of(self.pool, GET_RESERVE_DATA, a),
                Call.of(a, SYMBOL),
                Call.of(self.oracle, GET_SOURCE_OF_ASSET, a),
            )
        ]
        # Allowed to fail: older Pools have no such functions (a revert is the answer, the batch stands).
        probe = (
            [Call.of(self.pool, GET_VIRTUAL_BALANCE, assets[0]), Call.of(self.pool, EMODE_COLLATERAL_BITMAP, 0)]
            if self.version is None
            else []
        )
        first = await reader.call_many([*calls, *probe])
        if probe:
            virtual, bitmaps = first[-2:]
            self.version = PoolVersion(virtual_accounting=virtual.success, emode_bitmaps=bitmaps.success)
        for i, asset in enumerate(assets):
            data, symbol, source = first[3 * i : 3 * i + 3]
            state = ReserveState.decode(self._one(data))
            self.tokens[asset.lower()] = ReserveTokens(
                asset,
                str(symbol.one()) if symbol.success else asset,
                state.a_token,
                state.stable_debt_token,
                state.variable_debt_token,
                source.one() if source.success else ZERO_ADDRESS,
            )
        _, by_asset = await self._read_many(reader, [], [self.tokens[a.lower()] for a in assets])
        return by_asset

    def _values(self, result: CallResult) -> tuple[Any, ...]:
        if not result.success:
            raise self._fail(result)
        return result.value

    def _stable(self, result: CallResult | None) -> tuple[int, int]:
        """(total stable debt, average stable rate): none without a stable-debt token; v3.1+ reports no rate."""
        if result is None:
            return 0, 0
        values = self._values(result)
        return (values[0], 0) if len(values) == 1 else (values[0], values[1])

    def _reserve(self, tokens: ReserveTokens, results: dict[str, CallResult]) -> Reserve:
        (state,) = self._values(results["data"])
        stable_supply, average_rate = self._stable(results.get("stable"))
        (supplied,), (scaled,), (variable_debt,), (balance,) = (
            self._values(results[name]) for name in ("a_supply", "scaled_variable", "variable", "available")
        )
        price, round_data = results["price"], results.get("round_data")
        return Reserve(
            tokens=tokens,
            state=ReserveState.decode(state),
            a_token_supply=supplied,
            scaled_variable_debt=scaled,
            variable_debt=variable_debt,
            stable_debt=stable_supply,
            average_stable_rate=average_rate,
            available_liquidity=balance,
            price=price.one() if price.success else None,
            price_error=None if price.success else _price_error(price),
            price_updated_at=round_data.value[3] if round_data is not None and round_data.success else None,
        )


#: Registry names of a market's aTokens: ``AaveV3AToken:<symbol>`` (Core), ``AaveV3AToken:<market>:<symbol>``.
A_TOKEN_PREFIX: Final = "AaveV3AToken:"


def registered_a_tokens(deployment: Deployment) -> dict[str, str]:
    """aToken address -> underlying symbol, from the deployment's registry (known before any read)."""
    return {
        address: name.removeprefix(A_TOKEN_PREFIX).rsplit(":", 1)[-1]
        for name, address in deployment.contracts.items()
        if name.startswith(A_TOKEN_PREFIX)
    }


async def read_strategy(reader: Reader, strategy: str) -> RateStrategy:
    """A deployed ``DefaultReserveInterestRateStrategy``'s parameters (one batch)."""
    values = await reader.values([Call.of(strategy, getter) for getter in STRATEGY_GETTERS])
    optimal, base, slope1, slope2, stable1, stable2, base_stable, excess_offset, optimal_stable = values
    return RateStrategy(
        optimal_usage_ratio=optimal,
        base_variable_borrow_rate=base,
        variable_rate_slope1=slope1,
        variable_rate_slope2=slope2,
        stable_rate_slope1=stable1,
        stable_rate_slope2=stable2,
        base_stable_rate_offset=base_stable - slope1,
        stable_rate_excess_offset=excess_offset,
        optimal_stable_to_total_debt_ratio=optimal_stable,
    )


__all__ = [
    "RAY",
    "AaveError",
    "AaveMarket",
    "MarketAddresses",
    "PoolVersion",
    "Reserve",
    "ReserveConfig",
    "ReserveState",
    "ReserveTokens",
    "markets_of",
    "registered_a_tokens",
]
