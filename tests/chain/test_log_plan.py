"""Merging concurrent log filters (`chain.log_plan`): which filters share a query, and that each gets back
exactly what its own filter selects. The devnet proof (one eth_getLogs, same logs as asked alone) is in
test_log_feed.py; these pin the planning rules on hand-made filters."""

from __future__ import annotations

import doctest

from defiscope.chain import log_plan
from defiscope.chain.log_plan import MAX_MERGED_ADDRESSES, LogQuery, merge, select

A, B, C = "0x" + "aa" * 32, "0x" + "bb" * 32, "0x" + "cc" * 32
POOL, OTHER = "0x" + "11" * 20, "0x" + "22" * 20


def entry(address: str, topic0: str, block: int, *rest: str) -> dict[str, object]:
    return {"address": address, "topics": [topic0, *rest], "blockNumber": hex(block), "logIndex": "0x0"}


def test_doctests() -> None:
    assert doctest.testmod(log_plan).failed == 0


def test_address_less_topic_filters_ending_together_share_one_query_over_the_union() -> None:
    queries = [LogQuery(None, ([A],), 100, 110), LogQuery(None, (B,), 105, 110), LogQuery(None, ([A, C],), 101, 110)]
    (merged,) = merge(queries)
    assert merged.query == LogQuery(None, ([A, B, C],), 100, 110)
    assert merged.members == (0, 1, 2)
    assert not merged.alone(queries)
    logs = [entry(POOL, A, 100), entry(OTHER, B, 104), entry(POOL, C, 105), entry(OTHER, B, 106), entry(POOL, A, 110)]
    assert select(queries[0], logs) == [logs[0], logs[4]]
    assert select(queries[1], logs) == [logs[3]]  # its B log of block 104 is before its range
    assert select(queries[2], logs) == [logs[2], logs[4]]


def test_an_address_filter_rides_along_only_if_the_address_less_query_covers_it() -> None:
    queries = [
        LogQuery(None, ([A, B],), 100, 110),
        LogQuery(POOL, ([A],), 103, 110),  # covered: rides
        LogQuery((POOL, OTHER), ([C],), 103, 110),  # a topic the union lacks: not fetched for every emitter
        LogQuery(OTHER, ([B],), 90, 110),  # earlier start: would widen the address-less query
    ]
    plan = {m.members: m.query for m in merge(queries)}
    assert plan[(0, 1)] == LogQuery(None, ([A, B],), 100, 110)
    assert plan[(2, 3)] == LogQuery((POOL, OTHER), ([B, C],), 90, 110)
    logs = [entry(POOL, A, 103), entry(OTHER, A, 104), entry(OTHER, C, 104), entry(OTHER, B, 95)]
    assert select(queries[1], logs) == [logs[0]]
    assert select(queries[2], logs) == [logs[2]]
    assert select(queries[3], logs) == [logs[3]]


def test_other_shapes_different_ends_and_first_scans_go_as_asked() -> None:
    queries = [
        LogQuery(None, (A, None, "0x" + "00" * 12 + POOL[2:]), 100, 110),  # an indexed argument filter
        LogQuery(None, None, 100, 110),  # every log
        LogQuery(None, ([A],), 100, 111),  # another end block
        LogQuery(None, ([B],), 0, 110),  # a first scan
        LogQuery(None, ([C],), 100, 110),
        LogQuery(None, ([A, None],), 100, 110),  # a non-topic alternative: not a topic0 filter
    ]
    plan = merge(queries, max_span=50)
    assert sorted(m.members for m in plan) == [(0,), (1,), (2,), (3,), (4,), (5,)]
    assert all(m.alone(queries) for m in plan)


def test_address_lists_are_packed_under_the_provider_cap() -> None:
    many = [f"0x{i:040x}" for i in range(MAX_MERGED_ADDRESSES + 10)]
    queries = [LogQuery(tuple(many[:600]), ([A],), 10, 20), LogQuery(tuple(many[600:]), ([A],), 10, 20)]
    queries.append(LogQuery(many[0], ([B],), 10, 20))
    plan = merge(queries)
    assert [m.members for m in plan] == [(0,), (1, 2)]
    assert all(len(m.query.addresses() or ()) <= MAX_MERGED_ADDRESSES for m in plan)
    assert plan[1].query.topics == ([A, B],)
