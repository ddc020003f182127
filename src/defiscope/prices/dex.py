"""DEX prices: a token priced from its Uniswap-style pools against core assets whose own price is trusted.

Two batches of reads, then pure math. `observe` discovers pools (V2 `getPair`, V3 `getPool` per fee tier,
against every core asset; cached per source, since pools never move) and reads their state (V2 reserves;
V3 `slot0`, `liquidity`, a 30-minute `observe` and the core-side balance). `quote` turns that state and the
core assets' prices into USD, ignoring pools whose core side is below the liquidity floor and picking the
deepest of the rest.

    dex = DexSource(deployment)
    book = await dex.observe(reader, tokens)           # 2 batches (1 once discovery is cached)
    answers = dex.quote(book, tokens, core_prices)     # core_prices: core token address -> PriceQuote
    answers[token.address].source                      # "uniswap-v3:0xPool:twap1800"

The aggregator calls `observe` while the feeds are being read, so discovery and feeds share a batch.

    >>> v2_raw_price(reserve_token=2 * 10**18, reserve_core=6000 * 10**6)   # 3000 USDC-units per wei
    Fraction(3, 1000000000)
    >>> usd_price(Fraction(3, 10**9), token_decimals=18, core_decimals=6, core_usd=Decimal(1))
    Decimal('3000')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Final, Literal

from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment, TokenInfo
from defiscope.prices.base import PriceAnswer, PriceMiss, TokenRef
from defiscope.prices.quote import PriceQuote
from defiscope.protocols.pancakeswap.v3 import PANCAKESWAP_V3
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.uniswap.math.tick_math import get_sqrt_ratio_at_tick
from defiscope.protocols.uniswap.v3_spec import SLOT0_BY_DEX, UNISWAP_V3

NAME: Final = "dex"
TWAP_SECONDS: Final = 1800
MIN_LIQUIDITY_USD: Final = Decimal(10_000)
#: A pool whose core side holds this much is "deep": moving its price costs more than most positions.
DEEP_LIQUIDITY_USD: Final = Decimal(1_000_000)
#: Confidence by (TWAP available, deep pool). A TWAP resists one-block manipulation; spot does not.
CONFIDENCE: Final[Mapping[tuple[bool, bool], float]] = {
    (True, True): 0.9,
    (True, False): 0.7,
    (False, True): 0.6,
    (False, False): 0.4,
}
#: Significant digits of a DEX price; the exact value is a Fraction, a USD figure needs no more.
PRICE_DIGITS: Final = 40
#: Re-run pool discovery after this many blocks (new pools appear), or when the chain went backwards.
REDISCOVER_BLOCKS: Final = 7200
Q192: Final = 1 << 192


@dataclass(frozen=True, slots=True)
class Venue:
    """One factory: PancakeSwap is Uniswap with other names and fee tiers, so it is a row, not a class."""

    dex: str  # source-string prefix, e.g. "uniswap-v3"
    factory: str  # registry name in the deployment
    version: Literal[2, 3]
    fees: tuple[int, ...] = ()
    #: the real interfaces of its factory and pools (``tests/fixtures/abi``)
    factory_interface: str = "uniswap/UniswapV2Factory"
    pool_interface: str = "uniswap/UniswapV2Pair"


VENUES: Final = (
    Venue("uniswap-v2", "UniswapV2Factory", 2),
    Venue("pancakeswap-v2", "PancakeV2Factory", 2),
    Venue(
        "uniswap-v3",
        "UniswapV3Factory",
        3,
        (100, 500, 3000, 10000),
        UNISWAP_V3.factory_interface,
        UNISWAP_V3.pool_interface,
    ),
    Venue(
        "pancakeswap-v3",
        "PancakeV3Factory",
        3,
        (100, 500, 2500, 10000),
        PANCAKESWAP_V3.factory_interface,
        PANCAKESWAP_V3.pool_interface,
    ),
)

ZERO_ADDRESS: Final = "0x" + "00" * 20
GET_PAIR: Final = "getPair(address,address)(address)"
GET_POOL: Final = "getPool(address,address,uint24)(address)"
GET_RESERVES: Final = "getReserves()(uint112,uint112,uint32)"
# PancakeSwap V3 widened feeProtocol to uint32; decoding it as uint32 reads both (same word layout).
LIQUIDITY: Final = "liquidity()(uint128)"
OBSERVE: Final = "observe(uint32[])(int56[],uint160[])"
BALANCE_OF: Final = "balanceOf(address)(uint256)"


@dataclass(frozen=True, slots=True)
class Pool:
    """A discovered pool of `token` against `core`."""

    venue: Venue
    address: str
    token: str
    core: str
    fee: int = 0

    @property
    def token_is_token0(self) -> bool:
        # Uniswap and PancakeSwap factories sort the pair by address, so no token0() call is needed.
        return int(self.token, 16) < int(self.core, 16)


@dataclass(frozen=True, slots=True)
class PoolState:
    """What a pool says: raw core units per raw token unit, how it was measured, and the core-side depth."""

    pool: Pool
    raw_price: Fraction | None
    method: Literal["twap1800", "spot"]
    core_balance: int
    problem: str | None = None


@dataclass(frozen=True, slots=True)
class DexBook:
    """The pools of each token, read at one block (the input of the pure `quote`)."""

    states: Mapping[str, tuple[PoolState, ...]]
    block_number: int
    timestamp: int
    chain_id: int


# ------------------------------------------------------------------------------------------ pure math


def v2_raw_price(*, reserve_token: int, reserve_core: int) -> Fraction:
    """Core units per token unit from a V2 pair's reserves (the marginal price, fees aside)."""
    return Fraction(reserve_core, reserve_token)


def v3_raw_price(sqrt_price_x96: int, *, token_is_token0: bool) -> Fraction:
    """Core units per token unit from sqrtPriceX96: price(token1 per token0) = sqrtP^2 / 2^192, exactly."""
    token1_per_token0 = Fraction(sqrt_price_x96 * sqrt_price_x96, Q192)
    return token1_per_token0 if token_is_token0 else 1 / token1_per_token0


def twap_tick(tick_cumulatives: Sequence[int], seconds: int) -> int:
    """The arithmetic-mean tick, rounded toward negative infinity (mirrors v3-periphery
    `OracleLibrary.consult`). `tick_cumulatives` is `observe([seconds, 0])`'s first output."""
    delta = tick_cumulatives[1] - tick_cumulatives[0]
    # Solidity's signed division truncates toward zero; then consult() steps down for negative remainders.
    tick = abs(delta) // seconds * (1 if delta >= 0 else -1)
    if delta < 0 and delta % seconds != 0:
        tick -= 1
    return tick


def usd_price(raw_price: Fraction, *, token_decimals: int, core_decimals: int, core_usd: Decimal) -> Decimal:
    """USD per whole token: raw core per raw token, scaled to whole units, times the core's USD price."""
    whole = raw_price * Fraction(10**token_decimals, 10**core_decimals) * Fraction(core_usd)
    return to_decimal(whole)


def to_decimal(value: Fraction) -> Decimal:
    """A Fraction as a Decimal with PRICE_DIGITS significant digits (exact when it terminates within them)."""
    with localcontext(prec=PRICE_DIGITS) as ctx:
        result = ctx.divide(Decimal(value.numerator), Decimal(value.denominator)).normalize(ctx)
        # normalize() writes 3000 as 3E+3; give whole numbers their digits back
        exponent = result.as_tuple().exponent
        return result.quantize(Decimal(1), context=ctx) if isinstance(exponent, int) and exponent > 0 else result


def core_usd(balance: int, decimals: int, price: Decimal) -> Decimal:
    """USD value of a core-asset balance."""
    return to_decimal(Fraction(balance, 10**decimals) * Fraction(price))


# ------------------------------------------------------------------------------------------ the source


@dataclass(slots=True)
class _Discovery:
    pools: tuple[Pool, ...]
    block_number: int


@dataclass(slots=True)
class DexSource:
    """Prices tokens from V2/V3 pools against the deployment's core assets (see the module docstring)."""

    deployment: Deployment
    min_liquidity_usd: Decimal = MIN_LIQUIDITY_USD
    deep_liquidity_usd: Decimal = DEEP_LIQUIDITY_USD
    name: str = NAME
    _discovered: dict[str, _Discovery] = field(default_factory=dict, repr=False)

    @property
    def venues(self) -> tuple[tuple[Venue, str], ...]:
        """The venues this chain has, with their factory addresses."""
        return tuple(
            (v, self.deployment.contracts[v.factory]) for v in VENUES if v.factory in self.deployment.contracts
        )

    def surface(self) -> tuple[ContractUse, ...]:
        """Factories asked for pools against the core assets, the pools read, and the core side's balance."""
        uses = []
        for venue, factory in self.venues:
            lookup = GET_PAIR if venue.version == 2 else GET_POOL
            uses.append(ContractUse(f"{venue.dex} factory", venue.factory_interface, (lookup,), address=factory))
            reads = (GET_RESERVES,) if venue.version == 2 else (SLOT0_BY_DEX[venue.dex], LIQUIDITY, OBSERVE)
            uses.append(ContractUse(f"{venue.dex} pool (token against a core asset)", venue.pool_interface, reads))
        uses.append(ContractUse("core asset (its balance in a V3 pool)", "common/ERC20", (BALANCE_OF,)))
        return tuple(uses)

    async def prices(
        self, reader: Reader, tokens: Sequence[TokenRef], core_prices: Mapping[str, PriceQuote] | None = None
    ) -> dict[str, PriceAnswer]:
        """`observe` + `quote`. Without `core_prices` nothing can be priced: they come from trusted sources."""
        book = await self.observe(reader, tokens)
        return self.quote(book, tokens, core_prices or {})

    async def observe(self, reader: Reader, tokens: Sequence[TokenRef]) -> DexBook:
        pools = await self._discover(reader, [t.address for t in tokens])
        states = await self._read_states(reader, [p for ps in pools.values() for p in ps])
        by_token: dict[str, list[PoolState]] = {t.address: [] for t in tokens}
        for state in states:
            by_token[state.pool.token].append(state)
        block = reader.block
        return DexBook({t: tuple(s) for t, s in by_token.items()}, block.number, block.timestamp, block.chain_id)

    def quote(
        self, book: DexBook, tokens: Sequence[TokenRef], core_prices: Mapping[str, PriceQuote]
    ) -> dict[str, PriceAnswer]:
        return {t.address: self._quote_one(book, t, core_prices) for t in tokens}

    # ---------------------------------------------------------------- discovery (cached)

    async def _discover(self, reader: Reader, tokens: Sequence[str]) -> dict[str, tuple[Pool, ...]]:
        number = reader.block.number
        stale = [
            t
            for t in tokens
            if (d := self._discovered.get(t)) is None
            or number < d.block_number  # the chain went backwards (reorg, devnet revert)
            or number - d.block_number > REDISCOVER_BLOCKS
        ]
        candidates = [
            (t, c, v, factory, fee) for t in stale for c in self._cores(t) for v, factory, fee in self._tiers()
        ]
        calls = [
            Call.of(factory, GET_PAIR, t, c) if v.version == 2 else Call.of(factory, GET_POOL, t, c, fee)
            for t, c, v, factory, fee in candidates
        ]
        results = await reader.call_many(calls)
        found: dict[str, list[Pool]] = {t: [] for t in stale}
        for (t, c, v, _, fee), result in zip(candidates, results, strict=True):
            if result.success and result.one() != ZERO_ADDRESS:
                found[t].append(Pool(v, result.one(), t, c, fee))
        for t, pools in found.items():
            self._discovered[t] = _Discovery(tuple(pools), number)
        return {t: self._discovered[t].pools for t in tokens}

    def _cores(self, token: str) -> list[str]:
        return [c.address for c in self.deployment.core_tokens if c.address != token]

    def _tiers(self) -> list[tuple[Venue, str, int]]:
        return [(v, factory, fee) for v, factory in self.venues for fee in (v.fees or (0,))]

    # ---------------------------------------------------------------- state

    async def _read_states(self, reader: Reader, pools: Sequence[Pool]) -> list[PoolState]:
        plans = [_state_calls(p) for p in pools]
        results = await reader.call_many([c for plan in plans for c in plan])
        states, start = [], 0
        for pool, plan in zip(pools, plans, strict=True):
            states.append(_state(pool, results[start : start + len(plan)]))
            start += len(plan)
        return states

    # ---------------------------------------------------------------- pricing

    def _quote_one(self, book: DexBook, token: TokenRef, core_prices: Mapping[str, PriceQuote]) -> PriceAnswer:
        states = book.states.get(token.address, ())
        if not states:
            cores = ", ".join(c.symbol for c in self.deployment.core_tokens if c.address != token.address)
            venues = ", ".join(v.dex for v, _ in self.venues)
            return PriceMiss(NAME, f"no pool of {token.symbol} against {cores} on {venues}")
        usable: list[tuple[Decimal, PoolState, TokenInfo, PriceQuote]] = []
        problems: list[str] = []
        for state in states:
            core = self.deployment.token_at(state.pool.core)
            core_price = core_prices.get(state.pool.core)
            label = _label(state)
            if state.problem or state.raw_price is None or core is None:
                problems.append(f"{label}: {state.problem}")
            elif core_price is None:
                problems.append(f"{label}: {core.symbol} has no trusted price")
            else:
                depth = core_usd(state.core_balance, core.decimals, core_price.usd)
                if depth < self.min_liquidity_usd:
                    problems.append(
                        f"{label}: {core.symbol} side ${depth:,.0f} below the ${self.min_liquidity_usd:,} floor"
                    )
                else:
                    usable.append((depth, state, core, core_price))
        if not usable:
            return PriceMiss(NAME, "; ".join(problems))
        depth, state, core, core_price = max(usable, key=lambda u: u[0])
        assert state.raw_price is not None  # filtered above
        usd = usd_price(
            state.raw_price, token_decimals=token.decimals, core_decimals=core.decimals, core_usd=core_price.usd
        )
        twap = state.method == "twap1800"
        return PriceQuote(
            chain_id=book.chain_id,
            token=token.address,
            usd=usd,
            source=_label(state),
            timestamp=book.timestamp,
            confidence=CONFIDENCE[(twap, depth >= self.deep_liquidity_usd)],
            block_number=book.block_number,
            liquidity_usd=depth,
        )


def _label(state: PoolState) -> str:
    return f"{state.pool.venue.dex}:{state.pool.address}:{state.method}"


def _state_calls(pool: Pool) -> list[Call]:
    if pool.venue.version == 2:
        return [Call.of(pool.address, GET_RESERVES)]
    return [
        Call.of(pool.address, SLOT0_BY_DEX[pool.venue.dex]),
        Call.of(pool.address, LIQUIDITY),
        Call.of(pool.address, OBSERVE, [TWAP_SECONDS, 0]),
        Call.of(pool.core, BALANCE_OF, pool.address),
    ]


def _state(pool: Pool, results: Sequence[CallResult]) -> PoolState:
    if pool.venue.version == 2:
        return _v2_state(pool, results[0])
    return _v3_state(pool, *results)


def _v2_state(pool: Pool, reserves: CallResult) -> PoolState:
    if not reserves.success:
        return PoolState(pool, None, "spot", 0, f"getReserves failed: {reserves.error}")
    r0, r1, _ = reserves.value
    token_reserve, core_reserve = (r0, r1) if pool.token_is_token0 else (r1, r0)
    if token_reserve == 0 or core_reserve == 0:
        return PoolState(pool, None, "spot", 0, "empty reserves")
    return PoolState(pool, v2_raw_price(reserve_token=token_reserve, reserve_core=core_reserve), "spot", core_reserve)


def _v3_state(
    pool: Pool, slot0: CallResult, liquidity: CallResult, observe: CallResult, balance: CallResult
) -> PoolState:
    if not (slot0.success and liquidity.success and balance.success):
        failed = next(r for r in (slot0, liquidity, balance) if not r.success)
        return PoolState(pool, None, "spot", 0, f"{failed.call.function.name} failed: {failed.error}")
    core_balance = int(balance.one())
    if liquidity.one() == 0:
        return PoolState(pool, None, "spot", core_balance, "no liquidity in range")
    if observe.success:
        # observe() reverts ("OLD") when the oldest stored observation is younger than 30 minutes.
        tick = twap_tick(observe.value[0], TWAP_SECONDS)
        raw = v3_raw_price(get_sqrt_ratio_at_tick(tick), token_is_token0=pool.token_is_token0)
        return PoolState(pool, raw, "twap1800", core_balance)
    raw = v3_raw_price(slot0.value[0], token_is_token0=pool.token_is_token0)
    return PoolState(pool, raw, "spot", core_balance)
