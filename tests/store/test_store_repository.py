"""Repository behaviour on both backends: exact round trips, idempotency, reads, reorg rollback."""

from __future__ import annotations

from dataclasses import replace
from decimal import Decimal

import pytest
from sqlalchemy import Engine

from defiscope.store import BlockConflictError, Repository
from defiscope.store.models import Block, Price, ProvenanceCall, SnapshotToken, TvlSnapshot
from defiscope.tvl.model import BalanceKind, ProtocolSnapshot, exact_sum
from tests.store.storekit import DEX_DEPTH, POOL, USDC, WETH, block, count_rows, make_snapshot, quote


def test_snapshot_round_trips_equal(repo: Repository) -> None:
    saved = make_snapshot()
    repo.save_snapshot(saved)

    loaded = repo.snapshot_at("uniswap-v2", 1, 100)

    assert loaded == saved
    assert loaded is not None
    # Spot-check the parts a lossy backend would break first.
    assert loaded.tokens[0].amount == 2**255 + 12346
    assert loaded.tokens[3].amount == 2**256 - 1
    assert loaded.tokens[0].price is not None
    assert loaded.tokens[0].price.usd == Decimal("3141.592653589793238462643383279502884197")
    assert loaded.tokens[1].value_usd == Decimal("999870000.000000000000000000000000000001")
    assert loaded.tokens[1].price is not None
    assert loaded.tokens[1].price.liquidity_usd == DEX_DEPTH  # revision 0002
    assert loaded.tokens[0].price.liquidity_usd is None
    assert loaded.calls[0].result == (2**200, 2**112 - 1, 1_700_000_000)
    assert loaded.calls[2].result is None
    assert loaded.calls[2].success is False


def test_stored_totals_are_the_exact_sum_of_stored_token_values(repo: Repository) -> None:
    saved = make_snapshot()
    repo.save_snapshot(saved)

    [point] = repo.history("uniswap-v2", 1)
    loaded = repo.snapshot_at("uniswap-v2", 1, 100)
    assert loaded is not None

    # What `explain` does: re-add the stored token values and compare with the stored total.
    for kind in BalanceKind:
        readded = exact_sum(t.value_usd for t in loaded.tokens if t.kind is kind and t.value_usd is not None)
        assert point.total(kind) == readded
    # Plain sum() would round to 28 digits: the reason totals are summed exactly.
    tvl_values = [t.value_usd for t in loaded.tokens if t.kind is BalanceKind.TVL and t.value_usd is not None]
    assert sum(tvl_values, Decimal(0)) != point.tvl_usd
    assert point.tvl_usd == Decimal("181898940355585517692.995327413551332120000000000001")
    assert point.borrowed_usd == Decimal("0.000007")
    assert point.staking_usd == Decimal(0)
    assert point.unpriced_count == 1


def test_resaving_the_same_block_replaces_and_never_duplicates(repo: Repository, engine: Engine) -> None:
    first = make_snapshot()
    repo.save_snapshot(first)
    repo.save_snapshot(first)

    assert count_rows(engine, TvlSnapshot) == 1
    assert count_rows(engine, SnapshotToken) == 5
    assert count_rows(engine, ProvenanceCall) == 4
    assert count_rows(engine, Block) == 1

    # A corrected re-read of the same block, with fewer tokens and calls, replaces the old one.
    second = replace(first, tokens=first.tokens[1:3], calls=first.calls[:1])
    repo.save_snapshot(second)

    assert repo.snapshot_at("uniswap-v2", 1, 100) == second
    assert count_rows(engine, TvlSnapshot) == 1
    assert count_rows(engine, SnapshotToken) == 2
    assert count_rows(engine, ProvenanceCall) == 1
    [point] = repo.history("uniswap-v2")
    assert point.tvl_usd == Decimal("999870000.000000000000000000000000000001")


def test_save_prices_is_idempotent_and_last_quote_wins(repo: Repository, engine: Engine) -> None:
    quotes = [
        quote(WETH, "3000.5", ts=10, block_number=5),
        quote(WETH, "3001.25", ts=20),
        quote(WETH, "2999", ts=20, source="uniswap-v3:0xpool"),
        quote(USDC, "1.0001", ts=10),
    ]
    assert repo.save_prices(quotes) == 4
    assert repo.save_prices(quotes) == 4
    assert count_rows(engine, Price) == 4

    # Same key again within one call and across calls: updated in place, still one row per key.
    updated = quote(WETH, "3001.333333333333333333333333333333", ts=20)
    assert repo.save_prices([quote(WETH, "1", ts=20), updated]) == 1
    assert count_rows(engine, Price) == 4

    # Ordered by timestamp, then source.
    assert repo.prices(1, WETH) == [quotes[0], updated, quotes[2]]
    assert repo.prices(1, WETH, start_ts=11) == [updated, quotes[2]]
    assert repo.prices(1, WETH, end_ts=10) == [quotes[0]]
    assert repo.save_prices([]) == 0


def test_save_prices_in_batches_larger_than_one_statement(repo: Repository, engine: Engine) -> None:
    quotes = [quote(WETH, f"{i}.{i:030d}", ts=i) for i in range(1, 1_201)]
    assert repo.save_prices(quotes) == 1_200
    assert count_rows(engine, Price) == 1_200
    assert repo.prices(1, WETH) == quotes


def test_latest_snapshot_per_chain_and_across_chains(repo: Repository) -> None:
    on_mainnet = [make_snapshot(ref=block(n), scale=n) for n in (100, 300, 200)]
    # Chain 10's block 50 is the newest by time (its timestamp is set after every mainnet one).
    late_ref = replace(block(50, chain_id=10), timestamp=block(300).timestamp + 1)
    on_optimism = make_snapshot(ref=late_ref)
    for snap in [*on_mainnet, on_optimism]:
        repo.save_snapshot(snap)

    assert repo.latest_snapshot("uniswap-v2", 1) == on_mainnet[1]
    assert repo.latest_snapshot("uniswap-v2", 10) == on_optimism
    assert repo.latest_snapshot("uniswap-v2") == on_optimism
    assert repo.latest_snapshot("uniswap-v2", 56) is None
    assert repo.latest_snapshot("nope") is None


def test_snapshot_before_picks_the_last_at_or_before(repo: Repository) -> None:
    snaps = {n: make_snapshot(ref=block(n), scale=n) for n in (100, 200, 300)}
    for snap in snaps.values():
        repo.save_snapshot(snap)
    ts = {n: s.block.timestamp for n, s in snaps.items()}

    assert repo.snapshot_before("uniswap-v2", 1, ts[200]) == snaps[200]
    assert repo.snapshot_before("uniswap-v2", 1, ts[200] - 1) == snaps[100]
    assert repo.snapshot_before("uniswap-v2", 1, ts[300] + 3600) == snaps[300]
    assert repo.snapshot_before("uniswap-v2", 1, ts[100] - 1) is None
    assert repo.snapshot_before("uniswap-v2", 10, ts[300]) is None
    # The ranking's lookup: the same snapshot's stored TVL, equal to its tokens' exact sum.
    assert repo.tvl_before("uniswap-v2", 1, ts[200] - 1) == snaps[100].total(BalanceKind.TVL)
    assert repo.tvl_before("uniswap-v2", 1, ts[300] + 3600) == snaps[300].total(BalanceKind.TVL)
    assert repo.tvl_before("uniswap-v2", 1, ts[100] - 1) is None


def test_history_is_ordered_bounded_and_exact(repo: Repository) -> None:
    # Saved out of order and across two chains.
    for n in (300, 100, 200):
        repo.save_snapshot(make_snapshot(ref=block(n), scale=n))
    repo.save_snapshot(make_snapshot(ref=replace(block(7, chain_id=10), timestamp=block(150).timestamp), scale=7))
    repo.save_snapshot(make_snapshot("other", ref=block(100)))

    mainnet = repo.history("uniswap-v2", 1)
    assert [p.block.number for p in mainnet] == [100, 200, 300]
    assert [p.block for p in mainnet] == [block(100), block(200), block(300)]
    assert [p.tvl_usd for p in mainnet] == [make_snapshot(scale=n).total(BalanceKind.TVL) for n in (100, 200, 300)]
    assert mainnet[2].tvl_usd == Decimal("54569682106675655307898.598224065399636000000000000300")

    everywhere = repo.history("uniswap-v2")
    assert [(p.block.chain_id, p.block.number) for p in everywhere] == [(1, 100), (10, 7), (1, 200), (1, 300)]

    window = repo.history("uniswap-v2", 1, start_ts=block(200).timestamp, end_ts=block(300).timestamp)
    assert [p.block.number for p in window] == [200, 300]
    assert repo.history("uniswap-v2", 1, start_ts=block(300).timestamp + 1) == []


def test_stored_blocks_reports_done_blocks_in_the_inclusive_range(repo: Repository) -> None:
    for n in (10, 11, 13, 20):
        repo.save_snapshot(make_snapshot(ref=block(n)))
    repo.save_snapshot(make_snapshot("other", ref=block(12)))
    repo.save_snapshot(make_snapshot(ref=block(12, chain_id=10)))

    assert repo.stored_blocks("uniswap-v2", 1, 10, 20) == {10, 11, 13, 20}
    assert repo.stored_blocks("uniswap-v2", 1, 11, 19) == {11, 13}
    assert repo.stored_blocks("uniswap-v2", 1, 21, 99) == set()
    assert repo.stored_blocks("other", 1, 0, 100) == {12}
    assert repo.stored_blocks("uniswap-v2", 10, 0, 100) == {12}


def test_block_hash_and_protocol_slugs(repo: Repository) -> None:
    repo.save_snapshot(make_snapshot("zeta", ref=block(5)))
    repo.save_snapshot(make_snapshot("aave-v3", ref=block(5)))
    repo.save_snapshot(make_snapshot("aave-v3", ref=block(6)))

    assert repo.block_hash(1, 5) == block(5).hash
    assert repo.block_hash(1, 7) is None
    assert repo.block_hash(10, 5) is None
    assert repo.protocol_slugs() == ["aave-v3", "zeta"]


def test_rollback_from_deletes_at_and_above_on_that_chain_only(repo: Repository, engine: Engine) -> None:
    for n in (100, 101, 102, 103):
        repo.save_snapshot(make_snapshot(ref=block(n)))
        repo.save_snapshot(make_snapshot("other", ref=block(n)))
    repo.save_snapshot(make_snapshot(ref=block(102, chain_id=10)))
    repo.save_prices(
        [
            quote(WETH, "1", ts=1, block_number=101),
            quote(WETH, "2", ts=2, block_number=102),
            quote(WETH, "3", ts=3),  # not tied to a block: survives
            quote(WETH, "4", ts=4, chain_id=10, block_number=103),
        ]
    )

    assert repo.rollback_from(1, 102) == 4

    assert repo.stored_blocks("uniswap-v2", 1, 0, 10**9) == {100, 101}
    assert repo.stored_blocks("other", 1, 0, 10**9) == {100, 101}
    assert repo.stored_blocks("uniswap-v2", 10, 0, 10**9) == {102}
    assert repo.block_hash(1, 102) is None
    assert repo.block_hash(1, 101) == block(101).hash
    assert count_rows(engine, TvlSnapshot) == 5
    assert count_rows(engine, Block) == 3
    # Children went with their snapshots (ON DELETE CASCADE, which SQLite honours only with foreign_keys=ON).
    assert count_rows(engine, SnapshotToken) == 5 * 5
    assert count_rows(engine, ProvenanceCall) == 5 * 4
    assert [p.usd for p in repo.prices(1, WETH)] == [Decimal(1), Decimal(3)]
    assert [p.usd for p in repo.prices(10, WETH)] == [Decimal(4)]
    assert repo.snapshot_at("uniswap-v2", 1, 101) == make_snapshot(ref=block(101))
    assert repo.rollback_from(1, 102) == 0


def test_a_different_hash_at_a_stored_block_is_a_reorg(repo: Repository) -> None:
    original = make_snapshot(ref=block(100))
    repo.save_snapshot(original)
    forked = make_snapshot("other", ref=block(100, fork="b"), scale=2)

    with pytest.raises(BlockConflictError, match=r"rollback_from\(1, 100\)") as info:
        repo.save_snapshot(forked)
    assert info.value.stored_hash == block(100).hash
    assert repo.snapshot_at("other", 1, 100) is None
    assert repo.protocol_slugs() == ["uniswap-v2"]

    assert repo.rollback_from(1, 100) == 1
    repo.save_snapshot(forked)
    assert repo.snapshot_at("other", 1, 100) == forked
    assert repo.block_hash(1, 100) == block(100, fork="b").hash


def test_bad_input_is_refused_before_anything_is_written(repo: Repository, engine: Engine) -> None:
    good = make_snapshot()
    repo.save_snapshot(good)

    nan_value = replace(good.tokens[1], value_usd=Decimal("NaN"))
    with pytest.raises(ValueError, match="non-finite"):
        repo.save_snapshot(replace(good, tokens=(nan_value,)))
    assert good.tokens[1].price is not None
    float_price = replace(good.tokens[1], price=replace(good.tokens[1].price, usd=1.5))  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="needs a Decimal"):
        repo.save_snapshot(replace(good, tokens=(float_price,)))
    too_big = replace(good.tokens[0], amount=10**78)
    with pytest.raises(ValueError, match="more than 78 digits"):
        repo.save_snapshot(replace(good, tokens=(too_big,)))
    not_json = replace(good.calls[0], result=b"\x00")
    with pytest.raises(TypeError, match="not JSON data"):
        repo.save_snapshot(replace(good, calls=(not_json,)))
    with pytest.raises(ValueError, match="is for chain 10"):
        repo.save_snapshot(replace(good, chain_id=10))

    assert repo.snapshot_at("uniswap-v2", 1, 100) == good
    assert count_rows(engine, SnapshotToken) == 5


def test_prices_keep_exact_decimals(repo: Repository) -> None:
    tiny = quote(POOL, "0.000000000000000000000000000000000000000000000123", ts=1)
    huge = quote(POOL, "123456789012345678901234567890123456789012345678901234567890.5", ts=2)
    repo.save_prices([tiny, huge])
    assert repo.prices(1, POOL) == [tiny, huge]


def test_empty_snapshot_round_trips(repo: Repository) -> None:
    empty = ProtocolSnapshot(slug="new", chain_id=1, block=block(1), tokens=())
    repo.save_snapshot(empty)
    assert repo.snapshot_at("new", 1, 1) == empty
    [point] = repo.history("new")
    assert (point.tvl_usd, point.unpriced_count) == (Decimal(0), 0)


def test_prices_keep_their_pool_depth_and_upserts_update_it(repo: Repository) -> None:
    dex = quote(WETH, "2999.5", ts=5, source="uniswap-v3:0xpool:twap1800", liquidity_usd=DEX_DEPTH)
    feed = quote(WETH, "3000", ts=5)
    repo.save_prices([dex, feed])
    assert repo.prices(1, WETH) == [feed, dex]
    deeper = replace(dex, liquidity_usd=Decimal("0.000000000000000000000000000000000000000001"))
    repo.save_prices([deeper])
    assert repo.prices(1, WETH) == [feed, deeper]


def test_blocks_saved_alone_are_listed_in_range_and_span(repo: Repository) -> None:
    """Blocks without snapshots (a price-only or replayed history): saved, listed oldest first, a fork refused."""
    assert repo.block_span(1) is None
    repo.save_blocks([block(102), block(100), block(101)])
    repo.save_blocks([block(101)])  # the same block again: nothing changes
    repo.save_snapshot(make_snapshot(ref=block(103)))
    assert repo.block_span(1) == (100, 103)
    assert repo.block_span(56) is None
    assert [b.number for b in repo.blocks_between(1, 101, 200)] == [101, 102, 103]
    assert repo.blocks_between(1, 100, 100) == [block(100)]
    with pytest.raises(BlockConflictError):
        repo.save_blocks([block(102, fork="b")])
