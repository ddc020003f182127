"""Reading published grades back: the document at a block, an entity's grade history, the signals, and the
walk-forward evaluation of the published history (what `defiscope grades` and `/v1/grades` answer).

    publication = publication_at(repo, 1234)        # the newest published at or before 1234, verbatim
    history_of(repo, "aave")                        # [{"block": ..., "trader_grade": ..., "investor_grade": ...}]
    signals_published(repo, slug="aave", limit=10)  # newest first
    evaluation_document(repo, tokens)               # `grades evaluate --json`

Every question about a block is bounded by what is stored: a block after chain 1's newest stored block is refused
(what is published there is not known yet), so an answer never changes once given.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from itertools import pairwise
from typing import Any, Final

import numpy as np

from defiscope.analytics.grades.catalog import CLOCK_CHAIN, GRADED
from defiscope.analytics.grades.figures import SAMPLE_MAX_AGE, Observation, sample
from defiscope.analytics.grades.formula import HORIZONS
from defiscope.analytics.grades.market import TokenRef
from defiscope.analytics.grades.panel import grade_panel
from defiscope.analytics.grades.publish import graded_of
from defiscope.analytics.grades.walkforward import HORIZON_DAYS, document, evaluate_grade, setup_for
from defiscope.analytics.quant.arrays import FloatArray
from defiscope.chain.block import BlockRef
from defiscope.errors import InputError
from defiscope.store import Repository
from defiscope.store.grades import GradeStore, Publication

#: The most signals one request lists.
MAX_SIGNALS: Final = 1000
#: Walk-forward test blocks an evaluation may ask (each needs a horizon of history after the first window).
MIN_SPLITS: Final = 2
MAX_SPLITS: Final = 12


class NoPublication(InputError):
    """No grades are published at or before the block asked (or none at all yet)."""


class UnknownGraded(InputError):
    """A slug that is not a graded protocol family."""


class HistoryTooShort(InputError):
    """The published history is too short for the walk-forward evaluation."""


def publication_at(repo: Repository, block: int | None = None) -> Publication:
    """The grades published at or before `block` (the newest when None), exactly as published."""
    store = GradeStore(repo.engine)
    if block is not None:
        _check_known(repo, block)
    found = store.at_or_before(CLOCK_CHAIN, block)
    if found is None:
        where = "yet" if block is None else f"at or before block {block}"
        first = store.first_block(CLOCK_CHAIN)
        hint = "" if first is None else f" (the first is at block {first})"
        advice = "`defiscope grades compute` publishes"
        raise NoPublication(f"no grades are published {where}{hint}; {advice}", field="block")
    return found


def check_graded(slug: str) -> str:
    if slug not in GRADED:
        raise UnknownGraded(f"unknown graded protocol {slug!r} (graded: {', '.join(GRADED)})", field="slug")
    return slug


def history_of(repo: Repository, slug: str) -> list[dict[str, Any]]:
    """One entity's grades at every publication, oldest first (a grade is None when it could not be given)."""
    check_graded(slug)
    found = []
    for publication in GradeStore(repo.engine).publications(CLOCK_CHAIN):
        entry = next((g for g in json.loads(publication.document)["grades"] if g["slug"] == slug), None)
        if entry is None:
            continue
        found.append(
            {
                "block": _block(publication.block),
                "formula_version": publication.formula_version,
                "trader_grade": entry["trader_grade"],
                "investor_grade": entry["investor_grade"],
            }
        )
    return found


def signals_published(repo: Repository, slug: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
    """Published signals, newest first, of one entity or all (at most `limit`, 1 to MAX_SIGNALS)."""
    if slug is not None:
        check_graded(slug)
    if not 1 <= limit <= MAX_SIGNALS:
        raise InputError(f"limit must be 1 to {MAX_SIGNALS}, got {limit}", field="limit")
    stored = GradeStore(repo.engine).signals(CLOCK_CHAIN, slug, limit)
    return [json.loads(signal.document) for signal in stored]


def evaluable_history(repo: Repository, n_splits: int = 6) -> list[Publication]:
    """The published history, if it is long enough for the walk-forward evaluation; else `HistoryTooShort` saying
    how many publications are needed."""
    if not MIN_SPLITS <= n_splits <= MAX_SPLITS:
        raise InputError(f"splits must be {MIN_SPLITS} to {MAX_SPLITS}, got {n_splits}", field="splits")
    publications = GradeStore(repo.engine).publications(CLOCK_CHAIN)
    periods_per_day = _periods_per_day(publications)
    needed = _periods_needed(periods_per_day, n_splits)
    if len(publications) < needed:
        raise HistoryTooShort(
            f"the evaluation needs at least {needed} publications ({needed / periods_per_day:.0f} days at "
            f"{periods_per_day} a day); {len(publications)} are stored",
            field="history",
        )
    return publications


def evaluation_document(repo: Repository, tokens: Mapping[str, TokenRef], n_splits: int = 6) -> dict[str, Any]:
    """The walk-forward evaluation of the published trader and investor grades against the graded tokens' stored
    prices at each publication (forward returns over each grade's horizon)."""
    publications = evaluable_history(repo, n_splits)
    periods_per_day = _periods_per_day(publications)
    history = [(p.block.number, graded_of(p)) for p in publications]
    panel = grade_panel(history)
    prices = price_table(repo, [p.block for p in publications], [tokens.get(GRADED[s].token) for s in panel.entities])
    reports = [
        document(evaluate_grade(panel, prices, h, setup_for(h, periods_per_day, n_splits=n_splits))) for h in HORIZONS
    ]
    return {"publications": len(publications), "periods_per_day": periods_per_day, "grades": reports}


def price_table(repo: Repository, blocks: Sequence[BlockRef], tokens: Sequence[TokenRef | None]) -> FloatArray:
    """prices[t, i]: token i's most confident stored quote at or before block t's time (within SAMPLE_MAX_AGE),
    NaN when there is none or the token is unknown."""
    table = np.full((len(blocks), len(tokens)), np.nan)
    for i, token in enumerate(tokens):
        if token is None:
            continue
        quotes = {
            (q.timestamp, q.confidence, q.source): q
            for address in {token.address, token.address.lower()}
            for q in repo.prices(token.chain_id, address, end_ts=blocks[-1].timestamp if blocks else None)
        }
        ordered = [Observation(q.timestamp, q.usd, None) for _, q in sorted(quotes.items(), key=lambda kv: kv[0][:2])]
        for t, block in enumerate(blocks):
            found = sample(ordered, block.timestamp, SAMPLE_MAX_AGE)
            table[t, i] = np.nan if found is None else float(found.value)
    return table


def _periods_per_day(publications: Sequence[Publication]) -> int:
    """Publications a day, from the median gap between them (1 when there are too few to tell)."""
    times = [p.block.timestamp for p in publications]
    gaps = [b - a for a, b in pairwise(times) if b > a]
    if not gaps:
        return 1
    return max(1, round(86_400 / float(np.median(gaps))))


def _periods_needed(periods_per_day: int, n_splits: int) -> int:
    """Periods the longest grade's walk-forward needs: its first training window, then a horizon per test split."""
    longest = max(HORIZONS, key=lambda h: HORIZON_DAYS[h])
    setup = setup_for(longest, periods_per_day, n_splits=n_splits)
    return setup.min_train + n_splits * setup.horizon + setup.horizon


def _check_known(repo: Repository, block: int) -> None:
    if block < 0:
        raise InputError(f"block must be 0 or more, got {block}", field="block")
    newest = repo.latest_blocks().get(CLOCK_CHAIN)
    if newest is None or block > newest.number:
        known = "no block of chain 1 is stored" if newest is None else f"the newest stored is {newest.number}"
        raise NoPublication(f"block {block} is not stored yet ({known})", field="block")


def _block(block: BlockRef) -> dict[str, Any]:
    return {"number": block.number, "hash": block.hash, "timestamp": block.timestamp}


__all__ = [
    "MAX_SPLITS",
    "MIN_SPLITS",
    "HistoryTooShort",
    "NoPublication",
    "UnknownGraded",
    "evaluable_history",
    "evaluation_document",
    "history_of",
    "publication_at",
    "signals_published",
]
