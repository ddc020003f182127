"""Publishing grades on a hand-built market in a real store (SQLite and PostgreSQL): the document as published,
idempotent per block, stable under later indexing, signals on transitions, and gone with a reorg."""

from __future__ import annotations

import json

import pytest

from defiscope.analytics.grades.catalog import FACTORS, GRADED
from defiscope.analytics.grades.compute import BlockNotStored
from defiscope.analytics.grades.formula import FORMULA_VERSION
from defiscope.analytics.grades.publish import Published, publish_grades
from defiscope.analytics.grades.published import (
    NoPublication,
    UnknownGraded,
    history_of,
    publication_at,
    signals_published,
)
from defiscope.chain.block import BlockRef
from defiscope.chain.reader import Reader
from defiscope.store import Repository
from defiscope.store.grades import GradeStore
from tests.analytics.grades.kit import (
    CLOCK_DAY,
    FIRST_BLOCK,
    SHARES,
    TOKENS,
    Holdings,
    World,
    block_of,
    build,
    trending_world,
    uni_price,
)

FIRST_PUBLISHED = 31  # the 30-day windows are full from here


def no_chain(block: BlockRef) -> Reader | None:
    """The hand-built world has no chain: supplies are missing, with the reason."""
    del block
    return None


async def publish(repo: Repository, day: int) -> Published:
    return await publish_grades(repo, no_chain, FIRST_BLOCK + day, tokens=TOKENS, revenue_shares=SHARES)


@pytest.fixture
def world(repo: Repository) -> World:
    return build(repo)


async def test_the_published_document_has_the_issue_shape(repo: Repository, world: World) -> None:
    published = await publish(repo, CLOCK_DAY)
    stored = publication_at(repo)
    assert json.loads(stored.document) == published.document
    doc = published.document
    clock = world.blocks[(1, CLOCK_DAY)]
    assert doc["block"] == {"number": clock.number, "hash": clock.hash, "timestamp": clock.timestamp}
    assert doc["formula_version"] == FORMULA_VERSION
    assert [g["slug"] for g in doc["grades"]] == list(GRADED)
    aave = next(g for g in doc["grades"] if g["slug"] == "aave")
    assert {f["name"] for f in aave["factors"]} == set(FACTORS)
    for factor in aave["factors"]:
        assert set(factor) >= {"name", "value", "percentile", "weight", "horizon", "inputs_block"}
        assert factor["inputs_block"] is None or factor["inputs_block"] <= clock.number
        assert (factor["value"] is None) == (factor["missing_reason"] is not None) or factor["percentile"] is None
    # Aave, Compound and Uniswap have TVL: three ranked, so tvl_trend_30d has percentiles; supplies are missing.
    assert aave["factors"][[f["name"] for f in aave["factors"]].index("tvl_trend_30d")]["percentile"] == 100.0
    uniswap = next(g for g in doc["grades"] if g["slug"] == "uniswap")
    to_fees = next(f for f in uniswap["factors"] if f["name"] == "price_to_fees")
    assert to_fees["value"] is None
    assert "totalSupply" in to_fees["missing_reason"]


async def test_at_block_is_what_was_published_then_however_much_is_indexed_since(
    repo: Repository, world: World
) -> None:
    await publish(repo, CLOCK_DAY)
    then = publication_at(repo, FIRST_BLOCK + CLOCK_DAY)
    for day in range(CLOCK_DAY + 1, CLOCK_DAY + 4):  # more days indexed, with other prices and TVL
        world.day(
            day,
            snapshots={"aave-v3": Holdings(tvl="5000"), "compound-v3": Holdings(tvl="900")},
            prices={"UNI": str(uni_price(day) * 2)},
        )
    await publish(repo, CLOCK_DAY + 3)
    assert publication_at(repo, FIRST_BLOCK + CLOCK_DAY + 2).document == then.document
    assert publication_at(repo, FIRST_BLOCK + CLOCK_DAY + 3).document != then.document
    assert publication_at(repo).block.number == FIRST_BLOCK + CLOCK_DAY + 3


async def test_publishing_a_block_again_replaces_it(repo: Repository, world: World) -> None:
    del world
    first = await publish(repo, CLOCK_DAY)
    again = await publish(repo, CLOCK_DAY)
    assert again.document == first.document
    assert again.signals == first.signals
    store = GradeStore(repo.engine)
    assert [p.block.number for p in store.publications(1)] == [FIRST_BLOCK + CLOCK_DAY]
    assert len(store.signals(1)) == len(first.signals)


async def test_signals_are_stored_on_transitions_only(repo: Repository) -> None:
    trending_world(repo, 60, turn=35)
    published = [await publish(repo, day) for day in range(FIRST_PUBLISHED, 61)]
    raised = [s for p in published for s in p.signals]
    entered = {(s["entity"], s["horizon"], s["state"]) for s in raised}
    assert ("aave", "trader", "bullish") in entered
    assert ("curve", "trader", "bearish") in entered
    assert ("aave", "trader", "bearish") in entered, "the reversed trend turns Aave bearish"
    stored = signals_published(repo, limit=1000)
    key = lambda signal: json.dumps(signal, sort_keys=True)  # noqa: E731
    assert sorted(map(key, stored)) == sorted(map(key, raised))
    # Each signal is a change of state: per entity and horizon, consecutive states differ and start from neutral.
    for slug in GRADED:
        for horizon in ("trader", "investor"):
            mine = [s for s in reversed(stored) if s["entity"] == slug and s["horizon"] == horizon]
            previous = "neutral"
            for signal in mine:
                assert signal["previous"] == previous != signal["state"]
                assert signal["movers"]
                assert signal["movers"][0]["change"] != 0
                previous = signal["state"]
    # Most publications hold every state: signals are transitions, not a copy of each grade.
    assert sum(1 for p in published if p.signals) < len(published) / 2
    # Publishing a block again gives the same signals (its state comes from the blocks before it).
    again = await publish(repo, 60)
    assert again.signals == published[-1].signals


async def test_history_and_signal_filters(repo: Repository, world: World) -> None:
    del world
    for day in (33, 34, CLOCK_DAY):
        await publish(repo, day)
    history = history_of(repo, "aave")
    assert [h["block"]["number"] for h in history] == [FIRST_BLOCK + d for d in (33, 34, CLOCK_DAY)]
    latest = json.loads(publication_at(repo).document)
    aave = next(g for g in latest["grades"] if g["slug"] == "aave")
    assert (history[-1]["trader_grade"], history[-1]["investor_grade"]) == (
        aave["trader_grade"],
        aave["investor_grade"],
    )
    assert all(s["entity"] == "aave" for s in signals_published(repo, "aave"))
    with pytest.raises(UnknownGraded, match="'nope'") as unknown:
        history_of(repo, "nope")
    assert unknown.value.field == "slug"
    with pytest.raises(UnknownGraded):
        signals_published(repo, "nope")


async def test_bad_blocks_are_refused_naming_the_block(repo: Repository, world: World) -> None:
    del world
    with pytest.raises(NoPublication, match="no grades are published yet") as none_yet:
        publication_at(repo)
    assert none_yet.value.field == "block"
    with pytest.raises(BlockNotStored, match="not stored"):
        await publish(repo, CLOCK_DAY + 10)
    await publish(repo, CLOCK_DAY)
    with pytest.raises(NoPublication, match=f"at or before block {FIRST_BLOCK + 3} .*first is at block"):
        publication_at(repo, FIRST_BLOCK + 3)
    with pytest.raises(NoPublication, match="not stored yet"):
        publication_at(repo, FIRST_BLOCK + CLOCK_DAY + 1)  # what is published there is not known yet


async def test_a_reorg_takes_the_publications_and_signals_of_its_blocks(repo: Repository, world: World) -> None:
    del world
    for day in range(FIRST_PUBLISHED, CLOCK_DAY + 1):
        await publish(repo, day)
    store = GradeStore(repo.engine)
    kept_signals = [s for s in store.signals(1) if s.block_number < FIRST_BLOCK + 34]
    repo.rollback_from(1, FIRST_BLOCK + 34)
    assert [p.block.number for p in store.publications(1)] == [FIRST_BLOCK + d for d in range(FIRST_PUBLISHED, 34)]
    assert store.signals(1) == kept_signals
    assert publication_at(repo).block == block_of(33)
