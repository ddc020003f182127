"""LP fee rates of a DEX adapter's pools over a trailing window: finds block S, reads the pools there, caches.

The tracker reads each pool's `LpFeeModel.reads` at block B, finds S (the first block at or after B - window,
or the chain's oldest block when the chain is younger), reads the pools at S (through `reader.at(S)`, into the
reader's provenance) and turns both into `Yield`s (`protocols.lp_fees` has the math and the method).

    tracker = LpFeeTracker("uniswap-v2", V2_LP_FEES, follow=PoolLogs(frozenset({SYNC}), adapter._logs_since))
    rates = await tracker.rates(reader, pools)     # LpPool list; `read=` the adapter's own reads at B, if made
    rates.yields, rates.unavailable        # Yield rows; pool -> why it has no rate (never a 0)
    tracker.gaps_at(reader.block)          # the same missing rates as `YieldGap`s, for `Adapter.yield_gaps`

Rates at the cost of what changed: every block, or every `tracked.LP_FEE_INTERVAL` blocks for a DEX of more than
1,000 pools (one row per pool is still built and stored each time). With `follow` (V2 and V3: a pool's state changes
only with its own logs — Sync; Swap, Flash, Initialize — and pool code never changes), the states at B are kept and
each block re-reads only the pools the logs since the last B touched (the holdings' own logs, so no extra request;
plus new pools and pools whose read failed), with a `getBlockHash` check of the last B in the same multicall (a
reorg, or a gap wider than 256 blocks, reads every pool again). The state at S of a pool nothing touched between the
old and the new S is the same at both: as S moves, only the pools touched in between are read at the new S (the
touches of the blocks in (S, B] are kept; after a full read, the logs of its window are fetched once). Without
`follow` (Curve: an amplification ramp moves the virtual price without a log), every pool is read at every block,
and at S whenever S moves. The differential test (`tests/yields/test_lp_fee_following.py`) shows both give the same
rows.

Caching, so indexing block after block stays cheap: S moves forward a block or two per block, so the clock
(`chain.block_clock`) searches from the last S it found, a batch of headers per round (one round, sent while B's
multicall is); a pool younger than the window (no code or no liquidity at S) is searched once for its first block
with liquidity, which then serves as its S until S passes it. At the same B twice, no request is made beyond B's own
batch. A pool idle over the window costs no arithmetic.
"""

from __future__ import annotations

import asyncio
import re
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any, Final, Generic, TypeVar

import structlog

from defiscope.chain.abi import EMPTY_RETURN_DATA
from defiscope.chain.block import BlockRef
from defiscope.chain.block_clock import BlockClock
from defiscope.chain.logs import log_hex, log_int
from defiscope.chain.multicall import CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.protocols.lp_fees import LP_FEE_WINDOW, LpFeeError, LpFeeModel, Window, annualize
from defiscope.protocols.revenue import FeeShare
from defiscope.protocols.tracked import BLOCKHASH_WINDOW, block_hash_call
from defiscope.protocols.yields import Yield, YieldGap, YieldKind, exact_decimal

_DIGITS: Final = re.compile(r"\d+")
log = structlog.get_logger(__name__)

S = TypeVar("S")
#: Blocks whose missing rates the tracker keeps for `gaps_at` (more than the reads in flight at once).
MAX_GAP_BLOCKS: Final = 64
NO_LIQUIDITY: Final = "no liquidity"
#: A read that succeeded with no data: no pool at that address yet (a call to an address without code succeeds
#: empty), so the pool is younger than that block, as one without liquidity.
NO_CODE: Final = "no code"
ZERO: Final = Fraction(0)


@dataclass(frozen=True, slots=True)
class LpPool:
    """A pool as a yield row names it; `created` is its creation block when the adapter knows it."""

    address: str
    asset: str  # the LP token (a V2 pair, a Curve LP token) or, for V3, the pool itself
    symbol: str  # "WETH-USDC", "WETH-USDC 0.05%", "DAI-USDC-USDT"
    created: int | None = None
    #: The protocol's share of the pool's fees, read by the adapter beside the rates (V2's factory feeTo, Curve's
    #: admin fee); None when the model reads it from the pool's state (`LpFeeModel.knob`) or nothing splits them.
    fee_share: FeeShare | None = None


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


Logs = Sequence[Mapping[str, Any]]


@dataclass(frozen=True, slots=True)
class PoolLogs:
    """How a tracker follows its pools from logs instead of re-reading them every block: the topic0s of the
    events that change a pool's LP state, and the adapter's fetch of its logs since a block (`TrackedAdapter.
    _logs_since`: the holdings' own logs, so following them costs no request)."""

    topics: frozenset[str]
    since: Callable[[Reader, int], Awaitable[Logs]]


@dataclass(slots=True)
class _Followed(Generic[S]):
    """Every pool's state at block `end`, moved forward by the logs that can change it; and, for the blocks after
    `covered`, which pools each one's logs touched, so that S moves without re-reading the pools it did not."""

    end: BlockRef
    states: dict[str, S | _Missing]
    covered: int
    index: dict[str, str] = field(default_factory=dict)  # lowercase address -> pool address
    touched: deque[tuple[int, frozenset[str]]] = field(default_factory=deque)  # (block, pools), in chain order
    failed: set[str] = field(default_factory=set)  # pools whose read failed: read again at every block

    def __post_init__(self) -> None:
        self.index.update((pool.lower(), pool) for pool in self.states)
        self.failed.update(pool for pool, state in self.states.items() if _read_failed(state))

    def touches(self, logs: Logs, topics: frozenset[str]) -> dict[int, set[str]]:
        """The followed pools each block's logs touched."""
        found: dict[int, set[str]] = defaultdict(set)
        for entry in logs:
            pool = self.index.get(log_hex(entry["address"]))
            if pool is not None and entry["topics"] and log_hex(entry["topics"][0]) in topics:
                found[log_int(entry["blockNumber"])].add(pool)
        return found

    def advance(self, end: BlockRef, touches: Mapping[int, set[str]], states: Mapping[str, S | _Missing]) -> None:
        for block in sorted(touches):
            self.touched.append((block, frozenset(touches[block])))
        for pool, state in states.items():
            self.index[pool.lower()] = pool
            self.states[pool] = state
            if _read_failed(state):
                self.failed.add(pool)
            else:
                self.failed.discard(pool)
        self.end = end

    def cover(self, after: int, touches: Mapping[int, set[str]]) -> None:
        """Add the touches of blocks (after, covered], found later (from the logs of that range)."""
        for block in sorted(touches, reverse=True):
            if after < block <= self.covered:
                self.touched.appendleft((block, frozenset(touches[block])))
        self.covered = after

    def moved(self, after: int, upto: int) -> set[str]:
        """The pools touched in blocks (after, upto] (`after` not before `covered`), forgotten from here on."""
        found: set[str] = set()
        while self.touched and self.touched[0][0] <= upto:
            block, pools = self.touched.popleft()
            if block > after:
                found.update(pools)
        self.covered = max(self.covered, upto)
        return found


def _read_failed(state: object) -> bool:
    """A read that failed (not a pool without liquidity, which only its own logs change)."""
    return isinstance(state, _Missing) and state.reason != NO_LIQUIDITY


@dataclass(slots=True)
class LpFeeTracker(Generic[S]):
    """One adapter's pools: their state at S (cached), first blocks of young pools, and the rates."""

    slug: str
    model: LpFeeModel[S]
    window: int = LP_FEE_WINDOW
    #: Where the pools' logs come from, to re-read only the pools they touched; None: every pool, every block.
    follow: PoolLogs | None = None
    clock: BlockClock = field(default_factory=BlockClock)
    born: dict[str, BlockRef] = field(default_factory=dict)  # young pools: first block with liquidity
    #: pool -> (block read at, state): a young pool's at its first block with liquidity, any other's at `_start`
    at_start: dict[str, tuple[BlockRef, S]] = field(default_factory=dict)
    _start: BlockRef | None = None  # the S that `at_start` holds states at
    _followed: _Followed[S] | None = None
    _lock: asyncio.Lock | None = None
    _methods: dict[tuple[str, str, str], str] = field(default_factory=dict)  # method text per window
    _zero: tuple[Decimal, Decimal] | None = None  # APR and APY of a pool that earned nothing
    _idle: dict[str, S] = field(default_factory=dict)  # pool -> a state it earned nothing at (S = B = it)
    _window: tuple[BlockRef, BlockRef, str] | None = None  # the last (B, S, what limited S)
    _floor: BlockRef | None = None  # the oldest block whose state the node served, when it is not block 0
    _readable: BlockRef | None = None  # the last S the node served state at
    _reported: dict[str, str] = field(default_factory=dict)  # unavailable pools already logged
    _gaps: dict[BlockRef, tuple[YieldGap, ...]] = field(default_factory=dict)  # B -> its missing rates, newest last
    _shares: dict[int, FeeShare] = field(default_factory=dict)  # a pool knob's raw value -> the share it stands for
    #: The protocol's share of every pool's fees, read beside the pools' own reads at B (V2's factory feeTo).
    shared_read: Callable[[Reader], Awaitable[FeeShare]] | None = None
    _shared: tuple[BlockRef, FeeShare] | None = None  # the last B's shared share

    def state(self, results: Sequence[CallResult]) -> S | _Missing:
        """The model's state of one pool's results, or why there is none."""
        failed = next((r for r in results if not r.success), None)
        if failed is not None and failed.error == EMPTY_RETURN_DATA:
            return _Missing(NO_CODE)
        if failed is not None:
            return _Missing(f"{failed.call.describe()} failed: {failed.error}")
        state = self.model.state(results)
        return _Missing(NO_LIQUIDITY) if state is None else state

    async def rates(
        self, reader: Reader, pools: Sequence[LpPool], read: Sequence[Sequence[CallResult]] | None = None
    ) -> LpFeeRates:
        """Rates of `pools` at the reader's block B, one block at a time (the followed state moves with B).

        `read`: each pool's `model.reads` results at B when the adapter read them already (with its discovery, in
        one batch); used when the tracker does not follow the pools' logs."""
        if self._lock is None:  # created here: a tracker may be built outside a running event loop
            self._lock = asyncio.Lock()
        async with self._lock:
            states: Mapping[str, S | _Missing]
            if read is not None and self.follow is None:
                states = {pool.address: self.state(results) for pool, results in zip(pools, read, strict=True)}
            else:
                states = await self._ends_and_start(reader, pools)
            return await self._rates(reader, pools, states, await self._shared_at(reader))

    async def _ends_and_start(self, reader: Reader, pools: Sequence[LpPool]) -> Mapping[str, S | _Missing]:
        """`_ends`, with S looked for meanwhile: its headers' round overlaps B's multicall instead of following it.
        A failed search is met again, and reported, when the starts need S."""
        if not pools:
            return await self._ends(reader, pools)
        ends, _ = await asyncio.gather(self._ends(reader, pools), self.window_start(reader), return_exceptions=True)
        if isinstance(ends, BaseException):
            raise ends
        return ends

    async def _rates(
        self, reader: Reader, pools: Sequence[LpPool], states: Mapping[str, S | _Missing], shared: FeeShare | None
    ) -> LpFeeRates:
        end = reader.block
        unavailable: dict[str, str] = {}
        ends: dict[LpPool, S] = {}
        for pool in pools:
            state = states[pool.address]
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
                apr = self._apr(pool.address, start_state, end_state, window)
            except LpFeeError as exc:
                unavailable[pool.address] = f"{exc} ({window.describe()})"
                continue
            rows.append(self._row(pool, apr, window, self._share_of(pool, end_state, shared)))
        self._log(unavailable)
        gaps = tuple(
            YieldGap(self.slug, pool.address, pool.asset, pool.symbol, YieldKind.LP_FEE, unavailable[pool.address])
            for pool in pools
            if pool.address in unavailable
        )
        self._keep_gaps(end, gaps)
        return LpFeeRates(rows, unavailable, gaps)

    async def _ends(self, reader: Reader, pools: Sequence[LpPool]) -> Mapping[str, S | _Missing]:
        """Each pool's state at B. Followed: re-read only where the logs since the last B touched it (or its read
        failed), in B's multicall with a check that the last B is B's ancestor; read in full when not following,
        at the first block, after a reorg or a gap wider than `BLOCKHASH_WINDOW`, and at an older block (which
        leaves the followed state alone)."""
        followed, end = self._followed, reader.block
        if self.follow is not None and followed is not None and followed.end == end:
            if all(pool.address in followed.states for pool in pools):
                return followed.states
        elif (
            self.follow is not None
            and followed is not None
            and 0 < end.number - followed.end.number <= BLOCKHASH_WINDOW
            and await self._follow(reader, self.follow, followed, pools)
        ):
            return followed.states
        (read,) = await self._with_shared(reader, self._read(reader, [p.address for p in pools]))
        states = dict(zip((p.address for p in pools), read, strict=True))
        if self.follow is not None and (followed is None or end.number >= followed.end.number):
            if followed is not None:
                log.info("lp_fee.reloaded", slug=self.slug, block=end.number, was=followed.end.number)
            self._followed = _Followed(end, states, covered=end.number)
        return states

    async def _follow(self, reader: Reader, follow: PoolLogs, followed: _Followed[S], pools: Sequence[LpPool]) -> bool:
        """Move `followed` to the reader's block; False when its block is not the reader's ancestor (a reorg)."""
        touches = followed.touches(await follow.since(reader, followed.end.number + 1), follow.topics)
        reread = {pool for touched in touches.values() for pool in touched} | followed.failed
        reread.update(pool.address for pool in pools if pool.address not in followed.states)  # new pools
        order = sorted(reread)
        ancestor, states = await self._with_shared(
            reader, reader.call(block_hash_call(reader.chain_id, followed.end.number)), self._read(reader, order)
        )
        if not ancestor.success or log_hex(ancestor.one()) != followed.end.hash.lower():
            log.warning("lp_fee.reorg", slug=self.slug, block=followed.end.number, hash=followed.end.hash)
            return False
        followed.advance(reader.block, touches, dict(zip(order, states, strict=True)))
        return True

    async def _with_shared(self, reader: Reader, *reads: Awaitable[Any]) -> list[Any]:
        """`reads` at B, with the share every pool shares (`shared_read`) sent in the same round (so in the same
        multicall: it costs no request of its own); the share is kept for B's rows."""
        if self.shared_read is None:
            return list(await asyncio.gather(*reads))
        *found, share = await asyncio.gather(*reads, self.shared_read(reader))
        self._shared = (reader.block, share)
        return found

    async def _shared_at(self, reader: Reader) -> FeeShare | None:
        """The share every pool shares at B: read with B's pool reads, or now when none were made (B read twice)."""
        if self.shared_read is None:
            return None
        if self._shared is None or self._shared[0] != reader.block:
            await self._with_shared(reader)
        return None if self._shared is None else self._shared[1]

    async def _move_start(self, reader: Reader, start: BlockRef) -> None:
        """S moved: keep the states at the old S of the pools nothing touched since (the same at the new S), and
        the young pools' at their first blocks while those stay after S; forget the rest, to be read at S."""
        old, self._start = self._start, start
        moved = await self._moved(reader, old, start)
        was_young = self.born
        # A first block at or before S is no longer the pool's start: S is, and its state there is read.
        self.born = {pool: born for pool, born in was_young.items() if born.number > start.number}
        self.at_start = {
            pool: entry
            for pool, entry in self.at_start.items()
            if pool in self.born or (moved is not None and pool not in moved and pool not in was_young)
        }

    async def _moved(self, reader: Reader, old: BlockRef | None, start: BlockRef) -> set[str] | None:
        """The pools the logs touched in (old S, new S], or None when not known (not following, S moved back,
        the followed state is at another block than the reader's)."""
        followed, follow = self._followed, self.follow
        if follow is None or followed is None or old is None or followed.end != reader.block:
            return None
        if start.number < old.number:
            return None
        if old.number < followed.covered:  # the first move after a full read: its logs since the old S, once
            logs = await reader.logs(
                address=None, topics=[sorted(follow.topics)], from_block=old.number + 1, to_block=followed.covered
            )
            followed.cover(old.number, followed.touches(logs, follow.topics))
        return followed.moved(old.number, start.number)

    def gaps_at(self, block: BlockRef) -> tuple[YieldGap, ...]:
        """The pools whose rate the latest `rates` at `block` could not give, and why (none if not read)."""
        return self._gaps.get(block, ())

    def _keep_gaps(self, block: BlockRef, gaps: tuple[YieldGap, ...]) -> None:
        self._gaps.pop(block, None)
        self._gaps[block] = gaps
        while len(self._gaps) > MAX_GAP_BLOCKS:
            del self._gaps[next(iter(self._gaps))]  # the least recently read block

    def _row(self, pool: LpPool, apr: Fraction, window: Window, share: FeeShare | None) -> Yield:
        # Most pools earned nothing in the window and every pool of a block shares its window: their figures and
        # method text are made once, not once per pool (at mainnet's size, the rows are the block's CPU cost).
        figures = self._figures(apr)
        key = (window.start.hash, window.end.hash, window.limited_by)  # cheaper to hash than the window
        method = self._methods.get(key)
        if method is None:
            if len(self._methods) >= MAX_GAP_BLOCKS:
                self._methods.clear()
            method = self._methods[key] = self.model.method(window)
        return Yield(self.slug, pool.address, pool.asset, pool.symbol, YieldKind.LP_FEE, *figures, method, share)

    def _share_of(self, pool: LpPool, end: S, shared: FeeShare | None) -> FeeShare | None:
        """The pool's share of its fees: from its state at B (the model's knob), else the one every pool shares,
        else its own (read beside it by the adapter)."""
        if self.model.knob is not None:
            return self._fee_share(self.model.knob(end))
        return shared if shared is not None else pool.fee_share

    def _fee_share(self, raw: int) -> FeeShare:
        """The share a pool's knob value stands for, made once per value (most pools share one)."""
        share = self._shares.get(raw)
        if share is None:
            share = self._shares[raw] = FeeShare.read(self.slug, raw, self.model.knob_call)
        return share

    def _apr(self, pool: str, start: S, end: S, window: Window) -> Fraction:
        """The pool's APR over the window. A pool whose state at S and B is one it earned nothing at before
        earned nothing again, whatever the window's length: no arithmetic (most pools, most blocks). A window of
        0 s has no rate, idle or not (anvil mines many blocks a second: a pool's first block can share B's)."""
        if start == end and window.seconds > 0 and self._idle.get(pool) == end:
            return ZERO
        window_return = self.model.window_return(start, end)
        apr = annualize(window_return, window.seconds)  # raises for a 0-s window: before the pool is kept as idle
        if start == end and not window_return:
            self._idle[pool] = end
        return apr

    def _figures(self, apr: Fraction) -> tuple[Decimal, Decimal]:
        """APR and APY as stored; a zero's computed once."""
        if apr:
            return exact_decimal(apr), self.model.apy(apr)
        if self._zero is None:
            self._zero = (exact_decimal(apr), self.model.apy(apr))
        return self._zero

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
        if start != self._start:
            await self._move_start(reader, start)
        out: dict[str, tuple[Window, S] | _Missing] = {}
        to_read: dict[BlockRef, list[LpPool]] = defaultdict(list)
        for pool in ends:
            if pool.address not in self.born and pool.created is not None and pool.created > start.number:
                self.born[pool.address] = await self.clock.block(reader, pool.created)
            born = self.born.get(pool.address)
            at = born if born is not None and born.number > start.number else start
            cached = self.at_start.get(pool.address)
            if cached is not None and (cached[0] == at or (at == start and cached[0] != born)):
                # A state kept from an older S: nothing touched the pool since, so it is its state at S.
                out[pool.address] = (Window(at, end, self.window, "pool" if at == born else limited), cached[1])
            else:
                to_read[at].append(pool)
        reads = await asyncio.gather(
            *(self._read(reader.at(at), [p.address for p in group]) for at, group in to_read.items())
        )
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

    async def _read(self, reader: Reader, pools: Sequence[str]) -> list[S | _Missing]:
        """The states of the pools at these addresses at the reader's block, in one multicall."""
        calls = [self.model.reads(pool) for pool in pools]
        results = await reader.call_many([c for group in calls for c in group])
        return [self.state(group) for group in split_results(results, map(len, calls))]

    async def _young(
        self, reader: Reader, start: BlockRef, pools: list[tuple[LpPool, _Missing, S]]
    ) -> dict[str, tuple[Window, S] | _Missing]:
        """Pools with no state at S: younger than the window when they had no code or no liquidity there."""
        if not pools:
            return {}
        # Only a read that failed otherwise (a revert) asks whether the pool had code at S: at mainnet's size the
        # young are tens of thousands of pools, and an eth_getCode each would spend a free plan's budget for an hour.
        at_start = reader.at(start)
        unclear = [pool for pool, missing, _ in pools if missing.reason not in (NO_LIQUIDITY, NO_CODE)]
        found_code = await asyncio.gather(*(at_start.code(p.address) for p in unclear))
        codes = {p.address: code for p, code in zip(unclear, found_code, strict=True)}
        out: dict[str, tuple[Window, S] | _Missing] = {}
        young: list[tuple[LpPool, S]] = []
        for pool, missing, end_state in pools:
            if codes.get(pool.address):
                # The pool existed at S and its reads failed there: a failure, not youth.
                out[pool.address] = _Missing(f"at block {start.number}: {missing.reason}")
            else:
                young.append((pool, end_state))
        # Every young pool is bisected at once: pools probing the same block share its multicall and header, so
        # a world of 50,000 new pools costs a few requests per probed block, not ~11 round trips per pool.
        found = await asyncio.gather(*(self._first_with_liquidity(reader, p, start, e) for p, e in young))
        for (pool, _), (born, state) in zip(young, found, strict=True):
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
