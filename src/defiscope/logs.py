"""Structured logging for the command line: key=value lines on stderr, or JSON lines.

    configure(level=logging.INFO, json_lines=True)   # or DEFISCOPE_LOG_FORMAT=json

stdout stays for command output (tables, `--json`), so logs never mix into what a script parses.
"""

from __future__ import annotations

import logging
import os
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from defiscope.chain.errors import redact_url


class _Stderr:
    """Resolves sys.stderr at each write, so a swapped or closed stream (tests, redirection) is never kept."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


_HTTP_URL = re.compile(r"(?:https?|wss?)://[^\s'\"<>()\[\]{},]+", re.IGNORECASE)


def redact_endpoints(_logger: object, _name: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    """Every HTTP(S) URL in a log line's strings (tracebacks included) as scheme and host only: RPC providers
    put keys in URL paths, and an exception's text may carry the URL it failed on."""
    for key, value in event.items():
        if isinstance(value, str) and "://" in value:
            event[key] = _HTTP_URL.sub(lambda match: redact_url(match.group(0)), value)
    return event


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
            redact_endpoints,
            renderer,
        ],
        logger_factory=structlog.PrintLoggerFactory(_Stderr()),  # type: ignore[arg-type]
        wrapper_class=structlog.make_filtering_bound_logger(level),
        cache_logger_on_first_use=False,
    )
