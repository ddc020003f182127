"""`defiscope grades`: the trader and investor grades as published, their signals, publishing on demand, and the
walk-forward evaluation of the published history.

defiscope grades --json                   # the newest published document, verbatim
defiscope grades --at-block 1234          # what was published at or before block 1234, as a table
defiscope grades compute --block 1234     # compute the factors at stored block 1234 and publish its grades
defiscope grades signals --json           # published signals, newest first
defiscope grades evaluate --json          # walk-forward evaluation over the published history (--splits 2..12)

The store is the configured one (`DEFISCOPE_DATA_DIR` / `DEFISCOPE_DATABASE_URL`); `compute` and `evaluate` also
open the configured chains (the devnet by default): `compute` reads totalSupply there, `evaluate` takes the graded
tokens' addresses from their registries.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated, Any, TypeVar

import typer
from rich.table import Table

from defiscope.cli.common import one_line_errors, out

grades_app = typer.Typer(
    help="Trader and investor grades 0-100 with their factors, signals, and their evaluation.",
    invoke_without_command=True,
)
T = TypeVar("T")
TOP_FACTORS = 3


@contextmanager
def _repo() -> Iterator[Any]:
    from defiscope.store import Repository

    repo = Repository.open()
    try:
        yield repo
    finally:
        repo.close()


def _with_engines(use: Callable[[Any, Any], Awaitable[T]]) -> T:
    """`use(repo, engines)` with the configured chains open (graded tokens' registries, totalSupply reads)."""
    from defiscope.config import load_settings
    from defiscope.service.context import open_runtime

    async def run() -> T:
        with _repo() as repo:
            async with open_runtime(load_settings()) as runtime:
                return await use(repo, runtime.engines)

    return asyncio.run(run())


@grades_app.callback()
@one_line_errors
def grades(
    ctx: typer.Context,
    at_block: Annotated[int | None, typer.Option("--at-block", help="Published at or before this block.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The published document, verbatim.")] = False,
) -> None:
    """The grades published at or before a block of chain 1 (the newest when no block is given)."""
    if ctx.invoked_subcommand is not None:
        return
    from defiscope.analytics.grades.published import publication_at

    with _repo() as repo:
        publication = publication_at(repo, at_block)
    if as_json:
        typer.echo(publication.document)
        return
    _print_grades(json.loads(publication.document))


def _print_grades(document: dict[str, Any]) -> None:
    block = document["block"]
    table = Table(title=f"Grades at block {block['number']} (formula {document['formula_version']})")
    for column in ("protocol", "token", "trader", "investor", "top factors (grade points)"):
        table.add_column(column, justify="right" if column in ("trader", "investor") else "left")
    for entry in document["grades"]:
        table.add_row(
            entry["slug"],
            entry["token"],
            _grade(entry["trader_grade"]),
            _grade(entry["investor_grade"]),
            _top_factors(entry["factors"]),
        )
    out.print(table)
    if any(e["trader_grade"] is None or e["investor_grade"] is None for e in document["grades"]):
        out.print("-: no grade at this block; `--json` says why (trader_grade_missing, investor_grade_missing)")


def _grade(value: float | None) -> str:
    return "-" if value is None else f"{value:.1f}"


def _top_factors(factors: list[dict[str, Any]]) -> str:
    counted = [f for f in factors if f["effective_weight"] is not None and f["percentile"] is not None]
    ranked = sorted(counted, key=lambda f: -f["effective_weight"] * f["percentile"])[:TOP_FACTORS]
    return ", ".join(f"{f['name']} {f['effective_weight'] * f['percentile']:.1f}" for f in ranked) or "-"


@grades_app.command("compute")
@one_line_errors
def compute(
    block: Annotated[int | None, typer.Option("--block", help="Stored block of chain 1 (default: newest).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="The published document.")] = False,
) -> None:
    """Compute the factors at a stored block of chain 1 and publish its grades (replacing what was published there)."""
    from defiscope.analytics.grades.compute import graded_tokens
    from defiscope.analytics.grades.hook import engine_readers
    from defiscope.analytics.grades.publish import Published, publish_grades, stored_clock

    with _repo() as repo:
        number = stored_clock(repo, block).number  # bad input is refused before the chains are opened

    async def publish(repo: Any, engines: Any) -> Published:
        tokens = graded_tokens(engine.deployment for engine in engines.values())
        return await publish_grades(repo, engine_readers(engines), number, tokens=tokens)

    published = _with_engines(publish)
    if as_json:
        typer.echo(json.dumps(published.document))
        return
    _print_grades(published.document)
    for signal in published.signals:
        out.print(f"signal: {signal['entity']} {signal['horizon']} {signal['previous']} -> {signal['state']}")


@grades_app.command("signals")
@one_line_errors
def signals(
    slug: Annotated[str | None, typer.Option("--slug", help="One graded protocol (default: all).")] = None,
    limit: Annotated[int, typer.Option("--limit", help="At most this many, newest first.")] = 100,
    as_json: Annotated[bool, typer.Option("--json", help="JSON.")] = False,
) -> None:
    """Published signals: bullish, bearish or neutral on grade transitions, newest first."""
    from defiscope.analytics.grades.published import signals_published

    with _repo() as repo:
        found = signals_published(repo, slug, limit)
    if as_json:
        typer.echo(json.dumps({"signals": found}))
        return
    if not found:
        out.print("no signals published yet" if slug is None else f"no signals published for {slug} yet")
    for s in found:
        movers = ", ".join(f"{m['name']} {m['change']:+.1f}" for m in s["movers"])
        out.print(
            f"{s['block']:>10} {s['entity']:12} {s['horizon']:8} {s['previous']:>8} -> {s['state']:8} "
            f"grade {s['grade']:5.1f}  {movers}",
            highlight=False,
            soft_wrap=True,  # one signal a line, for grep and wc
        )


@grades_app.command("evaluate")
@one_line_errors
def evaluate(
    splits: Annotated[int, typer.Option("--splits", help="Walk-forward test blocks after the first window.")] = 6,
    as_json: Annotated[bool, typer.Option("--json", help="JSON (what /v1/grades/evaluation answers).")] = False,
) -> None:
    """Walk-forward evaluation of the published grades against the graded tokens' stored prices."""
    from defiscope.analytics.grades.compute import graded_tokens
    from defiscope.analytics.grades.published import evaluable_history, evaluation_document
    from defiscope.config import load_settings
    from defiscope.service.context import resolve_targets

    with _repo() as repo:
        evaluable_history(repo, splits)  # a short history is refused before looking for the chains' registries
        tokens = graded_tokens(target.deployment for target in resolve_targets(load_settings()))
        report = evaluation_document(repo, tokens, splits)
    if as_json:
        typer.echo(json.dumps(report))
        return
    for grade in report["grades"]:
        for variant in grade["variants"]:
            ic = variant["ic"]
            shown = ic.get("unavailable") or f"mean {ic.get('mean')}, t {ic.get('t_statistic')}, p {ic.get('p_value')}"
            out.print(f"{grade['horizon']:8} {variant['name']:24} IC: {shown}", highlight=False)
