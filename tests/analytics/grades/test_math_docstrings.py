"""The examples in the docstrings of the grade math modules run and hold."""

from __future__ import annotations

import doctest
import importlib

import pytest


@pytest.mark.parametrize("name", ["catalog", "formula", "signals", "panel", "calibration", "evaluation", "walkforward"])
def test_docstring_examples_hold(name: str) -> None:
    module = importlib.import_module(f"defiscope.analytics.grades.{name}")
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
