"""Index value rows: stored exactly, replaced per block (idempotent), refused for an unstored block, dropped with
their block on a reorg, read back by range and at or before a block; both backends."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from defiscope.store import Repository
from defiscope.store.indices import IndexValue, IndexValueStore, UnstoredBlock
from defiscope.store.models import IndexValueRow
from tests.store.storekit import block, count_rows, make_snapshot

#: More digits than a float keeps, and a raw amount beyond 2**64: both columns are exact.
LEVEL = Decimal("101.123456789012345678")
RAW = 2**100 + 7


def value_at(number: int, level: Decimal = LEVEL) -> IndexValue:
    return IndexValue(number, level, Decimal(100), Decimal("99.5"), {"UNI": RAW}, {"UNI": Decimal(1)}, number == 100)


def test_values_round_trip_exactly_and_are_replaced(repo: Repository) -> None:
    store = IndexValueStore(repo.engine)
    for number in (100, 101, 102):
        repo.save_snapshot(make_snapshot(ref=block(number)))
    assert store.save("defi-tvl", 1, [value_at(n) for n in (100, 101, 102)]) == 3
    stored = store.history("defi-tvl", 1)
    assert [v.block for v in stored] == [block(100), block(101), block(102)]
    assert (stored[0].value, stored[0].holdings, stored[0].weights) == (LEVEL, {"UNI": RAW}, {"UNI": Decimal(1)})
    assert [v.rebalanced for v in stored] == [True, False, False]
    # tracked again (a replay): the same blocks are replaced, nothing doubles
    store.save("defi-tvl", 1, [value_at(101, Decimal(7))])
    assert [v.value for v in store.history("defi-tvl", 1)] == [LEVEL, Decimal(7), LEVEL]
    assert store.history("defi-tvl", 1, from_block=101, to_block=101)[0].value == Decimal(7)
    assert [v.block.number for v in store.history("defi-tvl", 1, limit=2)] == [101, 102]
    at = store.at_or_before("defi-tvl", 1, 101)
    assert at is not None
    assert at.block.number == 101
    assert store.at_or_before("defi-tvl", 1, 99) is None
    assert store.at_or_before("defi-pulse", 1) is None
    assert store.last_block("defi-tvl", 1) == 102


def test_a_value_needs_its_block_and_a_level_or_a_reason(repo: Repository) -> None:
    store = IndexValueStore(repo.engine)
    with pytest.raises(UnstoredBlock, match="no stored block 100"):
        store.save("defi-tvl", 1, [value_at(100)])
    with pytest.raises(ValueError, match="give a value or the reason"):
        IndexValue(100, None, None, None)
    repo.save_snapshot(make_snapshot(ref=block(100)))
    store.save("defi-pulse", 1, [IndexValue(100, None, None, None, missing="the eligibility rules leave none")])
    (stored,) = store.history("defi-pulse", 1)
    assert (stored.value, stored.holdings, stored.missing) == (None, {}, "the eligibility rules leave none")


def test_rollback_drops_the_values_of_orphaned_blocks(repo: Repository, engine: Engine) -> None:
    store = IndexValueStore(repo.engine)
    for number in (100, 101, 102):
        repo.save_snapshot(make_snapshot(ref=block(number)))
    store.save("defi-tvl", 1, [value_at(n) for n in (100, 101, 102)])
    repo.rollback_from(1, 101)
    assert [v.block.number for v in store.history("defi-tvl", 1)] == [100]
    assert count_rows(engine, IndexValueRow) == 1


def test_the_database_refuses_a_row_with_both_or_neither_value_and_reason(repo: Repository, engine: Engine) -> None:
    repo.save_snapshot(make_snapshot(ref=block(100)))
    insert = text(
        "INSERT INTO index_values (index_id, chain_id, block_number, value, holdings, weights, rebalanced,"
        " missing_reason) VALUES (:id, 1, 100, :value, '{}', '{}', false, :reason)"
    )
    for index_id, value, reason in (("a", "1", "why"), ("b", None, None)):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert, {"id": index_id, "value": value, "reason": reason})
