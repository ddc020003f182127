"""Bring a multi-chain devnet up (from the cached world when there is one) and down again.

Example::

    with start_devnet((1, 56)) as devnet:
        eth = devnet.chain(1)
        eth.rpc_url, eth.contracts["UniswapV2Router02"], eth.tokens["USDC"]

The first start on a machine deploys every chain (about a second each) and saves the world; later starts
load it into fresh anvils in well under a second. Nodes die with this process (see ``anvil``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import AbstractContextManager, ExitStack
from pathlib import Path
from types import TracebackType
from typing import Final

import structlog
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

from defiscope.devnet.anvil import ACCOUNTS, READY_TIMEOUT, AnvilNode, rpc, spawn_anvil, wait_ready
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.cache import (
    discard_world,
    dump_state,
    load_world,
    prune_worlds,
    save_world,
    saved_state,
    world_key,
    world_lock,
)
from defiscope.devnet.deploy import STEPS, deploy_world
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.paths import devnet_dir
from defiscope.devnet.persist import SavedDevnet, SavedStateDamaged
from defiscope.devnet.scale import ScaleSize, build_scale
from defiscope.devnet.spec import CHAIN_SPECS
from defiscope.devnet.state_dump import compact_dump, unpacked_state
from defiscope.devnet.tokens import FEED_PREFIX, refresh_feeds
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain

log = structlog.get_logger(__name__)

DEFAULT_CHAIN_IDS: Final = (1, 56)
#: The scale world (`devnet.scale`) is built on this chain; other chains of the devnet get the standard world.
SCALE_CHAIN_ID: Final = 1
#: A slow pace for anvil reading a state dump (measured: 36 MB/s on a loaded 2-core machine), for its start timeout.
LOAD_BYTES_PER_SECOND: Final = 10_000_000


class Devnet:
    """Running anvils with their worlds. A context manager; :meth:`stop` is idempotent."""

    __slots__ = ("chains", "from_cache", "nodes", "world_dir")

    def __init__(
        self,
        chains: tuple[DevnetChain, ...],
        nodes: tuple[AnvilNode, ...],
        world_dir: Path,
        *,
        from_cache: bool,
    ) -> None:
        self.chains = chains
        self.nodes = nodes
        self.world_dir = world_dir
        self.from_cache = from_cache

    def chain(self, chain_id: int) -> DevnetChain:
        for chain in self.chains:
            if chain.chain_id == chain_id:
                return chain
        raise DevnetError(f"chain {chain_id} is not on this devnet (it has {[c.chain_id for c in self.chains]})")

    def stop(self) -> None:
        for node in self.nodes:
            node.stop()

    def __enter__(self) -> Devnet:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()


def _check_chain_ids(chain_ids: Sequence[int]) -> tuple[int, ...]:
    ids = tuple(dict.fromkeys(chain_ids))
    unknown = [chain_id for chain_id in ids if chain_id not in CHAIN_SPECS]
    if unknown or not ids:
        raise DevnetError(f"unsupported chain ids {unknown or '(none)'}: choose from {sorted(CHAIN_SPECS)}")
    return ids


def _spawn_all(
    chain_ids: Sequence[int], states: Callable[[int], Path | None], *, detach: bool
) -> tuple[AnvilNode, ...]:
    # Spawned here, on the caller's thread, never in a worker: PDEATHSIG follows the spawning thread.
    nodes: list[AnvilNode] = []
    timeouts: list[float] = []
    try:
        for chain_id in chain_ids:
            state = states(chain_id)
            nodes.append(spawn_anvil(chain_id, load_state=state, detach=detach))
            # A big world takes anvil a while to parse before it answers (scale world: 1.7 GB in 47 s).
            timeouts.append(READY_TIMEOUT + (state.stat().st_size / LOAD_BYTES_PER_SECOND if state else 0.0))
        for node, timeout in zip(nodes, timeouts, strict=True):
            wait_ready(node, timeout)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return tuple(nodes)


def _load(states: Callable[[int], Path], chains: tuple[DevnetChain, ...], *, detach: bool) -> tuple[AnvilNode, ...]:
    nodes = _spawn_all([c.chain_id for c in chains], states, detach=detach)
    try:
        for chain, node in zip(chains, nodes, strict=True):
            _freshen(node, chain)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    return nodes


def _freshen(node: AnvilNode, chain: DevnetChain) -> None:
    """A node that loaded a saved world: its clock not behind the world's head, its feeds stamped now."""
    _clock_not_before_head(node)
    sender = Sender.connect(node.rpc_url)
    feed = contract_artifact("PriceFeed")
    feeds = {
        name: sender.contract(feed, address)
        for name, address in chain.contracts.items()
        if name.startswith(FEED_PREFIX)
    }
    refresh_feeds(sender, feeds)


def _clock_not_before_head(node: AnvilNode) -> None:
    """Never mine a block older than the loaded head. The simulation's fixed block interval can run a chain's
    clock ahead of the wall clock, and a loaded anvil mines at wall-clock time: time would go back (measured:
    64 s), and Aave and Compound reads then underflow. `evm_setTime` moves anvil's clock, not just one block."""
    head = rpc(node.rpc_url, "eth_getBlockByNumber", ["latest", False])
    head_time = int(str(head["timestamp"]), 16) if isinstance(head, dict) else 0
    if head_time >= int(time.time()):
        rpc(node.rpc_url, "evm_setTime", [head_time + 1])


def _deploy(
    chain_ids: tuple[int, ...],
    *,
    detach: bool,
    show_progress: bool,
    scale: ScaleSize | None = None,
    base: Path | None = None,
) -> tuple[tuple[AnvilNode, ...], tuple[DevnetChain, ...], dict[int, bytes]]:
    based = {c.chain_id: c for c in (load_world(base) or ()) if c.chain_id in chain_ids} if base else {}
    with ExitStack() as unpacked:  # a packed base state is unpacked until its anvil has read it

        def base_state(chain_id: int) -> Path | None:
            if base is None or chain_id not in based:
                return None
            return unpacked.enter_context(_cached_state(base, chain_id))

        nodes = _spawn_all(chain_ids, base_state, detach=detach)
    console = Console(stderr=True)
    progress = Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TextColumn("{task.fields[step]}"),
        TimeElapsedColumn(),
        console=console,
        transient=True,
        disable=not show_progress,
    )
    try:
        with progress, ThreadPoolExecutor(max_workers=len(nodes)) as pool:

            def deploy_one(node: AnvilNode) -> tuple[DevnetChain, bytes]:
                chain = based.get(node.chain_id)
                if chain is None:
                    spec = CHAIN_SPECS[node.chain_id]
                    task = progress.add_task(f"deploying {spec.name}", total=len(STEPS), step="")
                    chain = deploy_world(node.rpc_url, spec, lambda step: progress.update(task, advance=1, step=step))
                    _end_impersonations(node.rpc_url)
                else:
                    chain = chain.with_rpc_url(node.rpc_url)
                    _freshen(node, chain)
                if scale is None or node.chain_id != SCALE_CHAIN_ID:
                    return chain, dump_state(node.rpc_url)
                built = progress.add_task(f"building {scale.name}", total=scale.build_units, step="")
                chain = build_scale(
                    node.rpc_url, chain, scale, lambda done, step: progress.update(built, advance=done, step=step)
                )
                progress.update(built, step="saving (compact dump)")
                return chain, compact_dump(node.rpc_url)

            results = list(pool.map(deploy_one, nodes))
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    chains = tuple(chain for chain, _ in results)
    states = {chain.chain_id: state for chain, state in results}
    return nodes, chains, states


def _end_impersonations(rpc_url: str) -> None:
    """Seeding impersonates users; a fresh world must list the same accounts as one loaded from the cache
    (which keeps no impersonation), since tests and agents take their users from ``eth_accounts``."""
    listed = rpc(rpc_url, "eth_accounts")
    for address in listed if isinstance(listed, list) else []:
        if str(address).lower() not in _DEFAULT_ACCOUNTS:
            rpc(rpc_url, "anvil_stopImpersonatingAccount", [address])


_DEFAULT_ACCOUNTS: Final = frozenset(a.lower() for a in ACCOUNTS)


def start_devnet(
    chain_ids: Sequence[int] = DEFAULT_CHAIN_IDS,
    *,
    state_dir: Path | None = None,
    detach: bool = False,
    show_progress: bool = True,
    scale: ScaleSize | None = None,
    base: Path | None = None,
) -> Devnet:
    """Start one anvil per chain with the world deployed, loading the cached world when there is one.

    ``state_dir`` holds cached worlds (default: ``$DEFISCOPE_DATA_DIR/devnet``). ``detach`` starts nodes
    that outlive this process (for ``defiscope devnet up --detach``); stopping them is the caller's job.
    ``scale`` adds the scale world of that size to chain 1 (`devnet.scale`), cached as a world of its own.
    ``base``, a cached standard world (a `Devnet.world_dir`), gives the chains it holds instead of deploying them
    when this world is not cached yet: the scale world is built on it in seconds, not a deploy's minute.
    """
    ids = _check_chain_ids(chain_ids)
    if scale is not None and SCALE_CHAIN_ID not in ids:
        raise DevnetError(f"the scale world is built on chain {SCALE_CHAIN_ID}: include it (got chains {list(ids)})")
    started = time.perf_counter()
    world_dir = (state_dir or devnet_dir()) / world_key(ids, scale.name if scale else "standard")
    with world_lock(world_dir):
        return _load_or_deploy(
            ids, world_dir, started, detach=detach, show_progress=show_progress, scale=scale, base=base
        )


def _load_or_deploy(
    ids: tuple[int, ...],
    world_dir: Path,
    started: float,
    *,
    detach: bool,
    show_progress: bool,
    scale: ScaleSize | None,
    base: Path | None,
) -> Devnet:
    cached = load_world(world_dir)
    if cached is not None:
        try:
            with ExitStack() as unpacked:
                nodes = _load(lambda cid: unpacked.enter_context(_cached_state(world_dir, cid)), cached, detach=detach)
        except DevnetError as exc:
            # A damaged cache must not wedge every later start: drop it and deploy afresh.
            log.warning("devnet.cache_broken", world=str(world_dir), error=str(exc))
            discard_world(world_dir)
        else:
            chains = tuple(c.with_rpc_url(n.rpc_url) for c, n in zip(cached, nodes, strict=True))
            log.info("devnet.loaded", world=str(world_dir), seconds=round(time.perf_counter() - started, 3))
            return Devnet(chains, nodes, world_dir, from_cache=True)
    nodes, chains, states = _deploy(ids, detach=detach, show_progress=show_progress, scale=scale, base=base)
    saved = save_world(world_dir, chains, states, packed=scale is not None)
    pruned = prune_worlds(world_dir.parent, keep=world_dir.name)
    log.info(
        "devnet.deployed_all",
        world=str(world_dir),
        saved=saved,
        pruned=len(pruned),
        seconds=round(time.perf_counter() - started, 3),
    )
    return Devnet(chains, nodes, world_dir, from_cache=False)


def _cached_state(world_dir: Path, chain_id: int) -> AbstractContextManager[Path]:
    """The chain's dump as a file anvil loads (a packed one is unpacked to a temporary file until exit)."""
    path = saved_state(world_dir, chain_id)
    if path is None:
        raise DevnetError(f"the cached world {world_dir} has no state for chain {chain_id}")
    return unpacked_state(path)


def resume_devnet(saved: SavedDevnet, *, detach: bool = False) -> Devnet:
    """Start the nodes of a saved devnet (``persist``): the same chains, block numbers and block hashes.

    Each node must have the saved head block with its saved hash, else `SavedStateDamaged` (nothing
    stays running). Feeds get a fresh round, as for a cached world: time went on while it was saved.
    """
    started = time.perf_counter()
    try:
        with ExitStack() as unpacked:  # a gzipped dump is unpacked to a temporary file until the nodes loaded it
            nodes = _load(
                lambda cid: unpacked.enter_context(unpacked_state(saved.state_file(cid))), saved.chains, detach=detach
            )
    except DevnetError as exc:
        raise SavedStateDamaged(f"the saved devnet in {saved.directory} does not start: {exc}") from None
    try:
        for node in nodes:
            _check_saved_head(saved, node)
    except BaseException:
        for node in nodes:
            node.stop()
        raise
    chains = tuple(c.with_rpc_url(n.rpc_url) for c, n in zip(saved.chains, nodes, strict=True))
    log.info("devnet.resumed", directory=str(saved.directory), seconds=round(time.perf_counter() - started, 3))
    return Devnet(chains, nodes, saved.directory, from_cache=True)


def _check_saved_head(saved: SavedDevnet, node: AnvilNode) -> None:
    head = saved.heads.get(node.chain_id)
    if head is None:
        raise SavedStateDamaged(f"the saved devnet in {saved.directory} has no head for chain {node.chain_id}")
    block = rpc(node.rpc_url, "eth_getBlockByNumber", [hex(head.number), False])
    found = str(block["hash"]) if isinstance(block, dict) else None
    if found != head.hash:
        raise SavedStateDamaged(
            f"the saved devnet in {saved.directory} does not restore chain {node.chain_id}: block {head.number} "
            f"was saved with hash {head.hash}, the node has {found or 'no such block'}"
        )
