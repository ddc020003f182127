"""`defiscope governance`: governance proposals — on chain (Governors' events) and, when enabled, Snapshot's
off-chain votes — with their state, votes and flagged actions.

defiscope governance proposals --chain 1 --protocol compound --state executed --source all --json

When a source that was asked fails (Snapshot's Hub offline or refusing), what the others gave is printed and
the command exits 1 with one line naming the host and what to do.
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any

import typer

from defiscope.chain.reader import Batcher
from defiscope.chain.registry import get_chain
from defiscope.cli.common import one_line_errors, out
from defiscope.config import Settings, load_settings
from defiscope.errors import InputError
from defiscope.governance.document import listing_json
from defiscope.governance.load import GovernanceView, governance_view, stored_events
from defiscope.governance.query import PROTOCOLS, ProposalQuery
from defiscope.governance.sources import OffchainListing, OffchainSource, disabled_status
from defiscope.protocols.governors import GOVERNORS
from defiscope.service.context import open_runtime
from defiscope.service.events import EventCollector
from defiscope.store import Repository

governance_app = typer.Typer(help="Governance: proposals, votes, flagged actions.", no_args_is_help=True)


async def _chain_views(settings: Settings, chain: str, query: ProposalQuery, *, required: bool) -> list[GovernanceView]:
    """The asked protocols' Governors on `chain`; none there is bad input when no other source may list them."""
    repo = await asyncio.to_thread(Repository.open)
    try:
        async with open_runtime(settings, [chain]) as runtime:
            (engine,) = runtime.engines.values()
            deployment = engine.deployment
            specs = [GOVERNORS[p] for p in query.chain_protocols if GOVERNORS[p].present(deployment)]
            if not specs:
                if not required:
                    return []
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


async def _offchain(settings: Settings, chain_id: int, query: ProposalQuery) -> OffchainListing | None:
    if "snapshot" not in query.sources:
        return None
    source = OffchainSource(settings.snapshot)
    if not source.enabled and "chain" not in query.sources:
        raise InputError(disabled_status().detail, field="source")
    try:
        return await source.proposals(query.protocols, chain_id=chain_id)
    finally:
        await source.aclose()


async def _gather(chain: str, query: ProposalQuery) -> tuple[list[GovernanceView], OffchainListing | None]:
    settings = load_settings()
    chain_id = get_chain(chain).chain_id
    offchain_on = settings.snapshot.enabled and "snapshot" in query.sources
    if not query.chain_protocols and not offchain_on and "chain" in query.sources:
        raise InputError(
            f"{', '.join(query.protocols)} has no on-chain governor here; its Snapshot votes need "
            "DEFISCOPE_SNAPSHOT_ENABLED=1",
            field="protocol",
        )
    views = await _chain_views(settings, chain, query, required=not offchain_on) if query.chain_protocols else []
    return views, await _offchain(settings, chain_id, query)


def _print(doc: dict[str, Any], views: list[GovernanceView]) -> None:
    for p in doc["proposals"]:
        state_text = p["state"] or f"unknown ({p['state_reason']})"
        if p["source"] == "chain":
            flags = ",".join(p["flags"]) or "-"
            votes = p["votes"]
            # Approval voting (Maker's chief) has no against votes and no quorum.
            counted = (
                f"approval {votes['for']}"
                if votes["against"] is None
                else f"for {votes['for']} against {votes['against']} quorum {p['quorum']}"
            )
            tally = f"{counted}  [{flags}]"
        else:
            tally = " / ".join(f"{c['choice']} {c['score']}" for c in p["choices"]) + f"  quorum {p['quorum']}"
        line = f"{p['source']:8} {p['protocol']:9} {p['id'][:12]:12} {state_text:10} {tally}  {p['title']}"
        out.print(line, highlight=False, markup=False)
    for v, c in zip(views, doc["concentration"], strict=True):
        if c["unavailable"]:
            out.print(f"{v.protocol}: no concentration figures ({c['unavailable']})", highlight=False)
            continue
        out.print(f"{v.protocol}: top-5 share {c['top5_share']}, Nakamoto coefficient {c['nakamoto_coefficient']}")


@governance_app.command("proposals")
@one_line_errors
def proposals(
    chain: Annotated[str, typer.Option("--chain", "-c", help="Chain id or name.")] = "1",
    protocol: Annotated[str | None, typer.Option("--protocol", "-p", help=", ".join(PROTOCOLS) + ".")] = None,
    state: Annotated[str | None, typer.Option("--state", "-s", help="Pending, Active, ..., Executed; Closed.")] = None,
    source: Annotated[
        str, typer.Option("--source", help="chain (Governors' events), snapshot (off-chain votes, when enabled), all.")
    ] = "all",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Proposals with their state, votes, quorum and decoded, flagged actions; Snapshot's with scores per choice."""
    query = ProposalQuery.parse(protocol=protocol, state=state, source=source)
    views, offchain = asyncio.run(_gather(chain, query))
    doc = listing_json(views, offchain, query)
    if as_json:
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
    else:
        _print(doc, views)
    if offchain is not None and offchain.error is not None:
        raise offchain.error  # after what the other sources gave: one line, exit 1
