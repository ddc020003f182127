"""`defiscope serve`: the main job.

With no RPC configured it brings up the embedded devnet (from the saved world), indexes it, prints the
TVL table, then follows new blocks until Ctrl-C or SIGTERM. With `DEFISCOPE_RPC_<CHAINID>` set it indexes
those chains instead and starts no devnet. (The API server and the dashboard join this command later.)
"""

from __future__ import annotations

import asyncio
import signal
from typing import Final

from defiscope.analytics.rankings import rank
from defiscope.cli.common import app, one_line_errors, out
from defiscope.cli.tvl import print_table
from defiscope.config import load_settings
from defiscope.devnet import runfile
from defiscope.devnet.manager import Devnet
from defiscope.service.context import open_runtime
from defiscope.service.indexer import Indexer, IndexerOptions
from defiscope.service.snapshots import snapshot_and_store
from defiscope.store import Repository
from defiscope.tvl.totals import aggregate

_SIGNALS: Final = (signal.SIGINT, signal.SIGTERM)


async def _serve() -> None:
    repo = await asyncio.to_thread(Repository.open)
    try:
        async with open_runtime(load_settings()) as runtime:
            results = await asyncio.gather(*(snapshot_and_store(e, repo) for e in runtime.engines.values()))
            infos = {a.info.slug: a.info for e in runtime.engines.values() for a in e.adapters}
            snapshots = [s for r in results for s in r.snapshots]
            print_table(
                rank(snapshots, infos, repo.snapshot_before),
                [f for r in results for f in r.failures],
                aggregate(snapshots),
            )
            out.print("following new blocks: Ctrl-C stops", highlight=False)
            stop = asyncio.Event()
            loop = asyncio.get_running_loop()
            for sig in _SIGNALS:
                loop.add_signal_handler(sig, stop.set)
            try:
                await Indexer(runtime.engines, repo, IndexerOptions()).run(stop)
            finally:
                for sig in _SIGNALS:
                    loop.remove_signal_handler(sig)
    finally:
        repo.close()


@app.command("serve")
@one_line_errors
def serve() -> None:
    """Run the main job: index the chains (the embedded devnet by default) and show the TVL ranking."""
    devnet: Devnet | None = None
    if not load_settings().chain_rpcs:
        devnet = runfile.up_attached()
    try:
        asyncio.run(_serve())
    finally:
        if devnet is not None:
            runfile.release(devnet)
    out.print("stopped", highlight=False)
