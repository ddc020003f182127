"""Yield gaps in the store (SQLite and PostgreSQL): a market the newest block could not read is listed as a
gap of that block, never served with an older block's rate; gaps are replaced and rolled back with the block."""

from __future__ import annotations

from decimal import Decimal

from sqlalchemy import Engine

from defiscope.protocols.yields import EVERY_MARKET, Yield, YieldGap, YieldKind
from defiscope.store import Repository
from defiscope.store.models import YieldGapRow
from defiscope.store.yields import StoredYield, StoredYieldGap
from tests.store.storekit import POOL, USDC, WETH, block, count_rows

DAI_POOL = "0x" + "d1" * 20


def lp_rate(market: str, apr: str, protocol: str = "uniswap-v2") -> Yield:
    return Yield(protocol, market, market, f"pool {market[:6]}", YieldKind.LP_FEE, Decimal(apr), Decimal(apr), "m")


def lp_gap(market: str, reason: str, protocol: str = "uniswap-v2") -> YieldGap:
    return YieldGap(protocol, market, market, f"pool {market[:6]}", YieldKind.LP_FEE, reason)


def test_the_newest_block_gives_its_rates_and_gaps_never_an_older_rate(repo: Repository) -> None:
    repo.save_yields(block(10), [lp_rate(POOL, "0.01"), lp_rate(WETH, "0.02"), lp_rate(USDC, "0.03")])
    gap = lp_gap(WETH, "at block 11: getReserves() failed")
    repo.save_yields(block(11), [lp_rate(POOL, "0.04"), lp_rate(USDC, "0.05")], unavailable=[gap])
    latest = repo.latest_yields_and_gaps()
    assert latest.rates == [  # by symbol
        StoredYield(block(11), lp_rate(USDC, "0.05")),
        StoredYield(block(11), lp_rate(POOL, "0.04")),
    ]
    assert latest.gaps == [StoredYieldGap(block(11), gap)]
    assert WETH not in {s.rate.market for s in repo.latest_yields()}  # block 10's 0.02 is not served for it
    # A later block that reads it again supersedes the gap.
    repo.save_yields(block(12), [lp_rate(POOL, "0.06"), lp_rate(WETH, "0.07")])
    assert repo.latest_yields_and_gaps().gaps == []
    assert {s.rate.market: s.rate.apr for s in repo.latest_yields()} == {POOL: Decimal("0.06"), WETH: Decimal("0.07")}


def test_a_block_with_only_a_whole_protocol_gap_is_the_newest(repo: Repository) -> None:
    repo.save_yields(block(10), [lp_rate(POOL, "0.01"), lp_rate(POOL, "0.02", protocol="curve")])
    everything = YieldGap("uniswap-v2", EVERY_MARKET, reason="rpc: timeout")
    repo.save_yields(block(11), [], unavailable=[everything])
    latest = repo.latest_yields_and_gaps()
    # uniswap-v2's newest block is 11 (no rate, one gap); curve's is still 10.
    assert [(s.block.number, s.rate.protocol) for s in latest.rates] == [(10, "curve")]
    assert latest.gaps == [StoredYieldGap(block(11), everything)]
    assert latest.gaps[0].gap.kind is None
    assert latest.gaps[0].gap.whole_protocol
    assert repo.latest_yields_and_gaps(protocol="curve").gaps == []
    assert repo.latest_yields_and_gaps(chain_id=56).gaps == []


def test_gaps_are_replaced_with_their_block_and_rolled_back_with_it(repo: Repository, engine: Engine) -> None:
    repo.save_yields(block(10), [lp_rate(POOL, "0.01")])
    gaps = [lp_gap(WETH, "no liquidity"), lp_gap(USDC, "no liquidity")]
    repo.save_yields(block(11), [], unavailable=gaps)
    repo.save_yields(block(11), [], unavailable=gaps)  # idempotent
    assert count_rows(engine, YieldGapRow) == 2
    repo.save_yields(block(11), [lp_rate(WETH, "0.02")], unavailable=gaps[1:])  # re-read: one gap left
    assert [s.gap for s in repo.latest_yields_and_gaps().gaps] == gaps[1:]
    repo.rollback_from(1, 11)
    assert count_rows(engine, YieldGapRow) == 0
    assert repo.latest_yields_and_gaps().rates == [StoredYield(block(10), lp_rate(POOL, "0.01"))]


def test_a_page_of_one_kind_lists_that_kind_s_gaps_and_those_of_no_kind(repo: Repository) -> None:
    lp = lp_gap(WETH, "no liquidity")
    borrow = YieldGap("aave-v3", USDC, USDC, "USDC", YieldKind.BORROW, "getReserveData reverted")
    whole = YieldGap("curve", EVERY_MARKET, reason="rpc: timeout")
    repo.save_yields(block(11), [lp_rate(POOL, "0.01")], unavailable=[lp])
    repo.save_yields(block(11), [], protocols=["aave-v3"], unavailable=[borrow])
    repo.save_yields(block(11), [], protocols=["curve"], unavailable=[whole])

    def gaps(kind: YieldKind | None) -> set[YieldGap]:
        return {s.gap for s in repo.latest_yields_page(kind=kind, limit=10).gaps}

    assert gaps(None) == {lp, borrow, whole}
    assert gaps(YieldKind.LP_FEE) == {lp, whole}  # a protocol unread as a whole misses every kind of rate
    assert gaps(YieldKind.BORROW) == {borrow, whole}
    assert gaps(YieldKind.SUPPLY) == {whole}
