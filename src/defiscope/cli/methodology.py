"""`defiscope methodology [SLUG] [--json]`: what each protocol counts and exactly what is read, per chain.

defiscope methodology               # every protocol
defiscope methodology maker --json  # [{"slug", "name", "counts", "defillama_difference", "chains": [...]}]

Answered from the mainnet registry and the adapters' declared surfaces, with or without an RPC configured.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from defiscope.cli.common import one_line_errors, out
from defiscope.config import load_settings
from defiscope.protocols.methodology import methodology

#: The top-level commands of this module; the root group imports it only to run one of them.
commands = typer.Typer()


@commands.command("methodology")
@one_line_errors
def methodology_command(
    slug: Annotated[str | None, typer.Argument(help="A protocol slug, e.g. aave-v3; all when omitted.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """What each protocol's TVL counts, how its contracts are found, and where it differs from DefiLlama."""
    entries = methodology(slug, not_counted=load_settings().tvl_policy.describe)
    if as_json:
        typer.echo(json.dumps(entries, indent=2))
        return
    for entry in entries:
        _print(entry)


def _print(entry: dict[str, Any]) -> None:
    out.print(f"[bold]{escape(entry['name'])}[/bold] ({entry['slug']}, {escape(entry['category'])})")
    out.print(f"  counts: {escape(entry['counts'])}", soft_wrap=True)
    if entry["defillama_difference"]:
        out.print(f"  differs from DefiLlama: {escape(entry['defillama_difference'])}", soft_wrap=True)
    for rule in entry["not_counted"]:
        out.print(f"  not counted: {escape(rule)}", soft_wrap=True)
    for chain in entry["chains"]:
        out.print(
            f"  chain {chain['chain_id']}" + (f": {escape(chain['discovery'])}" if chain["discovery"] else ""),
            soft_wrap=True,
        )
        for contract in chain["contracts"]:
            where = contract["address"] or "found at run time"
            out.print(
                f"    {escape(contract['name'])} [{where}] ({contract['interface']})", highlight=False, soft_wrap=True
            )
            for call in contract["calls"]:
                out.print(f"      call  {call}", highlight=False, soft_wrap=True)
            for event in contract["events"]:
                out.print(f"      event {event}", highlight=False, soft_wrap=True)
            for note in contract.get("notes", ()):
                out.print(f"      note  LogNote of {note}", highlight=False, soft_wrap=True)
    out.print()
