"""The indices' math does no I/O: only the loader reads files; the docstring examples run and hold."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import defiscope.analytics.indices
from tests.purity import imported_modules

PURE = [
    "definition",
    "weights",
    "errors",
    "rebalance",
    "schedule",
    "backtest",
    "metrics",
    "report",
    "quoting",
    "state",
    "hubs",
]
ALLOWED = {"__future__", "collections", "dataclasses", "datetime", "decimal", "fractions", "math", "typing", "types"}
ALLOWED |= {"pydantic", "numpy", "defiscope"}
#: What the pure modules may use of defiscope: each other, the quant math and the router's pure search.
PURE_DEFISCOPE = {f"defiscope.analytics.indices.{name}" for name in PURE} | {
    "defiscope.errors",
    "defiscope.analytics.quant.errors",
    "defiscope.analytics.quant.evaluation.sharpe",
    "defiscope.analytics.quant.performance",
    "defiscope.analytics.quant.returns",
    "defiscope.routing.pools",
    "defiscope.routing.search",
}


@pytest.mark.parametrize("name", PURE)
def test_math_modules_import_no_io(name: str) -> None:
    source = Path(defiscope.analytics.indices.__file__).parent / f"{name}.py"
    for module in imported_modules(source):
        assert module.split(".")[0] in ALLOWED, f"{name}.py imports {module}"
        if module.startswith("defiscope"):
            assert module in PURE_DEFISCOPE, f"{name}.py imports {module}"


@pytest.mark.parametrize("name", ["definition", "weights", "loader", "rebalance", "schedule", "state", "hubs"])
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(f"defiscope.analytics.indices.{name}"))
    assert result.attempted > 0
    assert result.failed == 0
