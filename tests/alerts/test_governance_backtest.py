"""A governance rule's backtest (and a live catch-up step) reads the stored governor events once for its range, not
once per block, and sees at each block exactly what the per-block reading sees."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from eth_abi import encode

from defiscope.alerts import manage
from defiscope.alerts.backtest import backtest
from defiscope.alerts.engine import AlertEngine
from defiscope.alerts.figures import StoredFigures
from defiscope.alerts.rules import parse_rule
from defiscope.alerts.wiring import governance_source
from defiscope.protocols.events import StoredEvent
from defiscope.protocols.governor_events import PROPOSAL_CREATED_KIND, PROPOSAL_EXECUTED_KIND, PROPOSAL_QUEUED_KIND
from defiscope.protocols.governors import GOVERNORS
from defiscope.store import Repository
from defiscope.store.alerts import RuleStore, StoredRule
from tests.alerts.conftest import Keyed, RecordingSink
from tests.store.storekit import block, make_snapshot

FIRST, LAST = 100, 160
COMPOUND, UNISWAP = GOVERNORS["compound"].keeper, GOVERNORS["uniswap"].keeper
TARGET = "0x" + "11" * 20


def stored(kind: str, number: int, index: int, pid: int, payload: dict[str, Any] | None = None) -> StoredEvent:
    return StoredEvent(
        kind,
        number,
        block(number).hash,
        index,
        f"0x{number:062x}{index:02x}",
        {"id": str(pid), **(payload or {})},
        str(pid),
    )


def created(number: int, pid: int, signature: str, types: list[str], args: list[Any]) -> StoredEvent:
    """A ProposalCreated with one action, as `parse_proposal_created` stores it."""
    data = "0x" + encode(types, args).hex()
    actions = {"targets": [TARGET], "values": ["0"], "signatures": [signature], "calldatas": [data]}
    return stored(PROPOSAL_CREATED_KIND, number, 0, pid, actions)


def governance_rule(events: list[str]) -> StoredRule:
    params = {"chain": "ethereum", "events": events}
    return StoredRule("rul_gov", "k_owner1", "governance", 1, params, "0", 0, [], "whsec_x", 0, 0)


@pytest.fixture
def history(repo: Repository) -> Repository:
    """Stored blocks FIRST..LAST; Compound's proposal 7 created before them (an oracle change) then queued and
    executed inside, proposal 8 created and queued inside (a treasury transfer); Uniswap's 9 queued at a block
    Compound also staged one."""
    repo.save_snapshots([make_snapshot("treasury", block(n)) for n in range(FIRST, LAST + 1)])
    oracle = created(90, 7, "_setPriceOracle(address)", ["address"], ["0x" + "22" * 20])
    grant = created(120, 8, "transfer(address,uint256)", ["address", "uint256"], ["0x" + "33" * 20, 5])
    later = created(170, 10, "transfer(address,uint256)", ["address", "uint256"], ["0x" + "33" * 20, 6])
    repo.save_events(1, COMPOUND, [oracle, grant, later])
    repo.save_events(1, COMPOUND, [stored(PROPOSAL_QUEUED_KIND, 110, 1, 7), stored(PROPOSAL_QUEUED_KIND, 150, 2, 8)])
    repo.save_events(1, COMPOUND, [stored(PROPOSAL_EXECUTED_KIND, 130, 0, 7)])
    uni = created(95, 9, "transfer(address,uint256)", ["address", "uint256"], ["0x" + "44" * 20, 1])
    repo.save_events(1, UNISWAP, [uni, stored(PROPOSAL_QUEUED_KIND, 150, 5, 9)])
    return repo


def firings(bodies: list[dict[str, Any]]) -> list[tuple[int, str]]:
    """(block, subject) of each firing among webhook bodies."""
    return [
        (b["data"]["block"]["number"], b["data"]["evidence"]["subject"]) for b in bodies if b["type"] == "alert.firing"
    ]


def count_reads(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, str]]:
    """Every `Repository.events` read of the store from now on, as (slug, kind)."""
    reads: list[tuple[str, str]] = []
    read: Callable[..., list[StoredEvent]] = Repository.events

    def counted(self: Repository, chain_id: int, slug: str, kind: str, **bounds: Any) -> list[StoredEvent]:
        reads.append((slug, kind))
        return read(self, chain_id, slug, kind, **bounds)

    monkeypatch.setattr(Repository, "events", counted)
    return reads


async def test_a_backtest_reads_each_kind_once_for_its_range(
    history: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    reads = count_reads(monkeypatch)
    rule = governance_rule(["created", "queued", "executed"])
    bodies = await backtest(StoredFigures(history.engine), rule, FIRST, LAST, governance=governance_source(history))
    fired = firings(bodies)
    assert fired == [
        (110, "compound:7:queued"),
        (120, "compound:8:created"),
        (130, "compound:7:executed"),
        (150, "compound:8:queued"),
        (150, "uniswap:9:queued"),
    ]
    # For each governor: its three stages; and, for the two with proposals created before the range (7 and 9),
    # one read of those creations: 3 x 4 + 2 reads for 61 blocks, where reading block by block costs 12 a block.
    assert len(reads) == 3 * len(GOVERNORS) + 2
    assert reads.count((COMPOUND, PROPOSAL_CREATED_KIND)) == reads.count((UNISWAP, PROPOSAL_CREATED_KIND)) == 2
    reads.clear()
    shorter = await backtest(StoredFigures(history.engine), rule, FIRST, 130, governance=governance_source(history))
    assert len(reads) == 3 * len(GOVERNORS) + 1  # per governor and stage, not per block (Uniswap: nothing to 130)
    assert shorter == [b for b in bodies if b["data"]["block"]["number"] <= 130]


def test_a_span_sees_at_each_block_what_the_block_alone_sees(history: Repository) -> None:
    source = governance_source(history)
    span = source(1, FIRST, LAST)
    assert span is not None
    per_block = {n: list(one[n]) for n in range(FIRST, LAST + 1) if (one := source(1, n, n)) and n in one}
    assert {n: list(events) for n, events in span.items()} == per_block
    assert sorted(per_block) == [110, 120, 130, 150]
    queued_7 = next(e for e in per_block[110] if e.proposal_id == "7")
    assert queued_7.flags == ("oracle-change",)  # from its creation at block 90, before the span
    assert [e.protocol for e in per_block[150]] == ["compound", "uniswap"]
    assert {e.flags for e in per_block[150]} == {("treasury-transfer",)}


async def test_live_evaluation_reads_a_step_s_blocks_once_and_fires_as_the_backtest(
    history: Repository, owner: Keyed, sink: RecordingSink, monkeypatch: pytest.MonkeyPatch
) -> None:
    body = {
        "kind": "governance",
        "params": {"chain": "ethereum", "events": ["created", "queued", "executed"]},
        "confirmations": 0,
        "channels": [{"type": "webhook", "url": "https://hooks.example.org/a"}],
    }
    stored, _secret = manage.create(parse_rule(body), owner.stored.key_id)
    RuleStore(history.engine).add(stored)
    alerts = AlertEngine(history, sink, governance=governance_source(history))
    await alerts.evaluate_chain(1, FIRST)  # a first step evaluates the newest block only
    reads = count_reads(monkeypatch)
    await alerts.evaluate_chain(1, LAST)  # a catch-up: the 60 blocks after FIRST in one step
    assert len(reads) == 3 * len(GOVERNORS) + 2  # one span read for the step's blocks, as a backtest's
    fired = [(m.block_number, m.evidence["subject"]) for m, _, _ in sink.given if m.type == "alert.firing"]
    replay = await backtest(StoredFigures(history.engine), stored, FIRST, LAST, governance=governance_source(history))
    assert fired == [
        (b["data"]["block"]["number"], b["data"]["evidence"]["subject"]) for b in replay if b["type"] == "alert.firing"
    ]
    assert len(fired) == 5
