"""Rules evaluated on every indexed block of the devnet, against what the store holds; reorgs retract alerts; the
backtest of a rule fires at the blocks the live run fired at.

The devnet treasury's TVL moves when WETH is sent to it (`feed_treasury`: one transaction, one block).
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from defiscope.alerts import manage
from defiscope.alerts.backtest import backtest
from defiscope.alerts.engine import AlertEngine
from defiscope.alerts.figures import StoredFigures
from defiscope.alerts.outbox import OutboxSink, body_text
from defiscope.alerts.rules import parse_rule
from defiscope.api import ApiSettings, create_app
from defiscope.cli import app
from defiscope.devnet import DevnetChain
from defiscope.devnet.anvil import rpc
from defiscope.protocols.aave.risk import aave_risk_positions
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.lending.risk import scenario
from defiscope.service.indexer import ChainIndexer, Indexer
from defiscope.store import Repository
from defiscope.store.alerts import RuleStore, StoredRule
from defiscope.store.models import AlertEvidenceRow
from defiscope.tvl.engine import TvlEngine
from tests.alerts.conftest import Keyed, RecordingSink, add_key
from tests.alerts.kit import rows
from tests.service.chainkit import feed_treasury, mine
from tests.store.storekit import count_rows

TREASURY = "devnet-treasury"


def treasury_rule(store: Repository, owner: Keyed, **changes: Any) -> StoredRule:
    body: dict[str, Any] = {
        "kind": "tvl_change",
        "params": {"chain": "ethereum", "protocol": TREASURY, "window_blocks": 1, "threshold_usd": 100},
        "channels": [{"type": "webhook", "url": "https://hooks.example.org/a"}],
        **changes,
    }
    stored, _secret = manage.create(parse_rule(body), owner.stored.key_id)
    RuleStore(store.engine).add(stored)
    return stored


def follower(tvl_engine: TvlEngine, store: Repository, sink: RecordingSink) -> tuple[ChainIndexer, AlertEngine]:
    alerts = AlertEngine(store, sink)
    return Indexer({1: tvl_engine}, store, hooks=(alerts,)).chains[1], alerts


async def test_live_alerts_fire_and_resolve_where_the_tvl_moved_and_the_backtest_agrees(
    tvl_engine: TvlEngine,
    eth_chain: DevnetChain,
    repo: Repository,
    sqlite_url: str,
    sink: RecordingSink,
    owner: Keyed,
    cli: CliRunner,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    rule = treasury_rule(repo, owner)
    chain, _ = follower(tvl_engine, repo, sink)
    (first,), _ = await chain.step(None)
    fed = [feed_treasury(eth_chain, 10**18)]
    await chain.step(None)
    quiet = mine(eth_chain, 1)
    await chain.step(None)
    fed.append(feed_treasury(eth_chain, 3 * 10**18))
    await chain.step(None)
    last = mine(eth_chain, 1)
    await chain.step(None)

    assert sink.events() == [
        ("alert.firing", fed[0]),
        ("alert.resolved", quiet),
        ("alert.firing", fed[1]),
        ("alert.resolved", last),
    ]
    message, channels, who = sink.given[0]
    assert who == owner.stored.key_id
    assert [(c.type, c.target) for c in channels] == [("webhook", "https://hooks.example.org/a")]
    assert channels[0].secret == rule.webhook_secret
    body = message.body()["data"]
    assert body["rule_id"] == rule.id
    assert body["kind"] == "tvl_change"
    assert body["chain_id"] == 1
    assert body["block"]["hash"] == repo.block_hash(1, fed[0])
    stored_now = repo.snapshot_at(TREASURY, 1, fed[0])
    stored_before = repo.snapshot_at(TREASURY, 1, fed[0] - 1)
    assert stored_now is not None
    assert stored_before is not None
    assert body["value"] == str(stored_now.total(BalanceKind.TVL))
    assert body["previous"] == str(stored_before.total(BalanceKind.TVL))
    assert body["threshold"] == "100"
    detail = body["evidence"]["snapshot_detail"]
    assert {t["symbol"] for t in detail["tokens"]} >= {"WETH"}
    assert detail["call_count"] > 0
    states = [(a.state, a.block.number) for a in RuleStore(repo.engine).alerts(rule.id)]
    assert states == [("resolved", fed[0]), ("resolved", fed[1])]

    replay = await backtest(StoredFigures(repo.engine), rule, first.block.number, last)
    assert [(b["type"], b["data"]["block"]["number"]) for b in replay] == sink.events()
    assert [b["data"]["value"] for b in replay] == [m.value for m, _, _ in sink.given]
    assert [b["data"]["block"]["hash"] for b in replay] == [m.block_hash for m, _, _ in sink.given]

    # The same backtest over HTTP (the owner's key) and from the CLI.
    with TestClient(create_app(ApiSettings(), repo=repo, deployments=())) as api:
        answer = api.get(
            f"/v1/alerts/rules/{rule.id}/backtest",
            params={"from_block": first.block.number, "to_block": last},
            headers={"X-API-Key": owner.key},
        )
    assert answer.status_code == 200, answer.text
    assert answer.json()["alerts"] == replay
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", sqlite_url)
    args = ["alerts", "backtest", rule.id, "--from-block", str(first.block.number), "--to-block", str(last), "--json"]
    ran = await asyncio.to_thread(cli.invoke, app, args)
    assert ran.exit_code == 0, ran.output
    assert json.loads(ran.stdout) == replay


async def test_confirmations_delay_evaluation_and_the_cooldown_holds_back_a_second_firing(
    tvl_engine: TvlEngine, eth_chain: DevnetChain, repo: Repository, sink: RecordingSink, owner: Keyed
) -> None:
    treasury_rule(repo, owner, confirmations=2, cooldown_blocks=3)
    chain, _ = follower(tvl_engine, repo, sink)
    await chain.step(None)
    fed = feed_treasury(eth_chain, 10**18)
    await chain.step(None)
    mine(eth_chain, 1)
    await chain.step(None)
    assert sink.events() == []  # two confirmations: block `fed` is evaluated once fed + 2 is indexed
    assert feed_treasury(eth_chain, 10**18) == fed + 2  # a move within the cool-down (fed + 3)
    await chain.step(None)
    assert sink.events() == [("alert.firing", fed)]
    mine(eth_chain, 1)
    await chain.step(None)
    assert sink.events() == [("alert.firing", fed), ("alert.resolved", fed + 1)]
    assert feed_treasury(eth_chain, 10**18) == fed + 4  # past the cool-down: fires again
    mine(eth_chain, 2)
    await chain.step(None)
    assert sink.events() == [("alert.firing", fed), ("alert.resolved", fed + 1), ("alert.firing", fed + 4)]


async def test_an_alert_whose_block_is_reorged_away_is_retracted_and_the_sink_is_told(
    tvl_engine: TvlEngine, eth_chain: DevnetChain, any_repo: Repository, sink: RecordingSink
) -> None:
    owner = add_key(any_repo, "reorg-owner")
    rule = treasury_rule(any_repo, owner)
    chain, _ = follower(tvl_engine, any_repo, sink)
    await chain.step(None)
    fork = rpc(eth_chain.rpc_url, "evm_snapshot")
    fed = feed_treasury(eth_chain, 2 * 10**18)
    await chain.step(None)
    assert sink.events() == [("alert.firing", fed)]
    fired = sink.given[0][0]

    assert rpc(eth_chain.rpc_url, "evm_revert", [fork]) is True
    mine(eth_chain, 2)  # the new chain: empty blocks where the deposit was
    await chain.step(None)

    assert sink.events() == [("alert.firing", fed), ("alert.retracted", fed)]
    retraction, channels, who = sink.given[1]
    assert retraction.alert_id == fired.alert_id
    assert retraction.block_hash == fired.block_hash
    assert who == owner.stored.key_id
    assert channels == sink.given[0][1]
    (alert,) = RuleStore(any_repo.engine).alerts(rule.id)
    assert alert.state == "retracted"
    assert any_repo.block_hash(1, fed) != fired.block_hash  # the block is the new chain's now
    # The snapshot detail, stored apart from the alert (revision 0017), is served and retracted whole.
    assert "snapshot_detail" in alert.evidence
    assert alert.evidence == fired.evidence
    assert retraction.evidence == {**fired.evidence, "retracted_because": f"block {fed} was reorged away"}


async def test_rules_on_one_protocol_share_one_stored_detail_and_serve_it_as_delivered(
    tvl_engine: TvlEngine, eth_chain: DevnetChain, repo: Repository, sink: RecordingSink, owner: Keyed
) -> None:
    rules = [treasury_rule(repo, owner), treasury_rule(repo, owner, cooldown_blocks=2)]
    chain, _ = follower(tvl_engine, repo, sink)
    await chain.step(None)
    fed = feed_treasury(eth_chain, 10**18)
    await chain.step(None)
    quiet = mine(eth_chain, 1)
    await chain.step(None)

    assert sorted(sink.events()) == [("alert.firing", fed)] * 2 + [("alert.resolved", quiet)] * 2
    fired = {m.rule_id: m for m, _, _ in sink.given if m.type == "alert.firing"}
    assert count_rows(repo.engine, AlertEvidenceRow) == 1  # one detail for both alerts
    store = RuleStore(repo.engine)
    for rule in rules:
        (alert,) = store.alerts(rule.id)
        assert (alert.state, alert.evidence) == ("resolved", fired[rule.id].evidence)
    for message, _, _ in sink.given:  # the delivered body, its shared detail encoded once
        assert set(message.shared) == {"snapshot_detail"}
        assert body_text(message) == json.dumps(message.body(), separators=(",", ":"), ensure_ascii=False)


async def test_liquidation_exposure_is_read_at_the_block_through_the_risk_engine(
    tvl_engine: TvlEngine, repo: Repository, sink: RecordingSink, owner: Keyed
) -> None:
    body = {
        "kind": "liquidation_exposure",
        "params": {"chain": "1", "protocol": "aave-v3", "asset": "WETH", "drop_pct": 50, "threshold_usd": 0},
    }
    stored, _ = manage.create(parse_rule(body), owner.stored.key_id)
    RuleStore(repo.engine).add(stored)
    chain, _ = follower(tvl_engine, repo, sink)
    (indexed,), _ = await chain.step(None)

    _, positions, _, _ = await aave_risk_positions(tvl_engine.client, tvl_engine.deployment, indexed.block.number)
    expected = scenario(positions, "WETH", Fraction(1, 2))
    assert expected.debt_usd > 0, "the devnet's Aave market should have WETH-backed debt a 50 % drop liquidates"
    (message,) = [m for m, _, _ in sink.given]
    assert message.type == "alert.firing"
    assert message.block_number == indexed.block.number
    assert Decimal(message.value or "nan") == round(
        Decimal(expected.debt_usd.numerator) / expected.debt_usd.denominator, 8
    )
    assert message.evidence["accounts"] == expected.accounts


async def test_through_the_outbox_a_firing_and_its_retraction_are_queued_for_the_rule_webhook(
    tvl_engine: TvlEngine, eth_chain: DevnetChain, repo: Repository, owner: Keyed
) -> None:
    rule = treasury_rule(repo, owner)
    chain = Indexer({1: tvl_engine}, repo, hooks=(AlertEngine(repo, OutboxSink()),)).chains[1]
    await chain.step(None)
    fork = rpc(eth_chain.rpc_url, "evm_snapshot")
    fed = feed_treasury(eth_chain, 10**18)
    await chain.step(None)
    assert rpc(eth_chain.rpc_url, "evm_revert", [fork]) is True
    mine(eth_chain, 2)
    await chain.step(None)

    queued = [(r.channel, r.target, r.secret, json.loads(r.body)) for r in rows(repo.engine)]
    assert [(c, t, s) for c, t, s, _ in queued] == [("webhook", "https://hooks.example.org/a", rule.webhook_secret)] * 2
    assert [(b["type"], b["data"]["block"]["number"], b["data"]["rule_id"]) for *_, b in queued] == [
        ("alert.firing", fed, rule.id),
        ("alert.retracted", fed, rule.id),
    ]
