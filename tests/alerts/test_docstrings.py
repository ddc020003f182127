"""The examples in the delivery and evaluation modules' docstrings run."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

from defiscope.alerts import evaluate, grouped, retention, wakeup
from defiscope.alerts.delivery import backoff, settings, ssrf


@pytest.mark.parametrize("module", [wakeup, backoff, settings, ssrf, retention, evaluate, grouped])
def test_module_docstring_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
