"""Token balances of many (holder, token) pairs, moved forward by logs: each block re-reads only the holders its
logs name, plus the index of a rebasing token only when a log says it changed.

A rebasing or interest-bearing token changes every holder's ``balanceOf`` without a log naming the holder (a Lido
oracle report, Aave interest accruing each second). Its balance is kept the way the token itself keeps it — a
per-holder raw amount that changes only with a log naming the holder (stETH ``sharesOf``, an aToken's
``scaledBalanceOf``) times a per-token index — so an index change is one read, not one per holder. The index is
read when the token is first held and again only after a log that can change it (stETH's TokenRebased,
SharesBurnt or a mint; the reserve's ReserveDataUpdated); interest that accrues with time in between is computed
from what was read (`BalanceModel.index_at`). A plain ERC-20 keeps ``balanceOf`` itself.

    models = await balance_models(deployment, reader)    # `holdings_models`: WETH, stETH, aTokens; others plain
    held = HolderBalances(models)
    held.track([(strategy, steth), (pool, usdc)])
    await held.load(reader)                              # block N: every pair and index read
    touched = await held.advance(next_reader)            # block N+k: logs of N+1..N+k, then one call_many
    held.balance(strategy, steth)                        # == steth.balanceOf(strategy) at N+k, exactly
    held.changed                                         # tokens whose index moved in that step
    await held.reconcile(next_reader)                    # [] unless a balance moved without a log

Which logs name a holder is data too: every indexed address of a log whose topic0 is one of the model's (a
Transfer's from and to, a Mint's onBehalfOf, a SharesBurnt's account...) marks that (holder, token) touched.
Work per block is O(logs + touched + rebasing tokens held), never a loop over every tracked pair.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Final

from defiscope.chain.abi import checksum
from defiscope.chain.logs import log_hex
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.errors import DefiscopeError
from defiscope.protocols.holdings_models import BALANCE_OF, BalanceModel, IndexTrigger

#: (holder, token), both lowercase.
Pair = tuple[str, str]

#: Providers refuse `eth_getLogs` over more addresses than about this; past it, filter by topic and match locally.
MAX_LOG_ADDRESSES: Final = 1_000


class HoldingsError(DefiscopeError):
    """A balance asked for that is not known (not tracked, not read yet, or unreadable): the message says why."""


@dataclass(frozen=True, slots=True)
class Mismatch:
    """A tracked balance that differs from the token's own ``balanceOf`` at ``block`` (None: unknown, see reason)."""

    holder: str
    token: str
    block: int
    tracked: int | None
    actual: int | None
    reason: str = ""


class HolderBalances:
    """Balances of tracked (holder, token) pairs at one block, advanced by logs (see the module docstring)."""

    def __init__(self, models: Mapping[str, BalanceModel] | None = None) -> None:
        self.models: dict[str, BalanceModel] = {t.lower(): m for t, m in (models or {}).items()}
        self.block: int | None = None  # the block every known raw amount and index is at
        self.last_calls = 0  # calls the last refresh made (for tests and metrics)
        self.last_read: list[Pair] = []  # the pairs the last refresh read
        self.changed: set[str] = set()  # rebasing tokens (lowercase) whose index the last refresh moved
        self._raw: dict[Pair, int] = {}  # sharesOf / scaledBalanceOf / balanceOf, per pair
        self._failed: dict[Pair, str] = {}  # pairs whose read failed, with the reason
        self._unread: set[Pair] = set()  # tracked but not read yet: read by the next refresh
        self._holders: dict[str, set[str]] = {}  # token -> its tracked holders
        self._rebasing: set[str] = set()  # held tokens with an index
        self._stale: set[str] = set()  # held rebasing tokens whose index state the next refresh reads
        self._filter: tuple[list[str], list[str]] | None = None  # (addresses, topics) for the logs query, cached
        self._triggers: dict[str, list[tuple[str, IndexTrigger]]] = {}  # emitter -> (token, trigger), cached
        self._index_state: dict[str, tuple[int, ...]] = {}  # rebasing token -> what its index reads gave
        self._index: dict[str, tuple[int, ...]] = {}  # rebasing token -> its index at `block`
        self._index_failed: dict[str, str] = {}
        self._address: dict[str, str] = {}  # lowercase -> checksummed, for calls
        self._lock = asyncio.Lock()  # one advance at a time: concurrent readers must not interleave refreshes
        self._fetched: tuple[tuple[object, ...], asyncio.Future[list[Mapping[str, Any]]]] | None = None

    # ---------------------------------------------------------------- what is tracked

    def model(self, token: str) -> BalanceModel:
        """The token's model; a token without one is plain."""
        key = token.lower()
        found = self.models.get(key)
        if found is None:
            found = self.models[key] = BalanceModel.plain(token)
        return found

    def track(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Follow these (holder, token) pairs from now on; the next refresh reads them."""
        for holder, token in pairs:
            pair = (holder.lower(), token.lower())
            if pair in self._raw or pair in self._unread or pair in self._failed:
                continue
            self.model(token)
            self._address.setdefault(pair[0], checksum(holder))
            self._address.setdefault(pair[1], checksum(token))
            self._unread.add(pair)
            if pair[1] not in self._holders:
                self._token_added(pair[1])
            self._holders[pair[1]].add(pair[0])

    def untrack(self, pairs: Iterable[tuple[str, str]]) -> None:
        for holder, token in pairs:
            pair = (holder.lower(), token.lower())
            known = pair in self._raw or pair in self._unread or pair in self._failed
            self._raw.pop(pair, None)
            self._failed.pop(pair, None)
            self._unread.discard(pair)
            if known:
                self._holders[pair[1]].discard(pair[0])
                if not self._holders[pair[1]]:
                    self._token_dropped(pair[1])

    def _token_added(self, token: str) -> None:
        self._holders[token] = set()
        if self.models[token].rebasing:
            self._rebasing.add(token)
            self._stale.add(token)
        self._filter = None

    def _token_dropped(self, token: str) -> None:
        del self._holders[token]
        self._rebasing.discard(token)
        self._stale.discard(token)
        self._index_state.pop(token, None)
        self._index.pop(token, None)
        self._index_failed.pop(token, None)
        self._filter = None

    def forget(self, pairs: Iterable[tuple[str, str]]) -> None:
        """Read these tracked pairs again at the next refresh (a reconciliation found them wrong)."""
        for holder, token in pairs:
            pair = (holder.lower(), token.lower())
            if pair in self._raw or pair in self._failed:
                self._raw.pop(pair, None)
                self._failed.pop(pair, None)
                self._unread.add(pair)

    def __len__(self) -> int:
        return len(self._raw) + len(self._unread) + len(self._failed)

    def __contains__(self, pair: object) -> bool:
        if not isinstance(pair, tuple) or len(pair) != 2:
            return False
        key = (str(pair[0]).lower(), str(pair[1]).lower())
        return key in self._raw or key in self._unread or key in self._failed

    def holders(self, token: str) -> list[str]:
        """The tracked holders (lowercase) of a token."""
        return list(self._holders.get(token.lower(), ()))

    def tokens(self) -> list[str]:
        """Addresses whose logs can change a tracked balance: the held tokens and the emitters of their index
        triggers (an aToken's Pool), checksummed."""
        return list(self._log_filter()[0])

    def topics(self) -> list[str]:
        """The topic0s whose logs can change a tracked balance or a held token's index."""
        return list(self._log_filter()[1])

    def _log_filter(self) -> tuple[list[str], list[str]]:
        # Rebuilt only when a token is first held or last dropped, not every block.
        if self._filter is None:
            triggers: dict[str, list[tuple[str, IndexTrigger]]] = {}
            for token in self._rebasing:
                trigger = self.models[token].trigger
                if trigger is not None:
                    triggers.setdefault(trigger.emitter, []).append((token, trigger))
            addresses = [self._address[t] for t in self._holders]
            addresses += [checksum(e) for e in triggers if e not in self._holders]
            topics: set[str] = set().union(*(self.models[t].topics for t in self._holders))
            for _, trigger in (entry for entries in triggers.values() for entry in entries):
                topics |= trigger.topics | trigger.mint_topics
            self._triggers = triggers
            self._filter = (addresses, sorted(topics))
        return self._filter

    # ---------------------------------------------------------------- following the chain

    def touched(self, logs: Iterable[Mapping[str, Any]]) -> set[Pair]:
        """Tracked pairs that these raw logs name: a log of a tracked token with one of its model's topics
        names every address among its indexed topics."""
        found: set[Pair] = set()
        for log in logs:
            token = log_hex(log["address"])
            model = self.models.get(token)
            topics = log["topics"]
            if model is None or not topics or log_hex(topics[0]) not in model.topics:
                continue
            for word in topics[1:]:
                pair = ("0x" + log_hex(word)[-40:], token)
                if pair in self._raw or pair in self._failed or pair in self._unread:
                    found.add(pair)
        return found

    def index_touched(self, logs: Iterable[Mapping[str, Any]]) -> set[str]:
        """Held rebasing tokens (lowercase) whose index these raw logs may have changed (`IndexTrigger`)."""
        self._log_filter()  # builds `_triggers` when the held tokens changed
        found: set[str] = set()
        for log in logs:
            for token, trigger in self._triggers.get(log_hex(log["address"]), ()):
                if trigger.fires(log["topics"]):
                    found.add(token)
        return found

    async def refresh(self, reader: Reader, touched: Iterable[Pair], reindex: Iterable[str] = ()) -> None:
        """Re-read the touched pairs (and any not read yet) and the index of each held rebasing token in
        ``reindex`` (or never read), in one ``call_many`` at the reader's block; then every held index at the
        block's timestamp, `changed` saying which moved. ``touched`` and ``reindex`` must cover every log since
        `block` (see `advance`)."""
        block = reader.block.number
        if self.block is not None and block < self.block:
            raise HoldingsError(f"holder balances are at block {self.block}; cannot move back to {block}")
        pairs = [p for p in {*touched, *self._unread} if p in self._unread or p in self._raw or p in self._failed]
        stale = [self.models[t] for t in self._rebasing & {*self._stale, *reindex}]
        calls = [Call.of(self._address[t], self.models[t].holder_read, self._address[h]) for h, t in pairs]
        calls.extend(call for model in stale for call in model.index)
        results = await reader.call_many(calls) if calls else []
        self.last_calls, self.last_read = len(calls), pairs
        for pair, result in zip(pairs, results[: len(pairs)], strict=True):
            self._unread.discard(pair)
            if result.success:
                self._raw[pair] = result.one()
                self._failed.pop(pair, None)
            else:
                self._raw.pop(pair, None)
                self._failed[pair] = _why(result)
        at = len(pairs)
        for model in stale:
            found = results[at : at + len(model.index)]
            at += len(model.index)
            self._keep_index_state(model, found)
        self._move_indexes(reader.block.timestamp)
        self.block = block

    def _keep_index_state(self, model: BalanceModel, found: list[CallResult]) -> None:
        token = model.token.lower()
        failed = next((r for r in found if not r.success), None)
        if failed is None:
            self._index_state[token] = model.index_state([r.one() for r in found])
            self._index_failed.pop(token, None)
            self._stale.discard(token)
        else:  # read again by the next refresh
            self._index_state.pop(token, None)
            self._index_failed[token] = _why(failed)
            self._stale.add(token)

    def _move_indexes(self, timestamp: int) -> None:
        """Every held index at `timestamp` from its kept state (pure: O(rebasing tokens held))."""
        self.changed = set()
        for token in self._rebasing:
            state = self._index_state.get(token)
            index = None if state is None else self.models[token].index_at(state, timestamp)
            if index != self._index.get(token):
                self.changed.add(token)
                if index is None:
                    del self._index[token]
                else:
                    self._index[token] = index

    async def load(self, reader: Reader) -> None:
        """Read every tracked pair and index at the reader's block (the first read, or after losing the thread)."""
        self._unread.update(self._raw, self._failed)
        self._stale.update(self._rebasing)
        self.block = None
        await self.refresh(reader, ())

    async def advance(self, reader: Reader) -> set[Pair]:
        """Move to the reader's block: the logs since `block` (one query, by topic; by address too while the
        tokens are few enough for a provider), then `refresh` of what they touched. Returns the touched pairs."""
        async with self._lock:
            return await self._advance(reader)

    async def follow(self, reader: Reader, pairs: Iterable[tuple[str, str]]) -> HolderBalances:
        """`track` the pairs and `advance` to the reader's block; for a block older than `block` (no history is
        kept), a new HolderBalances of just these pairs, read in full at that block."""
        async with self._lock:
            if self.block is not None and reader.block.number < self.block:
                past = HolderBalances(self.models)
                past.track(pairs)
                await past.load(reader)
                return past
            self.track(pairs)
            await self._advance(reader)
            return self

    async def _advance(self, reader: Reader) -> set[Pair]:
        if self.block is None:
            await self.load(reader)
            return set()
        touched: set[Pair] = set()
        reindex: set[str] = set()
        if reader.block.number > self.block and self._holders:
            logs = await self._logs_since(reader, self.block + 1)
            touched, reindex = self.touched(logs), self.index_touched(logs)
        await self.refresh(reader, touched, reindex)
        return touched

    async def prefetch(self, reader: Reader) -> None:
        """Fetch the logs the next advance to the reader's block needs, so that a snapshot sends every adapter's
        logs in one request before any reads (`protocols.tracked.prefetch_logs`)."""
        if self.block is not None and reader.block.number > self.block and self._holders:
            await self._logs_since(reader, self.block + 1)

    def _logs_since(self, reader: Reader, from_block: int) -> asyncio.Future[list[Mapping[str, Any]]]:
        """The logs query of [from_block, reader's block], asked once per (range, block, filter) however many
        callers want it; a failed or cancelled fetch is asked again."""
        tokens, topics = self._log_filter()
        address = tokens if len(tokens) <= MAX_LOG_ADDRESSES else None
        key = (from_block, reader.block.hash, None if address is None else tuple(address), tuple(topics))
        if self._fetched is None or self._fetched[0] != key or _failed(self._fetched[1]):
            query = reader.logs(address=address, topics=[topics], from_block=from_block)
            self._fetched = (key, asyncio.ensure_future(query))
        return self._fetched[1]

    # ---------------------------------------------------------------- answers

    def balance(self, holder: str, token: str) -> int:
        """``token.balanceOf(holder)`` at `block`, from the kept raw amount and index."""
        pair = (holder.lower(), token.lower())
        why = self.reason(holder, token)
        if why is not None:
            raise HoldingsError(f"balance of {holder} in {token}: {why}")
        model = self.models[pair[1]]
        return model.combine(self._raw[pair], self._index.get(pair[1], ()))

    def reason(self, holder: str, token: str) -> str | None:
        """Why the pair's balance is not known, or None when it is."""
        pair = (holder.lower(), token.lower())
        if pair in self._failed:
            return self._failed[pair]
        if pair in self._unread:
            return "not read yet"
        if pair not in self._raw:
            return "not tracked"
        if pair[1] in self._index_failed:
            return f"index unreadable: {self._index_failed[pair[1]]}"
        return None

    async def reconcile(self, reader: Reader) -> list[Mismatch]:
        """Every tracked pair's ``balanceOf`` read at the reader's block (which must be `block`) and compared
        with the tracked balance: the differences, each with its block. Exactness means an empty list."""
        block = reader.block.number
        if self.block != block:
            raise HoldingsError(f"holder balances are at block {self.block}; cannot reconcile at {block}")
        pairs = [*self._raw, *self._failed]
        results = await reader.call_many([Call.of(self._address[t], BALANCE_OF, self._address[h]) for h, t in pairs])
        mismatches = []
        for (holder, token), result in zip(pairs, results, strict=True):
            why = self.reason(holder, token)
            tracked = None if why is not None else self.balance(holder, token)
            actual = result.one() if result.success else None
            if tracked != actual:
                reason = why or ("" if result.success else f"balanceOf: {_why(result)}")
                holder_, token_ = self._address[holder], self._address[token]
                mismatches.append(Mismatch(holder_, token_, block, tracked, actual, reason))
        return mismatches


def _failed(future: asyncio.Future[Any]) -> bool:
    return future.done() and (future.cancelled() or future.exception() is not None)


def _why(result: CallResult) -> str:
    return f"{result.call.describe()} failed: {result.error}"
