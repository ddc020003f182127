"""`defiscope tvl` and `defiscope explain`: priced TVL at a block, and how each figure was obtained.

defiscope tvl                           # ranked table, every configured chain, latest block
defiscope tvl --chain 1 --block 120 --json
defiscope explain uniswap-v2 --chain 1 --json
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.table import Table

from defiscope.analytics.rankings import CHANGE_WINDOWS, ProtocolRow, rank
from defiscope.cli.common import one_line_errors, out
from defiscope.cli.format import pct, usd
from defiscope.config import load_settings
from defiscope.errors import DefiscopeError, InputError
from defiscope.protocols.base import ProtocolInfo
from defiscope.tvl.engine import ProtocolFailure
from defiscope.tvl.explain import explain, not_counted_doc
from defiscope.tvl.model import ProtocolSnapshot, not_counted_summary
from defiscope.tvl.totals import AggregateTotal, aggregate

if TYPE_CHECKING:
    from defiscope.store import Repository

#: The top-level commands of this module; the root group imports it only to run one of them.
commands = typer.Typer()

ChainsOption = Annotated[list[str] | None, typer.Option("--chain", "-c", help="Chain id or name (repeatable).")]
BlockOption = Annotated[int | None, typer.Option("--block", "-b", min=0, help="Block number (default: latest).")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (USD values as exact decimal strings).")]
RulesOption = Annotated[
    bool,
    typer.Option(
        "--defillama-rules",
        help='DefiLlama\'s long-tail rule for DEX pools (as [tvl] long_tail = "defillama"): see `methodology`.',
    ),
]


class UnknownProtocol(InputError):
    pass


async def _collect(
    chains: Sequence[str] | None, block: int | None, slugs: set[str] | None, *, defillama_rules: bool = False
) -> tuple[list[ProtocolSnapshot], list[ProtocolFailure], dict[str, ProtocolInfo], Repository]:
    # Imported here: the runtime and the store bring web3 and SQLAlchemy, which `tvl --help` need not load.
    from defiscope.service.context import open_runtime
    from defiscope.service.snapshots import snapshot_and_store
    from defiscope.store import Repository

    repo = Repository.open()
    settings = load_settings()
    if defillama_rules:
        settings = dataclasses.replace(settings, tvl_policy=dataclasses.replace(settings.tvl_policy, defillama=True))
    async with open_runtime(settings, chains) as runtime:
        infos = {a.info.slug: a.info for e in runtime.engines.values() for a in e.adapters}
        if slugs is not None and not slugs <= infos.keys():
            unknown = sorted(slugs - infos.keys())[0]
            raise UnknownProtocol(f"unknown protocol {unknown!r}; known here: {', '.join(sorted(infos))}")
        at = "latest" if block is None else block
        # A figure under a rule asked for once is shown, not stored: history keeps the configured method.
        results = await asyncio.gather(
            *(
                engine.snapshot(at, slugs=slugs)
                if defillama_rules
                else snapshot_and_store(engine, repo, at, slugs=slugs)
                for engine in runtime.engines.values()
            )
        )
    snapshots = [s for r in results for s in r.snapshots]
    failures = [f for r in results for f in r.failures]
    return snapshots, failures, infos, repo


@commands.command("tvl")
@one_line_errors
def tvl(
    chain: ChainsOption = None,
    protocol: Annotated[list[str] | None, typer.Option("--protocol", "-p", help="Protocol slug (repeatable).")] = None,
    block: BlockOption = None,
    as_json: JsonOption = False,
    defillama_rules: RulesOption = False,
) -> None:
    """Rank protocols by TVL, read from the chain at one block (and stored for history)."""
    wanted = set(protocol) if protocol else None
    snapshots, failures, infos, repo = asyncio.run(_collect(chain, block, wanted, defillama_rules=defillama_rules))
    rows = rank(snapshots, infos, repo.tvl_before)
    total = aggregate(snapshots)
    if as_json:
        doc = {
            "protocols": [{**_row_json(r), **_not_counted_json(r.slug, snapshots)} for r in rows],
            "failures": [_failure_json(f) for f in failures],
            "total": {
                "tvl_usd": str(total.tvl_usd),
                "sum_of_protocols_usd": str(total.sum_of_protocols_usd),
                "double_counted_usd": str(total.double_counted_usd),
            },
        }
        sys.stdout.write(json.dumps(doc, indent=2) + "\n")
        return
    print_table(rows, failures, total, snapshots)


def _not_counted_json(slug: str, snapshots: Sequence[ProtocolSnapshot]) -> dict[str, Any]:
    mine = [s for s in snapshots if s.slug == slug]
    return {
        "not_counted_summary": not_counted_summary(u for s in mine for u in s.uncounted),
        "not_counted": [{"chain_id": s.chain_id, **not_counted_doc(u)} for s in mine for u in s.uncounted],
    }


def _row_json(row: ProtocolRow) -> dict[str, Any]:
    return {
        "slug": row.slug,
        "name": row.name,
        "category": row.category,
        "chains": {name: str(value) for name, value in row.chains.items()},
        "tvl_usd": str(row.tvl_usd),
        "borrowed_usd": str(row.borrowed_usd),
        "staking_usd": str(row.staking_usd),
        "pool2_usd": str(row.pool2_usd),
        **{
            f"change_{label}": None if row.change.get(label) is None else str(row.change[label])
            for label, _ in CHANGE_WINDOWS
        },
        "unpriced": [
            {"chain": c, "token": t.token, "symbol": t.symbol, "amount": str(t.amount), "reason": t.unpriced_reason}
            for c, t in row.unpriced
        ],
        "blocks": {
            name: {"number": b.number, "hash": b.hash, "timestamp": b.timestamp} for name, b in row.blocks.items()
        },
    }


def _failure_json(failure: ProtocolFailure) -> dict[str, Any]:
    return {"slug": failure.slug, "chain_id": failure.chain_id, "block": failure.block.number, "reason": failure.reason}


def print_table(
    rows: Sequence[ProtocolRow],
    failures: Sequence[ProtocolFailure],
    total: AggregateTotal,
    snapshots: Sequence[ProtocolSnapshot] = (),
) -> None:
    table = Table(
        "#", "Protocol", "Category", "Chains", "TVL", "1d", "7d", title="TVL by protocol", title_justify="left"
    )
    for i, row in enumerate(rows, 1):
        table.add_row(
            str(i),
            row.name,
            row.category,
            ", ".join(row.chains),
            usd(row.tvl_usd),
            pct(row.change.get("1d")),
            pct(row.change.get("7d")),
        )
    out.print(table)
    blocks = {name: b for r in rows for name, b in r.blocks.items()}
    for name, b in sorted(blocks.items()):
        when = datetime.fromtimestamp(b.timestamp, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        out.print(f"{name}: block {b.number} ({b.hash[:10]}…) at {when}")
    out.print(f"Total (each asset once): {usd(total.tvl_usd)}; double counted: {usd(total.double_counted_usd)}")
    for row in rows:
        for chain_name, t in row.unpriced:
            out.print(
                f"[yellow]unpriced[/yellow] {row.slug} on {chain_name}: {t.symbol} ({t.token}): {t.unpriced_reason}",
                highlight=False,
            )
    for row in rows:
        line = not_counted_summary(u for s in snapshots if s.slug == row.slug for u in s.uncounted)
        if line is not None:
            out.print(f"[yellow]not counted[/yellow] {row.slug}: {line}", highlight=False)
    for f in failures:
        out.print(
            f"[red]not read[/red] {f.slug} on chain {f.chain_id} at block {f.block.number}: {f.reason}", highlight=False
        )


@commands.command("explain")
@one_line_errors
def explain_command(
    slug: Annotated[str, typer.Argument(help="Protocol slug, e.g. uniswap-v2.")],
    chain: ChainsOption = None,
    block: BlockOption = None,
    as_json: JsonOption = False,
    defillama_rules: RulesOption = False,
) -> None:
    """Show how a protocol's TVL was obtained: block, every call, balance and price, and the sum."""
    snapshots, failures, _, _ = asyncio.run(_collect(chain, block, {slug}, defillama_rules=defillama_rules))
    if not snapshots:
        reasons = "; ".join(f"chain {f.chain_id}: {f.reason}" for f in failures) or "not deployed on these chains"
        raise DefiscopeError(f"{slug} could not be read: {reasons}")
    docs = [explain(s) for s in snapshots]
    if as_json:
        sys.stdout.write(json.dumps(docs if len(docs) > 1 else docs[0], indent=2, default=str) + "\n")
        return
    for doc in docs:
        _print_explanation(doc)


def _print_explanation(doc: dict[str, Any]) -> None:
    b = doc["block"]
    when = datetime.fromtimestamp(b["timestamp"], UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    out.print(f"[bold]{doc['slug']}[/bold] on chain {doc['chain_id']} at block {b['number']} ({b['hash']}), {when}")
    calls = Table(
        "block", "target", "function", "args", "result", title=f"{len(doc['calls'])} calls", title_justify="left"
    )
    for c in doc["calls"]:
        calls.add_row(
            str(c["block"]),
            c["target"],
            c["function"],
            _short(c["args"]),
            _short(c["result"]) if c["success"] else f"FAILED {c['result']}",
        )
    out.print(calls)
    tokens = Table(
        "token", "kind", "amount", "price (source, confidence)", "value", title="balances", title_justify="left"
    )
    for t in doc["tokens"]:
        price = (
            "unpriced: " + str(t["unpriced_reason"])
            if t["price"] is None
            else (f"{t['price']['usd']} ({t['price']['source']}, {t['price']['confidence']})")
        )
        tokens.add_row(t["symbol"], t["kind"], f"{t['amount']} / 10^{t['decimals']}", price, t["value_usd"] or "—")
    out.print(tokens)
    for kind, total in doc["totals"].items():
        out.print(f"{kind}: {total['sum']}", highlight=False)
    if doc["not_counted_summary"]:
        out.print(f"[yellow]{doc['not_counted_summary']}[/yellow]", highlight=False)
        for item in doc["not_counted"]:
            out.print(f"  not counted: {item['note']}", highlight=False)


def _short(value: object, limit: int = 60) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= limit else text[: limit - 1] + "…"
