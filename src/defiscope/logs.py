"""Structured logging for the command line: key=value lines on stderr, or JSON lines.

    configure(level=logging.INFO, json_lines=True)   # or DEFISCOPE_LOG_FORMAT=json

stdout stays for command output (tables, `--json`), so logs never mix into what a script parses.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

import structlog


class _Stderr:
    """Resolves sys.stderr at each write, so a swapped or closed stream (tests, redirection) is never kept."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure(level: int = logging.WARNING, *, json_lines: bool | None = None) -> None:
    if json_lines is None:
        json_lines = os.environ.get("DEFISCOPE_LOG_FORMAT", "").lower() == "json"
    renderer: Any = (
        structlog.processors.JSONRenderer() if json_lines else structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.format_exc_info,
            renderer,
        ],
        logger_factory=structlog.PrintLoggerFactory(_Stderr()),  # type: ignore[arg-type]
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
