"""Checked conversions of caller data to float arrays, shared by the quant modules."""

from __future__ import annotations

from typing import Final, TypeAlias

import numpy as np
import numpy.typing as npt

from defiscope.analytics.quant.errors import InvalidSeries, Undefined

FloatArray: TypeAlias = npt.NDArray[np.float64]
IndexArray: TypeAlias = npt.NDArray[np.int64]

# A spread this small against the data's size is rounding, not variation: a ratio over it would be noise.
RELATIVE_NOISE: Final = 1e-12


def vector(data: npt.ArrayLike, name: str) -> FloatArray:
    """`data` as a one-dimensional array of finite floats."""
    array = np.asarray(data, dtype=np.float64)
    if array.ndim != 1:
        raise InvalidSeries(f"{name} must be one-dimensional, got {array.ndim} dimensions", field=name)
    if not np.all(np.isfinite(array)):
        raise InvalidSeries(f"{name} holds a value that is not finite", field=name)
    return array


def positive_vector(data: npt.ArrayLike, name: str) -> FloatArray:
    """`data` as finite floats, each > 0 (values of a holding or prices: a ratio of them must exist)."""
    array = vector(data, name)
    if np.any(array <= 0):
        raise InvalidSeries(f"{name} must be positive, found {float(array.min())}", field=name)
    return array


def matrix(data: npt.ArrayLike, name: str) -> FloatArray:
    """`data` as a two-dimensional float array (periods x assets); NaN marks a missing observation."""
    array = np.asarray(data, dtype=np.float64)
    if array.ndim != 2:
        raise InvalidSeries(f"{name} must be periods x assets (2 dimensions), got {array.ndim}", field=name)
    if np.any(np.isinf(array)):
        raise InvalidSeries(f"{name} holds an infinite value", field=name)
    return array


def same_shape(first: FloatArray, second: FloatArray, first_name: str, second_name: str) -> None:
    """Refuse two series that do not line up observation for observation."""
    if first.shape != second.shape:
        raise InvalidSeries(
            f"{second_name} must have the shape of {first_name}: {second.shape} vs {first.shape}", field=second_name
        )


def at_least(array: FloatArray, count: int, what: str) -> None:
    """Refuse a statistic over fewer than `count` observations."""
    if len(array) < count:
        raise Undefined(f"{what} needs at least {count} observations, got {len(array)}")


def require_variation(spread: float, series: FloatArray, reason: str) -> None:
    """Refuse a ratio over a spread that is zero or rounding noise (a constant series computes to ~1e-17)."""
    if spread <= RELATIVE_NOISE * float(np.max(np.abs(series))):
        raise Undefined(reason)
