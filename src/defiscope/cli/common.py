"""Shared pieces of the command line: the app, the consoles, logging, and one-line errors.

Commands stay thin: they parse options and call library functions. Errors print one line on stderr and
exit with code 2; no traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from typing import Annotated, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape

from defiscope import logs
from defiscope.errors import DefiscopeError

app = typer.Typer(name="defiscope", help="DeFi analytics read straight from EVM chains.", no_args_is_help=True)

out = Console()
err = Console(stderr=True)

P = ParamSpec("P")
R = TypeVar("R")


@app.callback()
def main(verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logs.")] = False) -> None:
    # Logs go to stderr so that stdout stays machine-readable (`info --json`).
    logs.configure(logging.DEBUG if verbose else logging.WARNING)


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a DefiscopeError into one line on stderr and exit code 2."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DefiscopeError as exc:
            # escape(): messages carry "[chain 1, endpoint ...]", which Rich would take for markup.
            err.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
            raise typer.Exit(2) from None

    return wrapper
