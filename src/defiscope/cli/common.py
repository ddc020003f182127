"""Shared pieces of the command line: the consoles, one-line errors, and the progress bar.

Commands stay thin: they parse options and call library functions. Errors print one line on stderr, never a
traceback: the caller's mistake (an `InputError`, or an explained refusal) exits with code 2, as typer's own
usage errors; a failure of what the command depends on (an RPC endpoint, a protocol's contracts, a price
provider, the database) exits with code 1 and says what to do about it.
"""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import wraps
from typing import Final, ParamSpec, TypeVar

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.text import Text

from defiscope.errors import DefiscopeError, InputError

out = Console()
err = Console(stderr=True)
#: The signals a long-running command stops on (SIGTERM as Ctrl-C's SIGINT).
STOP_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)

P = ParamSpec("P")
R = TypeVar("R")


#: Exit code of the caller's mistake (bad input, a refusal the message explains), as typer's usage errors.
EXIT_INPUT: Final = 2
#: Exit code of a failure of what the command depends on (chain, provider, store): trying later may work.
EXIT_FAILED: Final = 1


def failure_advice(exc: DefiscopeError) -> str | None:
    """What to do about a failure of a dependency (appended to its message); None for the caller's mistakes."""
    # The error classes are imported one by one, on failure only: their packages pull in web3 and SQLAlchemy,
    # which a command failing on bad input (or succeeding) need not load.
    if isinstance(exc, InputError):
        return None
    from defiscope.chain.errors import ChainError

    if isinstance(exc, ChainError):
        setting = f"DEFISCOPE_RPC_{exc.chain_id}" if exc.chain_id is not None else "DEFISCOPE_RPC_<CHAINID>"
        return f"check the RPC URL ({setting} or the config file) or try later"
    from defiscope.protocols.base import AdapterError

    if isinstance(exc, AdapterError):
        return "the protocol's contracts could not be read: check that the RPC URL serves that chain, or try later"
    from defiscope.prices.coingecko import CoinGeckoError

    if isinstance(exc, CoinGeckoError):
        return "the price provider failed: check its API key and URL, or try later"
    from defiscope.governance.snapshot import SnapshotError

    if isinstance(exc, SnapshotError):
        return "--source chain lists the on-chain proposals without it"
    from defiscope.store.errors import StoreError

    if isinstance(exc, StoreError):
        return "check DEFISCOPE_DATABASE_URL and that the database is up, or try later"
    from defiscope.service.jobs.errors import JobsUnavailable

    if isinstance(exc, JobsUnavailable):
        return "check DEFISCOPE_BROKER_URL, that RabbitMQ is up and that `defiscope worker` runs, or try later"
    return None


def one_line_errors(command: Callable[P, R]) -> Callable[P, R]:
    """Turn a DefiscopeError into one line on stderr: exit code 1 with advice for a failure of the chain, a
    provider or the store; exit code 2 for bad input and the refusals the message explains."""

    @wraps(command)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except DefiscopeError as exc:
            advice = failure_advice(exc)
            line = str(exc) if advice is None else f"{exc}; {advice}"
            # escape(): messages carry "[chain 1, endpoint ...]", which Rich would take for markup.
            err.print(f"[red]error:[/red] {escape(line)}", highlight=False, soft_wrap=True)
            raise typer.Exit(EXIT_INPUT if advice is None else EXIT_FAILED) from None

    return wrapper


class _BlocksPerSecond(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text("? blocks/s" if speed is None else f"{speed:.1f} blocks/s", style="progress.data.speed")


@contextmanager
def block_progress(label: str, *, disable: bool) -> Iterator[Callable[[int, int], None]]:
    """A Rich progress bar on stderr (blocks done / total, blocks per second, ETA) as an `update(done, total)`."""
    bar = Progress(
        TextColumn(f"[bold]{escape(label)}"),
        BarColumn(),
        MofNCompleteColumn(),
        _BlocksPerSecond(),
        TimeRemainingColumn(),
        console=err,
        disable=disable,
    )
    task: TaskID | None = None

    def update(done: int, total: int) -> None:
        nonlocal task
        if task is None:
            # Started at the first report, which comes once the input is checked (a refusal shows no bar),
            # and with the blocks already done (a backfill's stored ones), so they do not count towards the speed.
            bar.start()
            task = bar.add_task(label, total=total, completed=done)
        else:
            bar.update(task, completed=done, total=total)

    try:
        yield update
    finally:
        if task is not None:
            bar.stop()


@contextmanager
def on_signals(action: Callable[[], None]) -> Iterator[None]:
    """Within a running event loop: call `action` on SIGINT or SIGTERM instead of being interrupted."""
    loop = asyncio.get_running_loop()
    for sig in STOP_SIGNALS:
        loop.add_signal_handler(sig, action)
    try:
        yield
    finally:
        for sig in STOP_SIGNALS:
            loop.remove_signal_handler(sig)
