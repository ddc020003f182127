"""`grade_signal` rules end to end over a hand-built market (`kit.trending_world`, SQLite and PostgreSQL): the real
grades publisher and the alert engine run as the indexer's hooks, as `serve` and `index` give them (`wiring.around`:
the engine's second pass after the publisher); every signal published at block B raises its alert at B, delivered
signed to a real webhook receiver by the delivery worker; the backtest (function, API and CLI) replays the stored
signals at the same blocks.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from defiscope.alerts import manage
from defiscope.alerts.backtest import backtest
from defiscope.alerts.figures import StoredFigures
from defiscope.alerts.outbox import OutboxSink
from defiscope.alerts.rules import parse_rule
from defiscope.alerts.wiring import alert_engine, around, signal_source
from defiscope.analytics.grades.hook import GradesHook
from defiscope.api import ApiSettings, create_app
from defiscope.cli import app
from defiscope.indexing_hooks import BlockHook, IndexedChain
from defiscope.protocols.governors import GOVERNORS
from defiscope.service.indexer import Indexer
from defiscope.store import Repository
from defiscope.store.alerts import RuleStore, StoredRule
from defiscope.store.grades import GradeStore, StoredSignal
from defiscope.tvl.engine import ChainTvl, TvlEngine
from tests.alerts.conftest import Keyed, RecordingSink, add_key
from tests.alerts.kit import SECRET, Receiver, rows
from tests.alerts.test_delivery_worker import running, settled
from tests.alerts.test_governance_backtest import created
from tests.analytics.grades.kit import FIRST_BLOCK, SHARES, TOKENS, block_of, trending_world

DAYS, TURN = 50, 35
#: Indexed after the first month of the world (the 30-day factors need it): the first grades, and the turn.
INDEXED = range(31, DAYS + 1)
FIRST, LAST = block_of(INDEXED[0]).number, block_of(INDEXED[-1]).number


@pytest.fixture
def world(any_repo: Repository) -> Repository:
    trending_world(any_repo, DAYS, turn=TURN)
    return any_repo


def signal_rule(repo: Repository, owner: Keyed, url: str, **params: str) -> StoredRule:
    body = {"kind": "grade_signal", "params": params, "channels": [{"type": "webhook", "url": url}]}
    stored, _secret = manage.create(parse_rule(body), owner.stored.key_id)
    stored = replace(stored, webhook_secret=SECRET)  # the receiver's secret
    RuleStore(repo.engine).add(stored)
    return stored


async def index_world(repo: Repository, tvl_engine: TvlEngine, hooks: Sequence[BlockHook]) -> None:
    """Each indexed day's block handed to the hooks by the indexer's own loop (`ChainIndexer._tell_hooks`), as
    after storing it (the blocks are stored by the hand-built world; no snapshot rule runs on them)."""
    chain = Indexer({1: tvl_engine}, repo, hooks=hooks).chains[1]
    for day in INDEXED:
        await chain._tell_hooks(ChainTvl(block_of(day), (), (), {}))


def publisher(repo: Repository) -> GradesHook:
    """The real publisher at every indexed block (the hand-built world reads no supply from a chain)."""
    return GradesHook(repo, lambda _block: None, TOKENS, every_seconds=0, revenue_shares=SHARES)


def subject(signal: StoredSignal) -> str:
    return f"{signal.entity}:{signal.horizon}:{signal.state}"


def moves(bodies: list[dict[str, Any]]) -> list[tuple[str, int, str]]:
    """(type, block, subject) of webhook bodies, sorted."""
    return sorted((b["type"], b["data"]["block"]["number"], b["data"]["evidence"]["subject"]) for b in bodies)


def expected_moves(published: Sequence[StoredSignal]) -> list[tuple[str, int, str]]:
    """A firing per signal; and at each later signal of a protocol and horizon, the resolution of its last state."""
    found, last = [], {}
    for signal in sorted(published, key=lambda s: s.block_number):
        key = (signal.entity, signal.horizon)
        if key in last:
            found.append(("alert.resolved", signal.block_number, subject(last[key])))
        found.append(("alert.firing", signal.block_number, subject(signal)))
        last[key] = signal
    return sorted(found)


def firings(bodies: list[dict[str, Any]]) -> list[tuple[int, str]]:
    return [(number, subject) for kind, number, subject in moves(bodies) if kind == "alert.firing"]


async def test_signals_published_at_a_block_alert_at_that_block_and_reach_the_webhook(
    world: Repository, tvl_engine: TvlEngine, receiver: Receiver, db_url: str, cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    owner = add_key(world, "alice")
    rule = signal_rule(world, owner, receiver.url)  # any protocol, horizon and direction
    async with running(world.engine) as worker:
        alerts = alert_engine(world, OutboxSink(bells=(worker.bell,)))
        await index_world(world, tvl_engine, around(alerts, (publisher(world),)))
        await settled(world.engine)

    published = sorted(GradeStore(world.engine).signals(1), key=lambda s: (s.block_number, s.entity, s.horizon))
    # The world's three ranked protocols give states at the first grades and again after the turn.
    assert len({s.block_number for s in published}) >= 2, [(s.block_number, subject(s)) for s in published]
    assert receiver.unverified == 0
    bodies = sorted(receiver.processed.values(), key=lambda b: (b["data"]["block"]["number"], b["type"]))
    fired = [b for b in bodies if b["type"] == "alert.firing"]
    # One firing per published signal, at the signal's own block, carrying its grade and movers as published.
    assert firings(fired) == sorted((s.block_number, subject(s)) for s in published)
    by_key = {(s.block_number, subject(s)): s for s in published}
    for body in fired:
        data = body["data"]
        signal = by_key[(data["block"]["number"], data["evidence"]["subject"])]
        document = json.loads(signal.document)
        assert data["kind"] == "grade_signal"
        assert data["rule_id"] == rule.id
        assert data["block"]["hash"] == block_of(data["block"]["number"] - FIRST_BLOCK).hash
        assert data["value"] == str(document["grade"])
        assert {k: v for k, v in data["evidence"].items() if k != "subject"} == document
        assert data["evidence"]["movers"], "the factors that moved the grade"
    # A later signal of the same protocol and horizon resolves the alert on the state it left, at its block.
    assert moves(bodies) == expected_moves(published)
    assert any(kind == "alert.resolved" for kind, _block, _subject in moves(bodies)), "the turn moves a state"

    # The backtest replays the stored signals: the same alerts at the same blocks (function, API and CLI).
    replay = await backtest(StoredFigures(world.engine), rule, FIRST, LAST, signals=signal_source(world))
    assert moves(replay) == moves(bodies)
    api = create_app(ApiSettings(anonymous=True), repo=world, deployments=())
    with TestClient(api) as client:
        answer = client.get(
            f"/v1/alerts/rules/{rule.id}/backtest?from_block={FIRST}&to_block={LAST}", headers={"X-API-Key": owner.key}
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["alerts"] == replay
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", db_url)
    args = ["alerts", "backtest", rule.id, "--from-block", str(FIRST), "--to-block", str(LAST), "--json"]
    ran = await asyncio.to_thread(cli.invoke, app, args)  # the CLI runs its own event loop
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout) == replay


async def test_a_bullish_rule_on_one_protocol_alerts_on_its_signals_only(
    world: Repository, tvl_engine: TvlEngine, receiver: Receiver
) -> None:
    owner = add_key(world, "alice")
    signal_rule(world, owner, receiver.url, protocol="aave", direction="bullish")
    async with running(world.engine) as worker:
        alerts = alert_engine(world, OutboxSink(bells=(worker.bell,)))
        await index_world(world, tvl_engine, around(alerts, (publisher(world),)))
        await settled(world.engine)
    wanted = [s for s in GradeStore(world.engine).signals(1) if s.entity == "aave" and s.state == "bullish"]
    assert wanted, "the world's Aave trends up until the turn: bullish"
    bodies = list(receiver.processed.values())
    assert firings(bodies) == sorted((s.block_number, subject(s)) for s in wanted)
    assert all(b["data"]["evidence"]["subject"].startswith("aave:") for b in bodies)


async def test_in_the_old_order_the_engine_never_sees_a_signal(
    world: Repository, tvl_engine: TvlEngine, receiver: Receiver
) -> None:
    """The negative control of the ordering: the same hooks, the engine's second pass told before the publisher (as
    the whole engine was in `serve` before). No signal is ever judged: at each block the engine has read the signals
    before they are published, and at the next it reads that block's only."""
    owner = add_key(world, "alice")
    signal_rule(world, owner, receiver.url)
    async with running(world.engine) as worker:
        alerts = alert_engine(world, OutboxSink(bells=(worker.bell,)))
        await index_world(world, tvl_engine, (alerts, alerts.after_publishers, publisher(world)))
        await settled(world.engine)
    assert GradeStore(world.engine).signals(1), "signals were published"
    assert receiver.processed == {}


class Watched:
    """The real publisher, noting the outbox's messages each time it is told a block (before it publishes)."""

    def __init__(self, hook: GradesHook) -> None:
        self.hook = hook
        self.outbox_before: dict[int, list[str]] = {}

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
        self.outbox_before[result.block.number] = [row.message_id for row in rows(self.hook.repo.engine)]
        await self.hook.block_indexed(chain, result)


async def test_other_rules_alert_before_the_publisher_runs(world: Repository, tvl_engine: TvlEngine) -> None:
    """The first pass judges every other kind at once: a governance proposal's alert at a block is in the outbox
    before the publisher starts on that block (a publication costs seconds; those alerts do not wait for it), and
    the signals' alerts come after it."""
    number = block_of(40).number
    action = ("_setPendingAdmin(address)", ["address"], ["0x" + "22" * 20])
    world.save_events(1, GOVERNORS["compound"].keeper, [created(number, 7, *action)])
    owner = add_key(world, "alice")
    governance = manage.create(parse_rule({"kind": "governance", "params": {"chain": "1"}}), owner.stored.key_id)[0]
    RuleStore(world.engine).add(
        replace(governance, channels=[{"type": "webhook", "target": "https://h.example.org/g"}])
    )
    signals = signal_rule(world, owner, "https://h.example.org/s")
    watched = Watched(publisher(world))
    await index_world(world, tvl_engine, around(alert_engine(world, OutboxSink()), (watched,)))

    (proposal,) = RuleStore(world.engine).alerts(governance.id)
    assert proposal.block.number == number
    assert any(m.startswith(proposal.id) for m in watched.outbox_before[number])
    signalled = RuleStore(world.engine).alerts(signals.id)
    assert signalled
    for alert in signalled:
        assert not any(m.startswith(alert.id) for m in watched.outbox_before[alert.block.number])
        assert any(row.message_id.startswith(alert.id) for row in rows(world.engine))


async def test_a_reorg_retracts_the_alerts_of_the_signals_it_removes(
    world: Repository, tvl_engine: TvlEngine, sink: RecordingSink
) -> None:
    """A rollback from the turn's block drops its signals and retracts the alerts they raised (and reopens the ones
    they resolved), as for every kind."""
    owner = add_key(world, "alice")
    rule = signal_rule(world, owner, "https://h.example.org/s")
    await index_world(world, tvl_engine, around(alert_engine(world, sink), (publisher(world),)))
    turn = max(m.block_number for m, _, _ in sink.given)
    fired = [m for m, _, _ in sink.given if m.type == "alert.firing"]
    raised = {(m.alert_id, m.evidence["subject"]) for m in fired}
    at_turn = {(a, s) for a, s in raised if any(m.alert_id == a and m.block_number == turn for m in fired)}
    assert set() < at_turn < raised  # some before the turn, some at it

    world.rollback_from(1, turn)
    retracted = {(m.alert_id, m.evidence["subject"]) for m, _, _ in sink.given if m.type == "alert.retracted"}
    assert retracted == at_turn
    assert GradeStore(world.engine).signals_between(1, turn, LAST) == []
    states = {a.evidence["subject"]: a.state for a in RuleStore(world.engine).alerts(rule.id)}
    assert {s for s, state in states.items() if state == "firing"} == {s for _a, s in raised - at_turn}  # reopened
