"""The long-running side: follow blocks into the store (`Indexer`) and fill in history (`backfill`).

    async with open_runtime(load_settings()) as runtime:
        repo = Repository.open()
        await Indexer(runtime.engines, repo, IndexerOptions(every=10)).run_once()
        await backfill(runtime.engine(1), repo, "uniswap-v2", 19_000_000, 19_001_000, step=100)

`context` resolves which chains to read (RPC endpoints or the running devnet) and builds their engines.
"""

from defiscope.service.backfill import BackfillIncomplete, BackfillInputError, BackfillResult, backfill
from defiscope.service.indexer import IndexedBlock, Indexer, IndexerOptions, IndexerStatus, InvalidSchedule

__all__ = [
    "BackfillIncomplete",
    "BackfillInputError",
    "BackfillResult",
    "IndexedBlock",
    "Indexer",
    "IndexerOptions",
    "IndexerStatus",
    "InvalidSchedule",
    "backfill",
]
