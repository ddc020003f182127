"""A devnet that outlives `serve`: saved in the data dir on a clean stop, continued by the next `serve`.

Example::

    saved = save_devnet(devnet)          # on a clean stop: every chain's state, head and registry
    saved = load_saved()                 # the next start: None when nothing was saved
    devnet = resume_devnet(saved)        # (manager) the same chains, same block numbers and hashes

Layout of ``<devnet dir>/saved/``: ``saved.json`` (registry, heads, world key, time, generation) and
``chain-<id>.<generation>.json.gz`` (``anvil_dumpState`` without call traces, gzipped: `state_dump`'s compact
dump, as the scale world's cache keeps it); a plain ``chain-<id>.<generation>.json`` of an older save is read
as it is (``state_dump.unpacked_state`` takes both). A save writes new state files first and replaces
``saved.json`` last, so a save killed half-way leaves the previous one whole. The registry is not named
``world.json``, so the cache's pruning of unused worlds never takes it for a stale cached world.

Measured with anvil 1.7.1: a dump holds the blocks and transactions, so a resumed
node keeps block numbers and hashes; it holds the state at the head only. Reading an older block after a
resume fails ("BlockOutOfRangeError"), hence `serve` indexes up to the head before it saves.
``--preserve-historical-states`` would keep them, but at about 1 MB per block (323 MB and 8 s for 300
blocks, against 12 MB and 0.3 s for the head alone).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import structlog

from defiscope.devnet.anvil import rpc
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.paths import devnet_dir
from defiscope.devnet.state_dump import compact_dump
from defiscope.devnet.world import DevnetChain, chains_from_json, chains_to_json

log = structlog.get_logger(__name__)

SAVED_FORMAT: Final = 1
META_FILE: Final = "saved.json"


class SavedStateDamaged(DevnetError):
    """The saved devnet cannot be read or does not start as it was saved."""


@dataclass(frozen=True, slots=True)
class SavedHead:
    """A chain's last block when it was saved: a resumed node must have exactly this block."""

    chain_id: int
    number: int
    hash: str


@dataclass(frozen=True, slots=True)
class SavedDevnet:
    directory: Path
    chains: tuple[DevnetChain, ...]
    heads: Mapping[int, SavedHead]
    world: str  # the cache key of the world it grew from (the code that deployed it)
    generation: int
    saved_at: int  # unix seconds

    def state_file(self, chain_id: int) -> Path:
        """The chain's dump: the gzipped one a save writes, else a plain one an older save wrote (for
        ``state_dump.unpacked_state``); the gzipped name when there is neither."""
        packed = _state_file(self.directory, chain_id, self.generation)
        plain = _state_file(self.directory, chain_id, self.generation, packed=False)
        return plain if not packed.is_file() and plain.is_file() else packed


def saved_dir() -> Path:
    return devnet_dir() / "saved"


def _state_file(directory: Path, chain_id: int, generation: int, *, packed: bool = True) -> Path:
    return directory / f"chain-{chain_id}.{generation}.json{'.gz' if packed else ''}"


def _head(rpc_url: str, chain_id: int) -> SavedHead:
    block = rpc(rpc_url, "eth_getBlockByNumber", ["latest", False])
    if not isinstance(block, dict):
        raise DevnetError(f"chain {chain_id} at {rpc_url} returned no latest block")
    return SavedHead(chain_id, int(str(block["number"]), 16), str(block["hash"]))


def save_devnet(chains: tuple[DevnetChain, ...], world: str, directory: Path | None = None) -> SavedDevnet:
    """Dump every chain (its nodes must be idle: nothing mined meanwhile) and make it the saved devnet."""
    target = directory or saved_dir()
    target.mkdir(parents=True, exist_ok=True)
    previous = _read_meta(target)
    generation = (previous.generation + 1) if previous is not None else 1
    heads: dict[int, SavedHead] = {}
    for chain in chains:
        heads[chain.chain_id] = _head(chain.rpc_url, chain.chain_id)
        state = compact_dump(chain.rpc_url)
        after = _head(chain.rpc_url, chain.chain_id)
        if after != heads[chain.chain_id]:
            raise DevnetError(f"chain {chain.chain_id} mined block {after.number} while being saved")
        _atomic_write(_state_file(target, chain.chain_id, generation), state)
    saved = SavedDevnet(target, chains, heads, world, generation, int(time.time()))
    _atomic_write(target / META_FILE, (json.dumps(_meta_json(saved), indent=2) + "\n").encode())
    for stale in target.glob("chain-*.json*"):  # older generations, plain or gzipped
        if stale.name.split(".")[1] != str(generation):
            stale.unlink(missing_ok=True)
    log.info("devnet.saved", directory=str(target), heads={c: h.number for c, h in heads.items()})
    return saved


def load_saved(directory: Path | None = None) -> SavedDevnet | None:
    """The saved devnet, or None if none was saved; `SavedStateDamaged` if one was but cannot be used."""
    target = directory or saved_dir()
    saved = _read_meta(target)
    if saved is None:
        return None
    missing = [str(saved.state_file(c.chain_id)) for c in saved.chains if not saved.state_file(c.chain_id).is_file()]
    if missing:
        raise SavedStateDamaged(f"the saved devnet in {target} lacks {', '.join(missing)}")
    return saved


def discard_saved(directory: Path | None = None) -> None:
    shutil.rmtree(directory or saved_dir(), ignore_errors=True)


def _read_meta(directory: Path) -> SavedDevnet | None:
    path = directory / META_FILE
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise SavedStateDamaged(f"the saved devnet {path} cannot be read: {exc}") from None
    try:
        if data["format"] != SAVED_FORMAT:
            raise SavedStateDamaged(f"the saved devnet {path} has format {data['format']}, expected {SAVED_FORMAT}")
        heads = {
            int(h["chain_id"]): SavedHead(int(h["chain_id"]), int(h["number"]), str(h["hash"])) for h in data["heads"]
        }
        return SavedDevnet(
            directory,
            chains_from_json(data),
            heads,
            str(data["world"]),
            int(data["generation"]),
            int(data["saved_at"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise SavedStateDamaged(f"the saved devnet {path} is damaged ({type(exc).__name__}: {exc})") from None


def _meta_json(saved: SavedDevnet) -> dict[str, Any]:
    return {
        "format": SAVED_FORMAT,
        "world": saved.world,
        "generation": saved.generation,
        "saved_at": saved.saved_at,
        "heads": [{"chain_id": h.chain_id, "number": h.number, "hash": h.hash} for h in saved.heads.values()],
        **chains_to_json([chain.with_rpc_url("") for chain in saved.chains]),
    }


def _atomic_write(path: Path, data: bytes) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    finally:
        with contextlib.suppress(FileNotFoundError):
            temporary.unlink()
