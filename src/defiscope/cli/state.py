"""`defiscope state reconcile`: the DEX state followed from events, checked against a full re-read.

defiscope state reconcile                          # every tracked protocol of every configured chain
defiscope state reconcile --chain 1 --protocol uniswap-v3 --blocks 64 --json

A fresh process has no tracked state: each protocol's state is loaded ``--blocks`` blocks before the head,
followed from the logs up to the head, and compared there with a full re-read of every pool. Any difference is
printed (and logged as an error) and the command exits with 1; a protocol that cannot be read exits with 2.
"""

from __future__ import annotations

import asyncio
import json
import sys
from collections.abc import Sequence
from typing import Annotated, Any

import typer

from defiscope.cli.common import err, one_line_errors, out
from defiscope.config import load_settings
from defiscope.errors import InputError
from defiscope.protocols.tracked import BLOCKHASH_WINDOW, TrackedAdapter
from defiscope.service.context import open_runtime
from defiscope.tvl.engine import Reconciliation

state_app = typer.Typer(help="DEX state followed from events: reconcile it with a full re-read.", no_args_is_help=True)


class NotTracked(InputError):
    """A protocol asked for is unknown here or not tracked from events."""


async def _reconcile(chains: Sequence[str] | None, slugs: set[str] | None, blocks: int) -> list[Reconciliation]:
    async with open_runtime(load_settings(), chains) as runtime:
        tracked = {a.info.slug for e in runtime.engines.values() for a in e.adapters if isinstance(a, TrackedAdapter)}
        if slugs is not None and not slugs <= tracked:
            unknown = sorted(slugs - tracked)[0]
            raise NotTracked(f"{unknown!r} is not tracked from events here; tracked: {', '.join(sorted(tracked))}")

        async def one(chain_id: int) -> Reconciliation:
            engine = runtime.engines[chain_id]
            head = await engine.client.block("latest")
            return await engine.reconcile(head.number, slugs=slugs, start=max(0, head.number - blocks))

        return list(await asyncio.gather(*(one(chain_id) for chain_id in sorted(runtime.engines))))


@state_app.command("reconcile")
@one_line_errors
def reconcile(
    chain: Annotated[list[str] | None, typer.Option("--chain", "-c", help="Chain id or name (repeatable).")] = None,
    protocol: Annotated[list[str] | None, typer.Option("--protocol", "-p", help="Protocol slug (repeatable).")] = None,
    blocks: Annotated[
        int, typer.Option("--blocks", min=1, max=BLOCKHASH_WINDOW, help="Follow the logs of this many blocks.")
    ] = 32,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Follow each tracked protocol from its logs over the last blocks and compare with a full re-read."""
    results = asyncio.run(_reconcile(chain, set(protocol) if protocol else None, blocks))
    if as_json:
        sys.stdout.write(json.dumps([_json(r) for r in results], indent=2) + "\n")
    else:
        for r in results:
            _print(r)
    if any(r.failures for r in results):
        raise typer.Exit(2)
    if any(r.mismatches for r in results):
        raise typer.Exit(1)


def _json(result: Reconciliation) -> dict[str, Any]:
    return {
        "chain_id": result.block.chain_id,
        "block": {"number": result.block.number, "hash": result.block.hash},
        "checked": list(result.checked),
        "mismatches": [
            {
                "protocol": m.protocol,
                "pool": m.pool,
                "token": m.token,
                "tracked": _value(m.tracked),
                "chain": _value(m.chain),
            }
            for m in result.mismatches
        ],
        "failures": [{"protocol": f.slug, "reason": f.reason} for f in result.failures],
    }


def _value(reading: int | str | None) -> str | None:
    """Amounts as decimal strings (exact in any JSON reader); a reason as itself."""
    return None if reading is None else str(reading)


def _print(result: Reconciliation) -> None:
    where = f"chain {result.block.chain_id} at block {result.block.number} ({result.block.hash[:10]}…)"
    out.print(f"{where}: reconciled {', '.join(result.checked) or 'nothing'}", highlight=False, soft_wrap=True)
    for m in result.mismatches:
        out.print(
            f"[red]mismatch[/red] {m.protocol} pool {m.pool} token {m.token}: tracked {m.tracked}, chain {m.chain}",
            highlight=False,
            soft_wrap=True,
        )
    for f in result.failures:
        err.print(f"[red]not reconciled[/red] {f.slug}: {f.reason}", highlight=False, soft_wrap=True)
    if not result.mismatches and not result.failures:
        out.print("tracked state equals a full re-read", highlight=False, soft_wrap=True)
