"""The indices' math does no I/O: only the loader reads files; the docstring examples run and hold."""

from __future__ import annotations

import doctest
import importlib
from pathlib import Path

import pytest

import defiscope.analytics.indices
from tests.purity import imported_modules

PURE = ["definition", "weights", "errors"]
ALLOWED = {"__future__", "collections", "dataclasses", "datetime", "decimal", "fractions", "math", "typing"}
ALLOWED |= {"pydantic", "defiscope"}


@pytest.mark.parametrize("name", PURE)
def test_math_modules_import_no_io(name: str) -> None:
    source = Path(defiscope.analytics.indices.__file__).parent / f"{name}.py"
    for module in imported_modules(source):
        assert module.split(".")[0] in ALLOWED, f"{name}.py imports {module}"
        if module.startswith("defiscope"):
            assert module in (
                "defiscope.errors",
                "defiscope.analytics.indices.definition",
                "defiscope.analytics.indices.errors",
            )


@pytest.mark.parametrize("name", ["definition", "weights", "loader"])
def test_docstring_examples_hold(name: str) -> None:
    result = doctest.testmod(importlib.import_module(f"defiscope.analytics.indices.{name}"))
    assert result.attempted > 0
    assert result.failed == 0
