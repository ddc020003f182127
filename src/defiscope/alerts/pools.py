"""Young pools for `new_protocol` rules with `scope: pool`: the pools discovery found (each DEX adapter's creation
events, `LogCursor` entries with their block), created within a window, with what each holds at the block.

    found = await young_pools(tvl_engine, 1234, within_seconds=86_400)
    found[0]   # YoungPool(protocol="uniswap-v3", address="0x...", first_block=..., holdings=(...)) or a str: why not

Holdings are the pool's balance of each of its tokens at the block (one multicall for every young pool); the
evaluator values them with the prices the TVL engine stored at the block (`evaluate._new_pools`). Per-pool figures
are not stored (a snapshot's tokens are summed per protocol), so they are read from the chain at the block, as
liquidation exposure is: live at the block just indexed, and in a backtest at each stored block of its range
(`historic_pools`: the node's historic state, pinned to the stored block's hash; an archive node on mainnet), with
the creation cursors loaded from the store (`load_discovery`) saying which pools existed then.

    chain = StoredPools.of(client, deployment, adapters_for(deployment))
    scanned_to = await load_discovery(chain, repo)          # the stored creation logs, read only
    found = await historic_pools(chain, stored_block_ref, 86_400, BlockTimes(client))  # or PoolStateMissing
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any, Final, Protocol

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient, Snapshot
from defiscope.chain.errors import AllEndpointsFailed, BlockUnavailable, StateUnavailable
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.chain.tokens import TokenBook, TokenRef
from defiscope.deployments import Deployment
from defiscope.errors import DefiscopeError
from defiscope.protocols.base import Adapter
from defiscope.protocols.log_cursor import CursorStore, LogCursor

BALANCE_OF: Final = "balanceOf(address)(uint256)"


@dataclass(frozen=True, slots=True)
class Holding:
    """One token a pool holds: its amount at the block (raw units), or why it could not be read."""

    token: str
    symbol: str
    decimals: int | None
    amount: int | None
    unread: str | None = None


@dataclass(frozen=True, slots=True)
class YoungPool:
    protocol: str
    address: str
    first_block: int
    first_timestamp: int
    holdings: tuple[Holding, ...]


class PoolChain(Protocol):
    """What young pools are read through: a client, the token metadata, and the adapters whose creation cursors
    list the pools (a `TvlEngine` is one; `StoredPools.of` builds one for a backtest)."""

    @property
    def client(self) -> ChainClient: ...

    @property
    def tokens(self) -> TokenBook: ...

    @property
    def adapters(self) -> Sequence[Adapter]: ...


@dataclass(frozen=True, slots=True)
class StoredPools:
    """A `PoolChain` outside the indexer (a backtest): its own adapters, whose cursors are loaded from the store."""

    client: ChainClient
    tokens: TokenBook
    adapters: Sequence[Adapter]

    @classmethod
    def of(cls, client: ChainClient, deployment: Deployment, adapters: Sequence[Adapter]) -> StoredPools:
        known = [TokenRef(deployment.chain_id, t.address, t.symbol, t.decimals) for t in deployment.tokens.values()]
        return cls(client, TokenBook(deployment.chain_id, known), adapters)


class PoolStateMissing(DefiscopeError):
    """The node has no state at a block whose pools' holdings are wanted (pruned: not an archive node)."""


@dataclass(frozen=True, slots=True)
class _Created:
    protocol: str
    address: str
    tokens: tuple[str, ...]
    block: int


def pool_cursors(engine: PoolChain) -> list[tuple[str, LogCursor[Any]]]:
    """(slug, creation cursor) of each adapter that discovers pools from creation events (its `created` cursor)."""
    found = []
    for adapter in engine.adapters:
        cursor = getattr(adapter, "created", None)
        if isinstance(cursor, LogCursor):
            found.append((adapter.info.slug, cursor))
    return found


def newest_first(slug: str, cursor: LogCursor[Any], upto: int) -> Iterator[_Created]:
    """The cursor's pools created up to block `upto`, newest first (a walk back that stops early costs little)."""
    for block, _index, item in reversed(cursor.entries):
        tokens = _tokens(item)
        if block <= upto and tokens is not None:
            yield _Created(slug, str(item.address), tokens, block)


def created_pools(engine: PoolChain, upto: int) -> list[_Created]:
    """Every pool the engine's adapters discovered up to block `upto`, newest first: items of a creation cursor
    with an address and two tokens (Uniswap/PancakeSwap V2 and V3)."""
    found = [c for slug, cursor in pool_cursors(engine) for c in newest_first(slug, cursor, upto)]
    return sorted(found, key=lambda c: c.block, reverse=True)


def _tokens(item: Any) -> tuple[str, ...] | None:
    token0, token1 = getattr(item, "token0", None), getattr(item, "token1", None)
    if not (isinstance(getattr(item, "address", None), str) and isinstance(token0, str) and isinstance(token1, str)):
        return None
    return (token0, token1)


class BlockTimes:
    """Timestamps of pools' creation blocks, read once each (a young pool's is asked at every block)."""

    __slots__ = ("_client", "_times")

    def __init__(self, client: ChainClient) -> None:
        self._client = client
        self._times: dict[int, int] = {}

    async def of(self, number: int) -> int:
        if number not in self._times:
            self._times[number] = (await self._client.block(number)).timestamp
        return self._times[number]

    def forget(self, from_block: int) -> None:
        """A reorg from `from_block`: those blocks' times may differ on the new fork."""
        self._times = {n: t for n, t in self._times.items() if n < from_block}


def discovered_upto(engine: PoolChain) -> int | None:
    """The lowest block the pool creation cursors have scanned to (pools created later are not known); None when
    the chain has no pool discovery."""
    return min((cursor.scanned_to for _slug, cursor in pool_cursors(engine)), default=None)


async def load_discovery(engine: PoolChain, store: CursorStore) -> int | None:
    """Load every pool creation cursor of `engine` from `store`, read only (no scan, nothing written): one paged
    read of the stored creation logs. Returns `discovered_upto`."""
    for _slug, cursor in pool_cursors(engine):
        await cursor.load(store, engine.client.chain_id)
    return discovered_upto(engine)


async def young_pools(
    engine: PoolChain, number: int, within_seconds: int, times: BlockTimes | None = None
) -> Sequence[YoungPool] | str:
    """The pools created within `within_seconds` before block `number`'s time, with their holdings there; or why
    they could not be read."""
    try:
        pinned = await engine.client.snapshot(number)
        return await _read_young(engine, pinned, within_seconds, times or BlockTimes(engine.client))
    except DefiscopeError as exc:
        return f"young pools could not be read at block {number}: {exc}"


async def historic_pools(
    engine: PoolChain, block: BlockRef, within_seconds: int, times: BlockTimes
) -> Sequence[YoungPool] | str:
    """`young_pools` at a stored block (a backtest), pinned to its stored hash: the node's historic state. Raises
    `PoolStateMissing` when the node has none there (the backtest cannot go on); other failures are why not.

    A node without the state answers in one of two ways: a transient "missing trie node" / "header not found"
    (geth, Erigon, providers: the pinned read raises), or a plain error for each call (anvil's pruned or reloaded
    history: every balanceOf fails). The second is told from a token's failing balanceOf by one state probe,
    asked only when some balanceOf failed."""
    pinned = Snapshot(engine.client, block)
    try:
        found = await _read_young(engine, pinned, within_seconds, times)
        if any(h.amount is None for pool in found for h in pool.holdings) and not await _has_state(pinned):
            raise BlockUnavailable(f"no state at block {block.number}", chain_id=block.chain_id)
    except (BlockUnavailable, StateUnavailable, AllEndpointsFailed) as exc:
        if isinstance(exc, AllEndpointsFailed) and not all(isinstance(e, StateUnavailable) for e in exc.errors):
            return f"young pools could not be read at block {block.number}: {exc}"
        raise PoolStateMissing(
            f"the node of chain {block.chain_id} has no state at block {block.number} ({block.hash}): pool-scope "
            "backtests read the pools' holdings at each block (an archive node is needed), or the block was "
            "reorged away since it was stored"
        ) from exc
    except DefiscopeError as exc:
        return f"young pools could not be read at block {block.number}: {exc}"
    return found


async def _has_state(pinned: Snapshot) -> bool:
    return await Batcher(pinned).reader("alerts.pools").has_state()


async def _read_young(
    engine: PoolChain, pinned: Snapshot, within_seconds: int, times: BlockTimes
) -> Sequence[YoungPool]:
    now, number = pinned.block.timestamp, pinned.block.number
    young: list[tuple[_Created, int]] = []
    for slug, cursor in pool_cursors(engine):
        for created in newest_first(slug, cursor, number):  # stop at the first one too old
            born = await times.of(created.block)
            if now - born > within_seconds:
                break
            young.append((created, born))
    if not young:
        return []
    calls = [Call.of(token, BALANCE_OF, c.address) for c, _ in young for token in c.tokens]
    results = iter(await pinned.call_many(calls))
    resolved = await engine.tokens.resolve(pinned, {token for c, _ in young for token in c.tokens})
    refs = {address.lower(): ref for address, ref in resolved.items()}
    pools = []
    for created, born in young:
        holdings = []
        for token in created.tokens:
            result, ref = next(results), refs.get(token.lower())
            symbol, decimals = (ref.symbol, ref.decimals) if isinstance(ref, TokenRef) else ("?", None)
            if not result.success:
                holdings.append(Holding(token, symbol, decimals, None, f"balanceOf failed: {result.error}"))
            elif decimals is None:
                holdings.append(Holding(token, symbol, None, int(result.value[0]), str(ref or "no token metadata")))
            else:
                holdings.append(Holding(token, symbol, decimals, int(result.value[0])))
        pools.append(YoungPool(created.protocol, created.address, created.block, born, tuple(holdings)))
    return pools
