"""The runnable examples in the control modules' docstrings run."""

from __future__ import annotations

import doctest

import defiscope.protocols.control.discovered
import defiscope.protocols.control.proxy


def test_proxy_examples_run() -> None:
    result = doctest.testmod(defiscope.protocols.control.proxy)
    assert result.attempted > 0
    assert result.failed == 0


def test_discovered_examples_run() -> None:
    result = doctest.testmod(defiscope.protocols.control.discovered)
    assert result.attempted > 0
    assert result.failed == 0
