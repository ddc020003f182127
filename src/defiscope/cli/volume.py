"""`defiscope volume`: swap volume and LP fees per pool per UTC day, from the pools' own Swap events.

defiscope volume --chain 1                      # the last 1,000 blocks, every known pool
defiscope volume --chain 1 --blocks 7200 --json
defiscope volume --chain 56 --from-block 100 --to-block 900

Pools are those `defiscope quote` routes through (the devnet's seeded pools, or the pools discovered
between the registry's tokens), read once at the head for their fees; volume is counted in the token sold,
fees in the token they are charged in (see `protocols.volume` for what is exact and what is nominal).
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Annotated, Any

import typer
from rich.table import Table

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.cli.common import one_line_errors, out
from defiscope.config import load_settings
from defiscope.deployments import Deployment
from defiscope.errors import InputError
from defiscope.protocols.volume import CurveMarket, DailyVolume, Market, V2Market, V3Market, daily_volume, read_trades
from defiscope.routing.load import load_pools
from defiscope.routing.plan import units
from defiscope.routing.pools import CurvePool, Pool, V2Pool, V3Pool
from defiscope.service.context import resolve_targets
from defiscope.service.pools import pool_refs

#: The top-level commands of this module; the root group imports it only to run one of them.
commands = typer.Typer()

DEFAULT_BLOCKS = 1_000


class BadRange(InputError):
    """A block range the command cannot read."""


def market_of(pool: Pool) -> Market:
    """The volume reader's view of a routing pool: its address, tokens and fee."""
    if isinstance(pool, V2Pool):
        return V2Market(pool.address, pool.token0, pool.token1, pool.fee_rule)
    if isinstance(pool, V3Pool):
        return V3Market(pool.address, pool.token0, pool.token1, pool.state.fee)
    if isinstance(pool, CurvePool):
        return CurveMarket(pool.address, pool.coins, pool.params.fee)
    raise TypeError(f"no volume reader for {type(pool).__name__}")


def _amounts(deployment: Deployment, raw: dict[str, int]) -> dict[str, str]:
    shown = {}
    for token, amount in sorted(raw.items()):
        info = deployment.token_at(token)
        shown[info.symbol if info else token] = units(amount, info.decimals) if info else str(amount)
    return shown


def _describe(deployment: Deployment, pools: Sequence[Pool], days: Sequence[DailyVolume]) -> list[dict[str, Any]]:
    by_address = {p.address: p for p in pools}

    def symbol(token: str) -> str:
        info = deployment.token_at(token)
        return info.symbol if info else token

    return [
        {
            "pool": d.pool,
            "dex": by_address[d.pool].dex,
            "tokens": [symbol(t) for t in by_address[d.pool].tokens],
            "day": d.day.isoformat(),
            "trades": d.trades,
            "volume": _amounts(deployment, dict(d.volume)),
            "fees": _amounts(deployment, dict(d.fees)),
        }
        for d in days
    ]


async def _volume(chain: str, from_block: int | None, to_block: int | None, blocks: int) -> dict[str, Any]:
    (target,) = resolve_targets(load_settings(), [chain])
    async with ChainClient.connect(target.chain_id, list(target.rpc_urls)) as client:
        snapshot = await client.snapshot()
        last = snapshot.block.number if to_block is None else to_block
        first = max(0, last - blocks + 1) if from_block is None else from_block
        if not 0 <= first <= last <= snapshot.block.number:
            raise BadRange(f"block range {first}..{last} is not within 0..{snapshot.block.number} (the head)")
        reader = Batcher(snapshot).reader("volume")
        pools = await load_pools(reader, await pool_refs(client, target, []))
        trades = await read_trades(reader, [market_of(p) for p in pools], first, last)
    rows = _describe(target.deployment, pools, daily_volume(trades))
    return {"chain_id": target.chain_id, "from_block": first, "to_block": last, "pools": len(pools), "days": rows}


@commands.command()
@one_line_errors
def volume(
    chain: Annotated[str, typer.Option("--chain", "-c", help="Chain id or name.")] = "1",
    blocks: Annotated[int, typer.Option("--blocks", min=1, help="The last N blocks (without --from-block).")] = (
        DEFAULT_BLOCKS
    ),
    from_block: Annotated[int | None, typer.Option("--from-block", min=0, help="First block.")] = None,
    to_block: Annotated[int | None, typer.Option("--to-block", min=0, help="Last block (default: head).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON (amounts as exact strings).")] = False,
) -> None:
    """Swap volume and LP fees per pool per UTC day, from V2/V3 Swap and Curve TokenExchange events."""
    result = asyncio.run(_volume(chain, from_block, to_block, blocks))
    if as_json:
        out.print_json(data=result)
        return
    table = Table(
        "day",
        "pool",
        "trades",
        "volume (token sold)",
        "LP fees",
        title=f"chain {result['chain_id']}, blocks {result['from_block']}..{result['to_block']}",
        title_justify="left",
    )
    for row in result["days"]:
        table.add_row(
            row["day"],
            f"{row['dex']} {'/'.join(row['tokens'])}",
            str(row["trades"]),
            "\n".join(f"{amount} {token}" for token, amount in row["volume"].items()),
            "\n".join(f"{amount} {token}" for token, amount in row["fees"].items()),
        )
    out.print(table)
    if not result["days"]:
        out.print(f"no swaps in {result['pools']} pools over these blocks")
