"""Protocol events in the store (SQLite and PostgreSQL): kept exactly, once per key, read back by (protocol,
kind) in chain order, rolled back with their blocks; revision 0010 moves 0004's rebase reports in, intact."""

from __future__ import annotations

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, inspect, text

from defiscope.protocols.events import StoredEvent
from defiscope.protocols.lido.apr import RebaseReport
from defiscope.protocols.lido.reports import TOKEN_REBASED_KIND, report_of
from defiscope.store import Repository, create_engine, migrate

BIG = 2**256 - 1  # a uint256 no float holds


def event(block: int, index: int, kind: str = "ping", key: str = "", **payload: object) -> StoredEvent:
    return StoredEvent(kind, block, f"0x{block:064x}", index, "0x" + "ee" * 32, payload or {"value": BIG}, key)


def test_events_round_trip_exactly_once_per_key_in_chain_order(repo: Repository) -> None:
    first, second, third = event(10, 3), event(10, 7, value=BIG - 1), event(12, 0, value=-5)
    assert repo.save_events(1, "demo", [third, first]) == 2
    assert repo.save_events(1, "demo", [first, second]) == 2  # `first` again changes nothing
    assert repo.events(1, "demo", "ping") == [first, second, third]
    assert repo.events(1, "demo", "ping")[0].payload["value"] == BIG
    assert repo.events(1, "demo", "ping", from_block=11) == [third]
    assert repo.events(1, "demo", "ping", latest=2) == [second, third]  # the newest two, oldest first


def test_events_read_within_inclusive_block_bounds(repo: Repository) -> None:
    at_10, at_11, at_12, at_13 = event(10, 0), event(11, 2), event(12, 0), event(13, 1)
    repo.save_events(1, "demo", [at_13, at_11, at_10, at_12])
    assert repo.events(1, "demo", "ping", from_block=11, to_block=12) == [at_11, at_12]
    assert repo.events(1, "demo", "ping", from_block=12, to_block=12) == [at_12]  # one block: both ends count
    assert repo.events(1, "demo", "ping", to_block=11) == [at_10, at_11]
    assert repo.events(1, "demo", "ping", from_block=14, to_block=20) == []
    assert repo.events(1, "demo", "ping", to_block=12, latest=2) == [at_11, at_12]  # the newest two up to 12


def test_events_are_apart_by_chain_protocol_and_kind(repo: Repository) -> None:
    repo.save_events(1, "demo", [event(10, 0)])
    repo.save_events(56, "demo", [event(10, 0, value=56)])
    repo.save_events(1, "other", [event(10, 0, value=2)])
    repo.save_events(1, "demo", [event(10, 1, kind="pong")])
    assert [e.payload["value"] for e in repo.events(56, "demo", "ping")] == [56]
    assert [e.payload["value"] for e in repo.events(1, "other", "ping")] == [2]
    assert [e.kind for e in repo.events(1, "demo", "pong")] == ["pong"]
    assert repo.events(1, "demo", "nothing") == []


def test_a_natural_key_keeps_one_event_whatever_its_place(repo: Repository) -> None:
    # A report found at another log index (a rescan on another node) is still the same report.
    repo.save_events(1, "demo", [event(10, 0, key="report-1")])
    repo.save_events(1, "demo", [event(10, 4, key="report-1")])
    assert [(e.block_number, e.log_index) for e in repo.events(1, "demo", "ping")] == [(10, 0)]


def test_rollback_forgets_events_from_the_fork_on(repo: Repository) -> None:
    repo.save_events(1, "demo", [event(10, 0), event(11, 0), event(12, 0)])
    repo.save_events(56, "demo", [event(11, 0)])
    repo.rollback_from(1, 11)
    assert [e.block_number for e in repo.events(1, "demo", "ping")] == [10]
    assert [e.block_number for e in repo.events(56, "demo", "ping")] == [11]  # another chain is untouched


def _config(conn: object) -> Config:
    config = Config()
    config.set_main_option("script_location", "defiscope.store:migrations")
    config.attributes["connection"] = conn
    return config


REPORTS = [
    RebaseReport(1_700_000_000, 86_400, BIG, BIG - 1, 10**30, 10**30 + 7, 12),
    RebaseReport(1_700_086_400, 86_400, 10**21, 10**21 + 3, 10**21, 10**21 + 9, 0),
]


def _insert_0004_reports(engine: Engine) -> None:
    with engine.begin() as conn:
        command.upgrade(_config(conn), "0007_yield_gaps")
        for number, report in enumerate(REPORTS, start=100):
            conn.execute(
                text(
                    "INSERT INTO rebase_reports (chain_id, slug, block_number, block_hash, report_timestamp, "
                    "time_elapsed, pre_total_shares, pre_total_ether, post_total_shares, post_total_ether, "
                    "shares_minted_as_fees) VALUES (1, 'lido', :n, :h, :t, :e, :ps, :pe, :qs, :qe, :f)"
                ),
                {
                    "n": number,
                    "h": f"0x{number:064x}",
                    "t": report.report_timestamp,
                    "e": report.time_elapsed,
                    "ps": str(report.pre_total_shares),
                    "pe": str(report.pre_total_ether),
                    "qs": str(report.post_total_shares),
                    "qe": str(report.post_total_ether),
                    "f": str(report.shares_minted_as_fees),
                },
            )


def test_0010_moves_stored_reports_into_events_and_back(db_url: str) -> None:
    engine = create_engine(db_url)
    try:
        _insert_0004_reports(engine)
        migrate(engine)
        assert "rebase_reports" not in inspect(engine).get_table_names()
        events = Repository(engine).events(1, "lido", TOKEN_REBASED_KIND)
        assert [report_of(e) for e in events] == REPORTS  # every figure exact
        assert [(e.block_number, e.block_hash, e.key) for e in events] == [
            (100, f"0x{100:064x}", "1700000000"),
            (101, f"0x{101:064x}", "1700086400"),
        ]
        assert {(e.log_index, e.tx_hash) for e in events} == {(None, None)}  # 0004 did not record them
        # A rescan after the upgrade finds the same reports with their log index: still one each.
        rescanned = StoredEvent(
            TOKEN_REBASED_KIND, 101, f"0x{101:064x}", 4, "0x" + "ab" * 32, events[1].payload, "1700086400"
        )
        Repository(engine).save_events(1, "lido", [rescanned])
        assert len(Repository(engine).events(1, "lido", TOKEN_REBASED_KIND)) == 2

        with engine.begin() as conn:
            command.downgrade(_config(conn), "0007_yield_gaps")
            rows = conn.execute(
                text(
                    "SELECT block_number, report_timestamp, pre_total_shares, post_total_ether "
                    "FROM rebase_reports ORDER BY block_number"
                )
            ).all()
        assert [(r[0], r[1], int(r[2]), int(r[3])) for r in rows] == [
            (100, REPORTS[0].report_timestamp, BIG, REPORTS[0].post_total_ether),
            (101, REPORTS[1].report_timestamp, REPORTS[1].pre_total_shares, REPORTS[1].post_total_ether),
        ]
        assert "protocol_events" not in inspect(engine).get_table_names()
    finally:
        engine.dispose()
