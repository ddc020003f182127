"""`defiscope governance`: on-chain governance proposals, their state, votes and flagged actions.

defiscope governance proposals --chain 1 --protocol compound --state executed --json
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any

import typer

from defiscope.chain.reader import Batcher
from defiscope.cli.common import app, one_line_errors, out
from defiscope.config import load_settings
from defiscope.errors import InputError
from defiscope.governance.document import concentration_json, proposal_json
from defiscope.governance.load import GovernanceView, governance_view, stored_events
from defiscope.governance.query import ProposalQuery
from defiscope.protocols.governors import GOVERNORS
from defiscope.service.context import open_runtime
from defiscope.service.events import EventCollector
from defiscope.store import Repository

governance_app = typer.Typer(help="On-chain governance: proposals, votes, flagged actions.", no_args_is_help=True)
app.add_typer(governance_app, name="governance")


async def _views(chain: str, query: ProposalQuery) -> list[GovernanceView]:
    repo = await asyncio.to_thread(Repository.open)
    try:
        async with open_runtime(load_settings(), [chain]) as runtime:
            (engine,) = runtime.engines.values()
            deployment = engine.deployment
            specs = [GOVERNORS[p] for p in query.protocols if GOVERNORS[p].present(deployment)]
            if not specs:
                where = f"chain {deployment.chain_id} ({deployment.network})"
                raise InputError(f"no governor of {', '.join(query.protocols)} on {where}", field="protocol")
            snapshot = await engine.client.snapshot()
            # Kept as the indexer keeps them: the governed protocol's adapter declares the streams.
            collector = EventCollector.of(engine, repo, slugs=[s.keeper for s in specs])
            if collector is not None:
                await collector.collect(snapshot.block.number, strict=True)
            reader = Batcher(snapshot).reader("governance")
            views = []
            for spec in specs:
                events = await asyncio.to_thread(stored_events, repo, deployment.chain_id, spec)
                views.append(await governance_view(events, snapshot.block, deployment, spec, reader))
            return views
    finally:
        repo.close()


@governance_app.command("proposals")
@one_line_errors
def proposals(
    chain: Annotated[str, typer.Option("--chain", "-c", help="Chain id or name.")] = "1",
    protocol: Annotated[str | None, typer.Option("--protocol", "-p", help="compound, uniswap or maker.")] = None,
    state: Annotated[str | None, typer.Option("--state", "-s", help="Pending, Active, ..., Executed.")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Proposals with their state (from events and blocks), votes, quorum, eta and decoded, flagged actions."""
    query = ProposalQuery.parse(protocol=protocol, state=state)
    views = asyncio.run(_views(chain, query))
    listed = [proposal_json(v, p) for v in views for p in v.proposals if query.keeps(p)]
    if as_json:
        doc: dict[str, Any] = {"proposals": listed, "concentration": [concentration_json(v) for v in views]}
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    for p in listed:
        flags = ",".join(p["flags"]) or "-"
        state_text = p["state"] or f"unknown ({p['state_reason']})"
        votes = p["votes"]
        # Approval voting (Maker's chief) has no against votes and no quorum.
        tally = (
            f"approval {votes['for']}"
            if votes["against"] is None
            else f"for {votes['for']} against {votes['against']} quorum {p['quorum']}"
        )
        out.print(
            f"{p['protocol']:9} {p['id'][:12]:12} {state_text:10} {tally}  [{flags}]  {p['title']}", highlight=False
        )
    for v in views:
        c = concentration_json(v)
        out.print(f"{v.protocol}: top-5 share {c['top5_share']}, Nakamoto coefficient {c['nakamoto_coefficient']}")
