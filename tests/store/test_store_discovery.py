"""Discovery in the store (SQLite and PostgreSQL): a `LogCursor` source's raw logs come back exactly and in chain
order, a cursor only moves forward until a reorg rollback lowers it with the snapshots."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine

from defiscope.protocols.log_cursor import StoredCursor, source_key
from defiscope.store import Repository
from defiscope.store.models import DiscoveryLog
from tests.store.storekit import block, count_rows, make_snapshot

FACTORY = "0x" + "fa" * 20
TOPIC = "0x783cca1c0412dd0d695e784568c96da2e9c22ff989357a2e8b1d9b2b4e6b7118"
SOURCE = source_key(FACTORY, [TOPIC], 0)
OTHER = source_key(FACTORY, [TOPIC], 7)  # the same events from another start block: another source


def raw_log(number: int, index: int, *, fork: str = "a") -> dict[str, Any]:
    """A log as `eth_getLogs` answers it: hex strings, including a data word bigger than any float."""
    return {
        "address": FACTORY,
        "topics": [TOPIC, "0x" + f"{number:064x}"],
        "data": "0x" + "ff" * 32,
        "blockNumber": hex(number),
        "blockHash": block(number, fork=fork).hash,
        "transactionHash": "0x" + f"{number:062x}{index:02x}",
        "transactionIndex": "0x0",
        "logIndex": hex(index),
        "removed": False,
    }


def test_logs_come_back_exactly_in_chain_order_and_per_source(repo: Repository) -> None:
    assert repo.load_cursor(1, SOURCE) is None
    repo.save_cursor(1, SOURCE, [raw_log(3, 1), raw_log(3, 0)], 10, None)
    repo.save_cursor(1, SOURCE, [raw_log(12, 4)], 20, block(20).hash)
    repo.save_cursor(1, OTHER, [raw_log(8, 0)], 9, None)
    repo.save_cursor(56, SOURCE, [], 5, None)  # another chain: its own cursor
    assert repo.load_cursor(1, SOURCE) == StoredCursor(
        20, block(20).hash, [raw_log(3, 0), raw_log(3, 1), raw_log(12, 4)]
    )
    assert repo.load_cursor(1, OTHER) == StoredCursor(9, None, [raw_log(8, 0)])
    assert repo.load_cursor(56, SOURCE) == StoredCursor(5, None, [])
    assert repo.discovery_cursors(1) == {SOURCE: (20, block(20).hash), OTHER: (9, None)}


def test_logs_load_in_pages_after_a_position(repo: Repository) -> None:
    logs = [raw_log(3, 0), raw_log(3, 5), raw_log(4, 1), raw_log(9, 0)]
    repo.save_cursor(1, SOURCE, logs, 9, None)
    first = repo.load_cursor(1, SOURCE, limit=2)
    assert first == StoredCursor(9, None, logs[:2])
    assert repo.load_cursor(1, SOURCE, after=(3, 5), limit=2) == StoredCursor(9, None, logs[2:])
    assert repo.load_cursor(1, SOURCE, after=(9, 0), limit=2) == StoredCursor(9, None, [])


def test_a_log_saved_twice_is_kept_once_and_a_cursor_never_moves_back(repo: Repository, engine: Engine) -> None:
    # Two cursors of one source (two adapters of the same factory): the one behind saves what is stored.
    repo.save_cursor(1, SOURCE, [raw_log(3, 0), raw_log(15, 0)], 20, block(20).hash)
    repo.save_cursor(1, SOURCE, [raw_log(3, 0)], 10, None)
    assert count_rows(engine, DiscoveryLog) == 2
    stored = repo.load_cursor(1, SOURCE)
    assert stored is not None
    assert (stored.scanned_to, stored.scanned_hash) == (20, block(20).hash)


def test_rollback_drops_the_logs_of_orphaned_blocks_and_lowers_cursors_past_the_fork(repo: Repository) -> None:
    repo.save_snapshot(make_snapshot(ref=block(9)))
    repo.save_cursor(1, SOURCE, [raw_log(3, 0), raw_log(10, 0), raw_log(11, 2)], 12, block(12).hash)
    repo.save_cursor(1, OTHER, [raw_log(8, 0)], 9, block(9).hash)  # scanned to before the fork: untouched
    repo.save_cursor(56, SOURCE, [raw_log(10, 0)], 12, None)  # another chain: untouched
    assert repo.rollback_from(1, 10) == 0
    assert repo.load_cursor(1, SOURCE) == StoredCursor(9, None, [raw_log(3, 0)])
    assert repo.load_cursor(1, OTHER) == StoredCursor(9, block(9).hash, [raw_log(8, 0)])
    assert repo.load_cursor(56, SOURCE) == StoredCursor(12, None, [raw_log(10, 0)])
    # The other fork's logs of the same blocks are stored after it, not mixed with the old ones.
    repo.save_cursor(1, SOURCE, [raw_log(10, 1, fork="b")], 11, block(11, fork="b").hash)
    assert repo.load_cursor(1, SOURCE) == StoredCursor(
        11, block(11, fork="b").hash, [raw_log(3, 0), raw_log(10, 1, fork="b")]
    )


def test_rollback_of_discovery_alone_leaves_the_snapshots(repo: Repository) -> None:
    repo.save_snapshot(make_snapshot(ref=block(11)))
    repo.save_cursor(1, SOURCE, [raw_log(3, 0), raw_log(11, 0)], 12, block(12).hash)
    repo.rollback_discovery(1, 5)
    assert repo.load_cursor(1, SOURCE) == StoredCursor(4, None, [raw_log(3, 0)])
    assert repo.snapshot_at("uniswap-v2", 1, 11) is not None
