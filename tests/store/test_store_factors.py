"""Grade factor rows: replaced per block, read back exactly, dropped with their block on a reorg, both backends."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import Engine, text
from sqlalchemy.exc import IntegrityError

from defiscope.store import Repository
from defiscope.store.errors import BlockConflictError
from defiscope.store.factors import FactorStore, FactorValue, InputBlock
from defiscope.store.models import GradeFactorRow
from tests.store.storekit import block, count_rows, make_snapshot

#: More digits than a float or a 28-digit context keep: the column is exact.
EXACT = Decimal("0.123456789012345678901234567890123456789")


def values_at(number: int, tvl_share: Decimal = EXACT) -> list[FactorValue]:
    ref = block(number)
    return [
        FactorValue("aave", "tvl_share", ref, tvl_share, None, InputBlock(56, 4_000), number - 1),
        FactorValue("curve", "momentum_7d", ref, None, f"no price for CRV at or before block {number}", None),
    ]


def test_a_block_is_stored_exactly_and_replaced_whole(repo: Repository) -> None:
    store = FactorStore(repo.engine)
    repo.save_snapshot(make_snapshot(ref=block(100)))
    assert store.replace_block(block(100), values_at(100)) == 2
    assert store.at_block(1, 100) == values_at(100)
    # Again with fewer rows and a new value: nothing stale is left.
    assert store.replace_block(block(100), values_at(100, Decimal("-1.5"))[:1]) == 1
    assert store.at_block(1, 100) == values_at(100, Decimal("-1.5"))[:1]
    assert store.at_block(1, 101) == []
    assert store.blocks(1) == [100]


def test_factors_need_their_block_stored_with_its_hash(repo: Repository) -> None:
    store = FactorStore(repo.engine)
    with pytest.raises(BlockConflictError):
        store.replace_block(block(100), values_at(100))
    repo.save_snapshot(make_snapshot(ref=block(100)))
    with pytest.raises(BlockConflictError):
        store.replace_block(block(100, fork="b"), [])
    with pytest.raises(ValueError, match="computed at"):
        store.replace_block(block(100), values_at(101))


def test_rollback_drops_the_factors_of_orphaned_blocks(repo: Repository, engine: Engine) -> None:
    store = FactorStore(repo.engine)
    for number in (100, 101, 102):
        repo.save_snapshot(make_snapshot(ref=block(number)))
        store.replace_block(block(number), values_at(number))
    repo.rollback_from(1, 101)
    assert store.blocks(1) == [100]
    assert count_rows(engine, GradeFactorRow) == 2
    assert store.at_block(1, 100) == values_at(100)


def test_the_database_refuses_a_row_with_both_or_neither_value_and_reason(repo: Repository, engine: Engine) -> None:
    repo.save_snapshot(make_snapshot(ref=block(100)))
    insert = text(
        "INSERT INTO grade_factors (chain_id, block_number, entity, name, value, missing_reason) "
        "VALUES (1, 100, 'aave', :name, :value, :reason)"
    )
    for name, value, reason in (("a", "1", "why"), ("b", None, None)):
        with pytest.raises(IntegrityError), engine.begin() as conn:
            conn.execute(insert, {"name": name, "value": value, "reason": reason})
