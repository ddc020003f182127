"""Yields per block in the store (SQLite and PostgreSQL): exact round trip, idempotent, newest per protocol,
rolled back with their block."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine

from defiscope.protocols.yields import Yield, YieldKind
from defiscope.store import BlockConflictError, Repository
from defiscope.store.models import YieldRow
from defiscope.store.yields import StoredYield
from tests.store.storekit import POOL, USDC, WETH, block, count_rows

APR = Decimal("0.012345678901234567890123456")  # a ray rate: 27 decimals, kept to the last digit
APY = Decimal("0.01242226547340148869302733094727917282016424906")  # 50 significant digits


def rate(
    kind: YieldKind = YieldKind.SUPPLY, *, protocol: str = "aave-v3", asset: str = WETH, apr: Decimal = APR
) -> Yield:
    return Yield(protocol, POOL, asset, "WETH" if asset == WETH else "USDC", kind, apr, APY, "test method")


def test_yields_round_trip_exactly_and_rewrites_replace(repo: Repository, engine: Engine) -> None:
    b = block(10)
    rates = [rate(), rate(YieldKind.BORROW, apr=Decimal("0.5")), rate(asset=USDC, apr=Decimal(0))]
    assert repo.save_yields(b, rates) == 3
    assert repo.save_yields(b, rates) == 3  # idempotent: same key, same rows
    assert count_rows(engine, YieldRow) == 3
    stored = repo.latest_yields()
    assert {s.rate for s in stored} == set(rates)
    assert all(s.block == b for s in stored)
    assert [s.rate.apr for s in stored if s.rate.asset == WETH and s.rate.kind is YieldKind.SUPPLY] == [APR]
    # A shorter list for the same block replaces the protocol's rows; `protocols` clears one with none.
    repo.save_yields(b, rates[:1])
    assert [s.rate for s in repo.latest_yields()] == rates[:1]
    repo.save_yields(b, [], protocols=["aave-v3"])
    assert repo.latest_yields() == []


def test_latest_yields_is_the_newest_block_per_chain_and_protocol(repo: Repository) -> None:
    repo.save_yields(block(10), [rate(apr=Decimal("0.01")), rate(protocol="compound-v2", apr=Decimal("0.02"))])
    repo.save_yields(block(11), [rate(apr=Decimal("0.03"))])
    repo.save_yields(block(5, chain_id=56), [rate(apr=Decimal("0.04"))])
    got = [(s.block.chain_id, s.block.number, s.rate.protocol, s.rate.apr) for s in repo.latest_yields()]
    assert got == [
        (1, 11, "aave-v3", Decimal("0.03")),
        (56, 5, "aave-v3", Decimal("0.04")),
        (1, 10, "compound-v2", Decimal("0.02")),
    ]
    assert [s.block.number for s in repo.latest_yields(chain_id=56)] == [5]
    assert [s.rate.apr for s in repo.latest_yields(protocol="compound-v2")] == [Decimal("0.02")]
    assert repo.latest_yields(chain_id=56, protocol="compound-v2") == []


def test_yields_roll_back_with_their_block_and_refuse_a_fork(repo: Repository) -> None:
    repo.save_yields(block(10), [rate(apr=Decimal("0.01"))])
    repo.save_yields(block(11), [rate(apr=Decimal("0.02"))])
    with pytest.raises(BlockConflictError):
        repo.save_yields(block(11, fork="b"), [rate()])
    repo.rollback_from(1, 11)
    assert repo.latest_yields() == [StoredYield(block(10), rate(apr=Decimal("0.01")))]


@pytest.mark.parametrize("bad", [0.05, Decimal("NaN")])
def test_inexact_rates_are_refused_before_writing(repo: Repository, engine: Engine, bad: object) -> None:
    with pytest.raises((TypeError, ValueError)):
        repo.save_yields(block(10), [rate(), rate(YieldKind.BORROW, apr=bad)])  # type: ignore[arg-type]
    assert count_rows(engine, YieldRow) == 0
