"""`defiscope risk profile SLUG`: the transparent risk score, read live at one block, with the stored change log.

defiscope risk profile aave-v3
defiscope risk profile compound-v2 --json --block 1200

Reads the protocol's TVL snapshot (its prices and provenance), its control surface and its governance at the
block, scores the six pillars (docs/risk.md) and prints them with the evidence, the admin chains and the facts;
`changes` are those `serve` stored as it scored the protocol (the CLI reads, it does not store).
"""

from __future__ import annotations

import asyncio
import json
from typing import Annotated, Any

import typer
from rich.markup import escape
from rich.table import Table

from defiscope.analytics.risk.facts import load_facts
from defiscope.analytics.risk.history import PROFILE_CHANGES, change_log
from defiscope.analytics.risk.profile import RiskProfile, governed_by, risk_profile
from defiscope.chain.reader import Batcher
from defiscope.cli.common import one_line_errors, out
from defiscope.config import load_settings
from defiscope.protocols.control.profile import found_contracts
from defiscope.service.context import open_runtime
from defiscope.service.events import EventCollector
from defiscope.store import Repository


async def read_profile(slug: str, chain: str, block: int | None, repo: Repository) -> RiskProfile:
    async with open_runtime(load_settings(), [chain]) as runtime:
        (engine,) = runtime.engines.values()
        spec = governed_by(engine.deployment, slug)
        tvl = await engine.snapshot("latest" if block is None else block, slugs=[slug])
        if spec is not None:  # its proposals and votes, kept as the indexer keeps them
            collector = EventCollector.of(engine, repo, slugs=[spec.keeper])
            if collector is not None:
                await collector.collect(tvl.block.number, strict=True)
        snapshot = next((s for s in tvl.snapshots if s.slug == slug), None)
        reader = Batcher(await engine.client.snapshot(tvl.block.number)).reader(f"risk:{slug}")
        found = found_contracts(engine.adapters, tvl.block.number).get(slug)  # the snapshot's discovery
        return await risk_profile(reader, engine.deployment, slug, snapshot, repo, found=found)


@one_line_errors
def profile_command(
    slug: Annotated[str, typer.Argument(help="A protocol slug, e.g. aave-v3.")],
    chain: Annotated[str, typer.Option("--chain", "-c", help="Chain id or name.")] = "1",
    block: Annotated[int | None, typer.Option("--block", "-b", min=0, help="Block (default: latest).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (issue 18's shape).")] = False,
) -> None:
    """Risk score of SLUG: six pillars 0-100 with their evidence, the composite, admin chains, facts, changes."""
    load_facts(slug)  # an unknown slug is bad input before any chain is read
    repo = Repository.open()
    try:
        profile = asyncio.run(read_profile(slug, chain, block, repo))
        document = profile.to_json(change_log(repo, slug, profile.block.chain_id, PROFILE_CHANGES))
    finally:
        repo.close()
    if as_json:
        typer.echo(json.dumps(document, indent=2))
        return
    _print(document)


def _print(doc: dict[str, Any]) -> None:
    composite = "not scored" if doc["composite"] is None else f"{doc['composite']}/100"
    out.print(
        f"{doc['slug']} at block {doc['block']}: risk score {composite} (formula {doc['formula_version']})",
        highlight=False,
    )
    table = Table("pillar", "score", "weight", "evidence", title="Pillars (100: the safest)")
    for p in doc["pillars"]:
        table.add_row(
            p["name"], "-" if p["score"] is None else str(p["score"]), f"{p['weight']}%", escape(p["evidence"])
        )
    out.print(table)
    for c in doc["control"]:
        hops = " -> ".join(f"{h['type']} {h['address']}" for h in c["admin_chain"]) or "no admin found"
        nominees = [p for p in (c["pending_owner"], *(h["pending_owner"] for h in c["admin_chain"])) if p]
        hops += "".join(f" (pending owner {p['type']} {p['address']})" for p in nominees)
        found = c.get("discovered")  # a group of contracts found at run time sharing this control
        shared = "" if found is None else f" [{found['count']} of {found['of']} {found['kind']}, {found['rule']}]"
        odd = " EXCEPTION" if found is not None and found["exception"] else ""
        out.print(escape(f"  {c['contract']} {c['address']} ({c['proxy']}){shared}{odd}: {hops}"), highlight=False)
    for kind in doc["discovered"]:
        if kind["rule"] in ("by-factory", "not-listed"):  # not drawn above as a group: said with why
            out.print(escape(f"  {kind['kind']}: {kind['rule']}; {kind['why']}"), highlight=False)
    for debt in doc["bad_debt"] or ():
        amount = "not read: " + str(debt["why"]) if debt["amount"] is None else f"{debt['amount']} of {debt['token']}"
        out.print(escape(f"  bad debt {debt['market']}: {amount}"), highlight=False)
    facts = doc["facts"]
    out.print(
        f"facts: {len(facts['audits'])} audits, {len(facts['incidents'])} incidents, "
        f"{len(facts['insurance'])} covers, bounty {'none' if facts['bounty'] is None else 'yes'}",
        highlight=False,
    )
    for change in doc["changes"]:
        moved = f"{change['before']} -> {change['after']} ({change['rule']})"
        out.print(escape(f"  block {change['block']}: {moved}: {change['input']}"), highlight=False)
