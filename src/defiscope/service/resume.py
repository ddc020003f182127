"""Does the devnet `serve` starts continue the history in the store? Checked before anything is indexed.

    devnet = open_devnet(repo)             # the saved devnet continued, or a fresh one; HistoryMismatch if
                                           # the store's history would not continue on it
    ...                                    # index, serve; then, with the chains idle:
    save_for_next_start(devnet)

A stored block whose hash the chain does not have means the store describes another chain (the saved
devnet was removed, damaged, or is older than the store because the last `serve` was killed before it
could save). Indexing on would mix two chains under one chain id, and the reorg check would silently
delete the older one; so `serve` stops with `HistoryMismatch` (exit 2) and touches nothing.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Final

import structlog

from defiscope.chain.block import BlockRef
from defiscope.devnet import runfile
from defiscope.devnet.anvil import rpc
from defiscope.devnet.cache import world_key
from defiscope.devnet.manager import DEFAULT_CHAIN_IDS, Devnet
from defiscope.devnet.persist import (
    SavedDevnet,
    SavedStateDamaged,
    discard_saved,
    load_saved,
    save_devnet,
    saved_dir,
)
from defiscope.devnet.world import DevnetChain
from defiscope.errors import DefiscopeError
from defiscope.store import Repository

log = structlog.get_logger(__name__)

RESET_HINT: Final = (
    "run `defiscope serve --reset` to drop the devnet history from the store and start a fresh devnet, "
    "or set DEFISCOPE_DATA_DIR to a new folder"
)


class HistoryMismatch(DefiscopeError):
    """The store holds history of a devnet chain that the devnet being started does not continue."""


def stored_heads(repo: Repository, chain_ids: Iterable[int]) -> dict[int, BlockRef]:
    """The highest stored block of each of `chain_ids` that has any."""
    latest = repo.latest_blocks()
    return {cid: latest[cid] for cid in chain_ids if cid in latest}


def _describe(head: BlockRef) -> str:
    return f"chain {head.chain_id} up to block {head.number} ({head.hash[:12]}…)"


def refuse_orphan_history(repo: Repository, chain_ids: Iterable[int], why: str) -> None:
    """Raise `HistoryMismatch` if the store has history of any of `chain_ids`: a fresh devnet cannot continue it."""
    heads = stored_heads(repo, chain_ids)
    if heads:
        described = ", ".join(_describe(h) for h in heads.values())
        raise HistoryMismatch(f"the store holds devnet history ({described}) but {why}; {RESET_HINT}")


def check_continues(repo: Repository, chains: Sequence[DevnetChain], saved: SavedDevnet) -> None:
    """Raise `HistoryMismatch` unless every chain has the stored head block of its id, with the same hash."""
    heads = stored_heads(repo, (c.chain_id for c in chains))
    for chain in chains:
        stored = heads.get(chain.chain_id)
        if stored is None:
            continue
        block = rpc(chain.rpc_url, "eth_getBlockByNumber", [hex(stored.number), False])
        found = str(block["hash"]) if isinstance(block, dict) else None
        if found is not None and found.lower() == stored.hash.lower():
            continue
        saved_head = saved.heads[chain.chain_id]
        when = datetime.fromtimestamp(saved.saved_at, UTC).strftime("%Y-%m-%d %H:%M UTC")
        if found is None and saved_head.number < stored.number:
            why = (
                f"the saved devnet ({saved.directory}, saved {when}) ends at block {saved_head.number}: "
                "the last serve was stopped without saving (killed?)"
            )
        else:
            why = (
                f"the saved devnet ({saved.directory}, saved {when} at block {saved_head.number}) has "
                f"{'another block there (' + found[:12] + '…)' if found else 'no such block'}"
            )
        raise HistoryMismatch(f"the store holds {_describe(stored)} but {why}; {RESET_HINT}")


def forget_history(repo: Repository, chain_ids: Iterable[int]) -> int:
    """Remove everything stored for `chain_ids` (snapshots, prices, yields, blocks); returns snapshots removed."""
    return sum(repo.rollback_from(chain_id, 0) for chain_id in chain_ids)


def open_devnet(repo: Repository, chain_ids: Sequence[int] = DEFAULT_CHAIN_IDS, *, reset: bool = False) -> Devnet:
    """The devnet `serve` indexes, attached to this process: the saved one continued when there is one,
    else a fresh one from the cached world. `HistoryMismatch` (nothing started, store untouched) when the
    store's history of these chains would not continue on it. `reset` first forgets that history and the
    saved devnet."""
    runfile.refuse_if_running()  # before --reset: another serve may be using this store
    if reset:
        removed = forget_history(repo, chain_ids)
        discard_saved()
        log.warning("serve.reset", chain_ids=list(chain_ids), snapshots_removed=removed)
    try:
        saved = load_saved()
    except SavedStateDamaged as exc:
        refuse_orphan_history(repo, chain_ids, str(exc))
        log.warning("devnet.saved_discarded", error=str(exc))
        discard_saved()
        saved = None
    if saved is None:
        refuse_orphan_history(repo, chain_ids, f"no saved devnet is in {saved_dir()} to continue it")
        return runfile.up_attached(chain_ids)
    if saved.world != world_key(chain_ids):
        log.warning("devnet.saved_by_other_code", saved_world=saved.world, hint="--reset starts the current world")
    try:
        devnet = runfile.up_attached(chain_ids, resume=saved)
    except SavedStateDamaged as exc:
        refuse_orphan_history(repo, chain_ids, str(exc))
        log.warning("devnet.saved_discarded", error=str(exc))
        discard_saved()
        return runfile.up_attached(chain_ids)
    try:
        check_continues(repo, devnet.chains, saved)
    except BaseException:
        runfile.release(devnet)
        raise
    return devnet


def save_for_next_start(devnet: Devnet) -> SavedDevnet:
    """Save the devnet's chains (idle: nothing may mine meanwhile) for the next `open_devnet`."""
    return save_devnet(devnet.chains, world_key([c.chain_id for c in devnet.chains]))
