"""The order of the grades and the signal rules under workers (`service.block_hooks.worker_hooks`): the follow job
runs the rules' first pass and sends a grades job where a publication is due; the grades job publishes, then the
signal rules judge the publication (each confirmation depth once its block is stored). Over the hand-built trending
market (SQLite and PostgreSQL), run after the follower has gone through every block, the jobs store the same
publications and alerts as the embedded order (the engine's two passes around the publisher); judged before its
publication, a block's signals wait for a later pass (the negative control)."""

from __future__ import annotations

import json
from dataclasses import replace

import pytest

from defiscope.alerts import manage
from defiscope.alerts.outbox import OutboxSink
from defiscope.alerts.rules import parse_rule
from defiscope.alerts.wiring import alert_engine, around
from defiscope.service.block_hooks import GradesDispatch
from defiscope.service.jobs import compute
from defiscope.store import Repository
from defiscope.store.alerts import RuleStore
from defiscope.store.grades import GradeStore
from defiscope.tvl.engine import TvlEngine
from tests.alerts.conftest import Keyed, add_key
from tests.alerts.kit import SECRET, rows
from tests.alerts.test_grade_signal_live import DAYS, TURN, index_world, moves, publisher
from tests.analytics.grades.kit import trending_world

HOOK = "https://receiver.example/hook"  # never sent to: the outbox rows are compared


def add_rules(repo: Repository) -> None:
    """A signal rule judged at the publication (depth 0), and one judged two blocks later."""
    owner: Keyed = add_key(repo, "alice")
    for confirmations in (0, 2):
        body = {
            "kind": "grade_signal",
            "params": {},
            "confirmations": confirmations,
            "channels": [{"type": "webhook", "url": HOOK}],
        }
        stored, _secret = manage.create(parse_rule(body), owner.stored.key_id)
        RuleStore(repo.engine).add(replace(stored, webhook_secret=SECRET))


@pytest.fixture
def embedded(repo: Repository) -> Repository:
    """A SQLite store with the world, followed by the embedded order."""
    trending_world(repo, DAYS, turn=TURN)
    add_rules(repo)
    return repo


@pytest.fixture
def scaled(any_repo: Repository) -> Repository:
    """The same on SQLite and PostgreSQL, followed under workers."""
    trending_world(any_repo, DAYS, turn=TURN)
    add_rules(any_repo)
    return any_repo


def outbox(repo: Repository) -> list[tuple[str, int, str]]:
    return moves([json.loads(row.body) for row in rows(repo.engine)])


def publications(repo: Repository) -> list[tuple[int, str]]:
    return [(p.block.number, p.document) for p in GradeStore(repo.engine).publications(1)]


async def follow_under_workers(repo: Repository, tvl_engine: TvlEngine) -> list[tuple[int, int]]:
    """The follow job's alert pass and grades dispatch over every block; the grades jobs it sent, in order."""
    sent: list[tuple[int, int]] = []
    dispatch = GradesDispatch(repo.engine, 0, lambda chain, block: sent.append((chain, block)))
    await index_world(repo, tvl_engine, (alert_engine(repo, OutboxSink()), dispatch))
    return sent


async def run_grades_jobs(
    repo: Repository, sent: list[tuple[int, int]], *, judge_first: bool = False, passes_reversed: bool = False
) -> list[int]:
    """Each grades job as a worker runs it (`actors.Jobs._publish_grades`, `_judge_signals`): judge the told blocks
    up to its own, where the signal passes start recorded before the first is handed on, then each publication's
    signal passes, each depth once confirmed (`judge_first`: the passes run before the job, the wrong order, for the
    negative control; `passes_reversed`: a job's passes run newest first, as they may on several workers); the
    blocks published, in order."""
    grades = publisher(repo)
    engine = alert_engine(repo, OutboxSink())
    published: list[int] = []
    for chain, block in sent:
        depths = sorted(await engine.published_depths(chain))
        if judge_first:
            for depth in depths:
                await compute.judge_signals_through(repo, engine, chain, block, depth)
        handed: list[int] = []

        def hand_on(number: int, chain: int = chain, depths: list[int] = depths, handed: list[int] = handed) -> None:
            handed.append(number)
            for depth in depths:
                compute.start_signal_passes(repo, chain, number, depth)

        await compute.publish_grades_through(
            repo, grades, chain, block, published=handed.append if judge_first else hand_on
        )
        published += handed
        for number in [] if judge_first else handed[::-1] if passes_reversed else handed:
            for depth in depths:
                if compute.confirmed(repo, chain, number, depth):
                    await compute.judge_signals_through(repo, engine, chain, number, depth)
    return published


async def test_grades_jobs_then_the_signal_pass_alert_as_the_embedded_order(
    embedded: Repository, scaled: Repository, tvl_engine: TvlEngine
) -> None:
    await index_world(embedded, tvl_engine, around(alert_engine(embedded, OutboxSink()), (publisher(embedded),)))
    wanted = outbox(embedded)
    assert any(kind == "alert.resolved" for kind, _block, _subject in wanted), "the turn moves a state"

    sent = await follow_under_workers(scaled, tvl_engine)
    assert outbox(scaled) == [], "no signal is judged by the follow job itself"
    assert await run_grades_jobs(scaled, sent) == [block for _chain, block in sent]
    assert publications(scaled) == publications(embedded)
    assert outbox(scaled) == wanted
    depth_two = [m for m in wanted if m[1] + 2 <= max(block for _chain, block in sent)]
    assert len(wanted) > len(depth_two) > 0, "the deeper rule judged every publication but the last two's"

    assert await run_grades_jobs(scaled, sent) == []  # every grades job run again: its block is judged already
    assert publications(scaled) == publications(embedded)
    assert outbox(scaled) == wanted


async def test_judged_before_the_publication_a_signal_waits_for_the_next_pass(
    embedded: Repository, scaled: Repository, tvl_engine: TvlEngine
) -> None:
    """The negative control of the order: each pass run before its publication judges only the earlier ones (which
    it finds unjudged), so the last publication's signals are never judged; nor the first's, since the first pass
    ever judges its own block alone, as the embedded engine starts at the block it is told."""
    await index_world(embedded, tvl_engine, around(alert_engine(embedded, OutboxSink()), (publisher(embedded),)))
    wanted = outbox(embedded)
    sent = await follow_under_workers(scaled, tvl_engine)
    await run_grades_jobs(scaled, sent, judge_first=True)
    first, last = sent[0][1], sent[-1][1]
    assert GradeStore(scaled.engine).signals(1), "signals were published"
    missing = [m for m in wanted if m not in outbox(scaled)]
    assert {block for _kind, block, _subject in missing} == {first, last}
    assert len(outbox(scaled)) == len(wanted) - len(missing)  # the others judged once, at their blocks


async def test_grades_jobs_in_reverse_order_alert_as_the_embedded_order(
    embedded: Repository, scaled: Repository, tvl_engine: TvlEngine
) -> None:
    """The last grades job runs first: it judges every told block on its way (`grade_passes`), publishing each in
    block order, and hands each publication to its signal passes in that order; the other jobs find their blocks
    judged. Publications and alerts are the embedded order's."""
    await index_world(embedded, tvl_engine, around(alert_engine(embedded, OutboxSink()), (publisher(embedded),)))
    wanted = outbox(embedded)
    sent = await follow_under_workers(scaled, tvl_engine)
    assert await run_grades_jobs(scaled, sent[::-1]) == [block for _chain, block in sent]
    assert publications(scaled) == publications(embedded)
    assert outbox(scaled) == wanted


async def test_a_job_s_passes_newest_first_alert_as_the_embedded_order(
    embedded: Repository, scaled: Repository, tvl_engine: TvlEngine
) -> None:
    """The last grades job runs first and publishes every block; its signal passes then run newest first (two
    workers taking them out of order). Where the passes start is recorded before the first is handed on, so the
    newest judges every publication on its way, the first ones included, and the others find theirs judged."""
    await index_world(embedded, tvl_engine, around(alert_engine(embedded, OutboxSink()), (publisher(embedded),)))
    wanted = outbox(embedded)
    sent = await follow_under_workers(scaled, tvl_engine)
    assert await run_grades_jobs(scaled, sent[::-1], passes_reversed=True) == [block for _chain, block in sent]
    assert outbox(scaled) == wanted
