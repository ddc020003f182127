"""The aggregator: asks every price source about every token at one pinned block, and decides.

    aggregator = PriceAggregator(deployment)            # chainlink, dex, derivatives
    decisions = await aggregator.prices(Batcher(await client.snapshot()), tokens)
    decisions[weth.address].quote                       # PriceQuote(usd=Decimal("3000"), source="chainlink:ETH/USD")
    decisions[odd.address].reason                       # "chainlink: no Chainlink route for ODD; dex: ..."

How a chain is priced in two requests: in one round, the feeds (and any other plain `PriceSource`), the DEX
pool discovery and the derivative rates are issued together, so the `Batcher` sends them as one batch;
the DEX pool state follows as a second batch. Core assets are always in the first round: their feed
prices are what DEX prices are quoted in. Underlyings of derivative tokens that were not asked for
are priced in a further round (at most `MAX_DEPTH`).

Decision rules:
- the quote with the highest confidence at or above `min_confidence` wins (sources in their given order
  break ties, so feeds come first);
- any other such quote off by more than `tolerance` is flagged ("sources disagree: ...") and lowers
  the chosen confidence;
- a stale or otherwise failed feed is not used. If another source prices the token above
  `min_confidence` (a deep DEX TWAP), that price is used with its own lower confidence and a
  "fallback: ..." flag naming the feed's problem; otherwise the token is unpriced with every reason.
  A value from an independent market is better than none, and the flag plus confidence keep it honest;
- a token with no usable quote is unpriced (never 0), with each source's reason joined.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Final

from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment, TokenInfo
from defiscope.prices.base import PriceAnswer, PriceMiss, PriceSource, TokenRef
from defiscope.prices.chainlink import ChainlinkSource
from defiscope.prices.derivatives import NAME as DERIVED
from defiscope.prices.derivatives import Claim, DerivativeRule, DerivativeSource
from defiscope.prices.dex import DexBook, DexSource
from defiscope.prices.quote import PriceQuote
from defiscope.prices.wrappers import known_rules
from defiscope.protocols.surface import ContractUse, ReadsChain
from defiscope.protocols.tracked import TrackedAdapter

#: At most this many derivation hops from a plainly priced token (an LP of wstETH: LP -> wstETH -> stETH is 2).
MAX_DEPTH: Final = 3
#: The chosen quote's confidence is multiplied by this when another valid source disagrees with it.
DISAGREEMENT_PENALTY: Final = 0.8
METADATA: Final = "tokens"  # reader of symbol/decimals of unregistered underlyings

#: The DEX and derivative sources are driven in phases (they need other tokens' prices); any other
#: `PriceSource` (chainlink, coingecko, ...) is asked once per round.
AnySource = PriceSource | DexSource | DerivativeSource
METADATA_READS: Final = ("decimals()(uint8)", "symbol()(string)")


@dataclass(frozen=True, slots=True)
class PriceDecision:
    """The aggregator's verdict on one token, with everything `explain` needs."""

    token: TokenRef
    quote: PriceQuote | None  # the chosen price, or None (unpriced)
    reason: str | None  # why unpriced (set iff quote is None): each source's miss, joined
    answers: tuple[PriceAnswer, ...]  # every source's answer
    flags: tuple[str, ...] = ()


@dataclass(slots=True)
class _Run:
    """State of one `prices` call: what each source said, per token address."""

    refs: dict[str, TokenRef]
    answers: dict[str, list[tuple[str, PriceAnswer]]] = field(default_factory=dict)
    claims: dict[str, Claim | PriceMiss] = field(default_factory=dict)
    core_prices: dict[str, PriceQuote] = field(default_factory=dict)
    decisions: dict[str, PriceDecision] = field(default_factory=dict)
    deciding: set[str] = field(default_factory=set)
    #: derivation hops below each decided token (0 when priced directly)
    hops: dict[str, int] = field(default_factory=dict)

    def add(self, source: str, answers: dict[str, PriceAnswer]) -> None:
        for address, answer in answers.items():
            self.answers.setdefault(address, []).append((source, answer))


class PriceAggregator:
    """Prices tokens from several sources at one block; see the module docstring for the rules."""

    def __init__(
        self,
        deployment: Deployment,
        sources: Sequence[AnySource] | None = None,
        *,
        tolerance: Decimal = Decimal("0.02"),
        min_confidence: float = 0.5,
        rules: Sequence[DerivativeRule] | None = None,
    ) -> None:
        """`rules` feed the default derivative source (default: `known_rules`, e.g. wstETH -> stETH);
        with explicit `sources`, pass a configured `DerivativeSource` among them instead."""
        if rules is None:
            rules = known_rules(deployment)
        chosen: tuple[AnySource, ...] = (
            tuple(sources)
            if sources is not None
            else (ChainlinkSource(deployment), DexSource(deployment), DerivativeSource(deployment, rules))
        )
        self.deployment = deployment
        self.sources = chosen
        self.plain: tuple[PriceSource, ...] = tuple(
            s for s in chosen if not isinstance(s, DexSource | DerivativeSource)
        )
        self.dex = next((s for s in chosen if isinstance(s, DexSource)), None)
        self.derivatives = next((s for s in chosen if isinstance(s, DerivativeSource)), None)
        self.tolerance = tolerance
        self.min_confidence = min_confidence
        #: The readers of the latest `prices` call, by source name: what each source read, for provenance.
        self.readers: dict[str, Reader] = {}

    def follow(self, dexes: Mapping[str, TrackedAdapter]) -> None:
        """Price from these followed DEX adapters (by slug: the shared DEX state's) instead of re-reading their
        pools; none: the DEX source reads its own (`prices.dex`)."""
        if self.dex is not None:
            self.dex.followed = dexes

    def surface(self) -> tuple[ContractUse, ...]:
        """What the on-chain sources read (CoinGecko reads no chain), plus unknown tokens' metadata."""
        uses = [use for source in self.sources if isinstance(source, ReadsChain) for use in source.surface()]
        uses.append(ContractUse("token outside the registry (metadata)", "common/ERC20", METADATA_READS))
        return tuple(uses)

    async def prices(self, batcher: Batcher, tokens: Sequence[TokenRef]) -> dict[str, PriceDecision]:
        self.readers = {s.name: batcher.reader(f"prices:{s.name}") for s in self.sources}
        self.readers[METADATA] = batcher.reader(f"prices:{METADATA}")
        run = _Run({t.address: t for t in tokens})
        frontier = self._first_round(run, tokens)
        for depth in range(MAX_DEPTH + 1):
            await self._round(run, frontier)
            unknown = self._unknown_underlyings(run)
            if not unknown or depth == MAX_DEPTH:
                break
            frontier = await self._metadata(unknown)
            run.refs.update({t.address: t for t in frontier})
        return {t.address: self._decide(run, t.address) for t in tokens}

    # ---------------------------------------------------------------- reading

    def _first_round(self, run: _Run, tokens: Sequence[TokenRef]) -> list[TokenRef]:
        """The asked tokens plus the core assets and the rules' underlyings, priced in the same batch."""
        extra = list(self.deployment.core_tokens)
        if self.derivatives is not None:
            extra += [i for a in self.derivatives.static_underlyings() if (i := self.deployment.token_at(a))]
        for info in extra:
            run.refs.setdefault(info.address, _ref(self.deployment.chain_id, info))
        return list({**{t.address: t for t in tokens}, **run.refs}.values())

    async def _round(self, run: _Run, frontier: list[TokenRef]) -> None:
        """One round: every source on the frontier, started together so their reads share batches."""
        plain, book, claims = await asyncio.gather(
            asyncio.gather(*(s.prices(self.readers[s.name], frontier) for s in self.plain)),
            self._observe_dex(frontier),
            self._observe_derivatives(frontier),
        )
        for source, answers in zip(self.plain, plain, strict=True):
            run.add(source.name, answers)
        for core in self.deployment.core_tokens:
            if core.address not in run.core_prices and (best := self._best(run, core.address)) is not None:
                run.core_prices[core.address] = best
        if self.dex is not None and book is not None:
            run.add(self.dex.name, self.dex.quote(book, frontier, run.core_prices))
        run.claims.update(claims)

    async def _observe_dex(self, frontier: list[TokenRef]) -> DexBook | None:
        if self.dex is None:
            return None
        return await self.dex.observe(self.readers[self.dex.name], frontier)

    async def _observe_derivatives(self, frontier: list[TokenRef]) -> dict[str, Claim | PriceMiss]:
        if self.derivatives is None:
            return {}
        return await self.derivatives.observe(self.readers[self.derivatives.name], frontier)

    def _unknown_underlyings(self, run: _Run) -> list[str]:
        if self.derivatives is None:
            return []
        return sorted(u for u in self.derivatives.underlyings(run.claims) if u not in run.refs)

    async def _metadata(self, addresses: Sequence[str]) -> list[TokenRef]:
        """Symbol and decimals of tokens outside the registry (underlyings of LP tokens)."""
        calls = [Call.of(a, sig) for a in addresses for sig in METADATA_READS]
        results = await self.readers[METADATA].call_many(calls)
        refs = []
        for i, address in enumerate(addresses):
            decimals, symbol = results[2 * i], results[2 * i + 1]
            if decimals.success:  # without decimals an amount means nothing; the token stays unpriced
                name = str(symbol.one()) if symbol.success else address
                refs.append(TokenRef(self.deployment.chain_id, address, name, int(decimals.one())))
        return refs

    # ---------------------------------------------------------------- deciding

    def _best(self, run: _Run, address: str) -> PriceQuote | None:
        """The best plain-source quote of a core asset: what DEX prices are quoted in."""
        quotes = [a for _, a in run.answers.get(address, []) if isinstance(a, PriceQuote)]
        eligible = [q for q in quotes if q.confidence >= self.min_confidence]
        return max(eligible, key=lambda q: q.confidence) if eligible else None

    def _decide(self, run: _Run, address: str) -> PriceDecision:
        """Decide a token, deciding its underlyings first (memoized; cycles and deep chains miss)."""
        if address in run.decisions:
            return run.decisions[address]
        if address in run.deciding:
            return PriceDecision(run.refs[address], None, "derivation cycle", ())
        run.deciding.add(address)
        answers = list(run.answers.get(address, []))
        claim = run.claims.get(address)
        if isinstance(claim, Claim):
            answers.append((DERIVED, self._derive(run, claim)))
        elif isinstance(claim, PriceMiss):
            answers.append((DERIVED, claim))
        decision = self._choose(run.refs[address], answers)
        run.deciding.discard(address)
        run.decisions[address] = decision
        derived = decision.quote is not None and decision.quote.source.startswith(f"{DERIVED}:")
        run.hops[address] = (
            1 + max((run.hops.get(u, 0) for u in claim.underlyings), default=0)
            if derived and isinstance(claim, Claim)
            else 0
        )
        return decision

    def _derive(self, run: _Run, claim: Claim) -> PriceAnswer:
        decided = {}
        for u in claim.underlyings:
            if u in run.refs and (quote := self._decide(run, u).quote) is not None:
                decided[u] = quote
        # Hops are counted below the token, so the answer does not depend on which token was asked first.
        if any(run.hops.get(u, 0) >= MAX_DEPTH for u in decided):
            return PriceMiss(DERIVED, f"{claim.label}: nested deeper than {MAX_DEPTH} levels")
        assert self.derivatives is not None
        return self.derivatives.quote({claim.token: claim}, run.refs, decided, self.deployment.chain_id)[claim.token]

    def _choose(self, token: TokenRef, answers: list[tuple[str, PriceAnswer]]) -> PriceDecision:
        every = tuple(a for _, a in answers)
        ranked = [
            (i, a)
            for i, (_, a) in enumerate(answers)
            if isinstance(a, PriceQuote) and a.confidence >= self.min_confidence
        ]
        if not ranked:
            return PriceDecision(token, None, self._why_unpriced(every), every)
        index, chosen = min(ranked, key=lambda r: (-r[1].confidence, r[0]))
        assert isinstance(chosen, PriceQuote)
        flags = [self._fallback(token, s, a) for s, a in answers[:index] if isinstance(a, PriceMiss)]
        disagreements = [self._disagreement(chosen, q) for i, q in ranked if i != index]
        found = [d for d in disagreements if d is not None]
        if found:
            chosen = replace(chosen, confidence=round(chosen.confidence * DISAGREEMENT_PENALTY, 4))
        return PriceDecision(token, chosen, None, every, tuple(f for f in flags if f) + tuple(found))

    def _why_unpriced(self, answers: tuple[PriceAnswer, ...]) -> str:
        reasons = [
            f"{a.source}: {a.reason}"
            if isinstance(a, PriceMiss)
            else f"{a.source}: confidence {a.confidence} below the minimum {self.min_confidence}"
            for a in answers
        ]
        return "; ".join(reasons) or "no price source answered for this token"

    def _fallback(self, token: TokenRef, source: str, miss: PriceMiss) -> str | None:
        """A flag when a source that covers the token (a feed with a route) failed and a later one was used."""
        covers = next((getattr(s, "covers", None) for s in self.plain if s.name == source), None)
        if covers is None or not covers(token):
            return None
        return f"fallback: {miss.source} unusable ({miss.reason})"

    def _disagreement(self, chosen: PriceQuote, other: PriceAnswer) -> str | None:
        assert isinstance(other, PriceQuote)
        deviation = abs(other.usd - chosen.usd) / chosen.usd
        if deviation <= self.tolerance:
            return None
        return (
            f"sources disagree: {chosen.source} {_short(chosen.usd)} vs {other.source} {_short(other.usd)} "
            f"({deviation * 100:.1f}% > {self.tolerance * 100:.1f}%)"
        )


def _ref(chain_id: int, info: TokenInfo) -> TokenRef:
    return TokenRef(chain_id, info.address, info.symbol, info.decimals)


def _short(usd: Decimal) -> str:
    """A price for a message: 6 significant digits, no exponent."""
    return format(usd.quantize(Decimal(1).scaleb(usd.adjusted() - 5)).normalize(), "f")
