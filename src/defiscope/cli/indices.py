"""`defiscope indices`: rule-based DeFi indices, their definitions and backtests over the stored history.

defiscope indices list [--json]
defiscope indices show defi-pulse [--json]
defiscope indices backtest defi-pulse --from-block 100 --to-block 900 --json   # default: all stored history
defiscope indices backtest my-index --definitions ./indices --fixed-fee-bp 30   # own definitions; fixed-fee costs
defiscope indices backtest defi-pulse --plot pulse.svg      # value vs benchmarks, weights, drawdown (.png or .svg)
defiscope indices history defi-pulse --json --plot live.png  # the live values `serve` stored per block

A backtest reads blocks, prices and TVL from the store and, at each rebalance block, the chain: the routed
pools' state there (exact router quotes), the block's base fee (gas) and, for market-cap indices, the tokens'
totalSupply. The node must keep those blocks' state (an archive node on mainnet). `--fixed-fee-bp` prices
trades at a fixed fee instead, without reading pools or gas.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from typing import Annotated, Any

import typer

from defiscope.analytics.indices.backtest import Backtest, BacktestOptions
from defiscope.analytics.indices.definition import IndexDefinition
from defiscope.analytics.indices.loader import SHIPPED_DEFINITIONS, load_definitions
from defiscope.analytics.indices.metrics import deflated_sharpe, metrics_of
from defiscope.analytics.indices.report import backtest_json, decimal_text
from defiscope.analytics.quant.errors import InvalidSeries, Undefined
from defiscope.chain.registry import get_chain
from defiscope.cli.common import one_line_errors, out
from defiscope.cli.index_plot import Chart, Frame, draw, plot_format
from defiscope.config import load_settings
from defiscope.errors import InputError
from defiscope.service.context import resolve_targets
from defiscope.service.indices import run_backtests
from defiscope.store import Repository
from defiscope.store.indices import IndexValueStore, StoredIndexValue

indices_app = typer.Typer(help="Rule-based DeFi indices: definitions, live values and backtests.", no_args_is_help=True)

PlotOption = Annotated[
    Path | None,
    typer.Option(
        "--plot", help="Also draw value vs benchmarks, weights and drawdown to this .png or .svg file.", dir_okay=False
    ),
]
DefinitionsOption = Annotated[
    Path, typer.Option("--definitions", help="A directory of index definitions (*.toml) instead of the shipped ones.")
]


class UnknownIndex(InputError):
    pass


def _definition(index_id: str, directory: Path) -> IndexDefinition:
    definitions = load_definitions(directory)
    if index_id not in definitions:
        known = ", ".join(sorted(definitions))
        raise UnknownIndex(f"unknown index {index_id!r}; known: {known}", field="index")
    return definitions[index_id]


@indices_app.command("list")
@one_line_errors
def list_indices(
    definitions: DefinitionsOption = SHIPPED_DEFINITIONS,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """The index definitions: id, weighting, cap and rebalance schedule."""
    loaded = load_definitions(definitions)
    if as_json:
        out.print_json(json.dumps([_summary(d) for d in loaded.values()]))
        return
    for d in loaded.values():
        summary = _summary(d)
        out.print(f"{d.id:<14} {summary['weighting']:<10} cap {summary['cap']:<6} {summary['rebalance']:<22} {d.name}")


@indices_app.command("show")
@one_line_errors
def show_index(
    index_id: Annotated[str, typer.Argument(help="The index's id (defiscope indices list).")],
    definitions: DefinitionsOption = SHIPPED_DEFINITIONS,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """One index definition in full."""
    definition = _definition(index_id, definitions)
    data = definition.model_dump(mode="json")
    if as_json:
        out.print_json(json.dumps(data))
        return
    out.print(f"{definition.name} ({definition.id}): {definition.description}")
    for section in ("eligibility", "weighting", "rebalance"):
        fields = ", ".join(f"{k} {v}" for k, v in data[section].items() if v is not None)
        out.print(f"  {section}: {fields}")
    out.print(f"  base: {definition.base_value} on {definition.base_date}")


@indices_app.command("backtest")
@one_line_errors
def backtest_index(
    index_id: Annotated[str, typer.Argument(help="The index's id (defiscope indices list).")],
    from_block: Annotated[int | None, typer.Option("--from-block", help="First block (default: first stored).")] = None,
    to_block: Annotated[int | None, typer.Option("--to-block", help="Last block (default: last stored).")] = None,
    chain: Annotated[str, typer.Option("--chain", "-c", help="Chain id or name whose history is replayed.")] = "1",
    capital: Annotated[str, typer.Option("--capital", help="USD the index starts with (slippage grows with it).")] = (
        "1000000"
    ),
    fixed_fee_bp: Annotated[
        int | None, typer.Option("--fixed-fee-bp", help="Price trades at this fee (basis points), no pools or gas.")
    ] = None,
    compare_fee_bp: Annotated[
        list[int] | None,
        typer.Option("--compare-fee-bp", help="Also run a fixed-fee variant (repeatable): adds the deflated Sharpe."),
    ] = None,
    definitions: DefinitionsOption = SHIPPED_DEFINITIONS,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (amounts as exact strings).")] = False,
    plot: PlotOption = None,
) -> None:
    """Replay the index over the stored history: rebalances with exact router quotes, value series, metrics."""
    if plot is not None:
        plot_format(plot)  # refused before any work
    definition = _definition(index_id, definitions)
    options = BacktestOptions(capital_usd=_capital(capital))
    fees = [("fixed_fee_bp", bp) for bp in ([] if fixed_fee_bp is None else [fixed_fee_bp])]
    for field, bp in [*fees, *(("compare_fee_bp", bp) for bp in compare_fee_bp or [])]:
        if not 0 <= bp < 10_000:
            raise InputError(f"--{field.replace('_', '-')} must be in 0..9999, got {bp}", field=field)
    (target,) = resolve_targets(load_settings(), [chain])
    repo = Repository.open()
    try:
        result, *variants = run_backtests(
            repo, target, definition, from_block, to_block, options, fixed_fee_bp, compare_fee_bp or []
        )
    finally:
        repo.close()
    report = backtest_json(result, metrics_of(result))
    if plot is not None:
        draw(backtest_chart(result), plot)
    if variants:
        report["variants"] = [_variant(v) for v in (result, *variants)]
        report["deflated_sharpe"] = _deflated(result, [result, *variants])
    if as_json:
        out.print_json(json.dumps(report))
        return
    _print_summary(report)


@indices_app.command("history")
@one_line_errors
def index_history(
    index_id: Annotated[str, typer.Argument(help="The index's id (defiscope indices list).")],
    chain: Annotated[str, typer.Option("--chain", "-c", help="Chain id or name the index is tracked on.")] = "1",
    from_block: Annotated[int | None, typer.Option("--from-block", help="First block (default: first stored).")] = None,
    to_block: Annotated[int | None, typer.Option("--to-block", help="Last block (default: last stored).")] = None,
    limit: Annotated[int | None, typer.Option("--limit", min=1, help="Only the newest N blocks.")] = None,
    definitions: DefinitionsOption = SHIPPED_DEFINITIONS,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (levels as exact strings).")] = False,
    plot: PlotOption = None,
) -> None:
    """The index's live values as `serve` stored them per block: level, benchmarks, holdings, or why not."""
    if plot is not None:
        plot_format(plot)
    _definition(index_id, definitions)
    if from_block is not None and to_block is not None and from_block > to_block:
        raise InputError(f"--from-block {from_block} is after --to-block {to_block}", field="from_block")
    chain_id = get_chain(int(chain) if chain.isdigit() else chain).chain_id
    repo = Repository.open()
    try:
        values = IndexValueStore(repo.engine).history(
            index_id, chain_id, from_block=from_block, to_block=to_block, limit=limit
        )
    finally:
        repo.close()
    if not values:
        raise InputError(
            f"index {index_id} has no stored values on chain {chain_id} in that range (`serve` stores them)",
            field="index",
        )
    if plot is not None:
        draw(history_chart(index_id, values), plot)
    if as_json:
        out.print_json(json.dumps({"index": index_id, "chain_id": chain_id, "points": [_stored(v) for v in values]}))
        return
    for v in values:
        shown = v.value if v.value is not None else f"n/a ({v.missing})"
        mark = " rebalanced" if v.rebalanced else ""
        out.print(f"{v.block.number:>10} {v.block.timestamp:>12} {shown}{mark}", highlight=False)


def backtest_chart(backtest: Backtest) -> Chart:
    """The backtest's levels, and at each block the weights its last rebalance reached."""
    frames, rebalances, last = [], list(backtest.rebalances), None
    for point in backtest.series:
        while rebalances and rebalances[0].block <= point.block:
            last = rebalances.pop(0)
        weights = {} if last is None else {s: float(w) for s, w in last.result.weights_after.items()}
        frames.append(
            Frame(point.timestamp, _float(point.level), _float(point.equal_weight), _float(point.weth), weights)
        )
    return Chart(f"{backtest.index}: backtest ({backtest.cost_model})", frames)


def history_chart(index_id: str, values: Sequence[StoredIndexValue]) -> Chart:
    frames = [
        Frame(
            v.block.timestamp,
            _float(v.value),
            _float(v.equal_weight),
            _float(v.weth),
            {s: float(w) for s, w in v.weights.items()},
        )
        for v in values
    ]
    return Chart(f"{index_id}: live values", frames)


def _float(value: Fraction | Decimal | None) -> float | None:
    return None if value is None else float(value)


def _stored(value: StoredIndexValue) -> dict[str, Any]:
    def text(figure: Decimal | None) -> str | None:
        return None if figure is None else format(figure, "f")

    return {
        "block": value.block.number,
        "hash": value.block.hash,
        "timestamp": value.block.timestamp,
        "value": text(value.value),
        "equal_weight": text(value.equal_weight),
        "weth": text(value.weth),
        "rebalanced": value.rebalanced,
        "reason": value.missing,
        "holdings": {s: str(a) for s, a in value.holdings.items()},
        "weights": {s: text(w) for s, w in value.weights.items()},
    }


def _variant(backtest: Backtest) -> dict[str, Any]:
    figures = metrics_of(backtest)
    last = backtest.series[-1].level
    return {
        "cost_model": backtest.cost_model,
        "sharpe": figures.sharpe,
        "cagr": figures.cagr,
        "slippage_usd": decimal_text(figures.slippage_usd),
        "gas_usd": decimal_text(figures.gas_usd),
        "final_value": None if last is None else decimal_text(last),
    }


def _deflated(selected: Backtest, trials: list[Backtest]) -> dict[str, Any]:
    """The deflated Sharpe ratio of the run reported, among every variant run (Bailey & Lopez de Prado 2014)."""
    try:
        dsr = deflated_sharpe(selected, trials)
    except (Undefined, InvalidSeries) as exc:
        return {"probability": None, "undefined": str(exc)}
    return {
        "probability": dsr.probability,
        "benchmark_sharpe": dsr.benchmark,
        "sharpe_per_period": dsr.sharpe,
        "n_obs": dsr.n_obs,
        "n_trials": dsr.n_trials,
    }


def _capital(text: str) -> Decimal:
    try:
        value = Decimal(text)
    except ArithmeticError:
        raise InputError(f"--capital {text!r} is not a number", field="capital") from None
    if not value.is_finite() or value <= 0:
        raise InputError(f"--capital must be a positive number of USD, got {text}", field="capital")
    return value


def _summary(definition: IndexDefinition) -> dict[str, Any]:
    rule = definition.rebalance
    schedule = f"drift {rule.threshold_pct} pp" if rule.kind == "drift" else f"{rule.every} day {rule.day}"
    return {
        "id": definition.id,
        "name": definition.name,
        "weighting": definition.weighting.method,
        "cap": str(definition.weighting.cap),
        "rebalance": schedule,
        "max_members": definition.eligibility.max_members,
    }


def _print_summary(report: Mapping[str, Any]) -> None:
    metrics = report["metrics"]
    last = report["series"][-1]
    out.print(
        f"{report['index']}: blocks {report['from_block']}..{report['to_block']}, "
        f"{len(report['rebalances'])} rebalances ({len(report['skipped'])} skipped), level {last['value']}"
    )
    for name, value in metrics.items():
        shown = value if value is not None else f"n/a ({report['undefined'].get(name, '')})"
        out.print(f"  {name:<15} {shown}")
    for variant in report.get("variants", []):
        out.print(f"  variant: {variant['cost_model']}: sharpe {variant['sharpe']}, final {variant['final_value']}")
    if "deflated_sharpe" in report:
        out.print(f"  deflated sharpe probability {report['deflated_sharpe']['probability']}")


__all__ = ["indices_app"]
