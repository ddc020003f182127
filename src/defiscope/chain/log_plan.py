"""Concurrent `eth_getLogs` filters merged into as few queries as possible, each given back exactly its own logs.

Filters that select on topic0 alone (any emitter, or a list of emitters) and end at the same block merge:

- every address-less filter into one query over the union of their topic0s (V2 Sync from one adapter, V3
  Swap and ERC-20 Transfer from others: one query, not three answering overlapping logs);
- an address filter whose topic0s and blocks that query already covers rides along: its logs are in the
  answer anyway;
- the other address filters into one query over the union of their addresses and of their topic0s (up to
  `MAX_MERGED_ADDRESSES`: providers refuse long address lists).

The merged query starts at the earliest member's first block. Each member then takes from the answer what its
own filter selects (`selects`), in the answer's (chain) order, so no caller can tell it was merged. Any other
shape (topics on positions 1-3, no topics at all) goes out as asked.

    >>> a = LogQuery(None, (["0xaa"],), 10, 12)
    >>> b = LogQuery(None, ("0xbb",), 11, 12)
    >>> c = LogQuery("0xC0", (["0xbb"],), 12, 12)
    >>> [(g.query.topics, g.members) for g in merge([a, b, c])]
    [((['0xaa', '0xbb'],), (0, 1, 2))]
    >>> log = {"address": "0xc0", "topics": ["0xbb"], "blockNumber": "0xb"}
    >>> selects(a, log), selects(b, log), selects(c, log)
    (False, True, False)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Final

from defiscope.chain.logs import log_hex, log_int

#: The longest address list a merged query carries: providers refuse more than about 1,000-2,000 addresses.
MAX_MERGED_ADDRESSES: Final = 1_000


@dataclass(frozen=True, slots=True)
class LogQuery:
    """One `eth_getLogs` filter over [from_block, to_block]."""

    address: str | tuple[str, ...] | None
    topics: tuple[Any, ...] | None
    from_block: int
    to_block: int

    @property
    def span(self) -> int:
        """Blocks after the first it covers (0: one block)."""
        return self.to_block - self.from_block

    def params(self) -> dict[str, Any]:
        params: dict[str, Any] = {"fromBlock": hex(self.from_block), "toBlock": hex(self.to_block)}
        if self.address is not None:
            params["address"] = self.address if isinstance(self.address, str) else list(self.address)
        if self.topics is not None:
            params["topics"] = list(self.topics)
        return params

    def topic0s(self) -> frozenset[str] | None:
        """The topic0 alternatives (lower case) if the filter selects on topic0 alone, else None."""
        if not self.topics or any(t is not None for t in self.topics[1:]):
            return None
        first = self.topics[0]
        alternatives = [first] if isinstance(first, str) else first
        if not isinstance(alternatives, list | tuple) or not alternatives:
            return None
        if not all(isinstance(t, str) for t in alternatives):
            return None
        return frozenset(t.lower() for t in alternatives)

    def addresses(self) -> frozenset[str] | None:
        """The emitters asked for (lower case), None for any emitter."""
        if self.address is None:
            return None
        return frozenset(a.lower() for a in ((self.address,) if isinstance(self.address, str) else self.address))


@dataclass(frozen=True, slots=True)
class Merged:
    """A query to send and the indices of the filters it answers."""

    query: LogQuery
    members: tuple[int, ...]

    def alone(self, queries: Sequence[LogQuery]) -> bool:
        """It answers one filter exactly as that filter asked: no local selection needed."""
        return len(self.members) == 1 and queries[self.members[0]] == self.query


def merge(queries: Sequence[LogQuery], max_span: int | None = None) -> list[Merged]:
    """The queries to send for ``queries``, each with the filters it answers; every filter is in exactly one.
    Filters over ``max_span`` blocks or more (first scans) are sent as asked: merged, they would widen the
    others' queries over their whole range."""
    out: list[Merged] = []
    by_end: dict[int, list[int]] = {}
    for i, query in enumerate(queries):
        too_long = max_span is not None and query.to_block - query.from_block >= max_span
        if too_long or query.topic0s() is None:
            out.append(Merged(query, (i,)))
        else:
            by_end.setdefault(query.to_block, []).append(i)
    for end, members in by_end.items():
        out.extend(_merge_ending_at(queries, members, end))
    return out


def _merge_ending_at(queries: Sequence[LogQuery], members: Sequence[int], end: int) -> list[Merged]:
    anywhere = [i for i in members if queries[i].address is None]
    union = frozenset().union(*(_topics(queries[i]) for i in anywhere))
    start = min((queries[i].from_block for i in anywhere), default=end)
    # A rider must not widen the address-less query: that one fetches every emitter's logs of its topics.
    riders = [
        i
        for i in members
        if queries[i].address is not None and queries[i].from_block >= start and _topics(queries[i]) <= union
    ]
    riding = set(riders)
    rest = [i for i in members if queries[i].address is not None and i not in riding]
    out: list[Merged] = []
    if anywhere:
        out.append(_one(queries, [*anywhere, *riders], None, union, end))
    else:
        rest = [*riders, *rest]
    groups: list[list[int]] = []
    count = 0
    for i in rest:  # address lists packed into queries of at most MAX_MERGED_ADDRESSES emitters
        size = len(_addresses(queries[i]))
        if not groups or count + size > MAX_MERGED_ADDRESSES:
            groups.append([])
            count = 0
        groups[-1].append(i)
        count += size
    for group in groups:
        if len(group) == 1:
            out.append(Merged(queries[group[0]], (group[0],)))
            continue
        emitters = tuple(sorted(frozenset().union(*(_addresses(queries[i]) for i in group))))
        topics = frozenset().union(*(_topics(queries[i]) for i in group))
        out.append(_one(queries, group, emitters, topics, end))
    return out


def _one(
    queries: Sequence[LogQuery],
    members: Sequence[int],
    address: tuple[str, ...] | None,
    topics: frozenset[str],
    end: int,
) -> Merged:
    if len(members) == 1:
        return Merged(queries[members[0]], (members[0],))
    start = min(queries[i].from_block for i in members)
    return Merged(LogQuery(address, (sorted(topics),), start, end), tuple(sorted(members)))


def _topics(query: LogQuery) -> frozenset[str]:
    topics = query.topic0s()
    assert topics is not None  # only topic0 filters are merged
    return topics


def _addresses(query: LogQuery) -> frozenset[str]:
    addresses = query.addresses()
    assert addresses is not None  # only address filters are packed
    return addresses


def covers(wide: LogQuery, narrow: LogQuery) -> bool:
    """Whether ``wide``'s answer holds every log ``narrow`` asks for (both topic0 filters ending at the same
    block), so that `select` takes ``narrow``'s answer from it."""
    wide_topics, narrow_topics = wide.topic0s(), narrow.topic0s()
    if wide_topics is None or narrow_topics is None or wide.to_block != narrow.to_block:
        return False
    wide_emitters, narrow_emitters = wide.addresses(), narrow.addresses()
    return (
        wide.from_block <= narrow.from_block
        and narrow_topics <= wide_topics
        and (wide_emitters is None or (narrow_emitters is not None and narrow_emitters <= wide_emitters))
    )


def selects(query: LogQuery, log: Mapping[str, Any]) -> bool:
    """Whether ``query`` (a topic0 filter) would have returned ``log``."""
    return bool(select(query, [log]))


def select(query: LogQuery, logs: Sequence[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    """The logs ``query`` (a topic0 filter) selects, in their order."""
    wanted, emitters = query.topic0s(), query.addresses()  # once per query, not once per log
    if wanted is None:
        return []
    return [
        log
        for log in logs
        if (topics := log.get("topics"))
        and log_hex(topics[0]) in wanted
        and (emitters is None or log_hex(log["address"]) in emitters)
        and query.from_block <= log_int(log["blockNumber"]) <= query.to_block
    ]
