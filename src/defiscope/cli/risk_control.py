"""`defiscope risk control SLUG`: who controls a protocol's contracts, read live, with its curated facts.

defiscope risk control aave-v3
defiscope risk control compound-v2 --json --block 1200

For every fixed contract the protocol's adapters read: its proxy kind and implementation, the admin chain to
its end (EOA, Safe multisig with threshold and signers, timelock with its delay, governor), pause powers and
implementation changes (Upgraded events); unknowns are shown as unknown with why. Then the contracts found at run
time (the protocol's snapshot at the block lists them), by kind: inspected and grouped by the control they share,
or immutable by construction, or dependencies. Then the protocol's audits, incidents, insurance and bug bounty,
each with its source.
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.markup import escape

from defiscope.analytics.risk.facts import load_facts
from defiscope.chain.reader import Batcher
from defiscope.cli.common import one_line_errors, out
from defiscope.config import load_settings
from defiscope.protocols.control.profile import ControlSurface, control_surface, fixed_contracts, found_contracts
from defiscope.service.context import open_runtime


async def read_control(slug: str, chain: str, block: int | None) -> ControlSurface:
    """The protocol's snapshot first (its discovery lists the contracts found at run time), then its control."""
    async with open_runtime(load_settings(), [chain]) as runtime:
        (engine,) = runtime.engines.values()
        fixed_contracts(engine.deployment, slug)  # an unknown slug is bad input before any read
        tvl = await engine.snapshot("latest" if block is None else block, slugs=[slug])
        found = found_contracts(engine.adapters, tvl.block.number).get(slug)
        reader = Batcher(await engine.client.snapshot(tvl.block.number)).reader(f"control:{slug}")
        return await control_surface(reader, engine.deployment, slug, found=found)


@one_line_errors
def control_command(
    slug: Annotated[str, typer.Argument(help="A protocol slug, e.g. aave-v3.")],
    chain: Annotated[str, typer.Option("--chain", "-c", help="Chain id or name.")] = "1",
    block: Annotated[int | None, typer.Option("--block", "-b", min=0, help="Block (default: latest).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Proxies, admin chains to their end, pause powers and upgrades of SLUG's contracts; audits and incidents."""
    facts = load_facts(slug)
    surface = asyncio.run(read_control(slug, chain, block))
    if as_json:
        typer.echo(json.dumps({**surface.to_json(), "facts": facts.to_json()}, indent=2))
        return
    out.print(f"{slug} on chain {surface.chain_id} at block {surface.block}", highlight=False)
    for contract in surface.to_json()["control"]:
        _print_contract(contract)
    for kind in surface.to_json()["discovered"]:
        _print_kind(kind)
    _print_facts(facts.to_json())


def _print_contract(c: dict[str, Any]) -> None:
    dep = " (dependency)" if c["dependency"] else ""
    impl = f" -> {c['implementation']}" if c["implementation"] else ""
    out.print(
        escape(f"{c['contract']}{dep} {c['address']}: proxy {c['proxy']} [{c['pattern']}]{impl}"), highlight=False
    )
    for link in c["admin_chain"]:
        extra = [link["detail"]] if link["detail"] else []
        if link["delay_seconds"] is not None:
            extra.append(f"delay {link['delay_seconds']} s")
        if link["why"]:
            extra.append(link["why"])
        extra += [_nominee(link["pending_owner"])] if link["pending_owner"] else []
        out.print(escape(f"    {link['type']:9} {link['address']}  {'; '.join(extra)}"), highlight=False)
    if c["admin_why"]:
        out.print(escape(f"    admin: {c['admin_why']}"), highlight=False)
    if c["pending_owner"]:
        out.print(escape(f"    {_nominee(c['pending_owner'])}"), highlight=False)
    for power in c["pause"]:
        who = ", ".join(power["holders"]) or power["why"] or "nobody"
        out.print(escape(f"    {power['power']}: {who} ({power['source']})"), highlight=False)
        for holder, chain in zip(power["holders"], power["holder_chains"], strict=True):
            ends = " -> ".join(f"{link['type']} {link['detail']}".strip() for link in chain)
            out.print(escape(f"      {holder}: {ends}"), highlight=False)
    for u in c["upgrades"]:
        out.print(escape(f"    upgraded at block {u['block']} to {u['implementation']}"), highlight=False)


def _nominee(pending: dict[str, Any]) -> str:
    return f"pending owner {pending['type']} {pending['address']} ({pending['via']}, not yet accepted)"


def _print_kind(kind: dict[str, Any]) -> None:
    """A kind found at run time: its rule and count, then each group of the same control (exceptions marked)."""
    count = "not listed" if kind["count"] is None else f"{kind['count']} found"
    out.print(escape(f"{kind['kind']} ({count}, {kind['rule']}): {kind['why']}"), highlight=False)
    for group in kind["groups"]:
        odd = " EXCEPTION" if group["exception"] else ""
        out.print(
            escape(f"  {group['count']} sharing this control{odd}: {', '.join(group['addresses'])}"), highlight=False
        )
        _print_contract(group)


def _print_facts(facts: dict[str, Any]) -> None:
    out.print(f"facts (checked {facts['checked']}):", highlight=False)
    for a in facts["audits"]:
        out.print(escape(f"  audit {a['date']} {a['auditor']}: {a['scope']} {a['link']}"), highlight=False)
    for i in facts["incidents"]:
        loss = f"${i['loss_usd']:,}" if i["loss_usd"] is not None else i["loss_why"]
        out.print(escape(f"  incident {i['date']}: {i['cause']} (loss: {loss}) {i['link']}"), highlight=False)
    for c in facts["insurance"]:
        cap = f"${c['capacity_usd']:,}" if c["capacity_usd"] is not None else c["capacity_why"]
        out.print(escape(f"  cover {c['provider']}: {cap}"), highlight=False)
    bounty = facts["bounty"]
    said = "none recorded" if bounty is None else f"up to ${bounty['max_payout_usd']:,} on {bounty['platform']}"
    out.print(f"  bug bounty: {said}", highlight=False)
