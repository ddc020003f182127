"""`defiscope quote`: the best route for selling an amount of one token for another, on any configured chain.

defiscope quote --chain 1 --sell USDC --buy WETH --amount 1000 --json
defiscope quote --chain 1 --sell USDC --buy WETH --amount 1000 --routes 3          # split over up to 3 routes
defiscope quote --chain 1 --sell USDC --buy WETH --amount 1000 --recipient 0x...   # + unsigned tx, simulated

The chain is the running devnet's (its seeded pools) or, with ``DEFISCOPE_RPC_<CHAINID>`` set, the real
chain: its pools are discovered from the deployment registry at the head (`routing.discovery`).
"""

from __future__ import annotations

import asyncio
import json
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from typing import Annotated, Any

import typer
from eth_utils import is_address

from defiscope.chain.client import ChainClient
from defiscope.cli.common import one_line_errors, out
from defiscope.config import load_settings
from defiscope.routing.plan import BadQuoteInput, plan_swap
from defiscope.service.context import resolve_targets
from defiscope.service.pools import pool_refs

#: The top-level commands of this module; the root group imports it only to run one of them.
commands = typer.Typer()


async def _quote(
    chain: str,
    sell: str,
    buy: str,
    amount: str,
    routes: int,
    slippage: Fraction,
    recipient: str | None,
    pools: list[str],
) -> dict[str, Any]:
    (target,) = resolve_targets(load_settings(), [chain])
    async with ChainClient.connect(target.chain_id, list(target.rpc_urls)) as client:
        refs = await pool_refs(client, target, [sell, buy])
        if pools:
            wanted = {p.lower() for p in pools}
            missing = wanted - {r.address.lower() for r in refs}
            if missing:
                raise BadQuoteInput(f"no known pool {min(missing)} on chain {target.chain_id}")
            refs = [r for r in refs if r.address.lower() in wanted]
        return await plan_swap(
            client,
            target.deployment,
            refs,
            sell,
            buy,
            amount,
            max_routes=routes,
            slippage=slippage,
            recipient=recipient,
        )


def _slippage(text: str) -> Fraction:
    try:
        return Fraction(Decimal(text))
    except (InvalidOperation, ValueError):
        raise BadQuoteInput(f"slippage {text!r} is not a number") from None


@commands.command()
@one_line_errors
def quote(
    sell: Annotated[str, typer.Option("--sell", help="Token to sell: symbol or address.")],
    buy: Annotated[str, typer.Option("--buy", help="Token to buy: symbol or address.")],
    amount: Annotated[str, typer.Option("--amount", help="Amount to sell, in token units (e.g. 1000.5).")],
    chain: Annotated[str, typer.Option("--chain", "-c", help="Chain id or name.")] = "1",
    routes: Annotated[int, typer.Option("--routes", help="Split over at most this many routes.")] = 1,
    slippage: Annotated[str, typer.Option("--slippage", help="Tolerance in percent for min-out.")] = "0.5",
    recipient: Annotated[str | None, typer.Option("--recipient", help="Build and simulate the tx for it.")] = None,
    pool: Annotated[list[str] | None, typer.Option("--pool", help="Only these pools (repeatable).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (amounts as exact strings).")] = False,
) -> None:
    """Best exact-input route across V2, V3 and Curve pools (multi-hop, split), and a ready-to-sign swap."""
    if routes < 1:
        raise BadQuoteInput(f"--routes must be at least 1, got {routes}")
    if recipient is not None and not is_address(recipient):
        raise BadQuoteInput(f"recipient {recipient!r} is not an address")
    result = asyncio.run(_quote(chain, sell, buy, amount, routes, _slippage(slippage), recipient, pool or []))
    if as_json:
        out.print_json(json.dumps(result))
        return
    out.print(
        f"{result['sell']['units']} {result['sell']['symbol']} -> {result['amount_out']['units']} "
        f"{result['buy']['symbol']}  (price impact {result['price_impact_percent']} %)"
    )
    for leg in result["routes"]:
        dexes = ", ".join(h["dex"] for h in leg["hops"])
        out.print(f"  {leg['amount_in']} via {' -> '.join(leg['path'])} [{dexes}] -> {leg['amount_out']}")
    if result.get("transaction"):
        out.print(f"  tx to {result['transaction']['to']}, simulation {result['simulation']}")
