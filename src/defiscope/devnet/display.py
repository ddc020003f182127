"""Human-readable rendering of a devnet's registry for the CLI.

Example::

    render_chains(Console(), devnet.chains)
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table

from defiscope.devnet.tokens import FEED_PREFIX
from defiscope.devnet.world import DevnetChain


def render_chains(console: Console, chains: Sequence[DevnetChain]) -> None:
    for chain in chains:
        table = Table(title=f"{chain.name} (chain {chain.chain_id}) at {chain.rpc_url}", title_justify="left")
        table.add_column("kind", no_wrap=True)
        table.add_column("name")
        # Addresses are copied from here: never truncate or wrap them.
        table.add_column("address", no_wrap=True, min_width=42)
        for symbol, address in chain.tokens.items():
            table.add_row("token", symbol, address)
        for name, address in chain.contracts.items():
            is_feed = name.startswith(FEED_PREFIX)
            table.add_row("feed" if is_feed else "contract", name.removeprefix(FEED_PREFIX), address)
        symbols = {address: symbol for symbol, address in chain.tokens.items()}
        for pool in chain.pools:
            pair = f"{symbols.get(pool.token0, pool.token0)}/{symbols.get(pool.token1, pool.token1)}"
            table.add_row(pool.dex, f"{pair} {pool.fee / 10_000:g}%", pool.address)
        console.print(table)
