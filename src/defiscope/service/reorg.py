"""Reorg detection: compare the block hashes we stored near the head with the chain's, in one batch.

    fork = await find_fork(client, repo, head, depth=64)   # None, or the lowest stored block now stale
    if fork is not None:
        await asyncio.to_thread(repo.rollback_from, client.chain_id, fork)

Only blocks within `depth` (the chain's finality depth) of the head are checked: older ones are final.
A stored block above the head also counts as stale: the chain got shorter (anvil after `evm_revert`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping, Sequence
from typing import Any, Final

from sqlalchemy import func, select

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.registry import CHAINS
from defiscope.chain.rpc import RpcResponse
from defiscope.store import Repository
from defiscope.store.models import Block

#: Finality depth of a chain missing from the registry: Ethereum's, which is on the safe side of most.
DEFAULT_FINALITY_DEPTH: Final = 64


def finality_depth(chain_id: int) -> int:
    """Blocks after which a reorg is treated as impossible (the registry's figure, else 64)."""
    info = CHAINS.get(chain_id)
    return info.finality_depth if info is not None else DEFAULT_FINALITY_DEPTH


def stored_hashes(repo: Repository, chain_id: int, from_block: int) -> dict[int, str]:
    """Hashes of every stored block of `chain_id` numbered `from_block` or higher (synchronous, one query).

    Read from the blocks table directly: `Repository` only answers one block at a time, and the
    window may hold 64+ blocks.
    """
    stmt = select(Block.number, Block.hash).where(Block.chain_id == chain_id, Block.number >= from_block)
    with repo.engine.connect() as conn:
        return {int(number): str(hash_) for number, hash_ in conn.execute(stmt)}


def recent_hashes(repo: Repository, chain_id: int, depth: int) -> dict[int, str]:
    """Hashes of the stored blocks within `depth` of the highest stored one (synchronous, one query): a superset of
    what `find_fork` compares while the head is at or above that block, known before the head is."""
    top = select(func.max(Block.number)).where(Block.chain_id == chain_id).scalar_subquery()
    stmt = select(Block.number, Block.hash).where(Block.chain_id == chain_id, Block.number >= top - depth)
    with repo.engine.connect() as conn:
        return {int(number): str(hash_) for number, hash_ in conn.execute(stmt)}


def header_calls(numbers: Iterable[int]) -> list[tuple[str, list[Any]]]:
    return [("eth_getBlockByNumber", [hex(n), False]) for n in numbers]


def first_stale(stored: Mapping[int, str], answers: Sequence[RpcResponse], lowest: int) -> int | None:
    """The lowest block numbered `lowest` or higher whose stored hash the chain no longer has, given the answers to
    `header_calls(sorted(stored))`; a block the chain lacks (it got shorter) counts as stale."""
    for number, answer in zip(sorted(stored), answers, strict=True):
        if number < lowest:
            continue
        raw = answer.unwrap()
        chain_hash = str(raw["hash"]) if raw else None
        if chain_hash is None or chain_hash.lower() != stored[number].lower():
            return number
    return None


async def find_fork(client: ChainClient, repo: Repository, head: BlockRef, depth: int) -> int | None:
    """The lowest stored block within `depth` of `head` whose hash the chain no longer has, or None.

    All compared blocks are fetched in one JSON-RPC batch of `eth_getBlockByNumber`.
    """
    stored = await asyncio.to_thread(stored_hashes, repo, client.chain_id, max(0, head.number - depth))
    if not stored:
        return None
    answers = await client.rpc.batch(header_calls(sorted(stored)))
    return first_stale(stored, answers, 0)
