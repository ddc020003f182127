"""Persistent discovery on the devnet: a `LogCursor` with the store attached continues after what is stored (a
restart scans no block twice), scans long ranges in chunks saved one by one (an interrupted first discovery
resumes where it stopped), and finds what a store-less cursor finds."""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher, LogQuery
from defiscope.devnet.artifacts import npm_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols import log_cursor
from defiscope.protocols.log_cursor import LogCursor, StoredCursor
from defiscope.protocols.pancakeswap.v3 import PANCAKESWAP_V3
from defiscope.protocols.registry import adapters_for
from defiscope.protocols.uniswap.v3 import POOL_CREATED, V3Adapter
from defiscope.store import Repository


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    store = Repository.open(f"sqlite:///{tmp_path / 'discovery.db'}")
    yield store
    store.close()


class Watched:
    """The repository, recording the pages it loads and failing its `saves_ok`+1-th save if given (a first
    discovery interrupted mid-way)."""

    def __init__(self, repo: Repository, saves_ok: int | None = None) -> None:
        self.repo, self.saves_ok, self.saves = repo, saves_ok, 0
        self.loads: list[tuple[tuple[int, int] | None, int | None]] = []

    def load_cursor(
        self, chain_id: int, source: str, *, after: tuple[int, int] | None = None, limit: int | None = None
    ) -> StoredCursor | None:
        self.loads.append((after, limit))
        return self.repo.load_cursor(chain_id, source, after=after, limit=limit)

    def save_cursor(
        self, chain_id: int, source: str, logs: Sequence[Mapping[str, Any]], scanned_to: int, block_hash: str | None
    ) -> None:
        if self.saves == self.saves_ok:
            raise ConnectionError("the process was stopped here")
        self.saves += 1
        self.repo.save_cursor(chain_id, source, logs, scanned_to, block_hash)


def pancake(chain: DevnetChain, store: Repository | Watched | None = None) -> V3Adapter:
    adapter = V3Adapter(devnet_deployment(chain), PANCAKESWAP_V3)
    if store is not None:
        adapter.created.attach(store)
    return adapter


def factory_query(adapter: V3Adapter, from_block: int, to_block: int) -> LogQuery:
    return LogQuery(adapter.factory, ([POOL_CREATED],), from_block, to_block)


async def test_a_restart_scans_only_after_the_stored_cursor(bnb_chain: DevnetChain, repo: Repository) -> None:
    sender = Sender.connect(bnb_chain.rpc_url)
    first_run = pancake(bnb_chain, repo)
    async with ChainClient.connect(56, [bnb_chain.rpc_url]) as client:
        first = await client.snapshot()
        reader = Batcher(first).reader("first")
        assert len(await first_run.discover(reader)) == 3
        assert reader.log_queries == [factory_query(first_run, 0, first.block.number)]  # from the start block

        factory = sender.contract(npm_artifact("PancakeV3Factory"), first_run.factory)
        sender.send(factory.functions.createPool(bnb_chain.tokens["CAKE"], bnb_chain.tokens["WBNB"], 10000))
        second = await client.snapshot()
        restarted = pancake(bnb_chain, repo)  # a new process: nothing in memory
        reader = Batcher(second).reader("second")
        pools = await restarted.discover(reader)
        assert reader.log_queries == [factory_query(restarted, first.block.number + 1, second.block.number)]
        storeless = await pancake(bnb_chain).discover(Batcher(second).reader("storeless"))
        assert pools == storeless
        assert len(pools) == 4
        assert (
            pools[-1].address
            == factory.functions.getPool(bnb_chain.tokens["CAKE"], bnb_chain.tokens["WBNB"], 10000).call()
        )
        # What held at the earlier block is replayed from the stored logs.
        assert await restarted.discover(Batcher(first).reader("old")) == storeless[:3]
    stored = repo.load_cursor(56, restarted.created.source)
    assert stored is not None
    assert (stored.scanned_to, stored.scanned_hash) == (second.block.number, second.block.hash)
    assert len(stored.logs) == 4


async def test_an_interrupted_first_scan_resumes_at_the_last_saved_chunk(
    bnb_chain: DevnetChain, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with ChainClient.connect(56, [bnb_chain.rpc_url]) as client:
        head = await client.snapshot()
        chunk = head.block.number // 5 + 1  # five chunks from the factory's start block (0 on the devnet)
        monkeypatch.setattr(log_cursor, "SCAN_CHUNK", chunk)
        interrupted = pancake(bnb_chain, Watched(repo, saves_ok=2))
        progress: list[tuple[str, int, int]] = []
        interrupted.created.on_progress = lambda source, done, target: progress.append((source, done, target))
        with pytest.raises(ConnectionError, match="stopped here"):
            await interrupted.discover(Batcher(head).reader("first"))
        source, target = interrupted.created.source, head.block.number
        assert progress == [(source, chunk - 1, target), (source, 2 * chunk - 1, target)]
        stored = repo.load_cursor(56, source)
        assert stored is not None
        assert (stored.scanned_to, stored.scanned_hash) == (2 * chunk - 1, None)

        resumed = pancake(bnb_chain, repo)
        reader = Batcher(head).reader("resumed")
        pools = await resumed.discover(reader)
        assert [(q.from_block, q.to_block) for q in reader.log_queries] == [
            (start, min(start + chunk - 1, target)) for start in range(2 * chunk, target + 1, chunk)
        ]
        assert pools == await pancake(bnb_chain).discover(Batcher(head).reader("storeless"))
        assert len(pools) == 3
    stored = repo.load_cursor(56, source)
    assert stored is not None
    assert (stored.scanned_to, stored.scanned_hash) == (target, head.block.hash)


async def test_stored_logs_load_page_by_page(
    bnb_chain: DevnetChain, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    async with ChainClient.connect(56, [bnb_chain.rpc_url]) as client:
        head = await client.snapshot()
        expected = await pancake(bnb_chain, repo).discover(Batcher(head).reader("first"))
        monkeypatch.setattr(log_cursor, "LOAD_PAGE", 2)  # three pools: a full page, then a short one
        watched = Watched(repo)
        reader = Batcher(head).reader("restarted")
        assert await pancake(bnb_chain, watched).discover(reader) == expected
        assert reader.log_queries == []  # all stored, nothing scanned
    # The second page starts after the first page's last log (the second pool's creation).
    assert [(None if after is None else after[0], limit) for after, limit in watched.loads] == [
        (None, 2),
        (expected[1].block, 2),
    ]


async def test_rewind_forgets_later_logs_and_the_next_scan_fetches_them(
    bnb_chain: DevnetChain, repo: Repository
) -> None:
    sender = Sender.connect(bnb_chain.rpc_url)
    adapter = pancake(bnb_chain, repo)
    async with ChainClient.connect(56, [bnb_chain.rpc_url]) as client:
        first = await client.snapshot()
        await adapter.discover(Batcher(first).reader("first"))
        factory = sender.contract(npm_artifact("PancakeV3Factory"), adapter.factory)
        sender.send(factory.functions.createPool(bnb_chain.tokens["CAKE"], bnb_chain.tokens["WBNB"], 10000))
        second = await client.snapshot()
        assert len(await adapter.discover(Batcher(second).reader("second"))) == 4
        adapter.created.rewind(first.block.number)
        assert (len(adapter.pools), adapter.created.scanned_to) == (3, first.block.number)
        assert adapter.created.rewinds == 1  # what an adapter derived from the forgotten logs is stale
        adapter.created.rewind(second.block.number)  # nothing after it is known: nothing forgotten
        assert adapter.created.rewinds == 1
        reader = Batcher(second).reader("again")
        assert len(await adapter.discover(reader)) == 4
        assert reader.log_queries == [factory_query(adapter, first.block.number + 1, second.block.number)]
        adapter.created.rewind(-5)  # never before the start block
        assert (adapter.pools, adapter.created.scanned_to) == ([], -1)


async def test_a_cursor_attached_after_scanning_stores_everything(bnb_chain: DevnetChain, repo: Repository) -> None:
    adapter = pancake(bnb_chain)
    async with ChainClient.connect(56, [bnb_chain.rpc_url]) as client:
        head = await client.snapshot()
        await adapter.discover(Batcher(head).reader("memory"))
        adapter.created.attach(repo)  # an empty store: what memory holds is scanned again, to be stored
        reader = Batcher(head).reader("stored")
        assert len(await adapter.discover(reader)) == 3
        assert reader.log_queries == [factory_query(adapter, 0, head.block.number)]
    stored = repo.load_cursor(56, adapter.created.source)
    assert stored is not None
    assert len(stored.logs) == 3


def reachable_cursors(value: object, depth: int = 3) -> Iterator[LogCursor[Any]]:
    """Every LogCursor in an object's attributes (and their lists, dicts and attributes), a few levels deep."""
    if isinstance(value, LogCursor):
        yield value
    elif depth == 0 or isinstance(value, str | bytes | int | float | bool | type(None)):
        return
    elif isinstance(value, Mapping):
        for item in value.values():
            yield from reachable_cursors(item, depth - 1)
    elif isinstance(value, list | tuple | set | frozenset):
        for item in value:
            yield from reachable_cursors(item, depth - 1)
    elif hasattr(value, "__dict__"):
        for item in vars(value).values():
            yield from reachable_cursors(item, depth - 1)


def test_every_cursor_of_every_adapter_is_listed(bnb_chain: DevnetChain, eth_chain: DevnetChain) -> None:
    listing: dict[str, int] = {}
    for chain in (eth_chain, bnb_chain):
        for adapter in adapters_for(devnet_deployment(chain)):
            listed = adapter.log_cursors()
            assert {id(c) for c in reachable_cursors(adapter)} == {id(c) for c in listed}, adapter.info.slug
            listing[adapter.info.slug] = len(listed)
    assert {slug: listing[slug] for slug in ("uniswap-v3", "pancakeswap-v3", "eigenlayer", "makerdao")} == {
        "uniswap-v3": 1,
        "pancakeswap-v3": 1,
        "eigenlayer": 2,  # the whitelist and the pod logs
        "makerdao": 1,  # the Vat's wards
    }


def test_source_keys_name_the_contract_events_and_start_block(bnb_chain: DevnetChain) -> None:
    one, two = pancake(bnb_chain).created, pancake(bnb_chain).created
    assert one.source == two.source == f"{one.address.lower()}:{one.source.split(':')[1]}:0"
    later = LogCursor(one.address, one.topics, one.parse, start_block=100)
    assert later.source != one.source
