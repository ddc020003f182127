"""The control reads of many protocols at once, round by round: one HTTP request per round, however many ask.

    rounds = Rounds(reader, logs=ControlLogs())            # logs: kept between profiles (a cursor per address)
    surfaces = await rounds.run(read_everything(rounds))   # tasks inside use rounds.code/storage/call_many/...
    rounds.rounds                                          # 4: the depth of the deepest admin chain, not the width

Tasks read through `Rounds` (an account's code, a storage slot, view calls, the control events of an address) and
fan out through `Rounds.gather` and `Rounds.spawn`. A round goes out when every task that can still read waits for
one (a count, not a timer): the code, slots, calls (one Multicall3 aggregate) and log queries of every waiting
task go out in one JSON-RPC batch through the `Reader` (recorded as its provenance). Each read is asked once per
run and its answer shared, so a task may ask ahead (speculatively) what a later step will need: an item in a
batch, not a request. A task must not await anything else (a plain `asyncio.gather`): it would hold its round
back; a watchdog sends such a round anyway after `WATCHDOG_TURNS` turns of the event loop.

The control events (Upgraded, RoleGranted, RoleRevoked, Rely and the rely note, Aragon's SetApp and SetPermission,
EigenLayer's PauserStatusChanged)
of every address asked in a round are read with one `eth_getLogs` from the address's cursor in `ControlLogs` (block 0
the first time) to the pinned block; callers select the event and role they need from them. An Aragon app's grants
(`grants`: the SetPermission events naming it as the app, whichever ACL emitted them) are read the same way, by the
app's topic rather than by the emitter, so that they can be asked before its kernel's ACL is known.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass
from functools import wraps
from typing import Any, Concatenate, Final, ParamSpec, TypeVar

import structlog
from eth_utils import to_checksum_address

from defiscope.chain.block import BlockRef
from defiscope.chain.errors import InvalidInput
from defiscope.chain.log_plan import MAX_MERGED_ADDRESSES
from defiscope.chain.logs import log_int, topic_address
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.protocols.control import surface
from defiscope.protocols.surface import event_topic, note_topic

log = structlog.get_logger(__name__)

T = TypeVar("T")
A = TypeVar("A")
B = TypeVar("B")
P = ParamSpec("P")
Log = Mapping[str, Any]

#: topic0 of every event the control reads select from (one query asks them all).
CONTROL_TOPICS: Final = tuple(
    "0x" + topic.hex()
    for topic in (
        event_topic(surface.UPGRADED),
        event_topic(surface.NEW_IMPLEMENTATION),
        event_topic(surface.ROLE_GRANTED),
        event_topic(surface.ROLE_REVOKED),
        event_topic(surface.RELY),
        note_topic("rely(address)"),
        event_topic(surface.SET_APP),
        event_topic(surface.SET_PERMISSION),
        event_topic(surface.PAUSER_STATUS_CHANGED),
    )
)
#: topic0 of aragonOS's SetPermission(entity indexed, app indexed, role indexed, allowed): `Rounds.grants` asks by app.
SET_PERMISSION_TOPIC: Final = "0x" + event_topic(surface.SET_PERMISSION).hex()
#: Blocks before a cursor that a later profile reads again (replacing what was kept): reorgs are shallower.
REREAD_BLOCKS: Final = 64
#: Event-loop turns a round waits for a task that awaits something untracked before it goes out anyway.
WATCHDOG_TURNS: Final = 50


class ControlLogs:
    """The control events of each address read so far, with the block they were read to (its cursor): a later
    profile asks each address only for the blocks since, and again for the last `REREAD_BLOCKS` before them,
    replacing what was kept there (a reorg that shallow is healed). A profile at an older block, below that
    window, is served from what is kept. One per chain: it takes the chain of its first profile.

    ``first_block`` is where an address never read starts: the deployment's `Deployment.first_block` (no contract
    it lists emitted anything before; mainnet providers refuse a scan from genesis), 0 on a devnet."""

    __slots__ = ("_logs", "_to", "chain_id", "first_block")

    def __init__(self, first_block: int = 0) -> None:
        self._logs: dict[str, list[Log]] = {}
        self._to: dict[str, int] = {}
        self.chain_id: int | None = None
        self.first_block = first_block

    def bind(self, chain_id: int) -> None:
        """Keep events of ``chain_id`` only: addresses are the keys, and the same address on two chains is two."""
        if self.chain_id is not None and self.chain_id != chain_id:
            raise InvalidInput(
                f"these control events are chain {self.chain_id}'s: a profile of chain {chain_id} needs its own",
                chain_id=chain_id,
            )
        self.chain_id = chain_id

    def start(self, address: str) -> int:
        """The first block to read for ``address``: the start of the re-read window (`first_block`: never read)."""
        to = self._to.get(address.lower())
        return self.first_block if to is None else max(self.first_block, to - REREAD_BLOCKS + 1)

    def covers(self, address: str, block: int) -> bool:
        """Whether the events of ``address`` up to ``block`` are kept, and below the window that is read again."""
        return address.lower() in self._to and block < self.start(address)

    def add(self, address: str, logs: Sequence[Log], from_block: int, to_block: int) -> None:
        """The events of [from_block, to_block], in place of any kept from ``from_block`` on."""
        key = address.lower()
        kept = [entry for entry in self._logs.get(key, []) if log_int(entry["blockNumber"]) < from_block]
        self._logs[key] = kept + [entry for entry in logs if not entry.get("removed")]
        self._to[key] = to_block

    def up_to(self, address: str, block: int) -> list[Log]:
        return [entry for entry in self._logs.get(address.lower(), []) if log_int(entry["blockNumber"]) <= block]


class Rounds:
    """Reads of concurrent tasks, sent one round at a time (see the module's docstring)."""

    def __init__(self, reader: Reader, *, logs: ControlLogs | None = None) -> None:
        self.reader = reader
        self.logs = logs if logs is not None else ControlLogs()
        self.logs.bind(reader.chain_id)
        self.rounds = 0  # rounds sent (each one JSON-RPC batch)
        self._live = 0  # tasks running or waiting for a read (not those waiting for their children)
        self._blocked = 0  # tasks waiting for a read
        self._flush: asyncio.Task[None] | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._spawned: set[asyncio.Task[None]] = set()
        self._codes: dict[str, asyncio.Future[bytes]] = {}
        self._slots: dict[tuple[str, int], asyncio.Future[int]] = {}
        self._calls: dict[tuple[str, bytes, tuple[str, ...]], asyncio.Future[CallResult]] = {}
        self._events: dict[str, asyncio.Future[list[Log]]] = {}
        self._grants: dict[str, asyncio.Future[list[Log]]] = {}
        self._unsent: list[tuple[str, Any, Any]] = []  # (kind, key, what to ask) in the order asked

    @property
    def chain_id(self) -> int:
        return self.reader.chain_id

    @property
    def block(self) -> BlockRef:
        return self.reader.block

    @property
    def block_number(self) -> int:
        return self.reader.block.number

    # ------------------------------------------------------------------ tasks

    async def run(self, work: Awaitable[T]) -> T:
        """Run ``work`` (the root task) and every task it spawned to their end."""
        self._live += 1
        try:
            return await work
        finally:
            self._release()
            while self._spawned:
                await asyncio.gather(*self._spawned, return_exceptions=True)

    async def gather(self, *works: Awaitable[T]) -> list[T]:
        """Like `asyncio.gather`, counted: the caller waits while its children read. The first error is raised once
        every child has ended, so none is left reading."""
        if not works:
            return []
        remaining = len(works)
        self._live += remaining - 1  # the caller's place passes to its children, and back to it from the last one

        async def child(work: Awaitable[T]) -> T:
            nonlocal remaining
            try:
                return await work
            finally:
                remaining -= 1
                if remaining:
                    self._release()

        results = await asyncio.gather(*(child(work) for work in works), return_exceptions=True)
        for result in results:
            if isinstance(result, BaseException):
                raise result
        return list(results)  # type: ignore[arg-type]  # no exception is left in it

    async def both(self, first: Awaitable[A], second: Awaitable[B]) -> tuple[A, B]:
        """Two reads of different kinds side by side (`gather`, typed)."""
        answers = await self.gather(first, second)
        return answers[0], answers[1]  # type: ignore[return-value]  # each in its own place

    def spawn(self, work: Coroutine[Any, Any, object]) -> None:
        """Start ``work`` to ask ahead; nobody awaits it (its reads' answers are shared), `run` waits for its end."""
        self._live += 1
        task = asyncio.get_running_loop().create_task(self._ahead(work))
        self._spawned.add(task)
        task.add_done_callback(self._spawned.discard)

    async def _ahead(self, work: Coroutine[Any, Any, object]) -> None:
        try:
            await work
        except Exception:  # an answer asked ahead fails again for the task that needs it
            pass
        finally:
            self._release()

    def _release(self) -> None:
        self._live -= 1
        self._check()

    def _check(self) -> None:
        if self._flush is None and self._unsent and self._blocked >= self._live:
            self._flush = asyncio.get_running_loop().create_task(self._send())

    # ------------------------------------------------------------------ reads

    async def code(self, address: str) -> bytes:
        (found,) = await self._wait([self._ask(self._codes, "code", address.lower(), address)])
        return found

    async def storage(self, address: str, slot: int) -> int:
        (word,) = await self._wait([self._ask(self._slots, "slot", (address.lower(), slot), (address, slot))])
        return word

    async def call_many(self, calls: Sequence[Call]) -> list[CallResult]:
        return await self._wait([self._ask(self._calls, "call", _call_key(c), c) for c in calls])

    def answered(self, call: Call) -> CallResult | None:
        """``call``'s answer if it is already in (asked in a round sent), else None: nothing is asked."""
        future = self._calls.get(_call_key(call))
        return future.result() if future is not None and future.done() else None

    async def values(self, calls: Sequence[Call]) -> list[Any]:
        """Single outputs of calls that must all succeed; the first failure raises naming its call."""
        return [result.one() for result in await self.call_many(calls)]

    async def control_logs(self, address: str) -> list[Log]:
        """Every control event `address` emitted up to the pinned block, in chain order."""
        address = to_checksum_address(address)
        if self.logs.covers(address, self.block_number):
            return self.logs.up_to(address, self.block_number)
        (found,) = await self._wait([self._ask(self._events, "logs", address.lower(), address)])
        return found

    async def grants(self, app: str) -> list[Log]:
        """Every SetPermission event naming ``app`` as the app, from any emitter, up to the pinned block, in chain
        order (the caller keeps those of the ACL it trusts: anyone may emit the event)."""
        key = grants_key(app)
        if self.logs.covers(key, self.block_number):
            return self.logs.up_to(key, self.block_number)
        (found,) = await self._wait([self._ask(self._grants, "grants", key, to_checksum_address(app))])
        return found

    def prefetch(
        self,
        *,
        codes: Sequence[str] = (),
        slots: Sequence[tuple[str, int]] = (),
        calls: Sequence[Call] = (),
        emitters: Sequence[str] = (),
        granted_on: Sequence[str] = (),
    ) -> None:
        """Ask ahead, without waiting: the reads go out with the next round (whose answers a later step takes);
        ``granted_on``: apps whose grants (`grants`) to ask."""
        for address in codes:
            self._ask(self._codes, "code", address.lower(), address)
        for address, slot in slots:
            self._ask(self._slots, "slot", (address.lower(), slot), (address, slot))
        for call in calls:
            self._ask(self._calls, "call", _call_key(call), call)
        for address in emitters:
            if not self.logs.covers(address, self.block_number):
                self._ask(self._events, "logs", address.lower(), to_checksum_address(address))
        for app in granted_on:
            if not self.logs.covers(grants_key(app), self.block_number):
                self._ask(self._grants, "grants", grants_key(app), to_checksum_address(app))

    def _ask(self, memo: dict[Any, asyncio.Future[T]], kind: str, key: Any, what: Any) -> asyncio.Future[T]:
        future = memo.get(key)
        if future is None:
            future = memo[key] = asyncio.get_running_loop().create_future()
            future.add_done_callback(_retrieved)
            self._unsent.append((kind, key, what))
        return future

    async def _wait(self, futures: Sequence[asyncio.Future[T]]) -> list[T]:
        pending = [f for f in futures if not f.done()]
        if pending:
            self._blocked += 1
            self._check()
            if self._flush is None and self._watchdog is None:
                self._watchdog = asyncio.get_running_loop().create_task(self._watch())
            await asyncio.wait(pending)
        return [f.result() for f in futures]

    async def _watch(self) -> None:
        for _ in range(WATCHDOG_TURNS):
            await asyncio.sleep(0)
            if self._flush is not None or not self._unsent:
                break
        else:
            log.warning("control.rounds.untracked_wait", unsent=len(self._unsent), live=self._live)
            self._flush = asyncio.get_running_loop().create_task(self._send())
        self._watchdog = None

    async def _send(self) -> None:
        """One round: every unsent read in one JSON-RPC batch; each waiting task gets its answer or its error."""
        asked, self._unsent = self._unsent, []
        self.rounds += 1
        reader = self.reader
        codes = [what for kind, _, what in asked if kind == "code"]
        slots = [what for kind, _, what in asked if kind == "slot"]
        calls = [what for kind, _, what in asked if kind == "call"]
        emitters = [what for kind, _, what in asked if kind == "logs"]
        apps = [what for kind, _, what in asked if kind == "grants"]
        queries = [*self._queries(emitters, by_app=False), *self._queries(apps, by_app=True)]
        found_codes, found_slots, found_calls, found_events = await asyncio.gather(
            asyncio.gather(*(reader.code(a) for a in codes), return_exceptions=True),
            asyncio.gather(*(reader.storage(a, s) for a, s in slots), return_exceptions=True),
            _settled(reader.call_many(calls, with_node_reads=True)),
            asyncio.gather(*(self._events_since(query) for query in queries)),
        )
        # Every answer is in before any waiting task wakes: a task that woke early would ask into a round that is
        # being answered, and be forgotten.
        self._blocked = 0
        self._flush = None
        _resolve(self._codes, [a.lower() for a in codes], found_codes)
        _resolve(self._slots, [(a.lower(), s) for a, s in slots], found_slots)
        call_answers: Sequence[object] = found_calls if isinstance(found_calls, list) else [found_calls] * len(calls)
        _resolve(self._calls, [_call_key(c) for c in calls], call_answers)
        for query, events in zip(queries, found_events, strict=True):
            _resolve(self._grants if query.by_app else self._events, [query.key(a) for a in query.addresses], events)
        if self._unsent and self._watchdog is None:
            # Asked while this round was out (a task back from an untracked await): its wait was counted before
            # the count was reset above, so no count sends it; the watchdog does.
            self._watchdog = asyncio.get_running_loop().create_task(self._watch())

    def _queries(self, addresses: Sequence[str], *, by_app: bool) -> list[_EventQuery]:
        """One query per cursor start and at most `MAX_MERGED_ADDRESSES` addresses: by emitter, or by app."""
        by_start: dict[int, list[str]] = {}
        for address in addresses:
            by_start.setdefault(self.logs.start(_log_key(address, by_app)), []).append(address)
        return [
            _EventQuery(start, tuple(group[i : i + MAX_MERGED_ADDRESSES]), by_app)
            for start, group in by_start.items()
            for i in range(0, len(group), MAX_MERGED_ADDRESSES)
        ]

    async def _events_since(self, query: _EventQuery) -> list[list[Log] | Exception]:
        """The events of each address of ``query`` to the pinned block (kept in `ControlLogs`), or why not."""
        try:
            found = await self.reader.logs(**query.filter(), from_block=query.start, with_node_reads=True)
        except Exception as exc:
            return [exc] * len(query.addresses)
        by_address: dict[str, list[Log]] = {a.lower(): [] for a in query.addresses}
        for entry in found:
            owner = topic_address(entry["topics"][2]) if query.by_app else str(entry["address"])
            by_address.setdefault(owner.lower(), []).append(entry)
        for address in query.addresses:
            self.logs.add(query.key(address), by_address[address.lower()], query.start, self.block_number)
        return [self.logs.up_to(query.key(address), self.block_number) for address in query.addresses]


def grants_key(app: str) -> str:
    """Where `ControlLogs` keeps an app's grants (`Rounds.grants`), apart from the events it emitted itself."""
    return "grants:" + app.lower()


def _log_key(address: str, by_app: bool) -> str:
    return grants_key(address) if by_app else address.lower()


@dataclass(frozen=True, slots=True)
class _EventQuery:
    """One eth_getLogs of a round: the control events of emitters, or the grants (SetPermission) naming apps."""

    start: int
    addresses: tuple[str, ...]
    by_app: bool

    def key(self, address: str) -> str:
        return _log_key(address, self.by_app)

    def filter(self) -> dict[str, Any]:
        if self.by_app:
            apps = ["0x" + "00" * 12 + a[2:].lower() for a in self.addresses]
            return {"address": None, "topics": [[SET_PERMISSION_TOPIC], None, apps]}
        return {"address": list(self.addresses), "topics": [list(CONTROL_TOPICS)]}


def _call_key(call: Call) -> tuple[str, bytes, tuple[str, ...]]:
    """The same call asked twice (its outputs too: one decoding does not serve another)."""
    return call.target.lower(), call.calldata, call.function.outputs


async def _settled(work: Awaitable[T]) -> T | BaseException:
    try:
        return await work
    except Exception as exc:
        return exc


def _resolve(memo: Mapping[Any, asyncio.Future[Any]], keys: Sequence[Any], answers: Sequence[object]) -> None:
    for key, answer in zip(keys, answers, strict=True):
        future = memo[key]
        if future.done():
            continue
        if isinstance(answer, BaseException):
            future.set_exception(answer)
        else:
            future.set_result(answer)


def _retrieved(future: asyncio.Future[Any]) -> None:
    """An answer asked ahead and never used may be an error: mark it seen (whoever uses it still gets it)."""
    if not future.cancelled():
        future.exception()


def in_rounds(
    read: Callable[Concatenate[Rounds, P], Coroutine[Any, Any, T]],
) -> Callable[Concatenate[Reader | Rounds, P], Coroutine[Any, Any, T]]:
    """A control read that takes a plain `Reader` too: it then runs in rounds of its own."""

    @wraps(read)
    async def with_reader(reader: Reader | Rounds, /, *args: P.args, **kwargs: P.kwargs) -> T:
        if isinstance(reader, Rounds):
            return await read(reader, *args, **kwargs)
        rounds = Rounds(reader)
        return await rounds.run(read(rounds, *args, **kwargs))

    return with_reader
