"""The event collector on the devnet: it stores what the adapters' streams declare (Lido's reports, or any
protocol's), once each, from each stream's look-back on; it rescans from a fork after a rollback, and a
stream that fails neither stops the others nor loses its place; streams at one position share one request."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

import pytest
from eth_utils import keccak

from defiscope.chain.logs import log_hex
from defiscope.errors import DefiscopeError
from defiscope.protocols.events import EventParseError, EventStream, StoredEvent
from defiscope.protocols.lido.reports import ETH_DISTRIBUTED_KIND, TOKEN_REBASED_KIND
from defiscope.service.events import EventCollector
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine

TRANSFER = "0x" + keccak(text="Transfer(address,address,uint256)").hex()


def parse_transfer(log: Mapping[str, Any]) -> StoredEvent:
    return StoredEvent.of(log, "transfer", {"value": int(log_hex(log["data"]), 16), "token": log_hex(log["address"])})


def refuse(log: Mapping[str, Any]) -> StoredEvent:
    raise EventParseError("this stream cannot read its logs")


async def _chain_events(engine: TvlEngine, stream: EventStream, from_block: int, to_block: int) -> list[StoredEvent]:
    logs = await engine.client.get_logs(
        address=stream.address, topics=[list(stream.topics)], from_block=from_block, to_block=to_block
    )
    return [stream.parse(log) for log in logs]


async def test_the_adapters_streams_are_stored_once_and_rescanned_after_a_rollback(
    engine: TvlEngine, repo: Repository
) -> None:
    everything = EventCollector.of(engine, repo)
    assert everything is not None
    # Lido (its oracle reports) and the governed protocols (their governors' events, Aave's too) declare streams on the
    # standard world: the collector found them through the adapter contract.
    assert sorted({scan.slug for scan in everything.scans}) == [
        "aave-v3",
        "compound-v2",
        "lido",
        "makerdao",
        "uniswap-v3",
    ]
    collector = EventCollector.of(engine, repo, slugs=["lido"])
    assert collector is not None
    assert [scan.slug for scan in collector.scans] == ["lido"]
    stream = collector.scans[0].stream
    head = (await engine.client.block("latest")).number
    on_chain = await _chain_events(engine, stream, stream.first_block(head), head)
    assert await collector.collect(head) == len(on_chain) > 0
    stored = {kind: repo.events(1, "lido", kind) for kind in (TOKEN_REBASED_KIND, ETH_DISTRIBUTED_KIND)}
    both = stored[TOKEN_REBASED_KIND] + stored[ETH_DISTRIBUTED_KIND]
    assert sorted(both, key=lambda e: (e.block_number, e.log_index or 0)) == on_chain  # every field, exactly
    assert len(stored[TOKEN_REBASED_KIND]) == len(stored[ETH_DISTRIBUTED_KIND]) == len(on_chain) // 2
    assert await collector.collect(head) == 0  # nothing new since the last scan

    # A reorg at the newest report: the store forgets it, the collector scans from there again.
    fork = stored[TOKEN_REBASED_KIND][-1].block_number
    repo.rollback_from(1, fork)
    collector.rewind(fork)
    assert len(repo.events(1, "lido", TOKEN_REBASED_KIND)) == len(stored[TOKEN_REBASED_KIND]) - 1
    assert await collector.collect(head) >= 1
    assert repo.events(1, "lido", TOKEN_REBASED_KIND) == stored[TOKEN_REBASED_KIND]


async def test_any_protocol_declares_its_stream_and_a_failing_one_keeps_its_place(
    engine: TvlEngine, repo: Repository
) -> None:
    weth = engine.deployment.token("WETH").address
    head = (await engine.client.block("latest")).number
    every = await _chain_events(engine, EventStream(weth, (TRANSFER,), parse_transfer, lookback=head), 0, head)
    assert len(every) > 2, "the devnet's seeding moves WETH"
    # A look-back that starts the first scan half-way through the chain's WETH transfers.
    cut = every[len(every) // 2].block_number
    transfers = EventStream(weth, (TRANSFER,), parse_transfer, lookback=head - cut)
    broken = EventStream(weth, (TRANSFER,), refuse, lookback=head - cut)
    collector = EventCollector(engine.client, repo, [("demo", transfers), ("broken", broken)])
    on_chain = [e for e in every if e.block_number >= cut]

    requests = engine.client.rpc.total_requests()
    assert await collector.collect(head) == len(on_chain)  # the broken stream is logged, not raised
    assert engine.client.rpc.total_requests() - requests == 1  # streams at one position share one eth_getLogs
    stored = repo.events(1, "demo", "transfer")
    assert [(e.block_number, e.log_index) for e in stored] == [(e.block_number, e.log_index) for e in on_chain]
    assert [e.payload["value"] for e in stored] == [e.payload["value"] for e in on_chain]
    assert len(stored) < len(every)  # the first scan looked back the stream's lookback, not to genesis
    assert repo.events(1, "broken", "transfer") == []
    working, failing = collector.scans
    assert (working.scanned, failing.scanned) == (head, None)  # the broken one retries from its start

    with pytest.raises(DefiscopeError, match="cannot read its logs"):
        await collector.collect(head, from_block=cut, strict=True)  # a one-off command sees the error


async def test_a_shared_request_hands_each_stream_only_its_own_logs(engine: TvlEngine, repo: Repository) -> None:
    lido = EventCollector.of(engine, repo)
    assert lido is not None
    head = (await engine.client.block("latest")).number
    reports = dataclasses.replace(lido.scans[0].stream, lookback=head)
    weth = EventStream(engine.deployment.token("WETH").address, (TRANSFER,), parse_transfer, lookback=head)
    collector = EventCollector(engine.client, repo, [("lido", reports), ("demo", weth)])
    expected = {
        "lido": await _chain_events(engine, reports, 0, head),
        "demo": await _chain_events(engine, weth, 0, head),
    }
    requests = engine.client.rpc.total_requests()
    assert await collector.collect(head) == len(expected["lido"]) + len(expected["demo"])
    assert engine.client.rpc.total_requests() - requests == 1
    assert repo.events(1, "demo", "transfer") == expected["demo"]
    stored = repo.events(1, "lido", TOKEN_REBASED_KIND) + repo.events(1, "lido", ETH_DISTRIBUTED_KIND)
    assert sorted(stored, key=lambda e: (e.block_number, e.log_index or 0)) == expected["lido"]


async def test_a_restarted_collector_continues_after_the_stored_position(
    engine: TvlEngine, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    weth = engine.deployment.token("WETH").address
    head = (await engine.client.block("latest")).number
    transfers = EventStream(weth, (TRANSFER,), parse_transfer, lookback=head)
    every = await _chain_events(engine, transfers, 0, head)
    middle = every[len(every) // 2].block_number
    assert 0 < middle < head, "the devnet's seeding moves WETH over several blocks"

    ranges: list[tuple[int, int]] = []
    real_get_logs = engine.client.rpc.get_logs

    async def counted(params: Mapping[str, Any], from_block: int, to_block: int) -> list[Mapping[str, Any]]:
        ranges.append((from_block, to_block))
        return await real_get_logs(params, from_block, to_block)

    monkeypatch.setattr(engine.client.rpc, "get_logs", counted)
    first = EventCollector(engine.client, repo, [("demo", transfers)])
    await first.collect(middle)
    assert ranges == [(0, middle)]  # the first scan ever looks back the stream's lookback

    # A restart: a new collector on the same store continues after the stored position, looks back nothing.
    ranges.clear()
    restarted = EventCollector(engine.client, repo, [("demo", transfers)])
    await restarted.collect(head)
    assert ranges == [(middle + 1, head)]
    stored = repo.events(1, "demo", "transfer")
    assert [(e.block_number, e.log_index) for e in stored] == [(e.block_number, e.log_index) for e in every]

    # A reorg rolls the stored position back with the events: the next run scans from the fork.
    repo.rollback_from(1, middle)
    ranges.clear()
    await EventCollector(engine.client, repo, [("demo", transfers)]).collect(head)
    assert ranges == [(middle, head)]
    assert len(repo.events(1, "demo", "transfer")) == len(every)
