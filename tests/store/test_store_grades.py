"""The published-grades store (revision 0016): its docstring example runs, a publication needs its block stored
with the same hash, and a signal must belong to the block it is published with."""

from __future__ import annotations

import doctest

import pytest

import defiscope.store.grades
from defiscope.chain.block import BlockRef
from defiscope.store import BlockConflictError, Repository
from defiscope.store.grades import GradeStore, Publication, StoredSignal

BLOCK = BlockRef(chain_id=1, number=7, hash="0x" + "ab" * 32, timestamp=1_700_000_000)


def test_docstring_example_holds() -> None:
    result = doctest.testmod(defiscope.store.grades)
    assert result.attempted > 0
    assert result.failed == 0


def test_a_publication_needs_its_block_with_the_same_hash(repo: Repository) -> None:
    store = GradeStore(repo.engine)
    with pytest.raises(BlockConflictError):
        store.publish(BLOCK, "1.0.0", "{}", [])
    repo.save_yields(BLOCK, [], protocols=["aave-v3"])
    with pytest.raises(BlockConflictError):
        store.publish(BlockRef(1, 7, "0x" + "cd" * 32, BLOCK.timestamp), "1.0.0", "{}", [])
    with pytest.raises(ValueError, match="a signal of block 8 published with block 7"):
        store.publish(BLOCK, "1.0.0", "{}", [StoredSignal(8, "aave", "trader", "bullish", "{}")])
    assert store.at_or_before(1) is None  # nothing half-written
    store.publish(BLOCK, "1.0.0", '{"a": 1}', [])
    assert store.at_or_before(1) == Publication(BLOCK, "1.0.0", '{"a": 1}')
    assert store.first_block(1) == 7


def test_the_version_changes_with_every_change_of_the_published_history(repo: Repository) -> None:
    """What the API's evaluation cache is keyed by: a publication, a republication of an old block, a reorg."""
    store = GradeStore(repo.engine)
    assert store.version(1) is None
    later = BlockRef(1, 8, "0x" + "ef" * 32, BLOCK.timestamp + 12)
    for block in (BLOCK, later):
        repo.save_yields(block, [], protocols=["aave-v3"])
    store.publish(BLOCK, "1.0.0", "{}", [])
    first = store.version(1)
    assert first is not None
    assert first[0] == 1
    assert first[2:] == (7, BLOCK.hash)
    store.publish(later, "1.0.0", "{}", [])
    second = store.version(1)
    assert second is not None
    assert second[2:] == (8, later.hash)
    store.publish(BLOCK, "1.0.0", '{"again": 1}', [])  # an older block published again: same count, newest block
    again = store.version(1)
    assert again is not None
    assert again[0] == second[0]
    assert again != second
    repo.rollback_from(1, 8)  # a reorg drops block 8 and its publication
    assert store.version(1) == (1, again[1], 7, BLOCK.hash)  # block 7's newer row is the newest row left
    assert store.version(2) is None
