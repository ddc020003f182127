"""The examples in the grade modules' docstrings run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["catalog", "figures", "fees", "hook", "walkforward"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples_hold(name: str) -> None:
    module = importlib.import_module(f"defiscope.analytics.grades.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
