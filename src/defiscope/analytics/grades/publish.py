"""Publishing grades at a block of chain 1: factors computed and stored, graded, the document and its signals stored.

    published = await publish_grades(repo, reader_for, 1234, tokens=graded_tokens(deployments))
    published.document["grades"][0]["trader_grade"]       # what `grades --at-block 1234 --json` returns from now on
    [s["state"] for s in published.signals]               # the transitions this block raised (trader and investor)

The document is stored as the JSON text that was published, so reading it back later gives the same bytes however
many blocks were indexed since. Signals are the hysteresis transitions (`signals.transition`) from each entity's
state after its latest published signal before this block, movers measured against its previous published grade.
Publishing a block again replaces its document and signals (idempotent); a reorg rollback removes both.

Revenue factors use each rate's share as read from the protocol's knob at the rate's block and stored with it
(`Yield.fee_share`: reserve factors, Comet's spread, admin fees, feeProtocol, feeTo). `revenue_shares` (adapter slug
-> a documented share) covers the rates no knob splits; the default is `protocols.revenue`'s constants (Maker,
EigenLayer). A knob that could not be read leaves the revenue factors missing with its reason, and the investor
grade renormalises over the factors present.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, cast

from defiscope.analytics.grades.catalog import CLOCK_CHAIN, GRADED, Horizon
from defiscope.analytics.grades.compute import (
    DOCUMENTED_SHARES,
    BlockNotStored,
    ReaderFactory,
    compute_factors,
)
from defiscope.analytics.grades.formula import (
    FORMULA,
    HORIZONS,
    EntityGrades,
    FactorReading,
    FactorScore,
    Grade,
    grade_block,
    published_document,
)
from defiscope.analytics.grades.market import TokenRef
from defiscope.analytics.grades.signals import GradePoint, SignalState, grade_points, transition
from defiscope.chain.block import BlockRef
from defiscope.store import Repository
from defiscope.store.factors import FactorStore, FactorValue
from defiscope.store.grades import GradeStore, Publication, StoredSignal


@dataclass(frozen=True, slots=True)
class Published:
    """What one publication stored: the block, the grades document and the signals (each with its horizon)."""

    block: BlockRef
    document: dict[str, Any]
    signals: tuple[dict[str, Any], ...]


async def publish_grades(
    repo: Repository,
    reader_for: ReaderFactory,
    block_number: int,
    *,
    tokens: Mapping[str, TokenRef],
    revenue_shares: Mapping[str, Fraction] = DOCUMENTED_SHARES,
) -> Published:
    """Compute and store the factors at stored block `block_number` of chain 1, grade them and publish the grades
    and their signals; raises `BlockNotStored` (an `InputError` on `block`) for a block that is not stored."""
    values = await compute_factors(repo, reader_for, block_number, tokens=tokens, revenue_shares=revenue_shares)
    if not values:
        raise ValueError(f"no factor was computed at block {block_number}")
    return await asyncio.to_thread(publish_factors, repo, values[0].block, values)


def stored_clock(repo: Repository, block_number: int | None = None) -> BlockRef:
    """The stored block of chain 1 to publish at (the newest when None); `BlockNotStored` naming it otherwise."""
    if block_number is None:
        newest = repo.latest_blocks().get(CLOCK_CHAIN)
        if newest is None:
            raise BlockNotStored(f"no block of chain {CLOCK_CHAIN} is stored: index first", field="block")
        return newest
    found = FactorStore(repo.engine).block(CLOCK_CHAIN, block_number)
    if found is None:
        raise BlockNotStored(f"block {block_number} of chain {CLOCK_CHAIN} is not stored", field="block")
    return found


def publish_factors(repo: Repository, clock: BlockRef, values: Sequence[FactorValue]) -> Published:
    """Grade the factors stored at `clock` and publish the document and its signals (replacing that block's)."""
    graded = grade_block(readings_of(values))
    document = published_document(clock.number, clock.hash, clock.timestamp, graded, FORMULA)
    store = GradeStore(repo.engine)
    previous = store.at_or_before(clock.chain_id, clock.number - 1)
    states = store.states_before(clock.chain_id, clock.number)
    signals = _signals(clock.number, graded, previous, states)
    stored = [StoredSignal(clock.number, s["entity"], s["horizon"], s["state"], _json(s)) for s in signals]
    store.publish(clock, FORMULA.version, _json(document), stored)
    return Published(clock, document, tuple(signals))


def _signals(
    block: int, graded: Sequence[EntityGrades], previous: Publication | None, states: Mapping[tuple[str, str], str]
) -> list[dict[str, Any]]:
    """The transitions at `block` of each entity and horizon from its state after its latest signal, movers against
    the previous publication's grade (a neutral start when there was none, or the entity had no grade then)."""
    before = {} if previous is None else {g.slug: g for g in graded_of(previous)}
    found: list[dict[str, Any]] = []
    for entity in graded:
        for horizon in HORIZONS:
            state = cast(SignalState, states.get((entity.slug, horizon), "neutral"))
            earlier = before.get(entity.slug)
            last = None if earlier is None or previous is None else _point(previous.block.number, earlier, horizon)
            signal = transition(
                entity.slug,
                state,
                last if last is not None and last.grade is not None else None,
                _point(block, entity, horizon),
            )
            if signal is not None:
                found.append({**signal.as_dict(), "horizon": horizon})
    return found


def readings_of(values: Sequence[FactorValue]) -> list[FactorReading]:
    """The formula's readings of stored factors: each input block counted on the clock chain."""
    return [FactorReading(v.entity, v.name, v.value, v.inputs_clock_block, v.missing) for v in values]


def graded_of(publication: Publication) -> list[EntityGrades]:
    """The formula's output as it was published (percentiles and grades as rounded in the document)."""
    document = json.loads(publication.document)
    return [_entity(entry) for entry in document["grades"]]


def _entity(entry: Mapping[str, Any]) -> EntityGrades:
    factors = tuple(
        FactorScore(
            f["name"],
            f["horizon"],
            f["value"],
            f["percentile"],
            round(f["weight"] * 100),
            f["effective_weight"],
            f["inputs_block"],
            f["missing_reason"],
        )
        for f in entry["factors"]
    )

    def grade(horizon: Horizon) -> Grade:
        coverage = sum(f.weight for f in factors if f.horizon == horizon and f.effective_weight is not None)
        return Grade(entry[f"{horizon}_grade"], entry[f"{horizon}_grade_missing"], coverage)

    token = entry.get("token") or GRADED[entry["slug"]].token
    return EntityGrades(entry["slug"], token, grade("trader"), grade("investor"), factors)


def _point(block: int, graded: EntityGrades, horizon: Horizon) -> GradePoint:
    (point,) = grade_points([(block, graded)], horizon)
    return point


def _json(document: Mapping[str, Any]) -> str:
    return json.dumps(document, allow_nan=False, separators=(",", ":"))


__all__ = ["Published", "graded_of", "publish_factors", "publish_grades", "readings_of", "stored_clock"]
