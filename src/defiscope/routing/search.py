"""Best exact-input route over a set of pure pools: up to 3 hops, split across up to N parallel routes.

Candidate paths are every simple token path of 1..max_hops hops (each hop on any pool holding both
tokens, no pool twice). A single route is the path with the most out for the whole amount. A split is
built greedily in fixed slices (amount / slices) over the best-paying paths (`SPLIT_CANDIDATES`) that
share no pool: each slice goes to the path whose output grows most by it, among at most ``max_routes``
paths. With no pool shared, a path's output for its cumulative amount is exact on the block's pool states
(and a V3 pool's quotes on one state are a bisection on its `SwapLadder`), so the search costs one
quote per candidate and slice. The result (single or split, whichever pays more) is then quoted exactly:
the legs replayed in order, each whole, on the states the previous legs leave, as sending them would.

    quote = best_route(pools, usdc, weth, 1000 * 10**6, max_routes=3)
    quote.amount_out, [leg.path for leg in quote.legs], quote.price_impact
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from defiscope.errors import DefiscopeError
from defiscope.routing.pools import Pool

MAX_HOPS: Final = 3
DEFAULT_SLICES: Final = 20
#: The best-paying single paths a split is built from.
SPLIT_CANDIDATES: Final = 8


class NoRoute(DefiscopeError):
    """No pool path joins the tokens, or no path can take the amount."""


@dataclass(frozen=True, slots=True)
class Step:
    pool: str  # address
    token_in: str
    token_out: str


Path = tuple[Step, ...]


@dataclass(frozen=True, slots=True)
class HopQuote:
    dex: str
    pool: str
    token_in: str
    token_out: str
    amount_in: int
    amount_out: int
    fee: int
    fee_token: str


@dataclass(frozen=True, slots=True)
class Leg:
    amount_in: int
    amount_out: int
    hops: tuple[HopQuote, ...]
    mid_out: Fraction  # what amount_in would buy at the mid prices, fee-free

    @property
    def tokens(self) -> tuple[str, ...]:
        return (self.hops[0].token_in, *(h.token_out for h in self.hops))

    @property
    def dexes(self) -> frozenset[str]:
        return frozenset(h.dex for h in self.hops)


@dataclass(frozen=True, slots=True)
class Quote:
    token_in: str
    token_out: str
    amount_in: int
    amount_out: int
    legs: tuple[Leg, ...]

    @property
    def price_impact(self) -> Fraction:
        """1 - out / (out at the mid prices), fees included: what the trade loses against the spot price."""
        mid = sum((leg.mid_out for leg in self.legs), Fraction(0))
        return 1 - self.amount_out / mid if mid else Fraction(0)


def candidate_paths(pools: Iterable[Pool], token_in: str, token_out: str, max_hops: int = MAX_HOPS) -> list[Path]:
    """Every simple path (no token, no pool twice) from ``token_in`` to ``token_out`` of at most ``max_hops``."""
    edges: dict[str, list[tuple[str, str]]] = {}
    for pool in pools:
        for a in pool.tokens:
            for b in pool.tokens:
                if a != b:
                    edges.setdefault(a, []).append((pool.address, b))
    paths: list[Path] = []

    def walk(token: str, path: Path, seen: frozenset[str]) -> None:
        for pool, nxt in edges.get(token, ()):
            if nxt in seen:
                continue
            step = (*path, Step(pool, token, nxt))
            if nxt == token_out:
                paths.append(step)
            elif len(step) < max_hops:
                walk(nxt, step, seen | {nxt})

    walk(token_in, (), frozenset({token_in}))
    return paths


def path_out(pools: Mapping[str, Pool], path: Path, amount_in: int) -> int | None:
    """What ``amount_in`` buys along ``path`` on these pool states; None if a hop cannot take it."""
    amount = amount_in
    try:
        for step in path:
            amount = pools[step.pool].quote(step.token_in, step.token_out, amount)
    except DefiscopeError:  # a revert of the ported math or a pool without enough liquidity
        return None
    return amount


def run_path(states: dict[str, Pool], path: Path, amount_in: int) -> Leg:
    """Swap ``amount_in`` along ``path``, updating ``states`` (address -> pool) in place."""
    amount, hops, mid = amount_in, [], Fraction(amount_in)
    for step in path:
        pool = states[step.pool]
        mid *= pool.mid_price(step.token_in, step.token_out)
        result = pool.swap(step.token_in, step.token_out, amount)
        hops.append(
            HopQuote(
                pool.dex,
                pool.address,
                step.token_in,
                step.token_out,
                amount,
                result.amount_out,
                result.fee,
                result.fee_token,
            )
        )
        states[step.pool] = result.pool
        amount = result.amount_out
    return Leg(amount_in, amount, tuple(hops), mid)


def _try(states: Mapping[str, Pool], path: Path, amount_in: int) -> tuple[Leg, dict[str, Pool]] | None:
    after = dict(states)
    try:
        return run_path(after, path, amount_in), after
    except DefiscopeError:  # a revert of the ported math or a pool without enough liquidity
        return None


def quote_legs(pools: Mapping[str, Pool], allocations: Sequence[tuple[Path, int]]) -> Quote | None:
    """The exact quote of sending these (path, amount) legs one after the other; None if one fails."""
    states = dict(pools)
    legs = []
    for path, amount in allocations:
        tried = _try(states, path, amount)
        if tried is None:
            return None
        leg, states = tried
        legs.append(leg)
    first, last = allocations[0][0][0], allocations[0][0][-1]
    total_in = sum(amount for _, amount in allocations)
    return Quote(first.token_in, last.token_out, total_in, sum(leg.amount_out for leg in legs), tuple(legs))


def best_route(
    pools: Iterable[Pool],
    token_in: str,
    token_out: str,
    amount_in: int,
    *,
    max_hops: int = MAX_HOPS,
    max_routes: int = 1,
    slices: int = DEFAULT_SLICES,
) -> Quote:
    """The best exact-input quote: one route, or a greedy split over up to ``max_routes`` routes."""
    if token_in == token_out:
        raise NoRoute("the tokens to sell and to buy are the same")
    if amount_in <= 0:
        raise NoRoute(f"the amount to sell must be positive, got {amount_in}")
    by_address = {pool.address: pool for pool in pools}
    paths = candidate_paths(by_address.values(), token_in, token_out, max_hops)
    if not paths:
        raise NoRoute(f"no pool path of at most {max_hops} hops from {token_in} to {token_out}")
    outs = [(out, path) for path in paths if (out := path_out(by_address, path, amount_in)) is not None]
    ranked = [path for _, path in sorted(outs, key=lambda o: o[0], reverse=True)]
    best = quote_legs(by_address, [(ranked[0], amount_in)]) if ranked else None
    if max_routes > 1:
        allocation = _greedy_split(by_address, _split_candidates(ranked), amount_in, max_routes, slices)
        split = quote_legs(by_address, allocation) if len(allocation) > 1 else None
        if split is not None and (best is None or split.amount_out > best.amount_out):
            best = split
    if best is None:
        raise NoRoute(f"no route can take {amount_in} (raw units) of {token_in}: beyond the pools' liquidity")
    return best


def _split_candidates(ranked: Sequence[Path]) -> list[Path]:
    """The best paths, and the best of those sharing no pool with a better one (a split's natural legs:
    the top paths for the whole amount often all run through the same deep pool)."""
    chosen = list(ranked[:SPLIT_CANDIDATES])
    used: set[str] = set()
    for path in ranked:
        pools = {s.pool for s in path}
        if not used & pools:
            used |= pools
            if path not in chosen:
                chosen.append(path)
    return chosen


def _greedy_split(
    pools: Mapping[str, Pool], paths: Sequence[Path], amount_in: int, max_routes: int, slices: int
) -> list[tuple[Path, int]]:
    """Fixed slices, each to the pool-disjoint path whose output it raises most; [] if a slice fits nowhere."""
    size = max(amount_in // slices, 1)
    allocated: dict[Path, int] = {}
    out: dict[Path, int] = {}
    used_pools: set[str] = set()
    remaining = amount_in
    while remaining > 0:
        piece = remaining if remaining < 2 * size else size
        if len(allocated) >= max_routes:
            choices: Sequence[Path] = list(allocated)
        else:
            choices = [p for p in paths if p in allocated or not used_pools & {s.pool for s in p}]
        best: tuple[int, Path, int] | None = None
        for path in choices:
            after = path_out(pools, path, allocated.get(path, 0) + piece)
            if after is not None and (best is None or after - out.get(path, 0) > best[0]):
                best = (after - out.get(path, 0), path, after)
        if best is None:
            return []
        _, path, after = best
        allocated[path] = allocated.get(path, 0) + piece
        out[path] = after
        used_pools.update(s.pool for s in path)
        remaining -= piece
    return list(allocated.items())
