"""`--plot FILE` of `defiscope indices backtest|history`: three panels as PNG or SVG (by the file's extension).

    chart = Chart("defi-tvl", [Frame(1_700_000_000, 100.0, 100.0, 100.0, {"UNI": 0.5, "AAVE": 0.5}), ...])
    draw(chart, Path("defi-tvl.svg"))

- "Value": the index level against the equal-weight and WETH benchmarks (all from the base value)
- "Weights": the members' weights over time, stacked (a block without them leaves a gap)
- "Drawdown": the index's fall from its running peak, in percent

A bare `Figure` (no pyplot: no global state, no display; Agg draws it); SVG keeps its text as text, so the
panels' labels can be read back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import numpy as np
from matplotlib import rc_context
from matplotlib.axes import Axes
from matplotlib.figure import Figure

from defiscope.errors import InputError

#: The file types `--plot` writes, by extension.
FORMATS: Final = {".png": "png", ".svg": "svg"}
PANELS: Final = ("Value", "Weights", "Drawdown")


@dataclass(frozen=True, slots=True)
class Frame:
    """One block: its time, the index's and the benchmarks' levels (None: unknown there), the weights."""

    timestamp: int
    index: float | None
    equal_weight: float | None
    weth: float | None
    weights: Mapping[str, float]


@dataclass(frozen=True, slots=True)
class Chart:
    title: str
    frames: Sequence[Frame]


def plot_format(path: Path) -> str:
    """The format for `path` by its extension; `InputError` naming `plot` for any other."""
    found = FORMATS.get(path.suffix.lower())
    if found is None:
        raise InputError(f"--plot {path}: the file must end in .png or .svg", field="plot")
    return found


def draw(chart: Chart, path: Path) -> None:
    kind = plot_format(path)
    times = np.array([f.timestamp for f in chart.frames], dtype="datetime64[s]")  # UTC
    with rc_context({"svg.fonttype": "none"}):
        figure = Figure(figsize=(10, 10), layout="constrained")
        value, weights, drawdown = figure.subplots(3, 1, sharex=True)
        figure.suptitle(chart.title)
        _values(value, times, chart.frames)
        _weights(weights, times, chart.frames)
        _drawdown(drawdown, times, chart.frames)
        figure.savefig(path, format=kind)


def drawdowns(levels: Sequence[float | None]) -> list[float | None]:
    """Percent below the running peak of the known levels (None where the level is unknown).

    >>> drawdowns([100.0, 110.0, None, 99.0, 120.0])
    [0.0, 0.0, None, -10.0, 0.0]
    """
    peak = None
    found: list[float | None] = []
    for level in levels:
        if level is None:
            found.append(None)
            continue
        peak = level if peak is None else max(peak, level)
        found.append(round((level / peak - 1) * 100, 12))
    return found


def _values(axes: Axes, times: np.ndarray, frames: Sequence[Frame]) -> None:
    axes.set_title(PANELS[0])
    for label, levels in (
        ("index", [f.index for f in frames]),
        ("equal weight", [f.equal_weight for f in frames]),
        ("WETH", [f.weth for f in frames]),
    ):
        axes.plot(times, [float("nan") if v is None else v for v in levels], label=label)
    axes.set_ylabel("level")
    axes.legend(loc="best")


def _weights(axes: Axes, times: np.ndarray, frames: Sequence[Frame]) -> None:
    axes.set_title(PANELS[1])
    members = sorted({s for f in frames for s in f.weights})
    if members:
        stacks = [[f.weights.get(m, 0.0) * 100 for f in frames] for m in members]
        axes.stackplot(times, stacks, labels=members)
        axes.legend(loc="upper left", fontsize="small", ncols=min(len(members), 6))
    axes.set_ylabel("weight (%)")


def _drawdown(axes: Axes, times: np.ndarray, frames: Sequence[Frame]) -> None:
    axes.set_title(PANELS[2])
    falls = [float("nan") if d is None else d for d in drawdowns([f.index for f in frames])]
    axes.fill_between(times, falls, 0, step="post", alpha=0.5)
    axes.set_ylabel("below peak (%)")
