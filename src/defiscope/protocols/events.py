"""Events a protocol wants kept in the store: the adapter declares them, the service collects and stores them.

An adapter that needs a time series of its own events (oracle reports, proposals) returns `EventStream`s from
`Adapter.event_streams()`. The service scans each stream's new blocks as it indexes, stores what `parse`
makes of every log as a `StoredEvent` keyed by (chain, protocol, kind, key), rolls them back on a reorg, and
gives them back by (protocol, kind). Neither the store nor the service knows any protocol by name. A stream
whose events need what only the chain holds at their block (an Aave V3 proposal's payloads) also declares
`complete`: given a `Reader` (pinned, recording its calls) and the parsed events, it returns them with that added.

    >>> log = {"blockNumber": "0x10", "logIndex": "0x2", "blockHash": "0x" + "ab" * 32,
    ...        "transactionHash": "0x" + "cd" * 32, "topics": [], "data": "0x"}
    >>> event = StoredEvent.of(log, "ping", {"value": 2**200})
    >>> event.block_number, event.log_index, event.key, event.payload["value"] == 2**200
    (16, 2, '16:2', True)
    >>> StoredEvent.of(log, "report", {"t": 5}, key="5").key   # a natural identity: one report per time
    '5'
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from defiscope.chain.logs import log_hex, log_int
from defiscope.chain.reader import Reader
from defiscope.errors import DefiscopeError


class EventParseError(DefiscopeError):
    """A log of a stream's topics that its `parse` cannot read (wrong topic, data too short)."""


@dataclass(frozen=True, slots=True)
class StoredEvent:
    """One event as kept: its kind (the protocol's name for it), where it is in the chain, and its fields.

    ``payload`` holds JSON values; integers of any size stay exact. ``key`` identifies the event within
    (chain, protocol, kind): saving an event whose key is stored already leaves the stored one. It defaults to
    the log's place (``"block:log index"``); a stream whose events carry their own identity (a report time)
    uses that, so the same report found again, in another scan, is still one event.
    ``log_index`` and ``tx_hash`` are None only for events kept before they were recorded (migrated rows).
    """

    kind: str
    block_number: int
    block_hash: str
    log_index: int | None
    tx_hash: str | None
    payload: Mapping[str, Any]
    key: str = ""

    def __post_init__(self) -> None:
        if not self.key:
            if self.log_index is None:
                raise ValueError(f"{self.kind} event at block {self.block_number}: no log index, so a key is needed")
            object.__setattr__(self, "key", f"{self.block_number}:{self.log_index}")

    @classmethod
    def of(cls, log: Mapping[str, Any], kind: str, payload: Mapping[str, Any], *, key: str = "") -> StoredEvent:
        """The event of a raw `eth_getLogs` entry: block, log index and transaction taken from the log."""
        tx = log.get("transactionHash")
        return cls(
            kind,
            log_int(log["blockNumber"]),
            log_hex(log["blockHash"]),
            log_int(log["logIndex"]),
            None if tx is None else log_hex(tx),
            dict(payload),
            key,
        )


@dataclass(frozen=True, slots=True)
class EventStream:
    """The logs of ``topics`` (topic0 alternatives) emitted by ``address``, each read by ``parse``.

    The first scan of a running service starts ``lookback`` blocks before the block it indexes (never before
    ``start_block``): enough history for what the events feed (seven daily reports for an APR average), not a
    scan from genesis. Later scans cover only new blocks; storing is idempotent, so a restart that looks back
    again stores nothing twice.
    """

    address: str
    topics: tuple[str, ...]
    parse: Callable[[Mapping[str, Any]], StoredEvent] = field(compare=False)
    lookback: int
    start_block: int = 0
    #: Reads what the parsed events lack at their own blocks (through the reader's `at`) and returns them
    #: completed; None: the logs say all. Runs before they are stored, so a stored event is always complete.
    complete: Callable[[Reader, Sequence[StoredEvent]], Awaitable[list[StoredEvent]]] | None = field(
        default=None, compare=False
    )

    def first_block(self, to_block: int) -> int:
        return max(self.start_block, to_block - self.lookback, 0)
