"""The adapter contract: what a protocol adapter reads, returns and records.

An adapter knows one protocol on one or more chains. Given a block-pinned `Reader` it returns the raw
integer balances the protocol holds, as `Position`s split by kind (`tvl`, `borrowed`, `staking`, `pool2`),
each saying whether its token is a receipt of another protocol (for double counting). It never prices and
never stores. One pool or vault it cannot read is returned as `Uncounted` with its reason (listed beside the
figure, never a 0); when the protocol as a whole cannot be read (its registry, its factory) it raises
`AdapterError`. The same code runs on mainnet and on the devnet; only the `Deployment` differs.

    class Treasury(Adapter):
        info = ProtocolInfo(slug="treasury", name="Treasury", category="Treasury", methodology="...")

        async def positions(self, reader: Reader) -> list[Position]:
            ...
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import structlog

from defiscope.chain.block import BlockRef
from defiscope.chain.multicall import CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment
from defiscope.errors import DefiscopeError
from defiscope.protocols.events import EventStream
from defiscope.protocols.log_cursor import LogCursor
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.yields import EVERY_MARKET, Yield, YieldGap

log = structlog.get_logger(__name__)


class BalanceKind(StrEnum):
    """DefiLlama's split of what a protocol holds."""

    TVL = "tvl"
    BORROWED = "borrowed"
    STAKING = "staking"
    POOL2 = "pool2"


@dataclass(frozen=True, slots=True)
class CallRecord:
    """One contract call an adapter made, kept for provenance."""

    target: str
    function: str  # signature, e.g. "getReserves()"
    args: tuple[object, ...]
    result: object  # decoded, JSON-serialisable
    success: bool = True
    block: int | None = None  # the block it was read at, when not the result's own (a `Reader.at` read)

    @staticmethod
    def of(result: CallResult) -> CallRecord:
        call = result.call
        value: object = _jsonable(result.value if len(result.value) != 1 else result.value[0])
        return CallRecord(
            call.target,
            call.function.signature,
            tuple(_jsonable(a) for a in call.args),
            value if result.success else result.error,
            result.success,
            None if result.block is None else result.block.number,
        )


def _jsonable(value: Any) -> Any:
    """bytes become 0x-hex; tuples and lists recurse; ints, strings and bools stay."""
    if isinstance(value, bytes):
        return "0x" + value.hex()
    if isinstance(value, tuple | list):
        return tuple(_jsonable(v) for v in value)
    return value


@dataclass(frozen=True, slots=True)
class Position:
    """An amount of one token a protocol holds, of one kind."""

    token: str  # checksum address
    amount: int  # raw integer units
    kind: BalanceKind = BalanceKind.TVL
    holder: str | None = None  # the contract holding it (pool, vault)
    label: str = ""  # what it is, for people: "WETH/USDC pair"
    receipt_of: str | None = None  # slug of the protocol that issued this token (counted once in totals)


@dataclass(frozen=True, slots=True)
class Uncounted:
    """A position the adapter could not read (a token without code, a reverting `balanceOf`, a pool whose
    state will not decode): listed with its reason beside the figure, never counted as 0, and never a reason
    to fail the rest of the protocol."""

    holder: str  # the pool or vault whose holding could not be read
    token: str | None  # the token, when known
    reason: str
    label: str = ""
    kind: BalanceKind = BalanceKind.TVL


@dataclass(frozen=True, slots=True)
class ProtocolInfo:
    slug: str
    name: str
    category: str
    methodology: str
    url: str = ""
    #: For `defiscope methodology`: what the figure counts, how its contracts are found, and where (and why)
    #: it differs from DefiLlama's adapter for the same protocol.
    counts: str = ""
    discovery: str = ""
    defillama_difference: str = ""


@dataclass(frozen=True, slots=True)
class AdapterResult:
    """What one adapter read at one block on one chain."""

    protocol: ProtocolInfo
    block: BlockRef
    positions: tuple[Position, ...]
    calls: tuple[CallRecord, ...]
    yields: tuple[Yield, ...] = ()
    yields_unavailable: tuple[YieldGap, ...] = ()  # rates that could not be read here, and why (never a 0)
    uncounted: tuple[Uncounted, ...] = ()  # positions that could not be read, and why (left out, never a 0)


class AdapterError(DefiscopeError):
    """An adapter could not read what its figure needs; the message names the protocol, call and reason."""


class Adapter(ABC):
    """One protocol on one chain. Subclasses set `info` (class or instance) and implement `positions`."""

    info: ProtocolInfo

    def __init__(self, deployment: Deployment) -> None:
        self.deployment = deployment

    def receipt_tokens(self) -> Collection[str]:
        """Tokens this protocol issues as receipts of deposits (LP tokens, aTokens, stETH), as known so far.

        Another protocol holding one of them holds a claim on this protocol's assets: the engine marks such
        positions `receipt_of=<this slug>` so aggregate totals count the underlying once.
        """
        return ()

    def surface(self) -> tuple[ContractUse, ...]:
        """Every contract this protocol's adapter, risk and yield code reads on this deployment, with the calls
        and events (see `defiscope.protocols.surface`); checked against the real ABIs in ``tests/mainnet/``."""
        return ()

    def found_contracts(self, block: int) -> Mapping[str, tuple[str, ...]] | None:
        """The contracts this adapter found at run time that existed by ``block``, by the name of their kind in
        `surface` (the uses without an address): what its reads discovered so far, from memory (no read). None: no
        read of it reached ``block`` yet. A kind left out is one it keeps no list of (the control surface says
        so, never "none found"); by default it keeps none."""
        return {}

    def log_cursors(self) -> Sequence[LogCursor[Any]]:
        """The event cursors this adapter discovers with, so the service can persist and roll them back.

        By default every `LogCursor` held directly as an attribute of the adapter."""
        return [value for value in vars(self).values() if isinstance(value, LogCursor)]

    def event_streams(self) -> Sequence[EventStream]:
        """The events this protocol wants kept in the store (oracle reports, proposals): the service scans each
        stream as it indexes, stores what its `parse` returns, and serves them back by (slug, kind). None by
        default; see `defiscope.protocols.events`."""
        return ()

    @abstractmethod
    async def positions(self, reader: Reader) -> Sequence[Position | Uncounted]:
        """Everything the protocol holds at the reader's block.

        One pool or vault that cannot be read is returned as `Uncounted` with its reason, and the rest stands;
        raise `AdapterError` only when the protocol as a whole cannot be read (its registry, its factory)."""

    async def yields(self, reader: Reader) -> list[Yield]:
        """Optional: the protocol's rates at the reader's block (supply, borrow, staking); none by default."""
        return []

    def yield_gaps(self, block: BlockRef) -> Sequence[YieldGap]:
        """Optional: the markets whose rate `yields` could not read at `block`, and why; none by default.

        Called by `read` right after `yields` returned at `block`. Keyed by block because the engine may read
        one adapter at several blocks at once (backfill workers).
        """
        return ()

    def yields_due(self, block: BlockRef) -> bool:
        """Whether `read` reads rates at `block` (default: every block). A block without them stores none, so
        the newest block that read them is served, with its own block number (never as this block's)."""
        return True

    def reads_yields(self) -> bool:
        """Whether this adapter reads rates at all (overrides `yields`): a failed read of it leaves a gap."""
        return type(self).yields is not Adapter.yields

    async def read(self, reader: Reader) -> AdapterResult:
        # Yields read with their own reader on the same batcher: same batches (no extra request), and the
        # positions' provenance stays what it was.
        rates = reader.batcher.reader(f"{reader.scope}:yields")
        due = self.yields_due(reader.block)
        positions, yields = await asyncio.gather(
            self.positions(reader), self.yields(rates) if due else _no_rates(), return_exceptions=True
        )
        if isinstance(positions, BaseException):
            raise positions
        gaps: tuple[YieldGap, ...]
        if isinstance(yields, DefiscopeError):
            # Rates that cannot be read leave the holdings standing: they are reported missing, not zero, and
            # not replaced by an older block's.
            log.warning("adapter.yields_failed", slug=self.info.slug, reason=str(yields))
            yields, gaps = [], (YieldGap(self.info.slug, EVERY_MARKET, reason=str(yields)),)
        elif isinstance(yields, BaseException):
            raise yields
        else:
            gaps = tuple(self.yield_gaps(reader.block)) if due else ()
        calls = tuple(CallRecord.of(r) for r in reader.records)
        held = tuple(p for p in positions if isinstance(p, Position))
        uncounted = tuple(p for p in positions if isinstance(p, Uncounted))
        return AdapterResult(self.info, reader.block, held, calls, tuple(yields), gaps, uncounted)

    def require(self, results: Sequence[CallResult]) -> list[Any]:
        """Single outputs of results that must all have succeeded, else `AdapterError` naming the call."""
        values = []
        for result in results:
            if not result.success:
                raise AdapterError(
                    f"{self.info.slug}: {result.call.describe()} failed on chain {self.deployment.chain_id}: "
                    f"{result.error}"
                )
            (value,) = result.value if len(result.value) == 1 else (result.value,)
            values.append(value)
        return values


async def _no_rates() -> list[Yield]:
    """Rates of a block where they are not due (`Adapter.yields_due`): none read, none stored."""
    return []
