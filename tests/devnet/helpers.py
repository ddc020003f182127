"""Helpers for devnet tests that drive other processes."""

from __future__ import annotations

import os
import shutil
import sys
import time
from collections.abc import Callable, Mapping
from pathlib import Path

import structlog
from click.testing import Result
from typer.testing import CliRunner

from defiscope.cli import app
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


def run_in_process(data_dir: Path, *args: str, env: Mapping[str, str | None] | None = None) -> Result:
    """`defiscope ARGS` in this process, with a child's environment (`env`: more, None unsets). For refusals of bad
    input: a child spends seconds (tens on a busy machine) importing the CLI before it can refuse anything."""
    saved = structlog.get_config()
    try:
        result = CliRunner().invoke(app, list(args), env={**env_with(data_dir), **(env or {})})
    finally:
        structlog.configure(**saved)  # the CLI configures structlog; later tests capture logs
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise result.exception  # what a child would show as a traceback
    return result


def wait_until(condition: Callable[[], bool], timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.02)


def all_dead(pids: list[int]) -> bool:
    return not any(pid_is_anvil(pid) for pid in pids)
