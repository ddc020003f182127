"""A block's header and its logs in one request.

A snapshot pins its block (number, hash, timestamp), asks every consumer's logs since its last block, then reads
what they touched in one multicall: three requests. The logs do not depend on the header, only on the block
number and on the consumers' filters, which are the same from one block to the next (each consumer's topics and
emitters; its range starts after the block it read last). So `LogForecast` remembers the filters a chain's last
snapshot asked, and `pin_with_logs` sends them, moved to the new block, in the header's JSON-RPC batch. Their
answers are preloaded into the snapshot's `Batcher`: a query one of them covers is served from it
(`log_plan.select`: what the node would have answered that query); a query none covers (a consumer new since the
last block, a range that the forecast does not reach) is sent as before. The forecast costs at worst a few logs
read in vain; correctness never rests on it.

    forecast = LogForecast()
    batcher = await pin_with_logs(client, number, forecast.queries("tvl", number), feed=feed)
    ...                                   # the snapshot's readers ask their logs: served from the preload
    forecast.learn("tvl", batcher)        # the filters asked at this block, for the next one

Errors stay exact: a log query the node refuses (a range or result cap) is not preloaded, so its consumer asks it
alone, where its range can be split; a batch that fails as a whole is sent again as the header alone, so a log
read never fails the pin; a header the node does not return is asked alone (`ChainClient.block`: a block beyond
the head is bad input). The batch goes through the RPC client like any other: item caps, rate and compute-unit
budget, retries.

Reorg safety: the logs are read by number in the same batch as the header (previously in the next request). A
log of the pinned block whose block hash is not the header's, or of the block before whose hash is not the
header's parent hash, means the node answered from another fork: every preloaded answer is then dropped, so each
consumer reads its own and its own checks see the reorg. (A block with none of the topics cannot be checked that
way, as with any read by number; the reads that follow go by block hash, and the tracked state checks its
ancestor in the multicall.)
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import structlog

from defiscope.chain.client import ChainClient, Snapshot, block_param, block_ref
from defiscope.chain.errors import ChainError
from defiscope.chain.feed import LogFeed
from defiscope.chain.log_plan import LogQuery, merge
from defiscope.chain.logs import log_hex, log_int
from defiscope.chain.reader import BATCHED_LOG_SPAN, Batcher
from defiscope.chain.rpc import RpcResponse

log = structlog.get_logger(__name__)


@dataclass(frozen=True, slots=True)
class _Asked:
    block: int
    filters: tuple[tuple[str | tuple[str, ...] | None, tuple[str, ...]], ...]  # (address, topic0s)


class LogForecast:
    """The log filters each kind of snapshot (a key: the protocols it reads) asked at its last block."""

    def __init__(self) -> None:
        self._last: dict[Hashable, _Asked] = {}

    def learn(self, key: Hashable, batcher: Batcher) -> None:
        filters = tuple(dict.fromkeys((q.address, tuple(sorted(q.topic0s() or ()))) for q in batcher.asked))
        self._last[key] = _Asked(batcher.block.number, filters)

    def queries(self, key: Hashable, number: int) -> list[LogQuery]:
        """The last block's filters over the blocks since it, up to ``number``, merged as a `Batcher` would;
        none when there is no last block, or it is not shortly before ``number``."""
        last = self._last.get(key)
        if last is None or not 0 < number - last.block <= BATCHED_LOG_SPAN:
            return []
        asked = [LogQuery(address, (list(topics),), last.block + 1, number) for address, topics in last.filters]
        return [merged.query for merged in merge(asked, BATCHED_LOG_SPAN)]


@dataclass(frozen=True, slots=True)
class PinRequest:
    """The header of block ``number`` and the logs ``queries`` ask there, as the calls of one JSON-RPC batch: what
    `pin_with_logs` sends, and what the follower sends inside its poll (`service.poll`)."""

    client: ChainClient
    number: int
    queries: tuple[LogQuery, ...]
    feed: LogFeed | None = None

    def calls(self) -> list[tuple[str, list[Any]]]:
        return [("eth_getBlockByNumber", [block_param(self.number), False])] + [
            ("eth_getLogs", [q.params()]) for q in self.queries
        ]

    def batcher(self, answers: Sequence[RpcResponse]) -> Batcher | None:
        """The pinned batcher with the logs preloaded, from the answers to `calls()`; None when the header is not
        among them (a block beyond the head: asked alone, which tells a future block from a lag)."""
        header, *logs = answers
        if header.error is not None or header.result is None:
            return None
        block = block_ref(self.client.chain_id, header.result)
        batcher = Batcher(Snapshot(self.client, block), feed=self.feed)
        answered = [(q, a.result) for q, a in zip(self.queries, logs, strict=True) if a.error is None]
        parent = header.result.get("parentHash")
        if not all(logs_on_fork(found, block.number, block.hash, parent) for _, found in answered):
            log.warning("pin.logs_off_fork", chain_id=self.client.chain_id, block=self.number, hash=block.hash)
            return batcher
        for query, found in answered:
            batcher.preload(query, found)
            if self.feed is not None:
                self.feed.keep(query, block, found)
        return batcher


def pin_request(
    client: ChainClient, number: int, queries: Sequence[LogQuery], *, feed: LogFeed | None = None
) -> PinRequest:
    """Block ``number``'s header and the answers to ``queries`` (topic0 filters ending there); with a feed, the
    address-less one also asks the feed's subscribed topics and its answer is kept there for the feed's other
    consumers (a range the feed holds already is not asked again)."""
    kept = [_with_subscriptions(q, feed) for q in queries if q.to_block == number and q.topic0s() is not None]
    if feed is not None:
        kept = [q for q in kept if not feed.holds(q)]
    return PinRequest(client, number, tuple(kept), feed)


async def pin_with_logs(
    client: ChainClient, number: int, queries: Sequence[LogQuery], *, feed: LogFeed | None = None
) -> Batcher:
    """A batcher pinned to block ``number``, with the answers to ``queries`` read in the same request as its
    header (`pin_request`)."""
    request = pin_request(client, number, queries, feed=feed)
    if not request.queries:
        return Batcher(await client.snapshot(number), feed=feed)
    try:
        answers = await client.rpc.batch(request.calls())
    except ChainError as exc:  # a log read must not fail the pin: the header alone, as without a forecast
        log.info("pin.batch_failed", chain_id=client.chain_id, block=number, error=str(exc))
        return Batcher(await client.snapshot(number), feed=feed)
    return request.batcher(answers) or Batcher(await client.snapshot(number), feed=feed)


def _with_subscriptions(query: LogQuery, feed: LogFeed | None) -> LogQuery:
    """An address-less query widened to the feed's subscribed topics, so that what it keeps serves every
    subscriber (the routing tracker's quotes), as the feed's own fetch would."""
    topics = query.topic0s()
    if feed is None or query.address is not None or topics is None or feed.subscribed <= topics:
        return query
    return LogQuery(None, (sorted(topics | feed.subscribed),), query.from_block, query.to_block)


def logs_on_fork(logs: Iterable[Mapping[str, Any]], number: int, block_hash: str, parent: Any) -> bool:
    """No log of block ``number``, or of the one before, comes from another block than its header names (its
    hash, its parent hash when given)."""
    expected = {number: block_hash.lower()}
    if isinstance(parent, str):
        expected[number - 1] = parent.lower()
    return all(
        log_hex(entry["blockHash"]) == expected[number]
        for entry in logs
        if "blockHash" in entry and (number := log_int(entry["blockNumber"])) in expected
    )
