"""What the endpoints read: the store, protocol metadata, the token directory, and (in `serve`) live chains.

ctx = ApiContext.build(settings, repo, deployments=[mainnet(1)])
ctx.tokens.get(1, "0xC02a...")             # TokenEntry(symbol="WETH", coingecko_id="weth", ...)
ctx.quoting[1].client                      # in `serve`: the indexer's chain client, shared by /v1/quote
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from functools import partial

from defiscope.alerts.pools import PoolChain
from defiscope.analytics.rankings import ProtocolRow
from defiscope.api.cache import BlockCache, LatestBuilds, PerVersion
from defiscope.api.settings import ApiSettings
from defiscope.api.shared_cache import SharedCache
from defiscope.chain.accounting import EndpointStats
from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.feed import LogFeed
from defiscope.chain.registry import CHAINS
from defiscope.deployments import Deployment, TokenInfo, UnknownName
from defiscope.deployments.mainnet import mainnet
from defiscope.governance.sources import OffchainSource
from defiscope.protocols.base import ProtocolInfo
from defiscope.protocols.registry import known_protocols
from defiscope.routing.dex_state import DexState
from defiscope.routing.discovery import discover_at
from defiscope.routing.load import PoolRef
from defiscope.service.progress import SyncProgress
from defiscope.store import Repository
from defiscope.store.keys import KeyStore
from defiscope.tvl.model import ProtocolSnapshot

#: Heads of the chains this process follows (chain id -> head block), when it runs an indexer.
HeadsSource = Callable[[], Mapping[int, int | None]]
#: RPC accounting of this process's chain clients: chain id -> endpoint name -> stats.
RpcSource = Callable[[], Mapping[int, Mapping[str, EndpointStats]]]
#: Blocks the follower had to skip (a pruned node): chain id -> (from block, to block, blocks, reason).
GapsSource = Callable[[], Mapping[int, Iterable[tuple[int, int, int, str]]]]


@dataclass(frozen=True, slots=True)
class ChainProgress:
    """Where the indexer of one chain is, read from its memory (no database query): for /v1/health."""

    head_time: int | None  # the head block's timestamp, None before the first head was read
    last_indexed: BlockRef | None
    last_error: str | None  # unredacted: /v1/health redacts it
    failing_since: float | None  # unix time of the first failure of the current run of failures
    sync: SyncProgress | None = None  # discovering / catching up / following, with percent and ETA


#: The indexer's progress per chain id, when this process indexes.
ProgressSource = Callable[[], Mapping[int, ChainProgress]]


@dataclass(frozen=True, slots=True)
class Live:
    """What a server that also indexes can tell: chain heads, indexing progress and RPC request accounting."""

    heads: HeadsSource
    rpc: RpcSource
    gaps: GapsSource | None = None
    progress: ProgressSource | None = None


@dataclass(frozen=True, slots=True)
class QuoteChain:
    """A chain /v1/quote reads: the server's own client (no connection per request), its registry, and
    its pools, kept in memory and followed from their events: the chain's one `DexState`, shared with the
    indexer in `serve` (``shared``), else one of its own over the devnet's seeded pools, or on other chains
    those discovered between the registry's tokens at the first quote."""

    client: ChainClient
    deployment: Deployment
    known_pools: tuple[PoolRef, ...] = ()
    owned: bool = False  # the app closes the client at shutdown (a client made for quotes alone)
    feed: LogFeed | None = None  # the chain's log feed, shared with the indexer: a block's logs read once
    shared: DexState | None = None  # the chain's DEX state, shared with the indexer (`serve`)
    dex: DexState = field(init=False, repr=False, compare=False)  # `shared`, or one for quotes alone
    #: Tokens resolved by address (decimals read on chain): decimals never change, so read once.
    tokens: dict[str, TokenInfo] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        dex = self.shared
        if dex is None:
            discover = None if self.known_pools else partial(discover_at, deployment=self.deployment)
            dex = DexState(self.deployment.chain_id, (), self.known_pools, discover=discover, feed=self.feed)
        object.__setattr__(self, "dex", dex)
        object.__setattr__(self, "tokens", {})


@dataclass(frozen=True, slots=True)
class TokenEntry:
    chain_id: int
    address: str
    symbol: str
    decimals: int
    coingecko_id: str | None


@dataclass(slots=True)
class TokenDirectory:
    """Symbols, decimals and CoinGecko ids of known tokens, from the deployments served."""

    entries: dict[tuple[int, str], TokenEntry] = field(default_factory=dict)
    by_gecko: dict[str, TokenEntry] = field(default_factory=dict)

    @classmethod
    def of(cls, deployments: Iterable[Deployment]) -> TokenDirectory:
        directory = cls()
        # Lower chain ids first, so a CoinGecko id held on several chains (USDC) maps to Ethereum's token.
        for deployment in sorted(deployments, key=lambda d: d.chain_id):
            for token in deployment.tokens.values():
                entry = TokenEntry(
                    deployment.chain_id,
                    token.address,
                    token.symbol,
                    token.decimals,
                    token.coingecko_id or _mainnet_gecko_id(deployment.chain_id, token.symbol),
                )
                directory.entries[(deployment.chain_id, token.address.lower())] = entry
                if entry.coingecko_id and entry.coingecko_id not in directory.by_gecko:
                    directory.by_gecko[entry.coingecko_id] = entry
        return directory

    def get(self, chain_id: int, address: str) -> TokenEntry | None:
        return self.entries.get((chain_id, address.lower()))


def _mainnet_gecko_id(chain_id: int, symbol: str) -> str | None:
    """The devnet's tokens stand for mainnet's: same symbol on the same chain, same CoinGecko id."""
    try:
        token = mainnet(chain_id).tokens.get(symbol)
    except UnknownName:
        return None
    return token.coingecko_id if token else None


def default_deployments() -> list[Deployment]:
    """The mainnet registry of every chain it covers."""
    out = []
    for chain_id in CHAINS:
        try:
            out.append(mainnet(chain_id))
        except UnknownName:
            continue
    return out


@dataclass(slots=True)
class ApiContext:
    settings: ApiSettings
    repo: Repository
    keys: KeyStore
    cache: BlockCache
    infos: Mapping[str, ProtocolInfo]
    tokens: TokenDirectory
    live: Live | None = None
    network: str | None = None  # "devnet" or "mainnet" when every chain served is of that kind
    deployments: Mapping[int, Deployment] = field(default_factory=dict)  # the registries served, by chain
    quoting: Mapping[int, QuoteChain] = field(default_factory=dict)  # chains /v1/quote can read
    #: Quotes being computed at once (`ApiSettings.quote_concurrency`): a full house answers 503 at once.
    quote_slots: asyncio.Semaphore = field(default_factory=lambda: asyncio.Semaphore(4))
    offchain: OffchainSource | None = None  # Snapshot's proposals for /v1/governance/proposals (off by default)
    #: Chains whose pool discovery is in memory (`serve`: the indexer's cursors, read on a quote client): a
    #: pool-scope backtest reads these instead of loading the stored discovery per request.
    pools: Mapping[int, PoolChain] = field(default_factory=dict)
    #: The grades' evaluation reports, rebuilt only when the published history changes (a year takes seconds).
    evaluations: LatestBuilds = field(default_factory=LatestBuilds)
    #: The protocol ranking (rows, latest snapshots) at the cache's version, shared by the routes built on it.
    ranking: PerVersion[tuple[list[ProtocolRow], list[ProtocolSnapshot]]] = field(default_factory=PerVersion)

    @classmethod
    def build(
        cls,
        settings: ApiSettings,
        repo: Repository,
        *,
        deployments: Iterable[Deployment] | None = None,
        infos: Mapping[str, ProtocolInfo] | None = None,
        live: Live | None = None,
        quoting: Mapping[int, QuoteChain] | None = None,
        offchain: OffchainSource | None = None,
        pools: Mapping[int, PoolChain] | None = None,
    ) -> ApiContext:
        served = default_deployments() if deployments is None else list(deployments)
        networks = {d.network for d in served} if deployments is not None else set()
        return cls(
            settings=settings,
            repo=repo,
            keys=KeyStore(repo.engine),
            cache=BlockCache(
                repo.latest_blocks,
                ttl=settings.version_ttl,
                entries=settings.cache_entries,
                max_bytes=settings.cache_bytes,
                shared=shared_cache(settings, repo),
                stale_seconds=settings.stale_seconds,
                stored_hash=repo.block_hash,
            ),
            infos={**known_protocols(), **(infos or {})},
            tokens=TokenDirectory.of(served),
            live=live,
            network=networks.pop() if len(networks) == 1 else None,
            deployments={d.chain_id: d for d in served},
            quoting=dict(quoting or {}),
            quote_slots=asyncio.Semaphore(settings.quote_concurrency),
            offchain=offchain,
            pools=dict(pools or {}),
        )

    def info(self, slug: str) -> ProtocolInfo:
        return self.infos.get(slug) or ProtocolInfo(slug=slug, name=slug, category="", methodology="")


def shared_cache(settings: ApiSettings, repo: Repository) -> SharedCache | None:
    """The Redis level of the response cache when Redis is configured (and its TTL is not 0). Its names carry
    the store's identity: two stores with the same latest blocks (tests, two deployments on one Redis) never
    read each other's answers."""
    if settings.redis_url is None or settings.shared_cache_ttl == 0:
        return None
    store = repo.engine.url.render_as_string(hide_password=True)
    namespace = f"{settings.rate_prefix}:{hashlib.blake2b(store.encode(), digest_size=8).hexdigest()}"
    return SharedCache.connect(settings.redis_url, prefix=namespace, ttl=settings.shared_cache_ttl)
