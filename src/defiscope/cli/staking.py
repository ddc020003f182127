"""`defiscope staking`: Lido's staking APR from its oracle reports, and EigenLayer's operators.

defiscope staking apr --chain 1 --json          # per-report APR and Lido's 7-report moving average
defiscope staking operators --chain 1 --json    # delegated shares and underlying per operator and strategy
"""

from __future__ import annotations

import asyncio
import json
import sys
from typing import Annotated, Any

import typer

from defiscope.cli.common import one_line_errors, out
from defiscope.config import load_settings
from defiscope.errors import InputError
from defiscope.protocols.eigenlayer.operators import OperatorStake, operator_stakes
from defiscope.protocols.lido.adapter import LIDO
from defiscope.protocols.lido.apr import apr_series
from defiscope.protocols.lido.reports import REPORT_LOOKBACK_BLOCKS, STETH, TOKEN_REBASED_KIND, report_of
from defiscope.service.context import open_runtime
from defiscope.service.events import EventCollector
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine

staking_app = typer.Typer(help="Staking and restaking: Lido APR, EigenLayer operators.", no_args_is_help=True)

ChainOption = Annotated[str, typer.Option("--chain", "-c", help="Chain id or name.")]
JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (APRs as exact decimal strings).")]


class NotDeployed(InputError):
    """The chain's registry has no such protocol."""


def _engine_for(runtime_engines: dict[int, TvlEngine], contract: str, what: str) -> TvlEngine:
    (engine,) = runtime_engines.values()
    if contract not in engine.deployment.contracts:
        raise NotDeployed(f"no {what} on chain {engine.deployment.chain_id} ({engine.deployment.network})")
    return engine


async def _apr(chain: str, from_block: int | None) -> list[dict[str, Any]]:
    # Kept as a time series (with their blocks, rolled back on a reorg) through Lido's event stream, as the
    # indexer keeps them; the APR is computed from the store.
    repo = await asyncio.to_thread(Repository.open)
    try:
        async with open_runtime(load_settings(), [chain]) as runtime:
            engine = _engine_for(dict(runtime.engines), STETH, "Lido")
            head = (await engine.client.snapshot()).block.number
            start = max(0, head - REPORT_LOOKBACK_BLOCKS) if from_block is None else from_block
            collector = EventCollector.of(engine, repo, slugs=[LIDO.slug])
            if collector is not None:
                await collector.collect(head, from_block=start, strict=True)
            chain_id = engine.deployment.chain_id
        events = await asyncio.to_thread(repo.events, chain_id, LIDO.slug, TOKEN_REBASED_KIND, from_block=start)
        reports = [report_of(event) for event in events]
    finally:
        repo.close()
    if not reports:
        raise NotDeployed(f"no Lido oracle report between blocks {start} and {head}")
    return [
        {"report_timestamp": p.timestamp, "apr": _dec(p.apr), "sma": _dec(p.sma), "window": p.window}
        for p in apr_series(reports)
    ]


async def _operators(chain: str, from_block: int | None) -> list[OperatorStake]:
    async with open_runtime(load_settings(), [chain]) as runtime:
        engine = _engine_for(dict(runtime.engines), "EigenLayerDelegationManager", "EigenLayer")
        # Strategies: the StrategyManager's whitelist at the head, from its events (kept in the store).
        repo = await asyncio.to_thread(Repository.open)
        try:
            return await operator_stakes(engine.client, engine.deployment, from_block=from_block, store=repo)
        finally:
            repo.close()


def _dec(value: Any) -> str:
    """An exact Fraction as a decimal string of 18 places (APRs are small; 18 places is exact enough to read)."""
    scaled = value * 10**18
    whole = int(scaled)  # toward zero
    sign = "-" if whole < 0 else ""
    whole = abs(whole)
    return f"{sign}{whole // 10**18}.{whole % 10**18:018d}"


@staking_app.command("apr")
@one_line_errors
def apr(
    chain: ChainOption = "1",
    from_block: Annotated[int | None, typer.Option("--from-block", min=0, help="First block to scan.")] = None,
    as_json: JsonOption = False,
) -> None:
    """Lido's staking APR per oracle report and its 7-report moving average (Lido's published figure)."""
    points = asyncio.run(_apr(chain, from_block))
    if as_json:
        sys.stdout.write(json.dumps({"protocol": "lido", "series": points, "sma": points[-1]["sma"]}, indent=2) + "\n")
        return
    for p in points:
        out.print(f"{p['report_timestamp']}  apr {float(p['apr']):8.4%}  sma{p['window']} {float(p['sma']):8.4%}")


@staking_app.command("operators")
@one_line_errors
def operators(
    chain: ChainOption = "1",
    from_block: Annotated[
        int | None,
        typer.Option("--from-block", min=0, help="First block to scan (default: EigenLayer's deployment)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """EigenLayer operators and the stake delegated to them (shares and underlying, per strategy)."""
    stakes = asyncio.run(_operators(chain, from_block))
    doc = [
        {
            "operator": s.operator,
            "shares": {k: str(v) for k, v in s.shares.items()},
            "underlying": dict((k, str(v)) for k, v in s.underlying.items()),
        }
        for s in stakes
    ]
    if as_json:
        sys.stdout.write(json.dumps({"operators": doc}, indent=2) + "\n")
        return
    for s in stakes:
        out.print(f"{s.operator}  " + "  ".join(f"{k[:10]}…={v}" for k, v in s.underlying.items() if v))
