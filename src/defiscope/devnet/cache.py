"""Cached worlds: a deployed world saved once per machine and reloaded in milliseconds.

A world lives in ``<devnet dir>/<key>/``: ``world.json`` (the registry) and ``chain-<id>.json`` (anvil's
state dump) per chain. ``key`` hashes everything the world depends on (this package's code, the
artifacts, the anvil version, the chain ids), so a change deploys afresh instead of loading a stale world.

Saving uses the ``anvil_dumpState`` RPC on the live node (the first run keeps serving from it; ``--dump-state``
would need a stop) and loading uses ``--load-state`` at start (no extra round trip). Checked with anvil
1.7.1: the dump holds the block environment, the blocks and their transactions, so a reloaded node has
the same block number and block hashes; blocks mined after a reload carry the current wall-clock time.

Example::

    key = world_key((1, 56))
    world = load_world(devnet_dir() / key)          # None when not cached yet
"""

from __future__ import annotations

import contextlib
import fcntl
import gzip
import hashlib
import json
import os
import shutil
import tempfile
import time
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Final

from defiscope.devnet.anvil import anvil_version, rpc
from defiscope.devnet.artifacts import artifact_files
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.world import DevnetChain, chains_from_json, chains_to_json

# A cached world nobody loaded for this long is deleted when another world is saved beside it.
STALE_AFTER: Final = 14 * 24 * 3600.0

# Bump when the layout of a cached world changes in a way the hashed inputs do not show.
CACHE_FORMAT: Final = 1
WORLD_FILE: Final = "world.json"


def state_file(world_dir: Path, chain_id: int, *, packed: bool = False) -> Path:
    """A chain's state dump; ``packed`` is a compact gzipped one (`state_dump`, for big worlds)."""
    return world_dir / f"chain-{chain_id}.json{'.gz' if packed else ''}"


def saved_state(world_dir: Path, chain_id: int) -> Path | None:
    """The chain's saved dump, plain or packed, or None."""
    for packed in (False, True):
        path = state_file(world_dir, chain_id, packed=packed)
        if path.is_file():
            return path
    return None


def world_key(chain_ids: Sequence[int], world: str = "standard") -> str:
    """A short hash of the devnet code, the artifacts, the anvil version, the chain ids and the world's name."""
    digest = hashlib.sha256()
    digest.update(f"format={CACHE_FORMAT};chains={','.join(map(str, chain_ids))};".encode())
    if world != "standard":
        digest.update(f"world={world};".encode())
    digest.update(anvil_version().encode())
    package = Path(__file__).resolve().parent
    for path in (*sorted(package.glob("*.py")), *artifact_files()):
        digest.update(path.name.encode())
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def load_world(world_dir: Path) -> tuple[DevnetChain, ...] | None:
    """The cached registry, or None if this world was never saved (or is incomplete)."""
    try:
        chains = chains_from_json(json.loads((world_dir / WORLD_FILE).read_text()))
    except FileNotFoundError:
        return None
    except (ValueError, KeyError, TypeError):
        return None
    if not all(saved_state(world_dir, chain.chain_id) for chain in chains):
        return None
    # The modification time says when the world was last used (see prune_worlds).
    with contextlib.suppress(OSError):
        os.utime(world_dir / WORLD_FILE)
    return chains


def dump_state(rpc_url: str) -> bytes:
    """The node's state as the JSON that ``anvil --load-state`` reads (anvil_dumpState gives it gzipped)."""
    dumped = rpc(rpc_url, "anvil_dumpState", timeout=60)
    if not isinstance(dumped, str):
        raise DevnetError(f"anvil_dumpState on {rpc_url} returned {type(dumped).__name__}")
    return gzip.decompress(bytes.fromhex(dumped.removeprefix("0x")))


def save_world(
    world_dir: Path, chains: Sequence[DevnetChain], states: dict[int, bytes], *, packed: bool = False
) -> bool:
    """Write the world to a temporary folder, then rename it into place.

    Two processes may prepare the same world at once: the rename is atomic, the first one wins, and
    the loser (whose rename fails because the folder exists) drops its copy. Returns True if ours won.
    ``packed`` states are `state_dump.compact_dump`'s gzip bytes.
    """
    world_dir.parent.mkdir(parents=True, exist_ok=True)
    temporary = Path(tempfile.mkdtemp(prefix=f".{world_dir.name}.", dir=world_dir.parent))
    try:
        for chain_id, state in states.items():
            state_file(temporary, chain_id, packed=packed).write_bytes(state)
        registry = chains_to_json([chain.with_rpc_url("") for chain in chains])
        (temporary / WORLD_FILE).write_text(json.dumps(registry, indent=2) + "\n")
        try:
            os.rename(temporary, world_dir)
        except OSError:
            return False
        return True
    finally:
        if temporary.exists():
            shutil.rmtree(temporary, ignore_errors=True)


def discard_world(world_dir: Path) -> None:
    """Remove a broken world (moved aside first so a concurrent reader never sees half of it)."""
    with contextlib.suppress(OSError):
        aside = world_dir.with_name(f".{world_dir.name}.discarded.{os.getpid()}")
        os.rename(world_dir, aside)
        shutil.rmtree(aside, ignore_errors=True)


@contextlib.contextmanager
def world_lock(world_dir: Path) -> Iterator[None]:
    """Held while a world is loaded or built: a second process starting the same world (another `devnet up`, a
    parallel test worker) waits for the first one's cache instead of building it again over the same files."""
    world_dir.parent.mkdir(parents=True, exist_ok=True)
    with open(world_dir.parent / f".{world_dir.name}.lock", "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def prune_worlds(base: Path, keep: str, stale_after: float = STALE_AFTER) -> list[Path]:
    """Delete cached worlds (other than ``keep``) unused for ``stale_after`` seconds; return them.

    Every code or artifact change makes a new key, so old worlds (a few MB each) would pile up. Worlds
    of other checkouts sharing the data dir stay as long as they are used.
    """
    removed: list[Path] = []
    now = time.time()
    for world in base.glob("*/" + WORLD_FILE):
        folder = world.parent
        if folder.name == keep or folder.name.startswith("."):
            continue
        with contextlib.suppress(OSError):
            if now - world.stat().st_mtime > stale_after:
                discard_world(folder)
                removed.append(folder)
    return removed
