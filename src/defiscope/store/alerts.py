"""Rows of alert rules and alerts (revision 0011). Rules are read and written per owner: a key never reaches
another key's rule (a miss and a foreign rule look the same: None / False).

    >>> import tempfile
    >>> from defiscope.store import Repository
    >>> from defiscope.store.keys import KeyStore, StoredKey
    >>> repo = Repository.open(f"sqlite:///{tempfile.mkdtemp()}/rules.db")  # doctest: +ELLIPSIS
    2...
    >>> KeyStore(repo.engine).add(StoredKey("k1", "ci", "00" * 32, 1))
    >>> rules = RuleStore(repo.engine)
    >>> rule = StoredRule("r1", "k1", "tvl_change", 1, {"protocol": "x"}, "0", 0, [], "whsec_x", 1, 1)
    >>> rules.add(rule); [r.id for r in rules.owned("k1")], rules.get("r1", "other")
    (['r1'], None)

Alerts are written by the evaluator inside its own transaction (with the sink's outbox rows), so the functions
taking a `Session` here never commit. An evidence entry shared by the alerts of a block (a protocol's snapshot
detail) is stored once (`SharedEvidence`, revision 0017) and put back into each alert's evidence when read.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Any, Final

from sqlalchemy import Engine, Select, Table, bindparam, delete, func, insert, select, update
from sqlalchemy.orm import Session, sessionmaker

from defiscope.chain.block import BlockRef
from defiscope.store.database import WRITE_OPTION
from defiscope.store.models import AlertEvidenceRow, AlertRow, AlertRuleRow

_ALERTS: Final[Table] = AlertRow.metadata.tables[AlertRow.__tablename__]  # Core statements for the hot writes
_EVIDENCE: Final[Table] = AlertEvidenceRow.metadata.tables[AlertEvidenceRow.__tablename__]
#: Alert ids bound in one UPDATE (SQLite allows 32,766 variables a statement; this stays far below).
_IDS_PER_UPDATE: Final = 1_000


@dataclass(frozen=True, slots=True)
class StoredRule:
    id: str
    owner_key_id: str
    kind: str
    chain_id: int
    params: dict[str, Any]
    confirmations: str  # "finalized" or a block count
    cooldown_blocks: int
    channels: list[dict[str, str]]  # {"type", "target"}
    webhook_secret: str
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class StoredAlert:
    id: str
    rule_id: str
    chain_id: int
    subject: str
    state: str
    block: BlockRef
    value: str | None
    previous: str | None
    threshold: str | None
    evidence: dict[str, Any]
    resolved_block: BlockRef | None
    resolved_value: str | None


@dataclass(frozen=True, slots=True)
class SharedEvidence:
    """One entry of evidence (`name`: its key) that several alerts of one block carry alike, stored once."""

    id: str
    chain_id: int
    block_number: int
    name: str
    body: Any


class RuleStore:
    """The `alert_rules` and `alerts` tables over one (migrated) Engine."""

    __slots__ = ("_sessions", "_writes")

    def __init__(self, engine: Engine) -> None:
        self._sessions = sessionmaker(engine, expire_on_commit=False)
        # Writes read first (the next revision, the current row): on SQLite a deferred BEGIN would fail at once
        # ("database is locked") when another writer commits in between; BEGIN IMMEDIATE waits its turn instead.
        self._writes = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)

    def add(self, rule: StoredRule) -> None:
        with self._writes.begin() as session:
            session.add(AlertRuleRow(**_rule_values(rule), revision=_next_revision(session)))

    def owned(self, owner: str) -> list[StoredRule]:
        stmt = select(AlertRuleRow).where(AlertRuleRow.owner_key_id == owner).order_by(AlertRuleRow.created_at)
        with self._sessions() as session:
            return [_rule(r) for r in session.scalars(stmt.order_by(AlertRuleRow.id))]

    def get(self, rule_id: str, owner: str | None) -> StoredRule | None:
        """The rule if `owner` owns it (any owner when None: the evaluator and the operator's CLI)."""
        with self._sessions() as session:
            row = session.get(AlertRuleRow, rule_id)
            return None if row is None or (owner is not None and row.owner_key_id != owner) else _rule(row)

    def replace(self, rule: StoredRule, owner: str) -> StoredRule | None:
        """Overwrite what the owner may change (kind, chain, params, confirmations, cool-down, channels)."""
        with self._writes.begin() as session:
            row = session.get(AlertRuleRow, rule.id)
            if row is None or row.owner_key_id != owner:
                return None
            changed = replace(rule, owner_key_id=owner, webhook_secret=row.webhook_secret, created_at=row.created_at)
            for name, value in _rule_values(changed).items():
                setattr(row, name, value)
            row.revision = _next_revision(session)
            return _rule(row)

    def remove(self, rule_id: str, owner: str | None) -> bool:
        with self._writes.begin() as session:
            stmt = delete(AlertRuleRow).where(AlertRuleRow.id == rule_id)
            if owner is not None:
                stmt = stmt.where(AlertRuleRow.owner_key_id == owner)
            removed = bool(getattr(session.execute(stmt), "rowcount", 0))
            if removed:  # its alerts went with it (ON DELETE CASCADE): so goes the evidence only they shared
                referenced = select(AlertRow.evidence_id).where(AlertRow.evidence_id.is_not(None))
                session.execute(delete(AlertEvidenceRow).where(AlertEvidenceRow.id.not_in(referenced)))
            return removed

    def all(self) -> list[StoredRule]:
        with self._sessions() as session:
            return [_rule(r) for r in session.scalars(select(AlertRuleRow).order_by(AlertRuleRow.id))]

    def version(self) -> tuple[int, int]:
        """(rule count, highest revision): changes with every add, update and delete (see `_next_revision`)."""
        with self._sessions() as session:
            count, top = session.execute(select(func.count(), func.max(AlertRuleRow.revision))).one()
            return int(count), int(top or 0)

    def alerts(self, rule_id: str | None = None, chain_id: int | None = None) -> list[StoredAlert]:
        stmt = _with_evidence(select(AlertRow))
        if rule_id is not None:
            stmt = stmt.where(AlertRow.rule_id == rule_id)
        if chain_id is not None:
            stmt = stmt.where(AlertRow.chain_id == chain_id)
        with self._sessions() as session:
            rows = session.execute(stmt.order_by(AlertRow.block_number, AlertRow.id))
            return [_alert(alert, name, body) for alert, name, body in rows]


def _with_evidence(stmt: Select[*tuple[Any, ...]]) -> Select[*tuple[Any, ...]]:
    """`stmt` (over `AlertRow`) with each alert's shared evidence entry: its name and body (None, None: none)."""
    return stmt.add_columns(AlertEvidenceRow.name, AlertEvidenceRow.body).outerjoin(
        AlertEvidenceRow, AlertEvidenceRow.id == AlertRow.evidence_id
    )


def _next_revision(session: Session) -> int:
    """Above every revision stored, and time-based: after a delete (count down) and an add (count back up), the
    new revision is still higher than any the evaluator saw, so (count, max revision) changed."""
    top = session.scalar(select(func.max(AlertRuleRow.revision)))
    return max(int(top or 0) + 1, time.time_ns() // 1_000)


def insert_alerts(
    session: Session, alerts: Sequence[StoredAlert], shared: Mapping[str, SharedEvidence] | None = None
) -> None:
    """New firing alerts, in one multi-row INSERT. `shared`: alert id -> the entry of its evidence that other alerts
    of its block carry alike; each such entry is stored once (encoded once), its key kept in the alert's own
    evidence with null (so the keys keep their order when it is put back)."""
    if not alerts:
        return
    shared = shared or {}
    entries = {entry.id: entry for entry in shared.values()}
    if entries:
        session.execute(
            _INSERT_EVIDENCE,
            [
                {"id": e.id, "chain_id": e.chain_id, "block_number": e.block_number, "name": e.name, "body": e.body}
                for e in entries.values()
            ],
        )
    rows = [
        {
            "id": a.id,
            "rule_id": a.rule_id,
            "chain_id": a.chain_id,
            "subject": a.subject,
            "state": a.state,
            "block_number": a.block.number,
            "block_hash": a.block.hash,
            "block_timestamp": a.block.timestamp,
            "value": a.value,
            "previous": a.previous,
            "threshold": a.threshold,
            "evidence": a.evidence if a.id not in shared else {**a.evidence, shared[a.id].name: None},
            "evidence_id": shared[a.id].id if a.id in shared else None,
        }  # resolved_*: NULL, the columns' default
        for a in alerts
    ]
    # The table, not the ORM entity: one executemany, without the ORM's bulk bookkeeping per row.
    session.execute(_INSERT_ALERT, rows)


#: Built once, like `_RESOLVE`.
_INSERT_ALERT: Final = insert(_ALERTS)
_INSERT_EVIDENCE: Final = insert(_EVIDENCE)


def resolve_alerts(session: Session, resolved: Sequence[tuple[str, BlockRef, str | None]]) -> None:
    """Firing alerts (id, resolving block, value there) become resolved: one UPDATE per (block, value), by
    primary keys (the rules that resolve together on one reading share its value)."""
    together: dict[tuple[BlockRef, str | None], list[str]] = {}
    for alert_id, block, value in resolved:
        together.setdefault((block, value), []).append(alert_id)
    for (block, value), ids in together.items():
        for start in range(0, len(ids), _IDS_PER_UPDATE):
            session.execute(
                _RESOLVE,
                {
                    "ids": ids[start : start + _IDS_PER_UPDATE],
                    "at_number": block.number,
                    "at_hash": block.hash,
                    "at_timestamp": block.timestamp,
                    "at_value": value,
                },
            )


#: Built once: a statement built per call costs more than the UPDATE itself (its cache key is computed anew).
_RESOLVE: Final = (
    update(_ALERTS)
    .where(_ALERTS.c.id.in_(bindparam("ids", expanding=True)))
    .values(
        state="resolved",
        resolved_block_number=bindparam("at_number"),
        resolved_block_hash=bindparam("at_hash"),
        resolved_block_timestamp=bindparam("at_timestamp"),
        resolved_value=bindparam("at_value"),
    )
)


def open_states(session: Session, chain_id: int | None = None) -> list[tuple[str, int, str, str | None, int]]:
    """Per (rule, chain, subject) with an alert not retracted: (rule, chain, subject, open alert id, last fired)."""
    row = AlertRow
    # The columns it needs only, not the evidence.
    stmt = select(row.rule_id, row.chain_id, row.subject, row.id, row.state, row.block_number)
    stmt = stmt.where(row.state != "retracted")
    if chain_id is not None:
        stmt = stmt.where(AlertRow.chain_id == chain_id)
    latest: dict[tuple[str, int, str], tuple[str, str, int]] = {}
    for rule, chain, subject, alert_id, state, number in session.execute(stmt.order_by(AlertRow.block_number)):
        latest[(rule, chain, subject)] = (alert_id, state, number)
    return [
        (rule, chain, subject, alert_id if state == "firing" else None, number)
        for (rule, chain, subject), (alert_id, state, number) in latest.items()
    ]


def retract_from(session: Session, chain_id: int, block_number: int) -> list[tuple[StoredAlert, StoredRule]]:
    """A reorg from `block_number`: alerts fired there become `retracted` (returned with their rules, for the
    sink); alerts fired before but resolved there are open again (the resolution was on the lost fork)."""
    stmt = (
        _with_evidence(select(AlertRow, AlertRuleRow).join(AlertRuleRow, AlertRuleRow.id == AlertRow.rule_id))
        .where(AlertRow.chain_id == chain_id, AlertRow.block_number >= block_number, AlertRow.state != "retracted")
        .order_by(AlertRow.block_number, AlertRow.id)
    )
    retracted = []
    for alert, rule, name, body in session.execute(stmt):
        alert.state = "retracted"
        retracted.append((_alert(alert, name, body), _rule(rule)))
    session.execute(
        update(AlertRow)
        .where(
            AlertRow.chain_id == chain_id,
            AlertRow.state == "resolved",
            AlertRow.resolved_block_number >= block_number,
        )
        .values(
            state="firing",
            resolved_block_number=None,
            resolved_block_hash=None,
            resolved_block_timestamp=None,
            resolved_value=None,
        ),
        execution_options={"synchronize_session": False},
    )
    return retracted


def _rule_values(rule: StoredRule) -> dict[str, Any]:
    return {
        "id": rule.id,
        "owner_key_id": rule.owner_key_id,
        "kind": rule.kind,
        "chain_id": rule.chain_id,
        "params": rule.params,
        "confirmations": rule.confirmations,
        "cooldown_blocks": rule.cooldown_blocks,
        "channels": rule.channels,
        "webhook_secret": rule.webhook_secret,
        "created_at": rule.created_at,
        "updated_at": rule.updated_at,
    }


def _rule(row: AlertRuleRow) -> StoredRule:
    return StoredRule(
        row.id,
        row.owner_key_id,
        row.kind,
        row.chain_id,
        dict(row.params),
        row.confirmations,
        row.cooldown_blocks,
        list(row.channels),
        row.webhook_secret,
        row.created_at,
        row.updated_at,
    )


def _alert(row: AlertRow, shared_name: str | None, shared_body: Any) -> StoredAlert:
    """The stored alert, its shared evidence entry (if any) put back in its place."""
    evidence = dict(row.evidence)
    if shared_name is not None:
        evidence[shared_name] = shared_body
    resolved = (
        None
        if row.resolved_block_number is None
        else BlockRef(
            row.chain_id,
            row.resolved_block_number,
            str(row.resolved_block_hash),
            int(row.resolved_block_timestamp or 0),
        )
    )
    return StoredAlert(
        row.id,
        row.rule_id,
        row.chain_id,
        row.subject,
        row.state,
        BlockRef(row.chain_id, row.block_number, row.block_hash, row.block_timestamp),
        row.value,
        row.previous,
        row.threshold,
        evidence,
        resolved,
        row.resolved_value,
    )


def now() -> int:
    return int(time.time())


__all__: Sequence[str] = (
    "RuleStore",
    "SharedEvidence",
    "StoredAlert",
    "StoredRule",
    "insert_alerts",
    "resolve_alerts",
    "retract_from",
)
