"""Bounded store reads on a big store (SQLite and PostgreSQL): 100,000 blocks of one chain, every read
answers with its cap of points, equal to the reference computed in Python, within a CPU-time budget; and the
largest answer of each history route stays under the documented size."""

from __future__ import annotations

import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Final

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import insert

from defiscope.api import ApiSettings, create_app
from defiscope.api.app import MAX_RESPONSE_BYTES
from defiscope.api.reads import chain_points, price_series, protocol_points
from defiscope.deployments.mainnet import mainnet
from defiscope.store import Repository
from defiscope.store.models import Block, Price, TvlSnapshot
from tests.store.conftest import emptied, pg_database  # noqa: F401  (fixture reused)

BLOCKS: Final = 100_000
START: Final = 1_700_000_000
SECONDS_PER_BLOCK: Final = 12
#: CPU seconds of this process one bounded read may take on the big store (a whole-history load into Python
#: takes far longer). CPU time, not wall time: a busy machine stretches the latter with no change in the read.
BUDGET: Final = 3.0
WETH: Final = mainnet(1).token("WETH").address


def _time(number: int) -> int:
    return START + SECONDS_PER_BLOCK * number


def _tvl(number: int) -> Decimal:
    return Decimal(1_000_000 + number) / 7  # not a round number: exact sums are checked


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def big_store(tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest) -> Iterator[Repository]:
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('big') / 'big.db'}"
    else:
        url = emptied(request.getfixturevalue("pg_database"))  # the session's database, from an empty schema
    repo = Repository.open(url)
    blocks = [{"chain_id": 1, "number": n, "hash": f"0x{n:064x}", "timestamp": _time(n)} for n in range(BLOCKS)]
    snapshots = [
        {
            "slug": slug,
            "chain_id": 1,
            "block_number": n,
            "block_hash": f"0x{n:064x}",
            "block_timestamp": _time(n),
            "tvl_usd": _tvl(n) * factor,
            "borrowed_usd": Decimal(0),
            "staking_usd": Decimal(0),
            "pool2_usd": Decimal(0),
            "unpriced_count": 0,
        }
        for n in range(BLOCKS)
        for slug, factor in (("big", 1), ("other", 2))
        if slug == "big" or n % 10 == 0
    ]
    prices = [
        {
            "chain_id": 1,
            "token": WETH,
            "block_number": n,
            "timestamp": _time(n),
            "usd": Decimal(3000) + Decimal(n) / 1000,
            "source": "chainlink:ETH/USD",
            "confidence": 0.99,
            "liquidity_usd": None,
        }
        for n in range(BLOCKS)
    ]
    with repo.engine.begin() as conn:
        conn.execute(insert(Block), blocks)
        conn.execute(insert(TvlSnapshot), snapshots)
        conn.execute(insert(Price), prices)
    yield repo
    repo.close()


def _timed(read, what: str = ""):  # type: ignore[no-untyped-def]
    started = time.process_time()  # every thread of the process: TestClient serves the app in a second one
    result = read()
    assert time.process_time() - started < BUDGET, what
    return result


def test_hourly_protocol_history_is_the_last_block_of_each_hour(big_store: Repository) -> None:
    points = _timed(lambda: protocol_points(big_store, "big", None, None, None, width=3600, limit=2000))
    expected: dict[int, int] = {}
    for n in range(BLOCKS):
        expected[_time(n) - _time(n) % 3600] = n
    assert [p.block.number for p in points] == sorted(expected.values())
    assert all(p.tvl_usd == _tvl(p.block.number) for p in points)
    newest = _timed(lambda: protocol_points(big_store, "big", None, None, None, width=3600, limit=5))
    assert [p.block.number for p in newest] == sorted(expected.values())[-5:]


def test_block_history_reads_only_the_newest_rows(big_store: Repository) -> None:
    points = _timed(lambda: protocol_points(big_store, "big", 1, None, None, width=0, limit=2001))
    assert [p.block.number for p in points] == list(range(BLOCKS - 2001, BLOCKS))


def test_chain_points_sum_the_protocols_of_the_last_block_per_day(big_store: Repository) -> None:
    points = _timed(lambda: chain_points(big_store, 1, None, None, width=86_400, limit=3650))
    last: dict[int, int] = {}
    for n in range(BLOCKS):
        last[_time(n) - _time(n) % 86_400] = n
    assert [p.block.number for p in points] == sorted(last.values())
    for p in points:
        n = p.block.number
        assert p.tvl_usd == _tvl(n) + (2 * _tvl(n) if n % 10 == 0 else 0)


def test_price_series_is_bucketed_and_capped(big_store: Repository) -> None:
    series = _timed(lambda: price_series(big_store, 1, WETH, start=None, end=None, period=3600, limit=100))
    assert len(series) == 100
    assert series[-1].block_number == BLOCKS - 1
    assert all(_time(q.block_number or 0) == q.timestamp for q in series)


LARGEST: Final = [
    ("/v1/protocols/big/tvl", {"interval": "hour"}),
    ("/v1/protocols/big/tvl", {"interval": "day"}),
    ("/v1/protocols/big/tvl", {"interval": "block", "start": _time(BLOCKS - 2000)}),
    ("/v1/chains/ethereum/tvl", {"interval": "hour"}),
    ("/v1/prices/history", {"token": f"ethereum:{WETH}", "limit": 5000}),
    ("/protocol/big", {}),
    ("/v2/historicalChainTvl", {}),
    ("/v2/historicalChainTvl/ethereum", {}),
    (f"/chart/ethereum:{WETH}", {}),
    ("/api/v3/coins/weth/market_chart", {"vs_currency": "usd", "days": "max"}),
    ("/api/v3/coins/weth/market_chart", {"vs_currency": "usd", "days": "90"}),
]


def test_largest_answers_stay_under_the_documented_size(big_store: Repository) -> None:
    settings = ApiSettings(rate_per_ip="1000000/minute")
    with TestClient(create_app(settings, repo=big_store)) as client:
        for path, query in LARGEST:
            answer = _timed(lambda: client.get(path, params=query), path)  # noqa: B023  (called at once)
            assert answer.status_code == 200, (path, answer.text[:300])
            assert len(answer.content) < MAX_RESPONSE_BYTES, path
