"""The grade passes (revision 0025): its docstring example runs; judging a block checks it is still the stored one;
a rollback drops the passes of its blocks, judged or not, and the next job continues after the newest judged left."""

from __future__ import annotations

import doctest

import pytest
from sqlalchemy import select

import defiscope.store.grade_passes
from defiscope.chain.block import BlockRef
from defiscope.store import BlockConflictError, Repository
from defiscope.store.grade_passes import KEPT_BEHIND, GradePasses
from defiscope.store.grades import GradeStore
from defiscope.store.models import GradePassRow

FORMULA = "1.1.0"


def block(number: int, fork: str = "a") -> BlockRef:
    return BlockRef(1, number, "0x" + f"{fork}{number:063x}", 1_700_000_000 + 12 * number)


def stored(repo: Repository, *blocks: BlockRef) -> None:
    for b in blocks:
        repo.save_yields(b, [], protocols=["aave-v3"])  # any write stores the block


def test_docstring_example_holds() -> None:
    result = doctest.testmod(defiscope.store.grade_passes, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0


def test_judging_a_block_of_another_fork_is_refused_and_a_rolled_back_one_is_skipped(repo: Repository) -> None:
    passes = GradePasses(repo.engine)
    stored(repo, block(7))
    passes.told(block(7), FORMULA)
    with pytest.raises(BlockConflictError):
        passes.mark_judged(block(7, fork="b"), FORMULA)
    assert passes.judged_through(1, FORMULA) is None
    repo.rollback_from(1, 7)
    passes.mark_judged(block(7), FORMULA)  # its row went with the block: nothing to mark
    assert passes.judged_through(1, FORMULA) is None


def test_a_rollback_drops_the_passes_of_its_blocks_and_the_walk_continues_after_the_judged_left(
    repo: Repository,
) -> None:
    passes = GradePasses(repo.engine)
    first = [block(n) for n in range(10, 16)]
    stored(repo, *first)
    for b in first:
        passes.told(b, FORMULA)
    for b in first[:5]:
        passes.mark_judged(b, FORMULA)
    assert passes.judged_through(1, FORMULA) == 14
    assert passes.judged_through(1, "0.9.0") is None  # per formula version
    repo.rollback_from(1, 13)
    assert passes.judged_through(1, FORMULA) == 12
    second = [block(n, fork="b") for n in range(13, 16)]
    stored(repo, *second)
    for b in second:
        passes.told(b, FORMULA)
    assert passes.unjudged_through(second[1], FORMULA) == second[:2]  # the new fork's, in order
    assert passes.unjudged_through(block(11), FORMULA) == []  # judged already: nothing, nothing recorded


def test_a_job_block_not_told_is_recorded_and_judged_in_its_turn(repo: Repository) -> None:
    passes = GradePasses(repo.engine)
    blocks = [block(n) for n in (20, 21, 22)]
    stored(repo, *blocks)
    passes.told(blocks[0], FORMULA)
    passes.told(blocks[2], FORMULA)
    assert passes.unjudged_through(blocks[1], FORMULA) == blocks[:2]  # 21 was never told: recorded by its job
    assert passes.unjudged_through(blocks[2], FORMULA) == blocks


def test_the_time_of_the_publication_before_a_block(repo: Repository) -> None:
    grades = GradeStore(repo.engine)
    stored(repo, block(30), block(31), block(32))
    grades.publish(block(31), FORMULA, "{}", [])
    assert grades.time_before(1, 31) is None
    assert grades.time_before(1, 32) == block(31).timestamp
    assert grades.time_before(1, 99) == block(31).timestamp


def test_judged_rows_far_behind_are_dropped_and_failed_ones_kept(repo: Repository) -> None:
    passes = GradePasses(repo.engine)
    blocks = [block(n) for n in range(1, KEPT_BEHIND + 12)]
    stored(repo, *blocks)
    for b in blocks:
        passes.told(b, FORMULA)
    passes.failed(blocks[2], FORMULA, "store down")  # a failed publication keeps its row (`errors` reports it)
    for b in blocks:
        passes.mark_judged(b, FORMULA)
    with repo.engine.connect() as conn:
        numbers = sorted(n for (n,) in conn.execute(select(GradePassRow.block_number)))
    newest = blocks[-1].number
    assert numbers == [3, *range(newest - KEPT_BEHIND, newest + 1)]  # bounded: the last KEPT_BEHIND + 1 judged
    assert passes.errors(1, FORMULA) == [(3, 1, "store down")]
    assert passes.judged_through(1, FORMULA) == newest
    # A rollback within the kept rows still leaves a judged block to continue after.
    repo.rollback_from(1, newest - 100)
    assert passes.judged_through(1, FORMULA) == newest - 101
