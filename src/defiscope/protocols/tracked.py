"""State from events: a DEX's holdings kept in memory and moved forward block by block from its logs.

The first snapshot reads every pool in full (the adapter's `read_all`). Each later block costs one address-less
`eth_getLogs` over the adapter's topics (filtered here against the tracked pools) plus, in the shared multicall,
one `getBlockHash` of the tracked block (a reorg check) and whatever `changes` must re-read; per-token totals
are updated as values change, so a block's cost follows what changed, not how many pools there are.

    adapter = V3Adapter(deployment, UNISWAP_V3)       # a TrackedAdapter
    await adapter.positions(reader)                    # first: full read; then: logs + touched re-reads
    adapter.state.listing()                            # per (pool, token) holdings, for explain
    mismatches = await adapter.reconcile(reader)       # full re-read compared with the tracked state

Tracked state only moves forward: a snapshot at a block older than the tracked one is a full read that leaves
the state alone. A tracked block that is no longer the chain's (a reorg), a gap wider than the EVM's
`BLOCKHASH` window, or logs that come from another fork than the pinned block reload the state in full.
"""

from __future__ import annotations

import asyncio
import bisect
from abc import abstractmethod
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol, TypeVar, runtime_checkable

import structlog

from defiscope.chain.block import BlockRef
from defiscope.chain.logs import log_hex, log_int
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Reader
from defiscope.chain.registry import CHAINS, MULTICALL3
from defiscope.errors import InputError
from defiscope.protocols.base import Adapter, AdapterError, BalanceKind, Position, Uncounted
from defiscope.protocols.log_cursor import LogCursor
from defiscope.protocols.surface import ContractUse

log = structlog.get_logger(__name__)
T = TypeVar("T")

#: (holder, token), checksum addresses.
Key = tuple[str, str]
#: What one read of a holding gave: the amount, or why it could not be read.
Reading = int | str

#: Multicall3's `getBlockHash(n)` is `blockhash(n)`: the chain's hash of one of the 256 blocks before the pinned
#: one, 0 beyond them. Asked in the snapshot's multicall, it checks the tracked block at no extra request.
GET_BLOCK_HASH: Final = "getBlockHash(uint256)(bytes32)"
BALANCE_OF: Final = "balanceOf(address)(uint256)"
BLOCKHASH_WINDOW: Final = 256
#: A DEX tracking more pools than this makes its LP fee rates every `LP_FEE_INTERVAL` blocks instead of every
#: block. Following the pools makes each rate's reads O(changes), but a rate is still one row per pool, built and
#: stored per block (O(pools) CPU and storage a block: about 1 s and 50,000 rows for 50,000 pools), and a rate
#: over a trailing day moves little within the hour (DefiLlama's yields refresh hourly).
LP_FEE_EVERY_BLOCK_UP_TO: Final = 1_000
#: Under `BLOCKHASH_WINDOW`, so that the followed rates' ancestor check still reaches the last rated block and a
#: due block re-reads only the pools touched since (48 minutes of Ethereum's 12-s blocks).
LP_FEE_INTERVAL: Final = 240


class StateBehind(InputError):
    """A reconciliation asked at a block older than the tracked one (tracked state only moves forward)."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A tracked value that differs from the chain's at `block`: an error (a missed event, a rebasing token)."""

    protocol: str
    pool: str
    token: str
    tracked: Reading | None  # None: not tracked at all
    chain: Reading
    block: BlockRef


class Holdings:
    """(holder, token) -> amount at `block`, with each token's total and holder count kept as amounts change, and
    each token's `Position` rebuilt only when its total changed (a block's cost follows what it changed)."""

    __slots__ = ("_changed", "_positions", "amounts", "block", "counts", "failed", "noun", "totals")

    def __init__(self, block: BlockRef, noun: str = "pools") -> None:
        self.block = block
        self.noun = noun  # how positions' labels count holders: "12 pools"
        self.amounts: dict[Key, int] = {}
        self.failed: dict[Key, str] = {}  # holdings that could not be read, and why
        self.totals: dict[str, int] = {}
        self.counts: dict[str, int] = {}
        self._positions: dict[str, Position] = {}
        self._changed: set[str] = set()  # tokens whose position is out of date

    @classmethod
    def of(cls, block: BlockRef, readings: Mapping[Key, Reading], noun: str = "pools") -> Holdings:
        held = cls(block, noun)
        held.update(readings)
        return held

    def get(self, key: Key) -> Reading | None:
        return self.amounts.get(key, self.failed.get(key))

    def set(self, key: Key, reading: Reading) -> None:
        token = key[1]
        old = self.amounts.pop(key, None)
        if old is not None:
            self.totals[token] -= old
            self.counts[token] -= 1
        self.failed.pop(key, None)
        self._changed.add(token)
        if isinstance(reading, str):
            self.failed[key] = reading
            return
        self.amounts[key] = reading
        self.totals[token] = self.totals.get(token, 0) + reading
        self.counts[token] = self.counts.get(token, 0) + 1

    def update(self, readings: Mapping[Key, Reading]) -> None:
        for key, reading in readings.items():
            self.set(key, reading)

    def positions(self) -> list[Position | Uncounted]:
        """One position per token (its total over every holder), and each unreadable holding with its reason."""
        for token in self._changed:
            if self.counts.get(token):
                label = f"{self.counts[token]} {self.noun}"
                self._positions[token] = Position(token, self.totals[token], BalanceKind.TVL, None, label)
            else:
                self._positions.pop(token, None)
        self._changed.clear()
        held: list[Position | Uncounted] = list(self._positions.values())
        held += [Uncounted(holder, token, reason) for (holder, token), reason in self.failed.items()]
        return held

    def per_holder(self) -> list[Position | Uncounted]:
        """One position per (holder, token), and each unreadable holding: O(holdings), for rules that weigh each
        pool's sides (DefiLlama's long-tail rule), not for every block at mainnet's size."""
        label = self.noun.removesuffix("s")
        held: list[Position | Uncounted] = [
            Position(t, a, BalanceKind.TVL, h, f"{label} {h}") for (h, t), a in self.amounts.items()
        ]
        held += [Uncounted(holder, token, reason) for (holder, token), reason in self.failed.items()]
        return held

    def listing(self) -> list[tuple[str, str, Reading]]:
        """Every (holder, token, amount or reason), sorted: what the per-token totals are the sum of."""
        return sorted(
            [(h, t, a) for (h, t), a in self.amounts.items()] + [(h, t, r) for (h, t), r in self.failed.items()]
        )

    def differences(self, chain: Mapping[Key, Reading]) -> list[tuple[Key, Reading | None, Reading]]:
        """(key, tracked, chain) wherever the chain's readings differ from these (a reason differs from an amount,
        not from another reason: why a read failed may be worded differently from one node to the next)."""
        found = []
        for key, actual in chain.items():
            tracked = self.get(key)
            if isinstance(actual, str) and isinstance(tracked, str):
                continue
            if tracked != actual:
                found.append((key, tracked, actual))
        return found


class TrackedAdapter(Adapter):
    """A DEX adapter whose holdings follow the chain from events (see the module docstring).

    Subclasses give the topics of the events that move their holdings, the full read, and how a range of logs
    changes the tracked holdings."""

    noun = "pools"  # how positions' labels count holders: "12 pools"
    state: Holdings | None = None
    #: One position per (pool, token) instead of per token: what a rule weighing each pool's two sides needs
    #: (DefiLlama's long-tail rule); costs O(pools) a block.
    per_pool = False

    def yields_due(self, block: BlockRef) -> bool:
        held = self.state
        holdings = 0 if held is None else len(held.amounts) + len(held.failed)  # two per pool
        return holdings <= 2 * LP_FEE_EVERY_BLOCK_UP_TO or block.number % LP_FEE_INTERVAL == 0

    @property
    def _lock(self) -> asyncio.Lock:
        # Created lazily: an adapter may be built outside a running event loop.
        lock: asyncio.Lock | None = self.__dict__.get("_state_lock")
        if lock is None:
            lock = self.__dict__["_state_lock"] = asyncio.Lock()
        return lock

    @abstractmethod
    def event_topics(self) -> Sequence[str]:
        """topic0 of every event (from any contract) that can change a tracked holding."""

    @abstractmethod
    async def read_all(self, reader: Reader) -> dict[Key, Reading]:
        """Every holding at the reader's block, read in full (first load, older blocks, reconciliation)."""

    @abstractmethod
    def start_tracking(self, block: int) -> None:
        """Track exactly the pools that existed at `block` (a full load is about to become the state)."""

    def corrected(self, keys: Sequence[Key]) -> None:
        """A reconciliation set these holdings right in the tracked state: drop whatever else was kept about them
        (a rebasing balance's raw amount). Nothing by default."""

    async def track_from(self, reader: Reader) -> None:
        """After `start_tracking` and a full read at the reader's block: load whatever else following needs there
        (a DEX holding rebasing tokens: their raw amounts and indexes, `pool_balances`). Nothing by default."""

    @abstractmethod
    async def changes(self, reader: Reader, logs: Sequence[Mapping[str, Any]], since: int) -> dict[Key, Reading]:
        """New readings of the holdings that blocks (since, reader's block] changed, given their logs (address-
        less, every topic of `event_topics`, in chain order; the log cursors already scanned to the reader's
        block); pools created in that range are tracked from here on. Must be idempotent until the state moves:
        a reorg found meanwhile drops its readings and reloads."""

    async def positions(self, reader: Reader) -> Sequence[Position | Uncounted]:
        held = await self.advance(reader)
        if held is None:  # an older block: a full read, and the tracked state stays where it is
            held = Holdings.of(reader.block, await self.read_all(reader), self.noun)
        return self._positions(held)

    async def advance(self, reader: Reader) -> Holdings | None:
        """The tracked state moved to the reader's block, or None for a block older than the tracked one (the
        state only moves forward). Once per block: whoever asks first (`positions`, or the chain's shared
        `routing.dex_state.DexState`) reads, with its reader; later askers at that block read nothing."""
        async with self._lock:
            state = self.state
            if state is not None and reader.block.number < state.block.number:
                return None
            return await self._advance(reader)

    def _positions(self, held: Holdings) -> list[Position | Uncounted]:
        """The positions of `held`; when not one holding could be read, the protocol as a whole could not be."""
        if held.failed and not held.amounts:
            (holder, token), reason = next(iter(held.failed.items()))
            raise AdapterError(
                f"{self.info.slug}: none of {len(held.failed)} holdings could be read at block {held.block.number} "
                f"on chain {held.block.chain_id}; first, {token} held by {holder}: {reason}"
            )
        return held.per_holder() if self.per_pool else held.positions()

    async def reconcile(self, reader: Reader) -> list[Mismatch]:
        """Re-read every holding at the reader's block and compare with the tracked state moved to that block.

        Each difference is logged as an error (`state.reconcile_mismatch`) and the tracked value corrected."""
        async with self._lock:
            if self.state is not None and reader.block.number < self.state.block.number:
                raise InputError(
                    f"{self.info.slug}: cannot reconcile at block {reader.block.number}: the tracked state is at "
                    f"block {self.state.block.number} and only moves forward"
                )
            loaded = self.state is None
            state = await self._advance(reader)
            if loaded:
                return []  # the state was just read in full at this block
            found = state.differences(await self.read_all(reader))
            mismatches = [Mismatch(self.info.slug, key[0], key[1], old, new, state.block) for key, old, new in found]
            for m in mismatches:
                log.error(
                    "state.reconcile_mismatch",
                    protocol=m.protocol,
                    chain_id=m.block.chain_id,
                    block=m.block.number,
                    pool=m.pool,
                    token=m.token,
                    tracked=m.tracked,
                    chain=m.chain,
                )
                state.set((m.pool, m.token), m.chain)
            self.corrected([(m.pool, m.token) for m in mismatches])
            return mismatches

    async def _advance(self, reader: Reader) -> Holdings:
        """The tracked state moved to the reader's block (the lock held; not older than the tracked block)."""
        state = self.state
        block = reader.block
        if state is not None and await self._follow(reader, state):
            return state
        readings = await self.read_all(reader)
        self.start_tracking(block.number)
        await self.track_from(reader)
        self.state = Holdings.of(block, readings, self.noun)
        if state is not None:
            log.info("state.reloaded", protocol=self.info.slug, block=block.number, was=state.block.number)
        return self.state

    async def prefetch(self, reader: Reader) -> None:
        """Fetch the logs the next snapshot at the reader's block needs (with the cursors' new logs), so that the
        engine can send every adapter's logs in one request before any reads, and every read in one multicall."""
        state = self.state
        if state is not None and 0 < reader.block.number - state.block.number <= BLOCKHASH_WINDOW:
            await self._logs_since(reader, state.block.number + 1)
        else:
            await asyncio.gather(*(cursor.scan(reader) for cursor in self.log_cursors()))

    def _logs_since(self, reader: Reader, from_block: int) -> asyncio.Future[list[Mapping[str, Any]]]:
        """The tracked topics' logs of [from_block, reader's block], with the cursors scanned to that block;
        asked once per (range, pinned block) however many callers want them (the latest range is kept): the
        holdings and the LP fee rates (`LpFeeTracker`, `PoolLogs`) follow the same logs."""
        key = (from_block, reader.block.hash)
        pending = self.__dict__.get("_prefetched")
        if pending is None or pending[0] != key or _failed(pending[1]):  # a failed or cancelled fetch is retried
            pending = (key, asyncio.ensure_future(self._fetch_logs(reader, from_block)))
            self.__dict__["_prefetched"] = pending
        return pending[1]

    async def _fetch_logs(self, reader: Reader, from_block: int) -> list[Mapping[str, Any]]:
        found, *_ = await asyncio.gather(
            reader.logs(address=None, topics=[list(self.event_topics())], from_block=from_block),
            *(cursor.scan(reader) for cursor in self.log_cursors()),
        )
        return sorted(found, key=lambda e: (log_int(e["blockNumber"]), log_int(e["logIndex"])))

    async def _follow(self, reader: Reader, state: Holdings) -> bool:
        """Move `state` to the reader's block from the logs in between; False when it must be reloaded."""
        block, tracked = reader.block, state.block
        gap = block.number - tracked.number
        if gap == 0:
            return block.hash == tracked.hash
        if gap > BLOCKHASH_WINDOW:
            return False
        found = await self._logs_since(reader, tracked.number + 1)
        if any(
            log_int(e["blockNumber"]) == block.number and log_hex(e["blockHash"]) != block.hash.lower() for e in found
        ):
            return False  # the logs came from another fork than the pinned block
        # The reorg check and the re-reads go in the same multicall: the re-reads are dropped if it fails.
        ancestor, readings = await asyncio.gather(
            reader.call(block_hash_call(reader.chain_id, tracked.number)),
            self.changes(reader, found, tracked.number),
        )
        if not ancestor.success or log_hex(ancestor.one()) != tracked.hash.lower():
            log.warning("state.reorg", protocol=self.info.slug, block=tracked.number, hash=tracked.hash)
            return False
        state.update(readings)
        state.block = block
        return True


async def refresh_balances(reader: Reader, touched: Iterable[Key]) -> dict[Key, Reading]:
    """`balanceOf(holder)` of each (holder, token), in one multicall; a failed read gives its reason, not 0."""
    keys = list(touched)
    results = await reader.call_many([Call.of(token, BALANCE_OF, holder) for holder, token in keys])
    return {
        key: result.value[0] if result.success else f"balanceOf({key[0]}) failed: {result.error}"
        for key, result in zip(keys, results, strict=True)
    }


@runtime_checkable
class Prefetching(Protocol):
    """An adapter whose logs do not all come from its cursors (tracked state, `HolderBalances`) says which."""

    async def prefetch(self, reader: Reader) -> None: ...


async def prefetch_logs(adapter: Adapter, reader: Reader) -> None:
    """The logs an adapter's next read at the reader's block needs: its own `prefetch`, else its cursors'."""
    if isinstance(adapter, Prefetching):
        await adapter.prefetch(reader)
    else:
        await asyncio.gather(*(cursor.scan(reader) for cursor in adapter.log_cursors()))


def _failed(future: asyncio.Future[Any]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)


def block_hash_call(chain_id: int, number: int) -> Call:
    """Multicall3's `getBlockHash(number)`: asked at a pinned block, whether block `number` (one of the 256 before
    it) is its ancestor, at no request of its own (it goes in the block's multicall)."""
    known = CHAINS.get(chain_id)
    return Call.of(known.multicall3 if known is not None else MULTICALL3, GET_BLOCK_HASH, number)


def created_between(cursor: LogCursor[T], after: int, upto: int) -> list[T]:
    """`cursor.between(after, upto)` by bisection: the cursor's entries are in chain order, and a block's new
    pools must not cost a pass over every pool ever created."""
    entries = cursor.entries
    start = bisect.bisect_right(entries, after, key=lambda entry: entry[0])
    stop = bisect.bisect_right(entries, upto, lo=start, key=lambda entry: entry[0])
    return [item for _, _, item in entries[start:stop]]


def block_hash_check() -> ContractUse:
    """What the reorg check reads, for an adapter's `surface`."""
    return ContractUse(
        "Multicall3 (hash of the tracked block, a reorg check)",
        "common/Multicall3",
        (GET_BLOCK_HASH,),
        address=MULTICALL3,
    )


def topic_holder(topic: Any) -> str:
    """The lowercase address an indexed address topic holds (lookups here are keyed by lowercase address)."""
    return "0x" + log_hex(topic)[-40:]


def by_lowercase(addresses: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    return {address.lower(): item for address, item in addresses}
