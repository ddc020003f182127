"""The examples in the adapter contract's event hook, the chain settings and the error hierarchy run."""

from __future__ import annotations

import doctest
from types import ModuleType

import pytest

import defiscope.chain.settings
import defiscope.errors
import defiscope.protocols.events


@pytest.mark.parametrize("module", [defiscope.protocols.events, defiscope.chain.settings, defiscope.errors])
def test_module_examples_run(module: ModuleType) -> None:
    result = doctest.testmod(module)
    assert result.attempted > 0
    assert result.failed == 0
