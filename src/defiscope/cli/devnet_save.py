"""Saving the devnet at the end of a run that stored its blocks (`serve`, `devnet simulate --days`).

The save happens also after a failure: the blocks stored so far are on this chain, and the next run on the data
dir must find it. Signals are ignored meanwhile (a half save keeps the old one); a failed save is one warning.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from rich.console import Console
from rich.markup import escape

from defiscope.cli.common import err, on_signals
from defiscope.devnet.manager import Devnet
from defiscope.service.resume import save_for_next_start


async def save_devnet(devnet: Devnet, *, run: str, report: Console, on_signal: Callable[[], None]) -> None:
    """Save `devnet` for the next `run` ("serve", "run"); where it went is printed on `report`."""
    with on_signals(on_signal):
        try:
            saved = await asyncio.to_thread(save_for_next_start, devnet)
        except Exception as exc:
            err.print(
                f"[red]warning:[/red] the devnet could not be saved ({escape(str(exc))}): the next {run} on this "
                "data dir will refuse to continue its history (see `serve --reset`)",
                highlight=False,
            )
            return
    heads = ", ".join(f"chain {c} at block {h.number}" for c, h in sorted(saved.heads.items()))
    report.print(f"devnet saved in {saved.directory} ({heads}): the next {run} continues it", highlight=False)
