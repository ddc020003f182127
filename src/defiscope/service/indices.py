"""What `serve`, the API and the CLI hand the indices: the live tracking hook and backtests over a chain target.

    hook = index_hook(repo, targets)                      # serve: every index on every chain listing its hub
    Indexer(engines, repo, hooks=(alerts, hook))
    main, *variants = run_backtests(repo, target, definition, None, None, BacktestOptions(), None, [30])

Trades route through the chain's hub (`hubs`: WETH on Ethereum, WBNB on BNB Chain). A chain's venue reads its
pools (`service.pools`), base fees and supplies at each rebalance block; the store gives
the blocks, prices and TVL (`analytics.indices.history`), and keeps the live values (`store.indices`).
"""

from __future__ import annotations

from collections.abc import Sequence
from fractions import Fraction
from functools import partial
from pathlib import Path

from defiscope.analytics.indices.backtest import Backtest, BacktestOptions, Venue, run_backtest
from defiscope.analytics.indices.definition import IndexDefinition
from defiscope.analytics.indices.history import Listing, StoreHistory, SupplySource, listings_for
from defiscope.analytics.indices.hooks import IndexHook
from defiscope.analytics.indices.hubs import hub_symbols, on_chain
from defiscope.analytics.indices.live import HistoryOpener, IndexTracker
from defiscope.analytics.indices.loader import configured_definitions, load_definitions
from defiscope.analytics.indices.venue import ChainVenue, FixedFeeVenue, decimals_of
from defiscope.chain.client import ChainClient
from defiscope.deployments import Deployment
from defiscope.errors import InputError
from defiscope.routing.load import PoolRef
from defiscope.service.context import ChainTarget
from defiscope.service.pools import pool_refs
from defiscope.store import Repository
from defiscope.store.indices import IndexValueStore


def index_hook(repo: Repository, targets: Sequence[ChainTarget], directory: Path | None = None) -> IndexHook:
    """Every definition (of `directory`; default: `loader.configured_definitions`) tracked on every chain whose
    registry lists its hub, one venue per chain; the hook is registered for the store's rollbacks."""
    definitions = configured_definitions() if directory is None else load_definitions(directory)
    values = IndexValueStore(repo.engine)
    trackers: dict[int, list[IndexTracker]] = {}
    venues: list[ChainVenue] = []
    for target in targets:
        venue = tracking_venue(target)
        if venue is None:
            continue
        venues.append(venue)
        trackers[target.chain_id] = [index_tracker(repo, target, d, venue, values) for d in definitions.values()]
    hook = IndexHook(trackers, closers=[v.close for v in venues])
    repo.on_rollback(hook.on_rollback)
    return hook


def tracked_indices(chain_id: int, deployment: Deployment, directory: Path | None = None) -> tuple[str, ...]:
    """The ids of the indices tracked on the chain: every definition, if its registry lists the hub."""
    if deployment.tokens.get(on_chain(BacktestOptions(), chain_id).hub) is None:
        return ()
    return tuple(configured_definitions() if directory is None else load_definitions(directory))


def tracking_venue(target: ChainTarget) -> ChainVenue | None:
    """The venue indices trade on along the chain, or None if its registry lists no hub (no index tracked there)."""
    options = on_chain(BacktestOptions(), target.chain_id)
    if target.deployment.tokens.get(options.hub) is None:
        return None
    return ChainVenue(target.deployment, target.rpc_urls, partial(_refs, target=target))


def index_tracker(
    repo: Repository, target: ChainTarget, definition: IndexDefinition, venue: ChainVenue, values: IndexValueStore
) -> IndexTracker:
    """A live tracker of `definition` on the chain (it resumes from what the store holds at its first step)."""
    options = on_chain(BacktestOptions(), target.chain_id)
    opener = _opener(repo, target, definition, venue, options)
    return IndexTracker(definition, target.chain_id, opener, venue, decimals_of(target.deployment), values, options)


def run_backtests(
    repo: Repository,
    target: ChainTarget,
    definition: IndexDefinition,
    from_block: int | None,
    to_block: int | None,
    options: BacktestOptions,
    fixed_fee_bp: int | None = None,
    compare_fee_bp: Sequence[int] = (),
) -> list[Backtest]:
    """The backtest asked (exact quotes, or `fixed_fee_bp`), then one per fixed-fee variant, on the same history;
    trades route through the chain's hub."""
    options = on_chain(options, target.chain_id)
    with ChainVenue(target.deployment, target.rpc_urls, partial(_refs, target=target)) as chain_venue:
        history = _opener(repo, target, definition, chain_venue, options)(from_block, to_block)
        venue: Venue = chain_venue if fixed_fee_bp is None else FixedFeeVenue(Fraction(fixed_fee_bp, 10_000))
        venues = [venue, *(FixedFeeVenue(Fraction(bp, 10_000)) for bp in compare_fee_bp)]
        points, decimals = history.points(), decimals_of(target.deployment)
        return [run_backtest(definition, points, decimals, history, v, options) for v in venues]


def needs_mcap(definition: IndexDefinition) -> bool:
    return definition.weighting.method in ("mcap", "sqrt-mcap") or definition.eligibility.rank_by == "mcap"


def _opener(
    repo: Repository, target: ChainTarget, definition: IndexDefinition, venue: ChainVenue, options: BacktestOptions
) -> HistoryOpener:
    """The stored history of the index's candidates on the chain, from `first` to `last`, as of each block."""
    deployment = target.deployment
    hub = deployment.tokens.get(options.hub)
    if hub is None:
        raise InputError(f"chain {target.chain_id} lists no {options.hub} to trade through", field="chain")
    listings = listings_for(deployment, definition)
    named = {item.symbol for item in listings}
    extra = [
        Listing(symbol, "Hub", (), info.address, info.decimals)
        for symbol in hub_symbols(options)
        if symbol not in named and (info := deployment.tokens.get(symbol)) is not None
    ]
    supplies: SupplySource | None = venue.supply if needs_mcap(definition) else None

    def opened(first: int | None, last: int | None) -> StoreHistory:
        return StoreHistory.load(repo, deployment, listings, first, last, supplies, extra=extra)

    return opened


async def _refs(client: ChainClient, *, target: ChainTarget) -> list[PoolRef]:
    return await pool_refs(client, target, [])
