"""Rules evaluated on every indexed block, alerts stored with their delivery in one transaction, retracted on reorg;
and the backtest, which runs the same `evaluate_block` over stored history.

    alerts = AlertEngine(repo, sink)                     # registers its rollback hook on `repo`
    indexer = Indexer(engines, repo, hooks=(alerts,))    # block_indexed() after each block is stored
    await backtest(StoredFigures(repo.engine), rule, 100, 200)   # AlertMessage bodies, as live

A rule with `confirmations` N is evaluated at block B - N once B is indexed ("finalized": the chain's finality
depth); every stored block is evaluated once per confirmation level, oldest first, so a block indexed late (a
catch-up) is not skipped. An alert and its message to the sink are written in one transaction; a rollback of the
store retracts the alerts of the lost blocks inside the rollback's own transaction and tells the sink too.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Final

import structlog
from sqlalchemy.orm import Session, sessionmaker

from defiscope.alerts.evaluate import (
    BlockFigures,
    Extras,
    GovernanceEvent,
    IndexerHealth,
    Memo,
    RuleView,
    SubjectState,
    Transition,
    evaluate_block,
)
from defiscope.alerts.exposure import ExposureKey, read_exposure
from defiscope.alerts.figures import StoredFigures, snapshot_evidence
from defiscope.alerts.message import AlertMessage, AlertSink, Channel
from defiscope.alerts.rules import (
    FINALIZED,
    LiquidationExposureParams,
    RuleSpec,
    TvlChangeParams,
    confirmations_value,
    parse_rule,
)
from defiscope.chain.block import BlockRef
from defiscope.errors import InputError
from defiscope.service.reorg import finality_depth
from defiscope.store import Repository
from defiscope.store.alerts import (
    RuleStore,
    StoredAlert,
    StoredRule,
    insert_alerts,
    open_states,
    resolve_alerts,
    retract_from,
)
from defiscope.store.database import WRITE_OPTION

if TYPE_CHECKING:
    from defiscope.service.indexer import ChainIndexer

log = structlog.get_logger(__name__)

#: Stored blocks evaluated per confirmation level per indexed block: a long catch-up is worked off in steps.
MAX_BLOCKS_PER_STEP: Final = 64
#: Seconds between checks whether a rule was added, changed or deleted (one query): a change applies within this.
RULES_CHECK_INTERVAL: Final = 1.0
#: Longest backtest range, in stored blocks.
MAX_BACKTEST_BLOCKS: Final = 100_000
#: Kinds whose figure is not in the store: the backtest cannot replay them from history alone.
LIVE_ONLY: Final = {"indexer_health": "indexer health is only known live: it has no stored history to backtest"}

#: Where a `governance` rule's events come from: (chain id, block number) -> the proposals' events at that block,
#: None when no governance store is present. The governance module wires its tables here (see `GovernanceSource`).
GovernanceSource = Callable[[int, int], Sequence[GovernanceEvent] | None]
#: How liquidation exposure is read at a block: the wanted (protocol, asset, drop %) -> figure or why not.
ExposureSource = Callable[[int, Collection[ExposureKey]], Awaitable[Mapping[ExposureKey, Any]]]


class BacktestRefused(InputError):
    """A backtest that cannot be run: a live-only kind, a range that is empty, reversed or too long."""


@dataclass(frozen=True, slots=True)
class LoadedRule:
    """A stored rule, validated again, with where its alerts go."""

    stored: StoredRule
    view: RuleView
    depth: int  # blocks behind the indexed block at which it is evaluated
    channels: tuple[Channel, ...]

    @property
    def spec(self) -> RuleSpec:
        return self.view.spec


def load_rule(stored: StoredRule) -> LoadedRule:
    spec = parse_rule(
        {
            "kind": stored.kind,
            "params": stored.params,
            "confirmations": confirmations_value(stored.confirmations),
            "cooldown_blocks": stored.cooldown_blocks,
        }
    )
    depth = finality_depth(stored.chain_id) if spec.confirmations == FINALIZED else int(spec.confirmations)
    channels = tuple(
        Channel(c["type"], c["target"], stored.webhook_secret if c["type"] == "webhook" else None)  # type: ignore[arg-type]
        for c in stored.channels
    )
    return LoadedRule(stored, RuleView(stored.id, spec, stored.cooldown_blocks), depth, channels)


def to_message(move: Transition, rule: LoadedRule, evidence: Mapping[str, Any] | None = None) -> AlertMessage:
    """The message of a firing or a resolution: the same shape live and in a backtest."""
    seen = move.observation
    details = dict(seen.evidence if evidence is None else evidence)
    if seen.subject:
        details["subject"] = seen.subject
    return AlertMessage(
        type=move.type,
        timestamp=move.block.timestamp,
        alert_id=move.alert_id,
        rule_id=rule.stored.id,
        kind=rule.stored.kind,
        chain_id=move.block.chain_id,
        block_number=move.block.number,
        block_hash=move.block.hash,
        value=_text(seen.value),
        previous=_text(seen.previous),
        threshold=_text(seen.threshold),
        evidence=details,
    )


def _firing(move: Transition, rule: LoadedRule, message: AlertMessage) -> StoredAlert:
    return StoredAlert(
        move.alert_id,
        rule.stored.id,
        move.block.chain_id,
        move.observation.subject,
        "firing",
        move.block,
        message.value,
        message.previous,
        message.threshold,
        dict(message.evidence),
        None,
        None,
    )


def _text(value: Decimal | None) -> str | None:
    return None if value is None else str(value)


def _new_alert_id(_rule_id: str, _block: BlockRef, _subject: str) -> str:
    return "alr_" + secrets.token_hex(12)


def _backtest_id(rule_id: str, block: BlockRef, subject: str) -> str:
    return f"bt_{rule_id}_{block.number}" + (f"_{subject}" if subject else "")


def exposure_wanted(rules: Sequence[LoadedRule]) -> set[ExposureKey]:
    wanted: set[ExposureKey] = set()
    for rule in rules:
        p = rule.spec.params
        if isinstance(p, LiquidationExposureParams):
            wanted.add((p.protocol, p.asset, p.drop_pct))
    return wanted


class AlertEngine:
    """The live evaluator: keeps the rules and their per-subject states in memory, reloading them when a rule
    changes (one cheap query per block) or the store rolled back."""

    def __init__(self, repo: Repository, sink: AlertSink, *, governance: GovernanceSource | None = None) -> None:
        self.rules = RuleStore(repo.engine)
        self.figures = StoredFigures(repo.engine)
        self.sink = sink
        self.governance = governance
        self._sessions = sessionmaker(repo.engine, expire_on_commit=False)
        # A block's alerts are written after reads in the same transaction: BEGIN IMMEDIATE on SQLite, so a commit
        # by another writer in between makes this one wait for the lock instead of failing ("database is locked").
        self._writes = sessionmaker(repo.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)
        self._version: tuple[int, int] | None = None
        self._checked = -RULES_CHECK_INTERVAL  # monotonic time of the last rule-set check
        self._by_chain: dict[int, list[LoadedRule]] = {}
        self._states: dict[tuple[str, int], dict[str, SubjectState]] = {}
        self._cursors: dict[tuple[int, int], int] = {}  # (chain, depth) -> the last block evaluated
        self._stale_states = True
        self._one_chain_at_a_time = asyncio.Lock()
        repo.on_rollback(self._rolled_back)

    # --------------------------------------------------------------- the indexer's hook

    async def block_indexed(self, chain: ChainIndexer, block: BlockRef) -> None:
        """`service.indexer.BlockHook`: evaluate the rules due now that `block` is stored."""
        status = chain.chain_status
        health = IndexerHealth(
            status.head,
            None if status.last_indexed is None else status.last_indexed.number,
            tuple(
                f"{p.slug}: {p.last_failure.reason}" for p in chain.protocols.values() if p.failing and p.last_failure
            ),
            status.last_error,
        )
        engine = chain.engine

        async def exposure(number: int, wanted: Collection[ExposureKey]) -> Mapping[ExposureKey, Any]:
            return await read_exposure(engine.client, engine.deployment, number, wanted)

        await self.evaluate_chain(block.chain_id, block.number, health=health, exposure=exposure)

    async def evaluate_chain(
        self,
        chain_id: int,
        indexed: int,
        *,
        health: IndexerHealth | None = None,
        exposure: ExposureSource | None = None,
    ) -> list[AlertMessage]:
        """Evaluate the rules of `chain_id` at every stored block due once block `indexed` is stored; returns the
        messages handed to the sink."""
        async with self._one_chain_at_a_time:  # chains share the rule set, the states and the figures' cache
            return await self._evaluate_chain(chain_id, indexed, health, exposure)

    async def _evaluate_chain(
        self, chain_id: int, indexed: int, health: IndexerHealth | None, exposure: ExposureSource | None
    ) -> list[AlertMessage]:
        await asyncio.to_thread(self._refresh)
        sent: list[AlertMessage] = []
        by_depth: dict[int, list[LoadedRule]] = {}
        for rule in self._by_chain.get(chain_id, ()):
            by_depth.setdefault(rule.depth, []).append(rule)
        for depth, rules in sorted(by_depth.items()):
            cursor = self._cursors.get((chain_id, depth))
            limit = 1 if cursor is None else MAX_BLOCKS_PER_STEP
            due = await asyncio.to_thread(self.figures.stored_blocks, chain_id, cursor, indexed - depth, limit)
            wanted = exposure_wanted(rules)
            # Governance events are read only for a chain with governance rules (six store reads a block).
            governance = self.governance if any(r.spec.kind == "governance" for r in rules) else None
            for number in due:
                found = await exposure(number, wanted) if wanted and exposure is not None else {}
                extras = Extras(
                    exposure=found,
                    governance=None if governance is None else governance(chain_id, number),
                    health=health,  # the indexer's state now, whatever block a rule's confirmations point at
                )
                sent += await asyncio.to_thread(self._evaluate_stored_block, chain_id, number, rules, extras)
                self._cursors[(chain_id, depth)] = number
        return sent

    # --------------------------------------------------------------- one block

    def _evaluate_stored_block(
        self, chain_id: int, number: int, rules: Sequence[LoadedRule], extras: Extras
    ) -> list[AlertMessage]:
        figures = self.figures.at(chain_id, number)
        if figures is None:  # rolled back meanwhile
            return []
        history = self._history(chain_id)
        moves: list[tuple[Transition, LoadedRule]] = []
        memo: Memo = {}  # the block's measurements, shared by rules with the same inputs
        for rule in rules:
            states = self._states.setdefault((rule.stored.id, chain_id), {})
            for move in evaluate_block(rule.view, figures, history, extras, states, _new_alert_id, memo):
                moves.append((move, rule))
        if not moves:
            return []
        try:
            with self._writes.begin() as session:
                return self._store(session, moves)
        except Exception:
            self._stale_states = True  # memory moved ahead of the store: reload from what was committed
            raise

    def _history(self, chain_id: int) -> Callable[[int], BlockFigures | None]:
        return lambda number: self.figures.at_or_before(chain_id, number)

    def _store(self, session: Session, moves: Sequence[tuple[Transition, LoadedRule]]) -> list[AlertMessage]:
        """Store a block's transitions (new alerts in one multi-row insert) and hand each message to the sink."""
        details: dict[str, dict[str, Any]] = {}  # one snapshot's evidence, shared by the rules watching it
        messages, fired, resolved = [], [], []
        for move, rule in moves:
            evidence = dict(move.observation.evidence)
            p = rule.spec.params
            if isinstance(p, TvlChangeParams):  # the priced tokens and calls behind the figure
                if p.protocol not in details:
                    details[p.protocol] = snapshot_evidence(session, p.protocol, move.block.chain_id, move.block.number)
                evidence["snapshot_detail"] = details[p.protocol]
            message = to_message(move, rule, evidence)
            messages.append(message)
            if move.type == "alert.firing":
                fired.append(_firing(move, rule, message))
            else:
                resolved.append((move.alert_id, move.block, message.value))
        insert_alerts(session, fired)
        resolve_alerts(session, resolved)
        for message, (move, rule) in zip(messages, moves, strict=True):
            self.sink.put(session, message, rule.channels, rule.stored.owner_key_id)
            log.debug("alerts.transition", type=move.type, rule=rule.stored.id, alert=move.alert_id)
        return messages

    # --------------------------------------------------------------- rules, states, rollback

    def _refresh(self) -> None:
        if time.monotonic() - self._checked >= RULES_CHECK_INTERVAL:
            self._checked = time.monotonic()
            self._reload_rules()
        if self._stale_states:
            with self._sessions() as session:
                rows = open_states(session)
            self._states = {}
            for rule_id, chain_id, subject, open_alert, last_fired in rows:
                self._states.setdefault((rule_id, chain_id), {})[subject] = SubjectState(open_alert, last_fired)
            self._stale_states = False

    def _reload_rules(self) -> None:
        version = self.rules.version()
        if version != self._version:
            loaded = []
            for stored in self.rules.all():
                try:
                    loaded.append(load_rule(stored))
                except InputError as exc:  # a rule stored by an older version that no longer validates
                    log.error("alerts.rule_invalid", rule=stored.id, reason=str(exc))
            self._by_chain = {}
            for rule in loaded:
                self._by_chain.setdefault(rule.stored.chain_id, []).append(rule)
            self._version = version
            self._stale_states = True

    def _rolled_back(self, session: Session, chain_id: int, number: int) -> None:
        """The store's rollback hook: retract the lost blocks' alerts and tell the sink, in its transaction."""
        for alert, stored in retract_from(session, chain_id, number):
            rule = load_rule(stored)
            message = AlertMessage(
                type="alert.retracted",
                timestamp=alert.block.timestamp,
                alert_id=alert.id,
                rule_id=alert.rule_id,
                kind=stored.kind,
                chain_id=chain_id,
                block_number=alert.block.number,
                block_hash=alert.block.hash,
                value=alert.value,
                previous=alert.previous,
                threshold=alert.threshold,
                evidence={**alert.evidence, "retracted_because": f"block {alert.block.number} was reorged away"},
            )
            self.sink.put(session, message, rule.channels, stored.owner_key_id)
            log.warning("alerts.retracted", rule=alert.rule_id, alert=alert.id, block=alert.block.number)
        self.figures.forget(chain_id, number)
        for key in [k for k in self._cursors if k[0] == chain_id and self._cursors[k] >= number]:
            self._cursors[key] = number - 1
        self._stale_states = True


async def backtest(
    figures: StoredFigures,
    stored: StoredRule,
    from_block: int,
    to_block: int,
    *,
    exposure: ExposureSource | None = None,
    governance: GovernanceSource | None = None,
) -> list[dict[str, Any]]:
    """When the rule would have fired and resolved over the stored blocks in [from_block, to_block]: the webhook
    bodies live evaluation would have sent (alert ids `bt_<rule>_<block>[_<subject>]`)."""
    if stored.kind in LIVE_ONLY:
        raise BacktestRefused(LIVE_ONLY[stored.kind], field="rule")
    if from_block < 0 or to_block < from_block:
        raise BacktestRefused(
            f"--from-block {from_block} must be 0 or more and at most --to-block {to_block}", field="from_block"
        )
    if to_block - from_block + 1 > MAX_BACKTEST_BLOCKS:
        raise BacktestRefused(f"at most {MAX_BACKTEST_BLOCKS} blocks per backtest", field="to_block")
    rule = load_rule(stored)
    if exposure_wanted([rule]) and exposure is None:
        raise BacktestRefused(
            "liquidation_exposure backtests read positions from the chain: run it from the CLI", field="rule"
        )
    chain_id = stored.chain_id
    numbers = await asyncio.to_thread(figures.stored_blocks, chain_id, from_block - 1, to_block, MAX_BACKTEST_BLOCKS)
    states: dict[str, SubjectState] = {}
    bodies: list[dict[str, Any]] = []
    for number in numbers:
        found = (
            await exposure(number, exposure_wanted([rule])) if exposure is not None and exposure_wanted([rule]) else {}
        )
        extras = Extras(exposure=found, governance=None if governance is None else governance(chain_id, number))
        at = await asyncio.to_thread(figures.at, chain_id, number)
        if at is None:
            continue
        moves = evaluate_block(rule.view, at, lambda n: figures.at_or_before(chain_id, n), extras, states, _backtest_id)
        bodies += [to_message(move, rule).body() for move in moves]
    return bodies
