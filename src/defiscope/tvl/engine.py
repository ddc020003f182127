"""The TVL engine: at one pinned block, every adapter of a chain, their tokens' prices, and the values.

    engine = TvlEngine(client, deployment, adapters_for(deployment), PriceAggregator(deployment))
    result = await engine.snapshot()            # or snapshot(19_000_000)
    for snap in result.snapshots: print(snap.slug, snap.total(BalanceKind.TVL))
    result.failures                             # protocols that could not be read, and why (never a 0)
    snap.uncounted                              # positions left out (unreadable, blacklisted, long tail), and why

All adapters share one `Batcher`, so their reads go out together; the feeds of the deployment's known
tokens are read in that same batch, and only prices of tokens discovered on the way cost another.
"""

from __future__ import annotations

import asyncio
from collections.abc import Collection, Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from typing import Protocol

import structlog

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.feed import LogFeed
from defiscope.chain.pinning import LogForecast, PinRequest, pin_request, pin_with_logs
from defiscope.chain.reader import Batcher, Reader
from defiscope.chain.tokens import DECIMALS, SYMBOL, SYMBOL_BYTES32, TokenBook, TokenRef
from defiscope.deployments import Deployment
from defiscope.errors import DefiscopeError
from defiscope.prices.aggregator import PriceAggregator, PriceDecision
from defiscope.protocols.base import Adapter, AdapterResult, Position
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.tracked import Mismatch, TrackedAdapter, prefetch_logs
from defiscope.protocols.yields import EVERY_MARKET, Yield, YieldGap
from defiscope.tvl.model import ProtocolSnapshot
from defiscope.tvl.policy import Left, LongTailPolicy
from defiscope.tvl.valuation import not_counted, token_values

log = structlog.get_logger(__name__)


class SharedDex(Protocol):
    """The chain's DEX state shared with the quotes (`routing.dex_state.DexState`, wired by `serve`): each snapshot
    advances it in its batches, and DEX prices read its followed DEXes. A protocol, so data flows one way: the
    engine does not import routing."""

    @property
    def dexes(self) -> Mapping[str, TrackedAdapter]: ...

    async def prefetch(self, batcher: Batcher, readers: Mapping[str, Reader]) -> None: ...

    async def advance(self, batcher: Batcher, readers: Mapping[str, Reader] | None = None) -> None: ...


@dataclass(frozen=True, slots=True)
class ProtocolFailure:
    """A protocol that could not be read at a block: shown as failing with this reason, never as 0."""

    slug: str
    chain_id: int
    block: BlockRef
    reason: str


@dataclass(frozen=True, slots=True)
class ChainTvl:
    block: BlockRef
    snapshots: tuple[ProtocolSnapshot, ...]
    failures: tuple[ProtocolFailure, ...]
    prices: Mapping[str, PriceDecision]
    yields: tuple[Yield, ...] = ()  # the adapters' rates at this block (supply, borrow, staking)
    yields_unavailable: tuple[YieldGap, ...] = ()  # rates that could not be read at this block, and why


@dataclass(frozen=True, slots=True)
class Reconciliation:
    """A full re-read of every tracked protocol compared with its state followed from events, at one block."""

    block: BlockRef
    checked: tuple[str, ...]  # slugs reconciled
    mismatches: tuple[Mismatch, ...]  # each an error: logged, and the tracked value corrected
    failures: tuple[ProtocolFailure, ...]  # protocols that could not be reconciled, and why


class TvlEngine:
    """Computes every protocol's holdings on one chain at one block."""

    def __init__(
        self,
        client: ChainClient,
        deployment: Deployment,
        adapters: Sequence[Adapter],
        pricer: PriceAggregator,
        *,
        feed: LogFeed | None = None,
        policy: LongTailPolicy | None = None,
        dex: SharedDex | None = None,
    ) -> None:
        self.client = client
        self.feed = feed  # the chain's log feed, shared with the routing tracker in `serve`
        #: The chain's DEX state, shared with /v1/quote in `serve`: each snapshot advances it in its batches.
        self.dex = dex
        self.deployment = deployment
        self.adapters = list(adapters)
        self.pricer = pricer
        self.policy = policy or LongTailPolicy()
        for adapter in self.adapters:
            if isinstance(adapter, TrackedAdapter) and self.policy.defillama:
                adapter.per_pool = True  # DefiLlama's long-tail rule weighs each pool's two sides
        self.core_assets = frozenset(
            t.address for symbol, t in deployment.tokens.items() if symbol in self.policy.core_symbols
        )
        self.tokens = TokenBook(
            deployment.chain_id,
            [TokenRef(deployment.chain_id, t.address, t.symbol, t.decimals) for t in deployment.tokens.values()],
        )
        #: The log filters the last snapshot (of each set of protocols) asked: read with the next block's header.
        self.forecast = LogForecast()

    def surface(self) -> tuple[ContractUse, ...]:
        """Everything a snapshot reads: the adapters', the price sources' and token metadata."""
        metadata = (
            ContractUse("token held (metadata, read once)", "common/ERC20", (DECIMALS, SYMBOL)),
            ContractUse("token with a bytes32 symbol (DSToken, e.g. MKR)", "common/DSToken", (SYMBOL_BYTES32,)),
        )
        return (*(u for a in self.adapters for u in a.surface()), *self.pricer.surface(), *metadata)

    @property
    def slugs(self) -> list[str]:
        return [a.info.slug for a in self.adapters]

    async def snapshot(
        self, at: int | str = "latest", *, slugs: Collection[str] | None = None, pin: Batcher | None = None
    ) -> ChainTvl:
        """Every protocol's TVL at block `at`; `pin`: that block already pinned (from `pin_request`'s answers)."""
        batcher = pin if pin is not None else await self._pin(at, slugs)
        pinned = batcher.snapshot
        chosen = [a for a in self.adapters if slugs is None or a.info.slug in slugs]
        readers = [batcher.reader(a.info.slug) for a in chosen]
        by_slug = {a.info.slug: r for a, r in zip(chosen, readers, strict=True)}
        dex_prefetch = [self.dex.prefetch(batcher, by_slug)] if self.dex is not None else []
        # With a shared DEX state, DEX prices come from its followed DEXes (one follower, one set of reads).
        self.pricer.follow({} if self.dex is None else self.dex.dexes)
        # Every adapter's new logs first, in one request (a failure there is met again, and reported, by the
        # adapter's own read): the reads that depend on them then go out with all the others in one multicall.
        await asyncio.gather(
            *(prefetch_logs(a, r) for a, r in zip(chosen, readers, strict=True)), *dex_prefetch, return_exceptions=True
        )
        # Adapters, the shared DEX state and the prices of every token already known (the registry's, and all
        # held before) go out in the same batch; only tokens never seen before cost another round.
        outcomes, known_prices, _ = await asyncio.gather(
            asyncio.gather(*(a.read(r) for a, r in zip(chosen, readers, strict=True)), return_exceptions=True),
            self.pricer.prices(batcher, self.tokens.known()),
            self._advance_dex(batcher, by_slug),
        )
        results: list[AdapterResult] = []
        failures: list[ProtocolFailure] = []
        for adapter, outcome in zip(chosen, outcomes, strict=True):
            if isinstance(outcome, AdapterResult):
                results.append(outcome)
            elif isinstance(outcome, DefiscopeError):
                failures.append(ProtocolFailure(adapter.info.slug, self.client.chain_id, pinned.block, str(outcome)))
            elif isinstance(outcome, Exception):
                # A bug in one adapter must not hide every other protocol; it is logged with its traceback.
                log.error("adapter.crashed", slug=adapter.info.slug, exc_info=outcome)
                reason = f"adapter error {type(outcome).__name__}: {outcome}"
                failures.append(ProtocolFailure(adapter.info.slug, self.client.chain_id, pinned.block, reason))
            else:
                raise outcome
        results = _mark_receipts(results, self.adapters)
        ruled = [self._apply_policy(r) for r in results]
        tokens = {p.token for _, kept, left in ruled for p in [*kept, *(item.position for item in left)]}
        tokens |= {u.token for r in results for u in r.uncounted if u.token is not None}
        refs = await self.tokens.resolve(batcher.reader("tokens"), tokens)
        prices = dict(known_prices)
        new_tokens = [r for a, r in refs.items() if isinstance(r, TokenRef) and a not in prices]
        if new_tokens:
            prices.update(await self.pricer.prices(batcher, new_tokens))
        snapshots = tuple(
            ProtocolSnapshot(
                slug=r.protocol.slug,
                chain_id=self.client.chain_id,
                block=r.block,
                tokens=token_values(kept, refs, prices),
                calls=r.calls,
                uncounted=not_counted(r.uncounted, left, refs, prices),
            )
            for r, kept, left in ruled
        )
        rates = tuple(y for r in results for y in r.yields)
        self.forecast.learn(_forecast_key(slugs), batcher)
        return ChainTvl(pinned.block, snapshots, tuple(failures), prices, rates, _yield_gaps(results, failures, chosen))

    def pin_request(self, at: int) -> PinRequest:
        """Block `at`'s header and the logs this engine's next snapshot of every protocol will ask, as calls another
        batch can carry (the follower's poll); its answers make the `pin` of `snapshot`."""
        return pin_request(self.client, at, self.forecast.queries(_forecast_key(None), at), feed=self.feed)

    async def _pin(self, at: int | str, slugs: Collection[str] | None) -> Batcher:
        """The snapshot's batcher. A block asked by number is pinned in one request with the logs the last
        snapshot's filters ask since then (`chain.pinning`); "latest" is pinned alone (its logs could not be
        asked up to a number the header has not named yet)."""
        if isinstance(at, str):
            return Batcher(await self.client.snapshot(at), feed=self.feed)
        queries = self.forecast.queries(_forecast_key(slugs), at)
        return await pin_with_logs(self.client, at, queries, feed=self.feed)

    async def _advance_dex(self, batcher: Batcher, readers: Mapping[str, Reader]) -> None:
        """Move the shared DEX state to the snapshot's block; a failure is logged (the adapters' own reads
        report theirs) and the quote side's next read at this block tries again."""
        if self.dex is None:
            return
        chain_id, block = self.client.chain_id, batcher.block.number
        try:
            await self.dex.advance(batcher, readers)
        except DefiscopeError as exc:
            log.warning("dex_state.advance_failed", chain_id=chain_id, block=block, error=str(exc))
        except Exception as exc:  # a bug there must not hide every protocol's figure; logged with its traceback
            log.error("dex_state.crashed", chain_id=chain_id, block=block, exc_info=exc)

    async def reconcile(
        self, at: int | str = "latest", *, slugs: Collection[str] | None = None, start: int | None = None
    ) -> Reconciliation:
        """Re-read every tracked protocol in full at one block and compare with its tracked state there.

        ``start``: an adapter with no tracked state yet (a fresh process) loads it at that block first, so what
        is checked is the state followed from the logs of (start, at]."""
        chosen = [a for a in self.adapters if isinstance(a, TrackedAdapter) and (slugs is None or a.info.slug in slugs)]
        pinned = await self.client.snapshot(at)
        if start is not None:
            earlier = Batcher(await self.client.snapshot(start))
            await asyncio.gather(*(a.positions(earlier.reader(a.info.slug)) for a in chosen if a.state is None))
        batcher = Batcher(pinned)
        outcomes = await asyncio.gather(
            *(a.reconcile(batcher.reader(f"{a.info.slug}:reconcile")) for a in chosen), return_exceptions=True
        )
        mismatches: list[Mismatch] = []
        failures: list[ProtocolFailure] = []
        for adapter, outcome in zip(chosen, outcomes, strict=True):
            if isinstance(outcome, DefiscopeError):
                failures.append(ProtocolFailure(adapter.info.slug, self.client.chain_id, pinned.block, str(outcome)))
            elif isinstance(outcome, BaseException):
                raise outcome
            else:
                mismatches += outcome
        checked = tuple(a.info.slug for a in chosen)
        return Reconciliation(pinned.block, checked, tuple(mismatches), tuple(failures))

    def _apply_policy(self, result: AdapterResult) -> tuple[AdapterResult, list[Position], list[Left]]:
        kept, left = self.policy.apply(
            self.client.chain_id, result.protocol.category, result.positions, core=self.core_assets
        )
        return result, kept, left


def _forecast_key(slugs: Collection[str] | None) -> frozenset[str] | None:
    """Snapshots of different protocol sets (a backfill of one protocol) ask different filters."""
    return None if slugs is None else frozenset(slugs)


def _yield_gaps(
    results: Sequence[AdapterResult], failures: Sequence[ProtocolFailure], adapters: Sequence[Adapter]
) -> tuple[YieldGap, ...]:
    """The adapters' missing rates, and every rate of a protocol that could not be read at all: the block
    is then stored with the gap, so an older block's rates are not served as this one's."""
    with_rates = {a.info.slug for a in adapters if a.reads_yields()}
    failed = tuple(
        YieldGap(f.slug, EVERY_MARKET, reason=f"the protocol could not be read: {f.reason}")
        for f in failures
        if f.slug in with_rates
    )
    return tuple(g for r in results for g in r.yields_unavailable) + failed


def _mark_receipts(results: list[AdapterResult], adapters: Sequence[Adapter]) -> list[AdapterResult]:
    """Mark positions whose token another protocol issued (its LP token, aToken, ...) as receipts of it.

    Looked up per held token in each issuer's set (a DEX issues one LP token per pair: 400,000 on mainnet, not to
    be copied every block); the last adapter issuing a token is its issuer."""
    issued = [(a.info.slug, _as_set(a.receipt_tokens())) for a in reversed(adapters)]

    def issuer(token: str, own: str) -> str | None:
        found = next((slug for slug, tokens in issued if token in tokens), None)
        return None if found == own else found

    marked = []
    for r in results:
        positions = tuple(
            replace(p, receipt_of=by) if p.receipt_of is None and (by := issuer(p.token, r.protocol.slug)) else p
            for p in r.positions
        )
        marked.append(replace(r, positions=positions))
    return marked


def _as_set(tokens: Collection[str]) -> AbstractSet[str]:
    return tokens if isinstance(tokens, AbstractSet) else frozenset(tokens)
