"""LP fee rates of a DEX adapter's pools over a trailing window: finds block S, reads the pools there, caches.

The adapter reads each pool's `LpFeeModel.reads` at block B in its own batch; the tracker finds S (the
first block at or after B - window, or the chain's oldest block when the chain is younger), reads the pools
at S and turns both into `Yield`s (`protocols.lp_fees` has the math and the method).

    tracker = LpFeeTracker("uniswap-v2", V2_LP_FEES)
    results = await reader.call_many([c for pool in pools for c in tracker.model.reads(pool.address)])
    rates = await tracker.rates(reader, zip(pools, split(results)))
    rates.yields, rates.unavailable        # Yield rows; pool -> why it has no rate (never a 0)
    tracker.gaps_at(reader.block)          # the same missing rates as `YieldGap`s, for `Adapter.yield_gaps`

Caching, so indexing block after block stays cheap: S moves forward a block or two per block, so the clock
searches forward from the last S it found (a request or two); a pool's state at S is kept until S moves;
a pool younger than the window (no code or no liquidity at S) is searched once for its first block with
liquidity, which then serves as its S. At the same B twice, no request is made beyond B's own batch.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Final, Generic, TypeVar

import structlog

from defiscope.chain.block import BlockRef
from defiscope.chain.multicall import CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.lp_fees import LP_FEE_WINDOW, LpFeeError, LpFeeModel, Window, annualize
from defiscope.protocols.yields import Yield, YieldGap, YieldKind, exact_decimal

_DIGITS: Final = re.compile(r"\d+")
log = structlog.get_logger(__name__)

S = TypeVar("S")
#: Blocks the clock remembers before it forgets the oldest half.
MAX_KNOWN_BLOCKS: Final = 10_000
#: Blocks whose missing rates the tracker keeps for `gaps_at` (more than the reads in flight at once).
MAX_GAP_BLOCKS: Final = 64


@dataclass(frozen=True, slots=True)
class LpPool:
    """A pool as a yield row names it; `created` is its creation block when the adapter knows it."""

    address: str
    asset: str  # the LP token (a V2 pair, a Curve LP token) or, for V3, the pool itself
    symbol: str  # "WETH-USDC", "WETH-USDC 0.05%", "DAI-USDC-USDT"
    created: int | None = None


def pool_symbol(deployment: Deployment, tokens: Iterable[str], suffix: str = "") -> str:
    """ "WETH-USDC" from token addresses (an unknown token by its address), plus an optional suffix."""
    symbols = [info.symbol if (info := deployment.token_at(t)) is not None else t for t in tokens]
    return "-".join(symbols) + (f" {suffix}" if suffix else "")


def split_results(results: Sequence[CallResult], sizes: Iterable[int]) -> list[list[CallResult]]:
    """`results` of consecutive call groups of `sizes`, one list per group."""
    groups, offset = [], 0
    for size in sizes:
        groups.append(list(results[offset : offset + size]))
        offset += size
    return groups


@dataclass(frozen=True, slots=True)
class LpFeeRates:
    yields: list[Yield]
    unavailable: dict[str, str]  # pool address -> why no rate: a missing figure, never a 0
    gaps: tuple[YieldGap, ...] = ()  # the same, as gaps naming the pool's LP token and symbol


@dataclass(frozen=True, slots=True)
class _Missing:
    reason: str


class BlockClock:
    """Blocks by number, and the first block at or after a time; remembers every block it read."""

    def __init__(self) -> None:
        self.known: dict[int, BlockRef] = {}

    async def block(self, reader: Reader, number: int) -> BlockRef:
        """Block `number`, not after the reader's (read through it, once)."""
        if number not in self.known:
            if len(self.known) >= MAX_KNOWN_BLOCKS:
                for old in sorted(self.known)[: MAX_KNOWN_BLOCKS // 2]:
                    del self.known[old]
            self.known[number] = await reader.header(number)
        return self.known[number]

    async def first_at_or_after(self, reader: Reader, timestamp: int) -> BlockRef:
        """The first block with ``timestamp >= timestamp`` up to the reader's; block 0 must be older than it.

        Timestamps never decrease along a chain. The search gallops forward from the newest remembered
        block older than the time (the previous answer, when indexing block after block), then bisects.
        """
        head = reader.block
        below = [b for b in self.known.values() if b.timestamp < timestamp and b.number < head.number]
        lo = max(below, key=lambda b: b.number) if below else await self.block(reader, 0)
        above = [b for b in self.known.values() if b.timestamp >= timestamp and lo.number < b.number <= head.number]
        hi = min(above, key=lambda b: b.number) if above else head
        step = 1
        while hi.number - lo.number > 1:
            probe = await self.block(reader, min(lo.number + step, (lo.number + hi.number) // 2))
            if probe.timestamp < timestamp:
                lo, step = probe, step * 2
            else:
                hi = probe
        return hi


@dataclass(slots=True)
class LpFeeTracker(Generic[S]):
    """One adapter's pools: their state at S (cached), first blocks of young pools, and the rates."""

    slug: str
    model: LpFeeModel[S]
    window: int = LP_FEE_WINDOW
    clock: BlockClock = field(default_factory=BlockClock)
    born: dict[str, BlockRef] = field(default_factory=dict)  # young pools: first block with liquidity
    at_start: dict[str, tuple[BlockRef, S]] = field(default_factory=dict)  # pool -> (S, state), last read
    _window: tuple[BlockRef, BlockRef, str] | None = None  # the last (B, S, what limited S)
    _floor: BlockRef | None = None  # the oldest block whose state the node served, when it is not block 0
    _readable: BlockRef | None = None  # the last S the node served state at
    _reported: dict[str, str] = field(default_factory=dict)  # unavailable pools already logged
    _gaps: dict[BlockRef, tuple[YieldGap, ...]] = field(default_factory=dict)  # B -> its missing rates, newest last

    def state(self, results: Sequence[CallResult]) -> S | _Missing:
        """The model's state of one pool's results, or why there is none."""
        failed = next((r for r in results if not r.success), None)
        if failed is not None:
            return _Missing(f"{failed.call.describe()} failed: {failed.error}")
        state = self.model.state(results)
        return _Missing("no liquidity") if state is None else state

    async def rates(self, reader: Reader, pools: Iterable[tuple[LpPool, Sequence[CallResult]]]) -> LpFeeRates:
        """Rates of `pools` from their results at the reader's block B (read by the adapter)."""
        end = reader.block
        unavailable: dict[str, str] = {}
        ends: dict[LpPool, S] = {}
        pools = list(pools)
        for pool, results in pools:
            state = self.state(results)
            if isinstance(state, _Missing):
                unavailable[pool.address] = f"at block {end.number}: {state.reason}"
            else:
                ends[pool] = state
        starts = await self._starts(reader, ends) if ends else {}
        rows = []
        for pool, end_state in ends.items():
            start = starts[pool.address]
            if isinstance(start, _Missing):
                unavailable[pool.address] = start.reason
                continue
            window, start_state = start
            try:
                apr = annualize(self.model.window_return(start_state, end_state), window.seconds)
            except LpFeeError as exc:
                unavailable[pool.address] = f"{exc} ({window.describe()})"
                continue
            rows.append(self._row(pool, apr, window))
        self._log(unavailable)
        gaps = tuple(
            YieldGap(self.slug, pool.address, pool.asset, pool.symbol, YieldKind.LP_FEE, unavailable[pool.address])
            for pool, _ in pools
            if pool.address in unavailable
        )
        self._keep_gaps(end, gaps)
        return LpFeeRates(rows, unavailable, gaps)

    def gaps_at(self, block: BlockRef) -> tuple[YieldGap, ...]:
        """The pools whose rate the latest `rates` at `block` could not give, and why (none if not read)."""
        return self._gaps.get(block, ())

    def _keep_gaps(self, block: BlockRef, gaps: tuple[YieldGap, ...]) -> None:
        self._gaps.pop(block, None)
        self._gaps[block] = gaps
        while len(self._gaps) > MAX_GAP_BLOCKS:
            del self._gaps[next(iter(self._gaps))]  # the least recently read block

    def _row(self, pool: LpPool, apr: Fraction, window: Window) -> Yield:
        method = self.model.method(window)
        return Yield(
            self.slug,
            pool.address,
            pool.asset,
            pool.symbol,
            YieldKind.LP_FEE,
            exact_decimal(apr),
            self.model.apy(apr),
            method,
        )

    async def window_start(self, reader: Reader) -> tuple[BlockRef, str]:
        """Block S of the window ending at the reader's block B, and what limited it: "" (nothing), "chain"
        (younger than the window: its oldest block) or "history" (the node keeps no state that old: its oldest
        state)."""
        end = reader.block
        if self._window is not None and self._window[0] == end:
            return self._window[1], self._window[2]
        target = end.timestamp - self.window
        oldest = await self.clock.block(reader, 0)
        if oldest.timestamp >= target:
            start, limited = oldest, "chain" if oldest.timestamp > target else ""
        else:
            start, limited = await self.clock.first_at_or_after(reader, target), ""
        if self._floor is not None and start.number < self._floor.number:
            start, limited = self._floor, "history"
        # One probe per new S (none while S stays, as on a chain younger than the window): a pool's state at S
        # is cached once read, so a pruning node forgetting S later costs nothing but new pools' reads there.
        if start != self._readable and not await reader.at(start).has_state():
            start, limited = await self._oldest_state(reader, start), "history"
            self._floor = start
        self._readable = start
        self._window = (end, start, limited)
        return start, limited

    async def _oldest_state(self, reader: Reader, without: BlockRef) -> BlockRef:
        """Bisect (without, B] for the oldest block whose state the node serves (it serves B's)."""
        lo, hi = without.number, reader.block.number
        while hi - lo > 1:
            mid = (lo + hi) // 2
            served = await reader.at(await self.clock.block(reader, mid)).has_state()
            lo, hi = (lo, mid) if served else (mid, hi)
        return await self.clock.block(reader, hi)

    async def _starts(self, reader: Reader, ends: dict[LpPool, S]) -> dict[str, tuple[Window, S] | _Missing]:
        """Each pool's window (from S, or from its first block with liquidity) and its state there."""
        end = reader.block
        start, limited = await self.window_start(reader)
        out: dict[str, tuple[Window, S] | _Missing] = {}
        to_read: dict[BlockRef, list[LpPool]] = defaultdict(list)
        for pool in ends:
            if pool.address not in self.born and pool.created is not None and pool.created > start.number:
                self.born[pool.address] = await self.clock.block(reader, pool.created)
            born = self.born.get(pool.address)
            at = born if born is not None and born.number > start.number else start
            cached = self.at_start.get(pool.address)
            if cached is not None and cached[0] == at:
                out[pool.address] = (Window(at, end, self.window, "pool" if at == born else limited), cached[1])
            else:
                to_read[at].append(pool)
        reads = await asyncio.gather(*(self._read(reader.at(at), group) for at, group in to_read.items()))
        young: list[tuple[LpPool, _Missing, S]] = []
        for (at, group), states in zip(to_read.items(), reads, strict=True):
            for pool, state in zip(group, states, strict=True):
                if not isinstance(state, _Missing):
                    self.at_start[pool.address] = (at, state)
                    kind = "pool" if at == self.born.get(pool.address) else limited
                    out[pool.address] = (Window(at, end, self.window, kind), state)
                elif at == start:
                    young.append((pool, state, ends[pool]))
                else:
                    out[pool.address] = _Missing(f"at its first block {at.number}: {state.reason}")
        out.update(await self._young(reader, start, young))
        return out

    async def _read(self, reader: Reader, pools: list[LpPool]) -> list[S | _Missing]:
        """The pools' states at the reader's block."""
        calls = [self.model.reads(pool.address) for pool in pools]
        results = await reader.call_many([c for group in calls for c in group])
        return [self.state(group) for group in split_results(results, map(len, calls))]

    async def _young(
        self, reader: Reader, start: BlockRef, pools: list[tuple[LpPool, _Missing, S]]
    ) -> dict[str, tuple[Window, S] | _Missing]:
        """Pools with no state at S: younger than the window when they had no code or no liquidity there."""
        if not pools:
            return {}
        at_start = reader.at(start)
        codes = await asyncio.gather(*(at_start.code(pool.address) for pool, _, _ in pools))
        out: dict[str, tuple[Window, S] | _Missing] = {}
        for (pool, missing, end_state), code in zip(pools, codes, strict=True):
            if code and missing.reason != "no liquidity":
                # The pool existed at S and its reads failed there: a failure, not youth.
                out[pool.address] = _Missing(f"at block {start.number}: {missing.reason}")
                continue
            born, state = await self._first_with_liquidity(reader, pool, start, end_state)
            self.born[pool.address] = born
            self.at_start[pool.address] = (born, state)
            out[pool.address] = (Window(born, reader.block, self.window, "pool"), state)
        return out

    async def _first_with_liquidity(
        self, reader: Reader, pool: LpPool, start: BlockRef, end_state: S
    ) -> tuple[BlockRef, S]:
        """Bisect (S, B] for the first block where the pool reads with liquidity (it does at B, not at S).

        A pool's LP supply never returns to zero once minted (V2 locks MINIMUM_LIQUIDITY), so the blocks
        with liquidity are one run ending at B.
        """
        lo, hi, hi_state = start.number, reader.block.number, end_state
        while hi - lo > 1:
            mid = (lo + hi) // 2
            at_mid = reader.at(await self.clock.block(reader, mid))
            state = self.state(await at_mid.call_many(self.model.reads(pool.address)))
            if isinstance(state, _Missing):
                lo = mid
            else:
                hi, hi_state = mid, state
        return await self.clock.block(reader, hi), hi_state

    def _log(self, unavailable: dict[str, str]) -> None:
        """Log a pool's missing rate once while its reason stays the same, not at every block."""
        # Reasons name blocks and seconds that move with every block: compared with the numbers left out.
        reasons = {pool: _DIGITS.sub("#", why) for pool, why in unavailable.items()}
        for pool, why in unavailable.items():
            if self._reported.get(pool) != reasons[pool]:
                log.warning("lp_fee.unavailable", slug=self.slug, pool=pool, reason=why)
        self._reported = reasons
