"""Grades over blocks as arrays (periods x entities), and the forward returns they are judged against.

The formula grades one block; evaluation and calibration need the history as a panel: period t is the t-th
graded block, entity i the i-th graded entity. Missing figures are NaN (an input block of -1), never 0.

    >>> forward_returns([[100.0, 10.0], [110.0, 9.0], [121.0, float("nan")]], horizon=1).round(6).tolist()
    [[0.1, -0.1], [0.1, nan], [nan, nan]]
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from defiscope.analytics.grades.catalog import FACTORS, Horizon
from defiscope.analytics.grades.formula import HORIZONS, EntityGrades
from defiscope.analytics.quant.arrays import FloatArray, IndexArray, matrix
from defiscope.analytics.quant.errors import InvalidSeries

NO_BLOCK: Final = -1


@dataclass(frozen=True, slots=True)
class GradePanel:
    """`grades[h][t, i]`, `percentiles[t, i, f]` and `inputs_blocks[t, i, f]` at `blocks[t]`."""

    blocks: IndexArray
    entities: tuple[str, ...]
    factors: tuple[str, ...]
    grades: Mapping[Horizon, FloatArray]
    percentiles: FloatArray
    inputs_blocks: IndexArray

    def factors_of(self, horizon: Horizon) -> list[int]:
        """Indices of the factors of one horizon (the features of that grade's calibration)."""
        return [index for index, name in enumerate(self.factors) if FACTORS[name].horizon == horizon]

    def newest_inputs(self, horizon: Horizon) -> IndexArray:
        """Per period and entity, the newest input block behind that grade's factors (NO_BLOCK if none)."""
        return np.asarray(self.inputs_blocks[:, :, self.factors_of(horizon)].max(axis=2), dtype=np.int64)


def grade_panel(history: Sequence[tuple[int, Sequence[EntityGrades]]]) -> GradePanel:
    """Stack the formula's output at successive blocks (each block grading the same entities)."""
    if not history:
        raise InvalidSeries("a grade panel needs at least one graded block", field="history")
    entities = tuple(graded.slug for graded in history[0][1])
    factors = tuple(score.name for score in history[0][1][0].factors) if entities else ()
    shape = (len(history), len(entities))
    grades = {h: np.full(shape, np.nan) for h in HORIZONS}
    percentiles = np.full((*shape, len(factors)), np.nan)
    inputs = np.full((*shape, len(factors)), NO_BLOCK, dtype=np.int64)
    for t, (block, graded_block) in enumerate(history):
        if tuple(g.slug for g in graded_block) != entities:
            raise InvalidSeries(f"block {block} grades other entities than the first block", field="history")
        for i, graded in enumerate(graded_block):
            for h in HORIZONS:
                score = graded.grade(h).score
                grades[h][t, i] = np.nan if score is None else score
            for f, factor in enumerate(graded.factors):
                percentiles[t, i, f] = np.nan if factor.percentile is None else factor.percentile
                inputs[t, i, f] = NO_BLOCK if factor.inputs_block is None else factor.inputs_block
    blocks = np.array([block for block, _ in history], dtype=np.int64)
    if np.any(np.diff(blocks) <= 0):
        raise InvalidSeries("graded blocks must be strictly increasing", field="history")
    return GradePanel(blocks, entities, factors, grades, percentiles, inputs)


def forward_returns(prices: npt.ArrayLike, horizon: int) -> FloatArray:
    """R[t, i] = P[t + h, i] / P[t, i] - 1, the return of holding from period t to t + h; NaN where unknown."""
    if horizon < 1:
        raise InvalidSeries("a forward horizon must be at least 1 period", field="horizon")
    table = matrix(prices, "prices")
    if np.any(table[np.isfinite(table)] <= 0):
        raise InvalidSeries("prices must be positive (NaN for a missing price)", field="prices")
    result = np.full(table.shape, np.nan)
    result[:-horizon] = table[horizon:] / table[:-horizon] - 1.0
    return result
