"""`defiscope risk liquidations`: what a price drop in one asset would make liquidatable.

defiscope risk liquidations --protocol aave-v3 --asset WETH
defiscope risk liquidations --protocol aave-v3 --asset WBTC --json --block 1200

For drops of 5, 10, 20, 30 and 50 % in the asset's price, the positions that become liquidatable (not
already liquidatable today), their debt and their collateral in USD at the dropped prices.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Annotated, Any, Final

import typer
from rich.table import Table

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.cli.common import one_line_errors, out
from defiscope.cli.format import usd
from defiscope.cli.risk_control import control_command
from defiscope.cli.risk_profile import profile_command
from defiscope.config import load_settings
from defiscope.deployments import Deployment
from defiscope.errors import InputError
from defiscope.protocols.aave.risk import aave_risk_positions
from defiscope.protocols.compound.risk import compound_v2_risk_positions, compound_v3_risk_positions
from defiscope.protocols.lending.risk import Position, RiskReport, Scenario, risk_report
from defiscope.protocols.maker.risk import maker_risk_positions
from defiscope.service.context import resolve_targets

risk_app = typer.Typer(
    help="Risk: liquidations of lending protocols, who controls a protocol's contracts, the risk score.",
    no_args_is_help=True,
)
risk_app.command("control")(control_command)
risk_app.command("profile")(profile_command)

#: A source returns the block, the positions, the assets it knows and, optionally, the positions it could
#: not value (each with why), which the report lists instead of valuing them at 0.
RiskRead = (
    tuple[BlockRef, list[Position], tuple[str, ...]] | tuple[BlockRef, list[Position], tuple[str, ...], tuple[str, ...]]
)
RiskSource = Callable[[ChainClient, Deployment, int | str, int | None], Awaitable[RiskRead]]
#: Protocol slug -> how to read its positions (block, positions, the assets it knows).
SOURCES: Final[dict[str, RiskSource]] = {"aave-v3": aave_risk_positions}
SOURCES.update(
    {
        "compound-v2": compound_v2_risk_positions,
        "compound-v3": compound_v3_risk_positions,
        "maker": maker_risk_positions,
    }
)
CENTS: Final = Decimal("0.00000001")


class RiskInputError(InputError):
    pass


def _usd(value: Fraction) -> Decimal:
    """Exact to the base currency's 8 decimals (a drop of a few % keeps at most 10 decimals)."""
    return (Decimal(value.numerator) / Decimal(value.denominator)).quantize(CENTS, rounding=ROUND_HALF_EVEN)


def _pct(drop: Fraction) -> str:
    return f"{Decimal(drop.numerator) * 100 / Decimal(drop.denominator):g}%"


async def _report(
    protocol: str, asset: str, chain: str, block: int | None, from_block: int | None
) -> tuple[BlockRef, RiskReport, tuple[str, ...]]:
    source = SOURCES.get(protocol)
    if source is None:
        raise RiskInputError(f"no liquidation risk for protocol {protocol!r}; known: {', '.join(sorted(SOURCES))}")
    (target,) = resolve_targets(load_settings(), [chain])
    # A scan of many accounts is many Multicall3 chunks: at most 6 per HTTP request keeps bodies under the
    # 2 MB that anvil (and many providers) accept.
    async with ChainClient.connect(target.chain_id, target.rpc_urls, max_batch_items=6) as client:
        at, positions, assets, *rest = await source(
            client, target.deployment, "latest" if block is None else block, from_block
        )
    unvalued: tuple[str, ...] = rest[0] if rest else ()
    if asset not in assets:
        raise RiskInputError(
            f"{protocol} has no asset {asset!r} on chain {target.chain_id}; known: {', '.join(assets)}"
        )
    return at, risk_report(positions, asset), unvalued


def _scenario_json(s: Scenario) -> dict[str, Any]:
    return {
        "drop": _pct(s.drop),
        "accounts": s.accounts,
        "debt_usd": str(_usd(s.debt_usd)),
        "collateral_usd": str(_usd(s.collateral_usd)),
    }


def to_json(
    protocol: str, chain_id: int, block: BlockRef, report: RiskReport, unvalued: tuple[str, ...] = ()
) -> dict[str, Any]:
    return {
        "protocol": protocol,
        "chain_id": chain_id,
        "block": {"number": block.number, "hash": block.hash, "timestamp": block.timestamp},
        "asset": report.asset,
        "positions": report.positions,
        "asset_collateral_usd": str(_usd(report.collateral_usd)),
        "asset_debt_usd": str(_usd(report.debt_usd)),
        "already_liquidatable": _scenario_json(report.already),
        "scenarios": [_scenario_json(s) for s in report.scenarios],
        "not_valued": list(unvalued),
    }


@risk_app.command("liquidations")
@one_line_errors
def liquidations(
    protocol: Annotated[str, typer.Option("--protocol", "-p", help="Protocol slug, e.g. aave-v3.")],
    asset: Annotated[str, typer.Option("--asset", "-a", help="The asset whose price drops, e.g. WETH.")],
    chain: Annotated[str, typer.Option("--chain", "-c", help="Chain id or name.")] = "1",
    block: Annotated[int | None, typer.Option("--block", "-b", min=0, help="Block (default: latest).")] = None,
    from_block: Annotated[
        int | None, typer.Option("--from-block", min=0, help="Discover accounts from this block (default: deploy).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (USD as exact decimal strings).")] = False,
) -> None:
    """Debt and collateral that become liquidatable if ASSET drops 5/10/20/30/50 %."""
    at, report, unvalued = asyncio.run(_report(protocol, asset, chain, block, from_block))
    if as_json:
        out.print_json(json.dumps(to_json(protocol, at.chain_id, at, report, unvalued)))
        return
    out.print(
        f"{protocol} on chain {at.chain_id} at block {at.number}: {report.positions} positions with debt; "
        f"{asset} as collateral {usd(_usd(report.collateral_usd))}, as debt {usd(_usd(report.debt_usd))}; "
        f"already liquidatable: {report.already.accounts} ({usd(_usd(report.already.debt_usd))} debt)",
        highlight=False,
    )
    table = Table("drop", "accounts", "debt", "collateral", title=f"Newly liquidatable if {asset} drops")
    for s in report.scenarios:
        table.add_row(f"-{_pct(s.drop)}", str(s.accounts), usd(_usd(s.debt_usd)), usd(_usd(s.collateral_usd)))
    out.print(table)
    if unvalued:
        out.print(f"not valued ({len(unvalued)}, left out of the figures above):", highlight=False)
        for line in unvalued:
            out.print(f"  {line}", highlight=False)
