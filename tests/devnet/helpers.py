"""Helpers for devnet tests that drive other processes."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable
from pathlib import Path

from defiscope.devnet import Devnet
from defiscope.devnet.anvil import pid_is_anvil


def seeded_data_dir(devnet: Devnet, data_dir: Path) -> Path:
    """A fresh DEFISCOPE_DATA_DIR holding a copy of the session's cached world (so starts are fast)."""
    target = data_dir / "devnet" / devnet.world_dir.name
    shutil.copytree(devnet.world_dir, target)
    return data_dir


def env_with(data_dir: Path) -> dict[str, str]:
    return {**os.environ, "DEFISCOPE_DATA_DIR": str(data_dir), "COLUMNS": "200"}


def cli(*args: str) -> list[str]:
    return [sys.executable, "-m", "defiscope.cli", *args]


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def all_dead(pids: list[int]) -> bool:
    return not any(pid_is_anvil(pid) for pid in pids)
