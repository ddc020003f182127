"""Chainlink feeds: USD prices from `latestRoundData`, checked for sign, completeness, staleness and the L2
sequencer, multiplied exactly along the deployment's price route.

    source = ChainlinkSource(deployment)
    answers = await source.prices(batcher.reader("prices:chainlink"), tokens)
    answers[weth.address]   # PriceQuote(usd=Decimal("3000"), source="chainlink:ETH/USD", confidence=0.99, ...)
                            # or PriceMiss("chainlink", "stale: ETH/USD updated 7200 s ago, heartbeat 3600 s")

Every feed of every route, plus the sequencer feed, is read in one batch; `decimals()` is read with the
first batch and remembered (it is immutable on Chainlink aggregators).

The checks, as pure functions over `Round`:

    >>> r = Round(round_id=5, answer=300_000_000_000, started_at=100, updated_at=100, answered_in_round=5)
    >>> round_problem("ETH/USD", r, heartbeat=3600, now=200) is None
    True
    >>> round_problem("ETH/USD", r, heartbeat=3600, now=7300)
    'stale: ETH/USD updated 7200 s ago, heartbeat 3600 s'
    >>> feed_usd(r, decimals=8)
    Decimal('3000.00000000')
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, localcontext
from typing import Final

from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.deployments import Deployment, FeedInfo
from defiscope.prices.base import PriceAnswer, PriceMiss, TokenRef
from defiscope.prices.quote import PriceQuote
from defiscope.protocols.surface import ContractUse

NAME: Final = "chainlink"
CONFIDENCE: Final = 0.99
#: After the sequencer comes back up, prices wait this long (Chainlink's recommended grace period), so
#: positions that could not be managed while it was down are not judged on the first post-outage prices.
SEQUENCER_GRACE: Final = 3600
LATEST_ROUND: Final = "latestRoundData()(uint80,int256,uint256,uint256,uint80)"
DECIMALS: Final = "decimals()(uint8)"
FEED_INTERFACE: Final = "chainlink/AggregatorV3Interface"
#: Enough digits that multiplying a route's answers (each <= 77 digits) never rounds.
_EXACT: Final = 200


@dataclass(frozen=True, slots=True)
class Round:
    """One `latestRoundData()` answer."""

    round_id: int
    answer: int
    started_at: int
    updated_at: int
    answered_in_round: int

    @staticmethod
    def of(values: tuple[int, int, int, int, int]) -> Round:
        return Round(*values)


def round_problem(pair: str, r: Round, *, heartbeat: int, now: int) -> str | None:
    """Why this round must not be used, or None. `now` is the pinned block's timestamp."""
    if r.answer <= 0:
        return f"{pair} answered {r.answer} (round {r.round_id}); a price must be positive"
    if r.updated_at == 0 or r.answered_in_round < r.round_id:
        return f"{pair} round {r.round_id} is incomplete (answered in round {r.answered_in_round})"
    age = now - r.updated_at
    if age > heartbeat:
        return f"stale: {pair} updated {age} s ago, heartbeat {heartbeat} s"
    return None


def feed_usd(r: Round, decimals: int) -> Decimal:
    """The answer as a Decimal, exactly (`scaleb` only moves the exponent)."""
    return Decimal(r.answer).scaleb(-decimals)


def route_usd(parts: Sequence[Decimal]) -> Decimal:
    """The product of a route's answers, e.g. WBTC/BTC * BTC/USD, without rounding."""
    with localcontext(prec=_EXACT) as ctx:
        product = Decimal(1)
        for part in parts:
            product = ctx.multiply(product, part)
        return product


def sequencer_problem(r: Round, *, now: int, grace: int = SEQUENCER_GRACE) -> str | None:
    """Chainlink's L2 sequencer-uptime feed: answer 0 = up, 1 = down; `started_at` = when that status began."""
    if r.started_at == 0:
        return "sequencer down or unknown: the uptime feed is unreadable or has no valid round"
    if r.answer != 0:
        return f"sequencer down since {r.started_at} ({now - r.started_at} s ago)"
    if now - r.started_at <= grace:
        return f"sequencer down until {now - r.started_at} s ago; grace period {grace} s"
    return None


class ChainlinkSource:
    """Prices the tokens that have a `price_routes` entry in the deployment."""

    name: str = NAME

    def __init__(self, deployment: Deployment, *, sequencer_grace: int = SEQUENCER_GRACE) -> None:
        self.deployment = deployment
        self.sequencer_grace = sequencer_grace
        self._decimals: dict[str, int] = {}  # feed address -> decimals(), read once

    def surface(self) -> tuple[ContractUse, ...]:
        feeds = [
            ContractUse(f"{f.pair} feed", FEED_INTERFACE, (LATEST_ROUND, DECIMALS), address=f.address)
            for f in self.deployment.feeds.values()
        ]
        sequencer = self.deployment.sequencer_feed
        if sequencer is not None:
            feeds.append(ContractUse("L2 sequencer uptime feed", FEED_INTERFACE, (LATEST_ROUND,), address=sequencer))
        return tuple(feeds)

    def routes(self, tokens: Sequence[TokenRef]) -> dict[str, tuple[FeedInfo, ...]]:
        """Token address -> its route's feeds, for the tokens that have one."""
        found: dict[str, tuple[FeedInfo, ...]] = {}
        for token in tokens:
            info = self.deployment.token_at(token.address)
            pairs = self.deployment.price_routes.get(info.symbol) if info else None
            if pairs:
                found[token.address] = tuple(self.deployment.feeds[p] for p in pairs)
        return found

    def covers(self, token: TokenRef) -> bool:
        """Whether the deployment has a feed route for the token (a miss then is a failure, not a gap)."""
        return bool(self.routes([token]))

    async def prices(self, reader: Reader, tokens: Sequence[TokenRef]) -> dict[str, PriceAnswer]:
        routes = self.routes(tokens)
        feeds = {f.address: f for route in routes.values() for f in route}
        rounds, sequencer = await self._read(reader, list(feeds))
        now = reader.block.timestamp
        down = sequencer_problem(sequencer, now=now, grace=self.sequencer_grace) if sequencer else None
        answers: dict[str, PriceAnswer] = {}
        for token in tokens:
            route = routes.get(token.address)
            if route is None:
                answers[token.address] = PriceMiss(NAME, f"no Chainlink route for {token.symbol}")
            elif down is not None:
                answers[token.address] = PriceMiss(NAME, down)
            else:
                answers[token.address] = self._quote(reader, token, route, rounds, now)
        return answers

    def _quote(
        self, reader: Reader, token: TokenRef, route: tuple[FeedInfo, ...], rounds: Mapping[str, Round | str], now: int
    ) -> PriceAnswer:
        parts: list[Decimal] = []
        for feed in route:
            r = rounds[feed.address]
            if isinstance(r, str):
                return PriceMiss(NAME, f"{feed.pair} feed {feed.address}: {r}")
            problem = round_problem(feed.pair, r, heartbeat=feed.heartbeat, now=now)
            if problem is not None:
                return PriceMiss(NAME, f"{problem} (feed {feed.address})")
            parts.append(feed_usd(r, self._decimals[feed.address]))
        oldest = min(r.updated_at for f in route if isinstance(r := rounds[f.address], Round))
        return PriceQuote(
            chain_id=reader.chain_id,
            token=token.address,
            usd=route_usd(parts),
            source=f"{NAME}:" + "*".join(f.pair for f in route),
            timestamp=oldest,
            confidence=CONFIDENCE,
            block_number=reader.block.number,
        )

    async def _read(self, reader: Reader, feeds: list[str]) -> tuple[dict[str, Round | str], Round | None]:
        """One batch: every feed's latest round, unknown decimals, and the sequencer feed if any."""
        sequencer = self.deployment.sequencer_feed
        unknown = [f for f in feeds if f not in self._decimals]
        calls = [Call.of(f, LATEST_ROUND) for f in feeds] + [Call.of(f, DECIMALS) for f in unknown]
        if sequencer:
            calls.append(Call.of(sequencer, LATEST_ROUND))
        results = await reader.call_many(calls) if calls else []
        for feed, result in zip(unknown, results[len(feeds) : len(feeds) + len(unknown)], strict=True):
            if result.success:
                self._decimals[feed] = int(result.one())
        rounds = {f: _round_or_error(r, self._decimals.get(f)) for f, r in zip(feeds, results, strict=False)}
        seq = results[-1] if sequencer else None
        # An unreadable uptime feed counts as down: pricing through an outage is the failure it guards.
        seq_round = Round.of(seq.unwrap()) if seq is not None and seq.success else None
        if seq is not None and seq_round is None:
            seq_round = Round(0, 1, 0, 0, 0)
        return rounds, seq_round


def _round_or_error(result: CallResult, decimals: int | None) -> Round | str:
    if not result.success:
        return f"latestRoundData failed: {result.error}"
    if decimals is None:
        return "decimals() failed"
    return Round.of(result.unwrap())
