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

With the chain's followed DEXes (`followed`: the tracked adapters of the shared DEX state, `routing.dex_state`,
which the TVL engine hands over) a venue's pools and holdings come from memory at the reader's block: no factory
look-up, no `getReserves`, no core-side `balanceOf`. A V3 pool still costs `slot0`, `liquidity` and the 30-minute
`observe`, which no event carries. A DEX the state has not reached (an older block) is read as without it.

    >>> v2_raw_price(reserve_token=2 * 10**18, reserve_core=6000 * 10**6)   # 3000 USDC-units per wei
    Fraction(3, 1000000000)
    >>> usd_price(Fraction(3, 10**9), token_decimals=18, core_decimals=6, core_usd=Decimal(1))
    Decimal('3000')
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal, localcontext
from fractions import Fraction
from typing import Final, Literal

from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment, TokenInfo
from defiscope.errors import DefiscopeError
from defiscope.prices.base import PriceAnswer, PriceMiss, TokenRef
from defiscope.prices.quote import PriceQuote
from defiscope.protocols.pancakeswap.v3 import PANCAKESWAP_V3
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.tracked import Holdings, Reading, TrackedAdapter
from defiscope.protocols.uniswap.math.tick_math import get_sqrt_ratio_at_tick
from defiscope.protocols.uniswap.v2 import Pair, V2Adapter
from defiscope.protocols.uniswap.v3 import V3Adapter, V3Pool
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
    venues: frozenset[str]  # the venues asked of their factories (the others were followed)


#: A followed DEX's pools by their sorted (lowercase) pair of tokens: (address, fee) each, fee 0 for a V2 pair.
PoolIndex = Mapping[tuple[str, str], tuple[tuple[str, int], ...]]


@dataclass(frozen=True, slots=True)
class _Known:
    """A pool found in a followed DEX, with its two sides' holdings as the DEX's state had them at the block."""

    pool: Pool
    token_side: Reading | None
    core_side: Reading | None


@dataclass(slots=True)
class DexSource:
    """Prices tokens from V2/V3 pools against the deployment's core assets (see the module docstring)."""

    deployment: Deployment
    min_liquidity_usd: Decimal = MIN_LIQUIDITY_USD
    deep_liquidity_usd: Decimal = DEEP_LIQUIDITY_USD
    name: str = NAME
    #: The chain's followed DEX adapters by slug (a venue's `dex`), when a shared DEX state moves them.
    followed: Mapping[str, TrackedAdapter] = field(default_factory=dict)
    _discovered: dict[str, _Discovery] = field(default_factory=dict, repr=False)
    _indexes: dict[str, tuple[tuple[int, str], PoolIndex]] = field(default_factory=dict, repr=False)

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
        addresses = [t.address for t in tokens]
        hoped = self._reachable(reader)
        # The followed V3 pools' eventless reads go out while the DEXes move to the block, in the same batch as
        # theirs; a pool created in this very block is read after (`_read_states`).
        early = [(p, _state_calls(p, followed=True)) for p in self._followed_pools(hoped, addresses)]
        held, early_results, asked = await asyncio.gather(
            self._followed_at(reader, hoped),
            reader.call_many([c for _, plan in early for c in plan]),
            self._discover(reader, addresses, hoped),
        )
        if held.keys() != hoped:  # a DEX could not reach the block after all: the factories, for every venue
            held, asked = {}, await self._discover(reader, addresses, frozenset())
        # Taken from the holdings before any await: a shared state may move on to a newer block meanwhile.
        known = self._known(held, addresses)
        read, start = {}, 0
        for pool, plan in early:
            read[pool.address] = early_results[start : start + len(plan)]
            start += len(plan)
        states = await self._read_states(reader, known, [p for ps in asked.values() for p in ps], read)
        by_token: dict[str, list[PoolState]] = {t: [] for t in addresses}
        for state in sorted(states, key=lambda st: self._rank(st.pool)):  # the order discovery alone gives
            by_token[state.pool.token].append(state)
        block = reader.block
        return DexBook({t: tuple(s) for t, s in by_token.items()}, block.number, block.timestamp, block.chain_id)

    def quote(
        self, book: DexBook, tokens: Sequence[TokenRef], core_prices: Mapping[str, PriceQuote]
    ) -> dict[str, PriceAnswer]:
        return {t.address: self._quote_one(book, t, core_prices) for t in tokens}

    # ---------------------------------------------------------------- followed DEXes (memory)

    def _reachable(self, reader: Reader) -> frozenset[str]:
        """The followed venues whose state is loaded and not past the reader's block (it only moves forward)."""
        venues = {v.dex for v, _ in self.venues}
        return frozenset(
            slug
            for slug, adapter in self.followed.items()
            if slug in venues and (state := adapter.state) is not None and state.block.number <= reader.block.number
        )

    async def _followed_at(self, reader: Reader, slugs: frozenset[str]) -> dict[str, Holdings]:
        """These followed venues' holdings at exactly the reader's block. Moving a DEX there is its own `advance`:
        once per block, so at a block the shared state reached (or is reaching, under the DEX's lock) it reads
        nothing. A DEX that cannot get there (a reorg of an older block, a failed read) is left out."""
        chosen = [(slug, self.followed[slug]) for slug in sorted(slugs)]
        moved = await asyncio.gather(*(a.advance(reader) for _, a in chosen), return_exceptions=True)
        held: dict[str, Holdings] = {}
        for (slug, _), outcome in zip(chosen, moved, strict=True):
            if isinstance(outcome, Holdings) and outcome.block == reader.block:
                held[slug] = outcome
            elif isinstance(outcome, BaseException) and not isinstance(outcome, DefiscopeError):
                raise outcome
        return held

    def _followed_pools(self, slugs: Collection[str], tokens: Sequence[str]) -> list[Pool]:
        """Every (token, core) pool the followed venues ``slugs`` have found so far."""
        found = []
        for venue, _ in self.venues:
            if venue.dex not in slugs:
                continue
            index = self._index(venue.dex)
            for token in tokens:
                for core in self._cores(token):
                    for address, fee in index.get(_pair_key(token, core), ()):
                        if venue.version == 2 or fee in venue.fees:  # discovery asks factories for these tiers
                            found.append(Pool(venue, address, token, core, fee))
        return found

    def _known(self, held: Mapping[str, Holdings], tokens: Sequence[str]) -> list[_Known]:
        """The followed venues' pools at the holdings' block, with both sides' holdings read from memory."""
        found = []
        for pool in self._followed_pools(held.keys(), tokens):
            holdings = held[pool.venue.dex]
            token_side = holdings.get((pool.address, pool.token))
            if token_side is not None:  # else found by the DEX but not tracked at this block
                found.append(_Known(pool, token_side, holdings.get((pool.address, pool.core))))
        return found

    def _index(self, slug: str) -> PoolIndex:
        """The followed DEX's pools by pair of tokens, rebuilt only when its list of pools changed (it grows as
        pools are created; a reorg may also take some back)."""
        found = _found(self.followed[slug])
        mark = (len(found), found[-1].address if found else "")
        cached = self._indexes.get(slug)
        if cached is not None and cached[0] == mark:
            return cached[1]
        index: dict[tuple[str, str], tuple[tuple[str, int], ...]] = {}
        for pool in found:
            key = _pair_key(pool.token0, pool.token1)
            index[key] = (*index.get(key, ()), (pool.address, pool.fee if isinstance(pool, V3Pool) else 0))
        self._indexes[slug] = (mark, index)
        return index

    def _rank(self, pool: Pool) -> tuple[int, int, int]:
        """Where factory discovery alone would list the pool: by core asset, venue, then fee tier."""
        cores = [c.address for c in self.deployment.core_tokens]
        fees = pool.venue.fees or (0,)
        return (cores.index(pool.core), VENUES.index(pool.venue), fees.index(pool.fee))

    # ---------------------------------------------------------------- discovery (cached)

    async def _discover(
        self, reader: Reader, tokens: Sequence[str], followed: frozenset[str]
    ) -> dict[str, tuple[Pool, ...]]:
        """Pools of the venues not ``followed``, asked of their factories (cached per token)."""
        number = reader.block.number
        asked = frozenset(v.dex for v, _ in self.venues) - followed
        stale = [
            t
            for t in tokens
            if (d := self._discovered.get(t)) is None
            or d.venues != asked
            or number < d.block_number  # the chain went backwards (reorg, devnet revert)
            or number - d.block_number > REDISCOVER_BLOCKS
        ]
        candidates = [
            (t, c, v, factory, fee)
            for t in stale
            for c in self._cores(t)
            for v, factory, fee in self._tiers()
            if v.dex in asked
        ]
        calls = [
            Call.of(factory, GET_PAIR, t, c) if v.version == 2 else Call.of(factory, GET_POOL, t, c, fee)
            for t, c, v, factory, fee in candidates
        ]
        results = await reader.call_many(calls) if calls else []
        found: dict[str, list[Pool]] = {t: [] for t in stale}
        for (t, c, v, _, fee), result in zip(candidates, results, strict=True):
            if result.success and result.one() != ZERO_ADDRESS:
                found[t].append(Pool(v, result.one(), t, c, fee))
        for t, pools in found.items():
            self._discovered[t] = _Discovery(tuple(pools), number, asked)
        return {t: self._discovered[t].pools for t in tokens}

    def _cores(self, token: str) -> list[str]:
        return [c.address for c in self.deployment.core_tokens if c.address != token]

    def _tiers(self) -> list[tuple[Venue, str, int]]:
        return [(v, factory, fee) for v, factory in self.venues for fee in (v.fees or (0,))]

    # ---------------------------------------------------------------- state

    async def _read_states(
        self, reader: Reader, known: Sequence[_Known], asked: Sequence[Pool], read: Mapping[str, Sequence[CallResult]]
    ) -> list[PoolState]:
        """The pools' states: a followed V2 pair's from memory, a followed V3 pool's from its eventless reads
        (``read``, by pool address: those already made), the rest read in one batch."""
        states = [_v2_held(k.pool, k.token_side, k.core_side) for k in known if k.pool.venue.version == 2]
        v3 = [k for k in known if k.pool.venue.version == 3]
        states += [_state(k.pool, read[k.pool.address], k) for k in v3 if k.pool.address in read]
        plans: list[tuple[Pool, list[Call], _Known | None]]
        plans = [(k.pool, _state_calls(k.pool, followed=True), k) for k in v3 if k.pool.address not in read]
        plans += [(p, _state_calls(p, followed=False), None) for p in asked]
        results = await reader.call_many([c for _, plan, _ in plans for c in plan]) if plans else []
        start = 0
        for pool, plan, held in plans:
            states.append(_state(pool, results[start : start + len(plan)], held))
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


def _state_calls(pool: Pool, *, followed: bool) -> list[Call]:
    """What a pool's state costs. A followed V2 pair: nothing. A followed V3 pool: `slot0`, `liquidity` and
    `observe`, which no event carries (the TWAP's cumulative ticks; routing follows the first two, but prices do
    not reach into routing); its core side is in the DEX's holdings."""
    if pool.venue.version == 2:
        return [] if followed else [Call.of(pool.address, GET_RESERVES)]
    reads = [
        Call.of(pool.address, SLOT0_BY_DEX[pool.venue.dex]),
        Call.of(pool.address, LIQUIDITY),
        Call.of(pool.address, OBSERVE, [TWAP_SECONDS, 0]),
    ]
    return reads if followed else [*reads, Call.of(pool.core, BALANCE_OF, pool.address)]


def _state(pool: Pool, results: Sequence[CallResult], held: _Known | None) -> PoolState:
    if pool.venue.version == 2:
        return _v2_state(pool, results[0])
    slot0, liquidity, observe = results[:3]
    if held is not None:
        return _v3_state(pool, slot0, liquidity, observe, _held_balance(held.core_side))
    balance = results[3]
    core_balance = int(balance.one()) if balance.success else f"{balance.call.function.name} failed: {balance.error}"
    return _v3_state(pool, slot0, liquidity, observe, core_balance)


def _held_balance(reading: Reading | None) -> int | str:
    if reading is None:
        return "the core side is not in the followed DEX's holdings"
    return reading if isinstance(reading, int) else f"core-side balance unreadable: {reading}"


def _v2_state(pool: Pool, reserves: CallResult) -> PoolState:
    if not reserves.success:
        return PoolState(pool, None, "spot", 0, f"getReserves failed: {reserves.error}")
    r0, r1, _ = reserves.value
    token_reserve, core_reserve = (r0, r1) if pool.token_is_token0 else (r1, r0)
    return _v2_from(pool, token_reserve, core_reserve)


def _v2_held(pool: Pool, token_side: Reading | None, core_side: Reading | None) -> PoolState:
    """A followed pair's state from the DEX's holdings: its reserves, set from each `Sync`."""
    if not isinstance(token_side, int) or not isinstance(core_side, int):
        why = next((r for r in (token_side, core_side) if isinstance(r, str)), "not in the followed DEX's holdings")
        return PoolState(pool, None, "spot", 0, f"reserves unreadable: {why}")
    return _v2_from(pool, token_side, core_side)


def _v2_from(pool: Pool, token_reserve: int, core_reserve: int) -> PoolState:
    if token_reserve == 0 or core_reserve == 0:
        return PoolState(pool, None, "spot", 0, "empty reserves")
    return PoolState(pool, v2_raw_price(reserve_token=token_reserve, reserve_core=core_reserve), "spot", core_reserve)


def _v3_state(
    pool: Pool, slot0: CallResult, liquidity: CallResult, observe: CallResult, core_balance: int | str
) -> PoolState:
    if not (slot0.success and liquidity.success):
        failed = slot0 if not slot0.success else liquidity
        return PoolState(pool, None, "spot", 0, f"{failed.call.function.name} failed: {failed.error}")
    if isinstance(core_balance, str):
        return PoolState(pool, None, "spot", 0, core_balance)
    if liquidity.one() == 0:
        return PoolState(pool, None, "spot", core_balance, "no liquidity in range")
    if observe.success:
        # observe() reverts ("OLD") when the oldest stored observation is younger than 30 minutes.
        tick = twap_tick(observe.value[0], TWAP_SECONDS)
        raw = v3_raw_price(get_sqrt_ratio_at_tick(tick), token_is_token0=pool.token_is_token0)
        return PoolState(pool, raw, "twap1800", core_balance)
    raw = v3_raw_price(slot0.value[0], token_is_token0=pool.token_is_token0)
    return PoolState(pool, raw, "spot", core_balance)


def _pair_key(a: str, b: str) -> tuple[str, str]:
    low, high = sorted((a.lower(), b.lower()))
    return low, high


def _found(adapter: TrackedAdapter) -> Sequence[Pair | V3Pool]:
    """A followed DEX's pools found so far, in creation order (its own list: not copied)."""
    if isinstance(adapter, V2Adapter):
        return adapter.pairs
    if isinstance(adapter, V3Adapter):
        return adapter.pools
    return ()
