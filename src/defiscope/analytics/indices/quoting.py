"""Rebalance trades quoted by the router on one block's pool state, to the wei (pure: pools are fed in).

`RouterQuoter` is the `rebalance.Quoter` of the exact cost model: `quote` runs the router's route search
(`routing.search.best_route`) on the pools as the rebalance's earlier trades left them; `commit` replays the
chosen legs on those pools (`run_path`), as sending the trades in order would. Its gas units are the
transaction's base cost plus a figure per hop by DEX (`GAS_PER_HOP`).

    quoter = RouterQuoter({p.address: p for p in pools}, {"WETH": weth, "WBTC": wbtc})
    fill = quoter.quote("WETH", "WBTC", 10**18)
    quoter.commit(fill)                 # the next quote sees the WBTC/WETH pool moved
    quoter.committed[-1].legs           # the router's legs, for `routing.tx.build_route_tx`
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Final

from defiscope.analytics.indices.rebalance import Fill, NoQuote, RouteLeg
from defiscope.routing.pools import Pool
from defiscope.routing.search import Leg, NoRoute, Quote, Step, best_route, run_path

#: A transaction's intrinsic gas, paid once per trade.
BASE_GAS: Final = 21_000
#: Gas per hop by DEX, rounded up from the devnet's receipts of router swaps (tests/analytics/indices/
#: test_devnet_rebalance.py prints the measured figures): a cold pool's storage, the token transfers, the callback.
GAS_PER_HOP: Final[Mapping[str, int]] = MappingProxyType(
    {"uniswap-v2": 90_000, "pancakeswap-v2": 90_000, "uniswap-v3": 160_000, "pancakeswap-v3": 160_000, "curve": 150_000}
)


def gas_units(quote: Quote) -> int:
    return BASE_GAS + sum(GAS_PER_HOP[hop.dex] for leg in quote.legs for hop in leg.hops)


@dataclass(slots=True)
class RouterQuoter:
    """Exact router quotes on `pools` (address -> pool state, moved by each committed trade); tokens by symbol."""

    pools: dict[str, Pool]
    addresses: Mapping[str, str]
    max_routes: int = 1
    committed: list[Quote] = field(default_factory=list)  # the router's quotes of the trades made, in order
    _routes: dict[Fill, Quote] = field(default_factory=dict)
    _symbols: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._symbols = {address: symbol for symbol, address in self.addresses.items()}

    def quote(self, sell: str, buy: str, amount_in: int) -> Fill:
        token_in, token_out = self._address(sell), self._address(buy)
        try:
            route = best_route(self.pools.values(), token_in, token_out, amount_in, max_routes=self.max_routes)
        except NoRoute as exc:
            raise NoQuote(str(exc)) from exc
        legs = tuple(self._leg(leg) for leg in route.legs)
        fill = Fill(sell, buy, amount_in, route.amount_out, legs, gas_units(route))
        self._routes[fill] = route
        return fill

    def commit(self, fill: Fill) -> None:
        route = self._routes.pop(fill)
        self._routes.clear()  # quotes on the state before this trade no longer hold
        self.committed.append(route)
        for leg in route.legs:
            run_path(self.pools, tuple(Step(h.pool, h.token_in, h.token_out) for h in leg.hops), leg.amount_in)

    def _address(self, symbol: str) -> str:
        address = self.addresses.get(symbol)
        if address is None:
            raise NoQuote(f"{symbol} is not a token of this chain's registry")
        return address

    def _leg(self, leg: Leg) -> RouteLeg:
        path = tuple(self._symbols.get(token, token) for token in leg.tokens)
        pools = tuple(f"{hop.dex}:{hop.pool}" for hop in leg.hops)
        return RouteLeg(path, pools, leg.amount_in, leg.amount_out)
