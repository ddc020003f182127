"""The store's read methods the API uses, on SQLite and PostgreSQL (hand-made snapshots, exact values)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

import pytest

from defiscope.protocols.base import BalanceKind
from defiscope.store import Repository
from defiscope.store.keys import DuplicateKeyName, KeyStore, StoredKey
from defiscope.tvl.model import exact_sum
from tests.store.conftest import db_url, pg_database  # noqa: F401  (fixtures reused)
from tests.store.storekit import USDC, WETH, block, make_snapshot, quote


@pytest.fixture
def repo(db_url: str) -> Iterator[Repository]:  # noqa: F811
    store = Repository.open(db_url)
    yield store
    store.close()


def _fill(repo: Repository) -> None:
    for number in (100, 101):
        repo.save_snapshot(make_snapshot("uniswap-v2", block(number), scale=number))
        repo.save_snapshot(make_snapshot("treasury", block(number), scale=1))
    repo.save_snapshot(make_snapshot("uniswap-v2", block(7, chain_id=56), scale=3))


def test_latest_snapshots_and_blocks(repo: Repository) -> None:
    _fill(repo)
    latest = repo.latest_snapshots()
    assert [(s.slug, s.chain_id, s.block.number) for s in latest] == [
        ("treasury", 1, 101),
        ("uniswap-v2", 1, 101),
        ("uniswap-v2", 56, 7),
    ]
    full = repo.snapshot_at("uniswap-v2", 1, 101)
    assert full is not None
    assert latest[1].tokens == full.tokens
    assert latest[1].calls == ()
    assert [s.chain_id for s in repo.latest_snapshots(56)] == [56]
    assert repo.latest_blocks() == {1: block(101), 56: block(7, chain_id=56)}


def test_chain_history_sums_protocols_per_block(repo: Repository) -> None:
    _fill(repo)
    points = repo.chain_history(1)
    assert [(p.block.number, p.protocols) for p in points] == [(100, 2), (101, 2)]
    expected = exact_sum(
        s.total(BalanceKind.TVL)
        for s in (make_snapshot("uniswap-v2", block(101), scale=101), make_snapshot("treasury", block(101)))
    )
    assert points[-1].tvl_usd == expected
    assert [p.block.chain_id for p in repo.chain_history()] == [
        56,
        1,
        1,
    ]  # by block time (chain 56's block 7 is oldest)
    assert repo.chain_history(1, start_ts=block(101).timestamp) == points[1:]


def test_latest_price_prefers_newest_then_most_confident(repo: Repository) -> None:
    confident = replace(quote(WETH, "3000", ts=100, source="dex"), confidence=0.99)
    repo.save_prices([quote(WETH, "2900", ts=50), quote(WETH, "3001", ts=100, source="chainlink"), confident])
    repo.save_prices([quote(USDC, "1", ts=100)])
    assert repo.latest_price(1, WETH) == confident
    assert repo.latest_price(1, WETH, at=60) == quote(WETH, "2900", ts=50)
    assert repo.latest_price(1, WETH, at=10) is None
    assert repo.priced_tokens() == sorted([(1, USDC), (1, WETH)])


def test_key_rows(repo: Repository) -> None:
    keys = KeyStore(repo.engine)
    keys.add(StoredKey("abc123abc123", "ci", "ff" * 32, 1_700_000_000))
    with pytest.raises(DuplicateKeyName, match="named 'ci' exists already"):
        keys.add(StoredKey("def456def456", "ci", "ee" * 32, 1_700_000_001))
    assert keys.revoke("abc123abc123", now=5)
    assert not keys.revoke("ci")
    assert keys.all() == [StoredKey("abc123abc123", "ci", "ff" * 32, 1_700_000_000, 5)]
