"""Rules evaluated on every indexed block, alerts stored with their delivery in one transaction, retracted on reorg;
the backtest (`alerts.backtest`) runs the same `evaluate_block` over stored history.

    alerts = AlertEngine(repo, sink)                     # registers its rollback hook on `repo`
    indexer = Indexer(engines, repo, hooks=(alerts, publisher, alerts.after_publishers))  # `alerts.wiring.around`

`block_indexed` evaluates every rule but those on what other hooks publish at the block (`PUBLISHED_KINDS`: the
grades publisher's signals); `after_publishers`, told after those hooks, evaluates these, so a signal published at
block B is judged at B while the other rules' alerts never wait for a publication.

A rule with `confirmations` N is evaluated at block B - N once B is indexed ("finalized": the chain's finality
depth); every stored block is evaluated once per confirmation level, oldest first, so a block indexed late (a
catch-up) is not skipped. The indexer hands over the figures it stored (no read-back); the rules' look-backs stay in
memory as far back as the deepest rule looks (`alerts.recent`). An alert and its message to the sink are written in
one transaction; a rollback of the store retracts the alerts of the lost blocks inside the rollback's own transaction
and tells the sink too.
"""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Awaitable, Callable, Collection, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_CEILING, Decimal
from typing import Any, Final, TypeVar

import structlog
from sqlalchemy.orm import Session, sessionmaker

from defiscope.alerts.evaluate import (
    DAY,
    BlockFigures,
    Extras,
    GovernanceEvent,
    IndexerHealth,
    RuleView,
    SignalEvent,
    SubjectState,
    Transition,
    measure,
)
from defiscope.alerts.exposure import ExposureKey, read_exposure
from defiscope.alerts.figures import StoredFigures, snapshot_detail, snapshot_evidence
from defiscope.alerts.grouped import RuleGroup, group_rules
from defiscope.alerts.message import AlertMessage, AlertSink, Channel, SharedJson
from defiscope.alerts.pools import (
    BlockTimes,
    YoungPool,
    young_pools,
)
from defiscope.alerts.rules import (
    FINALIZED,
    LiquidationExposureParams,
    NewProtocolParams,
    PriceMoveParams,
    RuleSpec,
    TvlChangeParams,
    YieldParams,
    confirmations_value,
    parse_rule,
)
from defiscope.chain.block import BlockRef
from defiscope.errors import InputError
from defiscope.indexing_hooks import IndexedChain
from defiscope.service.reorg import finality_depth
from defiscope.store import Repository
from defiscope.store.alerts import (
    RuleStore,
    SharedEvidence,
    StoredAlert,
    StoredRule,
    insert_alerts,
    open_states,
    resolve_alerts,
    retract_from,
)
from defiscope.store.database import WRITE_OPTION
from defiscope.tvl.engine import ChainTvl

log = structlog.get_logger(__name__)

#: The evidence entry of a TVL rule's alerts that every rule watching the protocol shares at a block.
SNAPSHOT_DETAIL: Final = "snapshot_detail"
#: Stored blocks evaluated per confirmation level per indexed block: a long catch-up is worked off in steps.
MAX_BLOCKS_PER_STEP: Final = 64
#: Seconds between checks whether a rule was added, changed or deleted (one query): a change applies within this.
RULES_CHECK_INTERVAL: Final = 1.0

E = TypeVar("E")
#: Where rules that fire on stored events get them: (chain id, first block, last block) -> the events of each block
#: of that span that has any (read once for a step's or a backtest's span), None when the store has none.
EventSource = Callable[[int, int, int], Mapping[int, Sequence[E]] | None]
#: `governance` rules' events: the proposals' stages, from the governor events (`alerts.wiring.governance_source`).
GovernanceSource = EventSource[GovernanceEvent]
#: `grade_signal` rules' events: the published grade signals (`alerts.wiring.signal_source`).
SignalSource = EventSource[SignalEvent]
#: Kinds judged on what other hooks of the indexer publish at the block (the grades publisher's signals): their rules
#: are evaluated in a second pass, once those hooks have run (`AlertEngine.after_publishers`); every other rule at
#: once, so that its alerts never wait for a publication.
PUBLISHED_KINDS: Final = frozenset({"grade_signal"})
#: How liquidation exposure is read at a block: the wanted (protocol, asset, drop %) -> figure or why not.
ExposureSource = Callable[[int, Collection[ExposureKey]], Awaitable[Mapping[ExposureKey, Any]]]
#: How young pools are read at a block: (block, window in seconds) -> the pools (`alerts.pools`) or why not.
PoolSource = Callable[[int, int], Awaitable[Sequence[YoungPool] | str]]


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


def to_message(
    move: Transition,
    rule: LoadedRule,
    evidence: Mapping[str, Any] | None = None,
    shared: Mapping[str, SharedJson] | None = None,
) -> AlertMessage:
    """The message of a firing or a resolution: the same shape live and in a backtest. `shared`: entries of
    `evidence` other messages carry alike, with their JSON text (`message.SharedJson`)."""
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
        shared=shared or {},
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


def _new_evidence_id() -> str:
    return "evd_" + secrets.token_hex(12)


@dataclass(frozen=True, slots=True)
class Level:
    """The rules of one chain evaluated at one depth, grouped by what they measure (`RuleView.inputs`): each group
    costs one measurement per block, then a look at the rules whose verdict can have moved (`alerts.grouped`).
    Built when the rule set changes."""

    depth: int
    published: bool  # its rules judge what other hooks publish at the block (`PUBLISHED_KINDS`): the second pass
    #: One measurement each; each with its rules in the order of `RuleGroup.rules`.
    groups: tuple[tuple[RuleGroup, tuple[LoadedRule, ...]], ...]
    exposure: frozenset[ExposureKey]  # the liquidation exposures its rules read at each block
    governance: bool  # whether its rules need the governance events (read once per step's span)
    signals: bool  # whether its rules need the published grade signals (likewise)
    pools_within: int | None  # seconds: the widest window of its `scope: pool` rules (None: it has none)


def levels(rules: Sequence[LoadedRule]) -> tuple[Level, ...]:
    """A chain's rules by depth (shallowest first) and pass, each level's rules grouped by their inputs."""
    by_level: dict[tuple[int, bool], list[LoadedRule]] = {}
    for rule in rules:
        by_level.setdefault((rule.depth, rule.spec.kind in PUBLISHED_KINDS), []).append(rule)
    built = []
    for (depth, published), members in sorted(by_level.items()):
        groups = tuple(group_rules(members, lambda rule: rule.view))
        windows = [pool_window(r.spec.params) for r in members]
        widest = max((w for w in windows if w is not None), default=None)
        wanted = frozenset(exposure_wanted(members))
        governance, signals = uses(members, "governance"), uses(members, "grade_signal")
        built.append(Level(depth, published, groups, wanted, governance, signals, widest))
    return tuple(built)


def pool_window(p: Any) -> int | None:
    """A `new_protocol` rule over pools: its window in whole seconds (rounded up); None for any other rule."""
    if isinstance(p, NewProtocolParams) and p.scope == "pool":
        return int((p.within_days * DAY).to_integral_value(ROUND_CEILING))
    return None


def look_back(p: Any) -> int:
    """How many blocks back a rule compares with (0: it reads only the block it is evaluated at)."""
    if isinstance(p, PriceMoveParams | TvlChangeParams):
        return int(p.window_blocks)
    if isinstance(p, YieldParams) and p.move_pct is not None:
        return int(p.window_blocks)
    return 0


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

    def __init__(
        self,
        repo: Repository,
        sink: AlertSink,
        *,
        governance: GovernanceSource | None = None,
        signals: SignalSource | None = None,
    ) -> None:
        self.rules = RuleStore(repo.engine)
        self.figures = StoredFigures(repo.engine)
        self.sink = sink
        self.governance = governance
        self.signals = signals
        self._sessions = sessionmaker(repo.engine, expire_on_commit=False)
        # A block's alerts are written after reads in the same transaction: BEGIN IMMEDIATE on SQLite, so a commit
        # by another writer in between makes this one wait for the lock instead of failing ("database is locked").
        self._writes = sessionmaker(repo.engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False)
        self._version: tuple[int, int] | None = None
        self._checked = -RULES_CHECK_INTERVAL  # monotonic time of the last rule-set check
        self._levels: dict[int, tuple[Level, ...]] = {}  # chain -> its rules by depth, grouped by their inputs
        self._states: dict[int, dict[str, dict[str, SubjectState]]] = {}  # chain -> rule -> subject -> state
        self._cursors: dict[tuple[int, int, bool], int] = {}  # (chain, depth, pass) -> the last block evaluated
        self._stale_states = True
        self._block_times: dict[int, BlockTimes] = {}  # chain -> creation blocks' times of young pools
        self._handed: dict[int, ChainTvl] = {}  # chain -> the block the indexer handed over last, for its evidence
        self._one_chain_at_a_time = asyncio.Lock()
        repo.on_rollback(self._rolled_back)

    # --------------------------------------------------------------- the indexer's hook

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
        """`indexing_hooks.BlockHook`: evaluate the rules due now that `result`'s block is stored (all but those on
        what other hooks publish at the block: `after_publishers`)."""
        await self._block_indexed(chain, result, published=False)

    @property
    def after_publishers(self) -> AfterPublishers:
        """The hook of the second pass: the rules on what other hooks publish at a block (`PUBLISHED_KINDS`), told
        after those hooks (`alerts.wiring.around`)."""
        return AfterPublishers(self)

    async def _block_indexed(self, chain: IndexedChain, result: ChainTvl, *, published: bool) -> None:
        block, engine = result.block, chain.engine
        times = self._block_times.setdefault(block.chain_id, BlockTimes(engine.client))

        async def exposure(number: int, wanted: Collection[ExposureKey]) -> Mapping[ExposureKey, Any]:
            return await read_exposure(engine.client, engine.deployment, number, wanted)

        async def pools(number: int, within_seconds: int) -> Sequence[YoungPool] | str:
            return await young_pools(engine, number, within_seconds, times)

        await self.evaluate_chain(
            block.chain_id,
            block.number,
            health=chain.health(),
            exposure=exposure,
            pools=pools,
            stored=None if published else result,  # handed over once, to the first pass
            published=published,
        )

    async def evaluate_chain(
        self,
        chain_id: int,
        indexed: int,
        *,
        health: IndexerHealth | None = None,
        exposure: ExposureSource | None = None,
        pools: PoolSource | None = None,
        stored: ChainTvl | None = None,
        published: bool | None = None,
    ) -> list[AlertMessage]:
        """Evaluate the rules of `chain_id` at every stored block due once block `indexed` is stored; returns the
        messages handed to the sink. `stored`: what the indexer stored at `indexed`, if it hands it over;
        `published`: only the rules of the first pass (False) or of the second (True: `PUBLISHED_KINDS`), or all."""
        async with self._one_chain_at_a_time:  # chains share the rule set, the states and the figures' cache
            if stored is not None or self._refresh_due():
                await asyncio.to_thread(self._prepare, stored)  # one thread hop for both
            return await self._evaluate_chain(chain_id, indexed, health, exposure, pools, published)

    async def published_depths(self, chain_id: int) -> set[int]:
        """The confirmation depths of the chain's rules on what hooks publish (`PUBLISHED_KINDS`)."""
        async with self._one_chain_at_a_time:
            await asyncio.to_thread(self._prepare, None)
            return {level.depth for level in self._levels.get(chain_id, ()) if level.published}

    async def judge_published(self, chain_id: int, number: int, depth: int) -> list[AlertMessage]:
        """The second pass at stored block `number` for the rules of confirmation `depth`, as `after_publishers`
        judges it once block `number + depth` is indexed: what a grades job runs after it published at `number`.

        The states are read from the store first: other workers may have moved them since this engine last did."""
        async with self._one_chain_at_a_time:
            self._stale_states = True
            await asyncio.to_thread(self._prepare, None)
            self._cursors[(chain_id, depth, True)] = number - 1
            return await self._evaluate_chain(chain_id, number + depth, None, None, None, True, depth)

    async def _evaluate_chain(
        self,
        chain_id: int,
        indexed: int,
        health: IndexerHealth | None,
        exposure: ExposureSource | None,
        pools: PoolSource | None,
        published: bool | None,
        depth: int | None = None,
    ) -> list[AlertMessage]:
        sent: list[AlertMessage] = []
        for level in self._levels.get(chain_id, ()):
            if (published is not None and level.published != published) or depth not in (None, level.depth):
                continue
            at = (chain_id, level.depth, level.published)
            cursor, upto = self._cursors.get(at), indexed - level.depth
            if cursor == upto - 1:  # following the head: one block is due (skipped below if it is not stored)
                due = [upto]
            else:
                limit = 1 if cursor is None else MAX_BLOCKS_PER_STEP
                due = await asyncio.to_thread(self.figures.stored_blocks, chain_id, cursor, upto, limit)
            # Stored events are read only for a level with rules on them, once for the step's blocks.
            proposals = await events_span(self.governance if level.governance else None, chain_id, due)
            signals = await events_span(self.signals if level.signals else None, chain_id, due)
            for number in due:
                found = await exposure(number, level.exposure) if level.exposure and exposure is not None else {}
                young = None
                if level.pools_within is not None:
                    young = "no pool source was given" if pools is None else await pools(number, level.pools_within)
                extras = Extras(
                    exposure=found,
                    governance=events_at(proposals, number),
                    signals=events_at(signals, number),
                    health=health,  # the indexer's state now, whatever block a rule's confirmations point at
                    pools=young,
                )
                sent += await asyncio.to_thread(self._evaluate_stored_block, chain_id, number, level, extras)
                self._cursors[at] = number
        return sent

    # --------------------------------------------------------------- one block

    def _evaluate_stored_block(self, chain_id: int, number: int, level: Level, extras: Extras) -> list[AlertMessage]:
        figures = self.figures.at(chain_id, number)
        if figures is None:  # rolled back meanwhile
            return []
        moves = self._judge_level(chain_id, level, figures, extras)
        if not moves:
            return []
        try:
            with self._writes.begin() as session:
                return self._store(session, moves)
        except Exception:
            self._stale_states = True  # memory moved ahead of the store: reload from what was committed
            raise

    def _judge_level(
        self, chain_id: int, level: Level, figures: BlockFigures, extras: Extras
    ) -> list[tuple[Transition, LoadedRule]]:
        """What the level's rules do at the block: one measurement per group, then the group's rules whose verdict
        can have moved (`RuleGroup.judge`)."""
        history = self._history(chain_id)
        states = self._states.setdefault(chain_id, {})
        moves: list[tuple[Transition, LoadedRule]] = []
        for group, rules in level.groups:
            measured = measure(group.params, figures, history, extras)  # the same for all the group
            for index, move in group.judge(measured, figures.block, states, _new_alert_id):
                moves.append((move, rules[index]))
        return moves

    def _history(self, chain_id: int) -> Callable[[int], BlockFigures | None]:
        """One block's look-backs: its rules' windows ask a few numbers hundreds of times, each looked up once."""
        seen: dict[int, BlockFigures | None] = {}

        def back(number: int) -> BlockFigures | None:
            if number not in seen:
                seen[number] = self.figures.at_or_before(chain_id, number)
            return seen[number]

        return back

    def _store(self, session: Session, moves: Sequence[tuple[Transition, LoadedRule]]) -> list[AlertMessage]:
        """Store a block's transitions (new alerts in one multi-row insert) and hand each message to the sink. A
        protocol's snapshot detail is built once for the block and stored once, shared by its alerts."""
        # protocol -> one snapshot's evidence, shared by the rules watching it: stored once, encoded once
        details: dict[str, tuple[SharedEvidence, SharedJson]] = {}
        shared: dict[str, SharedEvidence] = {}  # firing alert id -> its shared evidence
        messages, fired, resolved = [], [], []
        for move, rule in moves:
            evidence = dict(move.observation.evidence)
            encoded: dict[str, SharedJson] = {}
            p = rule.spec.params
            if isinstance(p, TvlChangeParams):  # the priced tokens and calls behind the figure
                if p.protocol not in details:
                    details[p.protocol] = self._shared_detail(session, p.protocol, move.block)
                stored, encoded[SNAPSHOT_DETAIL] = details[p.protocol]
                evidence[SNAPSHOT_DETAIL] = stored.body
                if move.type == "alert.firing":
                    shared[move.alert_id] = stored
            message = to_message(move, rule, evidence, encoded)
            messages.append(message)
            if move.type == "alert.firing":
                fired.append(_firing(move, rule, message))
            else:
                resolved.append((move.alert_id, move.block, message.value))
        insert_alerts(session, fired, shared)
        resolve_alerts(session, resolved)
        for message, (_move, rule) in zip(messages, moves, strict=True):
            self.sink.put(session, message, rule.channels, rule.stored.owner_key_id)
        # One line per block, not per alert: a block can move a thousand rules at once.
        log.debug("alerts.stored", block=moves[0][0].block.number, fired=len(fired), resolved=len(resolved))
        return messages

    def _shared_detail(self, session: Session, slug: str, block: BlockRef) -> tuple[SharedEvidence, SharedJson]:
        body = self._snapshot_detail(session, slug, block)
        stored = SharedEvidence(_new_evidence_id(), block.chain_id, block.number, SNAPSHOT_DETAIL, body)
        return stored, SharedJson(body)

    def _snapshot_detail(self, session: Session, slug: str, block: BlockRef) -> dict[str, Any]:
        """The evidence behind a protocol's TVL at `block`: from the indexer's hands when it is the block it just
        stored, else from the store."""
        handed = self._handed.get(block.chain_id)
        if handed is not None and handed.block == block:
            for snapshot in handed.snapshots:
                if snapshot.slug == slug:
                    return snapshot_detail(snapshot)
        return snapshot_evidence(session, slug, block.chain_id, block.number)

    # --------------------------------------------------------------- rules, states, rollback

    def _refresh_due(self) -> bool:
        return self._stale_states or time.monotonic() - self._checked >= RULES_CHECK_INTERVAL

    def _prepare(self, stored: ChainTvl | None) -> None:
        """Before a chain's evaluation: the rule set and states if due, then the block the indexer just stored."""
        if self._refresh_due():
            self._refresh()
        if stored is not None:
            self.figures.remember(stored)
            self._handed[stored.block.chain_id] = stored

    def _refresh(self) -> None:
        if time.monotonic() - self._checked >= RULES_CHECK_INTERVAL:
            self._checked = time.monotonic()
            self._reload_rules()
        if self._stale_states:
            with self._sessions() as session:
                rows = open_states(session)
            self._states = {}
            for rule_id, chain_id, subject, open_alert, last_fired in rows:
                self._states.setdefault(chain_id, {}).setdefault(rule_id, {})[subject] = SubjectState(
                    open_alert, last_fired
                )
            for chain_levels in self._levels.values():  # what the groups learnt at the last block is stale too
                for level in chain_levels:
                    for group, _rules in level.groups:
                        group.forget()
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
            by_chain: dict[int, list[LoadedRule]] = {}
            for rule in loaded:
                by_chain.setdefault(rule.stored.chain_id, []).append(rule)
            self._levels = {chain_id: levels(rules) for chain_id, rules in by_chain.items()}
            for chain_id, rules in by_chain.items():
                self.figures.keep(chain_id, 1 + max(rule.depth + look_back(rule.spec.params) for rule in rules))
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
        if chain_id in self._handed and self._handed[chain_id].block.number >= number:
            del self._handed[chain_id]
        if chain_id in self._block_times:
            self._block_times[chain_id].forget(number)
        for key in [k for k in self._cursors if k[0] == chain_id and self._cursors[k] >= number]:
            self._cursors[key] = number - 1
        self._stale_states = True


class AfterPublishers:
    """`indexing_hooks.BlockHook`: the engine's second pass, told after the hooks that publish what its rules judge
    (`AlertEngine.after_publishers`)."""

    __slots__ = ("engine",)

    def __init__(self, engine: AlertEngine) -> None:
        self.engine = engine

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
        await self.engine._block_indexed(chain, result, published=True)


def uses(rules: Sequence[LoadedRule], kind: str) -> bool:
    return any(r.spec.kind == kind for r in rules)


async def events_span(
    source: EventSource[E] | None, chain_id: int, numbers: Sequence[int]
) -> Mapping[int, Sequence[E]] | None:
    """The stored events (governance stages, grade signals) of the blocks `numbers` (ascending), read once for their
    whole span; None when there is no source or nothing to read."""
    if source is None or not numbers:
        return None
    return await asyncio.to_thread(source, chain_id, numbers[0], numbers[-1])


def events_at(staged: Mapping[int, Sequence[E]] | None, number: int) -> Sequence[E] | None:
    """One block's events; None (the evaluator says why) when no source was read."""
    return None if staged is None else staged.get(number, ())
