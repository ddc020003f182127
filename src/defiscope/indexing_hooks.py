"""What the block follower tells the parts that act on each stored block (alert rules), so that they need not import
the service layer: the block's figures as the indexer computed and stored them, the chain's TVL engine and the
indexer's health. Data flows one way: `service` calls hooks; hooks know only `tvl`'s types and these.

    class Printer:
        async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None:
            print(result.block.number, len(result.snapshots), chain.health().head)

    Indexer(engines, repo, hooks=(Printer(),))
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # types only: the pure evaluator imports `IndexerHealth` without the engine behind it
    from defiscope.tvl.engine import ChainTvl, TvlEngine


@dataclass(frozen=True, slots=True)
class IndexerHealth:
    """The indexer of one chain now: the head it read, the last block it stored, what is failing."""

    head: int | None
    last_indexed: int | None
    failing: tuple[str, ...]  # "slug: reason" of protocols whose latest read failed
    last_error: str | None


class IndexedChain(Protocol):
    """One chain's indexer, as a hook sees it."""

    @property
    def engine(self) -> TvlEngine: ...

    def health(self) -> IndexerHealth: ...


class BlockHook(Protocol):
    """Told of each block once it is stored, with what was stored (`result`: its snapshots, prices and rates);
    an error is logged, never stops indexing."""

    async def block_indexed(self, chain: IndexedChain, result: ChainTvl) -> None: ...
