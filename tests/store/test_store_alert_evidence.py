"""Alert evidence shared per block (revision 0017): a protocol's snapshot detail is stored once for the alerts of a
block that carry it, read back into each alert in its place; existing alerts keep their evidence across upgrade and
downgrade (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace
from typing import Any

import pytest
from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, select, text
from sqlalchemy.orm import Session

from defiscope.store import create_engine, migrate
from defiscope.store.alerts import (
    RuleStore,
    SharedEvidence,
    StoredAlert,
    StoredRule,
    insert_alerts,
    resolve_alerts,
    retract_from,
)
from defiscope.store.keys import KeyStore, StoredKey
from defiscope.store.models import AlertEvidenceRow, AlertRow
from tests.store.storekit import block, count_rows

BEFORE = "0015_factors"  # the revision 0017 follows in this branch (0016_grades once merged)
#: A snapshot detail's shape: exact big integers must survive the move too.
DETAIL: dict[str, Any] = {"tokens": [{"symbol": "WETH", "amount": str(2**200), "raw": 2**200}], "calls": 3}


def _config() -> Config:
    config = Config()
    config.set_main_option("script_location", "defiscope.store:migrations")
    return config


@pytest.fixture
def bare(db_url: str) -> Iterator[Engine]:
    engine = create_engine(db_url)
    yield engine
    engine.dispose()


def _to(engine: Engine, revision: str, *, down: bool = False) -> None:
    config = _config()
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        (command.downgrade if down else command.upgrade)(config, revision)


def _rule(engine: Engine, rule_id: str = "r1") -> None:
    KeyStore(engine).add(StoredKey("k1", "ci", "00" * 32, 1))
    RuleStore(engine).add(StoredRule(rule_id, "k1", "tvl_change", 1, {"protocol": "x"}, "0", 0, [], "whsec_x", 1, 1))


def _evidence(detail: dict[str, Any] | None) -> dict[str, Any]:
    """A TVL alert's evidence in the order the engine builds it: the observation's, then the detail, then subject."""
    own: dict[str, Any] = {"tvl_usd": "10", "window_blocks": 1}
    if detail is not None:
        own["snapshot_detail"] = detail
    own["subject"] = "x"
    return own


OLD_ALERTS: list[tuple[str, int, dict[str, Any]]] = [
    ("alr_a", 7, _evidence(DETAIL)),
    ("alr_b", 7, _evidence(DETAIL)),  # the same detail at the same block: one shared row
    ("alr_c", 9, _evidence({**DETAIL, "calls": 4})),
    ("alr_d", 9, _evidence(None)),  # no detail: nothing moves
]


def _insert_old(engine: Engine) -> None:
    with engine.begin() as conn:
        for alert_id, number, evidence in OLD_ALERTS:
            ref = block(number)
            conn.execute(
                text(
                    "INSERT INTO alerts (id, rule_id, chain_id, subject, state, block_number, block_hash, "
                    "block_timestamp, value, previous, threshold, evidence) "
                    "VALUES (:id, 'r1', 1, '', 'firing', :n, :h, :t, '1', '0', '100', :e)"
                ),
                {"id": alert_id, "n": number, "h": ref.hash, "t": ref.timestamp, "e": json.dumps(evidence)},
            )


def _old_evidence(engine: Engine) -> dict[str, Any]:
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT id, evidence FROM alerts ORDER BY id"))
        return {i: e if isinstance(e, dict) else json.loads(e) for i, e in rows}


def test_0017_keeps_existing_alerts_evidence_and_shares_identical_details(bare: Engine) -> None:
    _to(bare, BEFORE)
    _rule(bare)
    _insert_old(bare)
    migrate(bare)
    stored = {a.id: a.evidence for a in RuleStore(bare).alerts()}
    assert stored == {alert_id: evidence for alert_id, _n, evidence in OLD_ALERTS}
    for alert_id, _n, evidence in OLD_ALERTS:  # each key in its place, as served before
        assert list(stored[alert_id]) == list(evidence)
    assert count_rows(bare, AlertEvidenceRow) == 2  # (7, detail) once for two alerts, (9, other detail)
    with Session(bare) as session:  # the alert rows keep only their own evidence
        own = session.scalars(select(AlertRow.evidence).where(AlertRow.id == "alr_a")).one()
    assert own["snapshot_detail"] is None

    _to(bare, BEFORE, down=True)
    assert _old_evidence(bare) == {alert_id: evidence for alert_id, _n, evidence in OLD_ALERTS}
    with bare.connect() as conn:
        assert "alert_evidence" not in bare.dialect.get_table_names(conn)
        columns = {c["name"] for c in bare.dialect.get_columns(conn, "alerts")}
        checks = bare.dialect.get_check_constraints(conn, "alerts")
    assert "evidence_id" not in columns
    assert any("retracted" in c["sqltext"] for c in checks)  # the state check survives SQLite's table copy


def _firing(alert_id: str, number: int, detail: dict[str, Any]) -> StoredAlert:
    return StoredAlert(alert_id, "r1", 1, "", "firing", block(number), "1", "0", "100", _evidence(detail), None, None)


def test_shared_detail_is_stored_once_and_served_in_every_alert(engine: Engine) -> None:
    _rule(engine)
    entry = SharedEvidence("evd_1", 1, 7, "snapshot_detail", DETAIL)
    alerts = [_firing(f"alr_{i}", 7, DETAIL) for i in range(3)]
    with Session(engine) as session, session.begin():
        insert_alerts(session, alerts, {a.id: entry for a in alerts})
    assert count_rows(engine, AlertEvidenceRow) == 1
    store = RuleStore(engine)
    assert [a.evidence for a in store.alerts()] == [a.evidence for a in alerts]

    with Session(engine) as session, session.begin():
        resolve_alerts(session, [("alr_0", block(8), "0")])
    resolved = {a.id: a for a in store.alerts()}["alr_0"]
    assert (resolved.state, resolved.evidence) == ("resolved", alerts[0].evidence)

    with Session(engine) as session, session.begin():
        retracted = retract_from(session, 1, 7)
    assert [(a.id, a.evidence) for a, _rule in retracted] == [(a.id, a.evidence) for a in alerts]
    assert {a.state for a in store.alerts()} == {"retracted"}

    assert store.remove("r1", None)  # its alerts go, and the evidence only they referred to
    assert (count_rows(engine, AlertRow), count_rows(engine, AlertEvidenceRow)) == (0, 0)


def test_removing_a_rule_keeps_evidence_another_rules_alert_shares(engine: Engine) -> None:
    _rule(engine)
    store = RuleStore(engine)
    store.add(StoredRule("r2", "k1", "tvl_change", 1, {"protocol": "x"}, "0", 0, [], "whsec_x", 1, 1))
    entry = SharedEvidence("evd_1", 1, 7, "snapshot_detail", DETAIL)
    alerts = [_firing("alr_1", 7, DETAIL), replace(_firing("alr_2", 7, DETAIL), rule_id="r2")]
    with Session(engine) as session, session.begin():
        insert_alerts(session, alerts, {a.id: entry for a in alerts})
    assert store.remove("r1", None)
    assert [(a.id, a.evidence) for a in store.alerts()] == [("alr_2", alerts[1].evidence)]
    assert count_rows(engine, AlertEvidenceRow) == 1
