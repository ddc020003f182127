"""The follower's poll: the head, the reorg check and the next due block's reads, in one JSON-RPC batch.

Following the chain, each block cost a request for the head, one for the stored headers of the reorg window
(`reorg.find_fork`), the snapshot's two (header and logs, then the multicall) and the event collector's
`eth_getLogs`: five. None of them but the multicall depends on another's answer, given what the follower
knows before it asks: the stored blocks (the window below the highest one, rather than below the head), and
the next block due after its cursor, which is the head's number in the steady state. So a poll asks them all
at once, and the block then costs that request and its multicall:

    poll = await poll_chain(engine, repo, depth, next_due=cursor + 1, events=collector)
    poll.head, poll.fork                       # the head; the lowest stale stored block, or None
    batcher = poll.pinned(number)              # block `number` pinned, its logs preloaded; None if not asked
    logs = poll.event_logs(number)             # the collector's queries' answers for that block

Exactness: the fork is the one `find_fork` finds. Its window (stored blocks within `depth` of the head) is
within the one fetched while the head is at or above the highest stored block; when it is not (the chain got
shorter, or the node lags), `find_fork` is asked as before. The next block's answers are used only when the
poll found no fork and the head reached that block; its logs, read by number, are checked against its header
(`pinning.logs_on_fork`) as `pin_with_logs` checks its own, and dropped, to be asked again, if they disagree.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from defiscope.chain.block import BlockRef
from defiscope.chain.client import block_ref
from defiscope.chain.errors import ChainError
from defiscope.chain.log_plan import LogQuery
from defiscope.chain.pinning import PinRequest, logs_on_fork
from defiscope.chain.reader import Batcher
from defiscope.chain.rpc import RpcResponse
from defiscope.service.events import EventCollector
from defiscope.service.reorg import find_fork, first_stale, header_calls, recent_hashes
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class Ahead:
    """The next due block's reads sent with the poll, and their answers."""

    pin: PinRequest
    pin_answers: Sequence[RpcResponse]
    event_queries: Sequence[LogQuery]
    event_answers: Sequence[RpcResponse]

    def batcher(self) -> Batcher | None:
        return self.pin.batcher(self.pin_answers)

    def event_logs(self) -> dict[LogQuery, list[Any]]:
        """The collector's answers, if they agree with the block's header (else none: asked again)."""
        header = self.pin_answers[0].result
        if self.pin_answers[0].error is not None or header is None:
            return {}
        number, hash_, parent = self.pin.number, str(header["hash"]), header.get("parentHash")
        answered = {q: a.result for q, a in zip(self.event_queries, self.event_answers, strict=True) if a.error is None}
        if not all(logs_on_fork(logs, number, hash_, parent) for logs in answered.values()):
            return {}
        return answered


@dataclass(frozen=True, slots=True)
class Poll:
    head: BlockRef
    fork: int | None
    ahead: Ahead | None

    def pinned(self, number: int) -> Batcher | None:
        """Block `number` pinned from the poll's answers: only the block asked ahead, only with no fork found."""
        ahead = self._usable(number)
        return None if ahead is None else ahead.batcher()

    def event_logs(self, number: int) -> Mapping[LogQuery, list[Any]]:
        ahead = self._usable(number)
        return {} if ahead is None else ahead.event_logs()

    def _usable(self, number: int) -> Ahead | None:
        """The reads asked ahead, if they are block `number`'s, no fork was found and the head has reached it."""
        if self.ahead is None or self.fork is not None or number != self.ahead.pin.number or number > self.head.number:
            return None
        return self.ahead


async def poll_chain(
    engine: TvlEngine, repo: Repository, depth: int, *, next_due: int | None, events: EventCollector | None
) -> Poll:
    """The head, the fork if any, and (when `next_due` is given) that block's header and logs, in one batch."""
    client = engine.client
    stored = await asyncio.to_thread(recent_hashes, repo, client.chain_id, depth)
    checks: list[tuple[str, list[Any]]] = [("eth_getBlockByNumber", ["latest", False]), *header_calls(sorted(stored))]
    ahead = _ask_ahead(engine, next_due, events)
    answers = await _send(engine, checks, ahead)
    head = block_ref(client.chain_id, answers[0].unwrap())
    if stored and head.number < max(stored):  # the window below the head reaches lower than the one fetched
        fork = await find_fork(client, repo, head, depth)
    else:
        fork = first_stale(stored, answers[1 : len(checks)], head.number - depth)
    if ahead is None or len(answers) == len(checks):
        return Poll(head, fork, None)
    pin, event_queries = ahead
    pin_answers = answers[len(checks) : len(checks) + len(pin.calls())]
    return Poll(head, fork, Ahead(pin, pin_answers, event_queries, answers[len(checks) + len(pin_answers) :]))


def _ask_ahead(
    engine: TvlEngine, next_due: int | None, events: EventCollector | None
) -> tuple[PinRequest, list[LogQuery]] | None:
    if next_due is None:
        return None
    return engine.pin_request(next_due), events.queries(next_due) if events is not None else []


async def _send(
    engine: TvlEngine, checks: list[tuple[str, list[Any]]], ahead: tuple[PinRequest, list[LogQuery]] | None
) -> list[RpcResponse]:
    """The checks and the reads ahead in one batch; the checks alone when that batch fails as a whole (a node that
    refuses a whole batch for one log query's range): the block's reads then go out as without a poll."""
    if ahead is None:
        return await engine.client.rpc.batch(checks)
    pin, event_queries = ahead
    try:
        return await engine.client.rpc.batch(
            [*checks, *pin.calls(), *(("eth_getLogs", [q.params()]) for q in event_queries)]
        )
    except ChainError as exc:
        log.info("poll.batch_failed", chain_id=engine.client.chain_id, block=pin.number, error=str(exc))
        return await engine.client.rpc.batch(checks)
