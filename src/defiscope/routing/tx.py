"""Unsigned swap transactions for a whole quote — one leg or a split — and their simulation's amount.

A quote goes to the first router of `ROUTERS`, in order, that is in the chain's registry and can execute
every hop of every leg in one transaction (defiscope never holds keys: the recipient signs and sends it):

| router (registry name) | hops                    | V2 call; V3 ``exactInput`` struct             | multicall        |
|------------------------|-------------------------|-----------------------------------------------|------------------|
| UniswapV2Router02      | uniswap-v2, one leg     | swapExactTokensForTokens(in, min, path, to,   | none             |
|                        |                         | deadline)                                     |                  |
| PancakeV2Router        | pancakeswap-v2, one leg | the same                                      | none             |
| SwapRouter             | uniswap-v3              | (path, recipient, deadline, in, min)          | (bytes[])        |
| PancakeV3SwapRouter    | pancakeswap-v3          | the same                                      | (bytes[])        |
| SwapRouter02           | uniswap-v2 + uniswap-v3 | swapExactTokensForTokens(in, min, path, to);  | (deadline,       |
|                        |                         | (path, recipient, in, min)                    | bytes[])         |
| the Curve pool         | curve, one hop          | exchange(i, j, dx, min_dy), pays msg.sender   | none             |

Calls. A leg's hops are cut into runs on one kind of pool (V2 pairs, V3 pools); each run is one call. The
first run pays ``amountIn`` from the sender. A later run passes ``amountIn = 0``, which SwapRouter02 reads
as "the router's whole balance of the token" (``Constants.CONTRACT_BALANCE``), after the run before it
paid the router (recipient ``Constants.ADDRESS_THIS = address(2)``); only SwapRouter02 chains runs so.
Legs run in the quote's order: the quote priced each leg on the pool states the earlier legs leave.

Min-out. One figure for the whole quote, ``min_out(quote.amount_out, slippage)``:

- one leg: its last call pays the recipient and checks the figure itself (``amountOutMinimum``); earlier
  runs check nothing, since their whole output feeds the last one;
- several legs: each leg pays the router unchecked, then ``sweepToken(tokenOut, minOut, recipient)``
  sends the router's balance to the recipient and reverts below min-out. The transaction so reverts
  exactly when the total is short, however the legs share the shortfall; minimums per leg could not:
  set from each leg's own quote they revert when one leg is short but the total is not. (The router's
  balance of the output token before the call, normally none, is swept to the recipient as well.)

SwapRouter02's V2 hops swap what the pair holds above its reserves (fee-on-transfer support): a pair with
an unsynced surplus would pay more than quoted.

    tx = build_route_tx(quote.legs, pools, deployment.contracts, recipient, min_out(out, slippage), deadline)
    tx.to, tx.data                  # send from ``recipient`` after approving ``tx.to`` for the input token
    tx.amount_out(eth_call_result)  # what the legs deliver (the quote's amount, to the wei)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from enum import Enum
from fractions import Fraction
from itertools import groupby
from typing import Any, Final

from eth_abi import decode
from eth_utils import to_checksum_address

from defiscope.chain.abi import Function
from defiscope.errors import DefiscopeError, InputError
from defiscope.routing.pools import CurvePool, Pool, V3Pool
from defiscope.routing.search import HopQuote, Leg

DEADLINE_SECONDS: Final = 20 * 60
#: SwapRouter02's Constants: amountIn 0 spends the router's balance; address(2) stands for the router.
CONTRACT_BALANCE: Final = 0
ADDRESS_THIS: Final = "0x0000000000000000000000000000000000000002"


class NoRouterTx(DefiscopeError):
    """No single router on this chain executes the whole route in one transaction."""


class BadSwapInput(InputError):
    """A slippage out of range, or legs that are not one route over the given pools."""


class Kind(Enum):
    """How a router swaps a run of hops: by a token path over V2 pairs, or a packed path over V3 pools."""

    V2 = "V2"
    V3 = "V3"


class Multicall(Enum):
    NONE = ""
    PLAIN = "multicall(bytes[])(bytes[])"
    DEADLINE = "multicall(uint256,bytes[])(bytes[])"  # SwapRouter02: the deadline is checked once, here


@dataclass(frozen=True, slots=True)
class Router:
    """What one router can do, and where its calls carry what."""

    name: str  # in the registry
    kinds: tuple[tuple[str, Kind], ...]  # dex -> the call that swaps its pools
    v2_deadline: bool = False  # swapExactTokensForTokens takes a trailing deadline
    v2_returns: str = "uint256"  # Router02 returns every hop's amount (uint256[])
    v3_deadline: bool = False  # ExactInputParams holds a deadline after the recipient
    multicall: Multicall = Multicall.NONE
    this: str | None = None  # the recipient constant naming the router itself; None: its own address
    chains_runs: bool = False  # amountIn = CONTRACT_BALANCE spends what the previous run left it

    def kind(self, dex: str) -> Kind | None:
        return dict(self.kinds).get(dex)


ROUTERS: Final = (
    Router("UniswapV2Router02", (("uniswap-v2", Kind.V2),), v2_deadline=True, v2_returns="uint256[]"),
    Router("PancakeV2Router", (("pancakeswap-v2", Kind.V2),), v2_deadline=True, v2_returns="uint256[]"),
    Router("SwapRouter", (("uniswap-v3", Kind.V3),), v3_deadline=True, multicall=Multicall.PLAIN),
    Router("PancakeV3SwapRouter", (("pancakeswap-v3", Kind.V3),), v3_deadline=True, multicall=Multicall.PLAIN),
    Router(
        "SwapRouter02",
        (("uniswap-v2", Kind.V2), ("uniswap-v3", Kind.V3)),
        multicall=Multicall.DEADLINE,
        this=ADDRESS_THIS,
        chains_runs=True,
    ),
)
SWEEP: Final = Function.parse("sweepToken(address,uint256,address)")


@dataclass(frozen=True, slots=True)
class RouterCall:
    """One call of the transaction; ``returns`` holds the amount out as its last number, if ``counted``."""

    data: bytes
    returns: str = ""
    counted: bool = False  # the last call of a leg: its amount is part of the total out


@dataclass(frozen=True, slots=True)
class SwapTx:
    """An unsigned transaction: send ``data`` to ``to`` with ``value`` from ``sender``."""

    sender: str
    to: str
    data: str
    value: int
    min_out: int
    deadline: int
    router: str  # registry name ("curve pool" for a pool's own exchange)
    calls: tuple[RouterCall, ...]
    multicall: bool  # ``data`` wraps ``calls`` in the router's multicall (which returns bytes[])

    def to_json(self) -> dict[str, Any]:
        return {"from": self.sender, "to": self.to, "data": self.data, "value": hex(self.value)}

    def amount_out(self, returned: str) -> int:
        """The total out from the transaction's return data: the sum over its legs' last calls."""
        raw = bytes.fromhex(returned.removeprefix("0x"))
        results = decode(["bytes[]"], raw)[0] if self.multicall else (raw,)
        return sum(_last_number(c.returns, r) for c, r in zip(self.calls, results, strict=True) if c.counted)


def _last_number(returns: str, data: bytes) -> int:
    (value,) = decode([returns], data)
    return int(value[-1]) if isinstance(value, (list, tuple)) else int(value)


def check_slippage(slippage_percent: Fraction) -> None:
    if not 0 <= slippage_percent < 100:
        raise BadSwapInput(f"slippage must be at least 0 and below 100 %, got {float(slippage_percent)}")


def min_out(amount_out: int, slippage_percent: Fraction) -> int:
    """The least accepted out: ``amount_out * (1 - slippage / 100)``, rounded down."""
    check_slippage(slippage_percent)
    return int(amount_out * (1 - slippage_percent / 100))


def build_swap_tx(
    leg: Leg, pools: Mapping[str, Pool], contracts: Mapping[str, str], recipient: str, least: int, deadline: int
) -> SwapTx:
    """The transaction of one leg alone (see `build_route_tx`)."""
    return build_route_tx((leg,), pools, contracts, recipient, least, deadline)


def build_route_tx(
    legs: Sequence[Leg],
    pools: Mapping[str, Pool],
    contracts: Mapping[str, str],
    recipient: str,
    least: int,
    deadline: int,
) -> SwapTx:
    """One transaction executing ``legs`` in order for ``recipient``, reverting if they pay less than ``least``.

    Raises `BadSwapInput` if the legs are not one route over ``pools``, `NoRouterTx` if no router can.
    """
    _check_route(legs, pools)
    recipient = to_checksum_address(recipient)
    if all(h.dex == "curve" for leg in legs for h in leg.hops):
        return _curve_tx(legs, pools, recipient, least, deadline)
    router = _pick_router(legs, contracts)
    address = to_checksum_address(contracts[router.name])
    this = router.this or address
    single = len(legs) == 1
    calls: list[RouterCall] = []
    for leg in legs:
        runs = _runs(router, leg.hops)
        for k, (kind, hops) in enumerate(runs):
            last = k == len(runs) - 1
            pays_recipient = single and last
            calls.append(
                _swap_call(
                    router,
                    kind,
                    hops,
                    pools,
                    amount_in=leg.amount_in if k == 0 else CONTRACT_BALANCE,
                    least=least if pays_recipient else 0,
                    to=recipient if pays_recipient else this,
                    deadline=deadline,
                    counted=last,
                )
            )
    if not single:
        calls.append(RouterCall(SWEEP.encode([legs[0].hops[-1].token_out, least, recipient])))
    wrap = router.multicall is Multicall.DEADLINE or len(calls) > 1
    data = _multicall(router, calls, deadline) if wrap else calls[0].data
    return SwapTx(recipient, address, "0x" + data.hex(), 0, least, deadline, router.name, tuple(calls), wrap)


def _check_route(legs: Sequence[Leg], pools: Mapping[str, Pool]) -> None:
    if not legs or any(not leg.hops for leg in legs):
        raise BadSwapInput("a route needs at least one leg of at least one hop")
    ends = {(leg.hops[0].token_in, leg.hops[-1].token_out) for leg in legs}
    if len(ends) != 1:
        raise BadSwapInput(f"the legs do not all swap the same tokens: {sorted(ends)}")
    for leg in legs:
        if leg.amount_in <= 0:
            raise BadSwapInput(f"a leg's amount in must be positive, got {leg.amount_in}")
        for before, after in zip(leg.hops, leg.hops[1:], strict=False):
            if before.token_out != after.token_in:
                raise BadSwapInput(f"hop into {after.token_in} does not follow hop out of {before.token_out}")
        for hop in leg.hops:
            pool = pools.get(hop.pool)
            if pool is None or pool.dex != hop.dex:
                raise BadSwapInput(f"the route's {hop.dex} pool {hop.pool} is not among the loaded pools")


def _pick_router(legs: Sequence[Leg], contracts: Mapping[str, str]) -> Router:
    dexes = sorted({h.dex for leg in legs for h in leg.hops})
    reasons = []
    for router in ROUTERS:
        if any(router.kind(d) is None for d in dexes):
            continue
        why = _cannot(router, legs, contracts)
        if why is None:
            return router
        reasons.append(f"{router.name} {why}")
    if not reasons:
        raise NoRouterTx(f"no single router swaps on {' and '.join(dexes)} together: send the legs apart")
    raise NoRouterTx("; ".join(reasons))


def _cannot(router: Router, legs: Sequence[Leg], contracts: Mapping[str, str]) -> str | None:
    """Why ``router`` cannot execute ``legs`` in one transaction, or None if it can."""
    if router.name not in contracts:
        return "is not in this chain's registry"
    if len(legs) > 1 and router.multicall is Multicall.NONE:
        return f"has no multicall to run {len(legs)} legs in one transaction"
    if not router.chains_runs and any(len(_runs(router, leg.hops)) > 1 for leg in legs):
        return "cannot chain V2 and V3 hops in one leg"
    return None


def _runs(router: Router, hops: Sequence[HopQuote]) -> list[tuple[Kind, tuple[HopQuote, ...]]]:
    """Consecutive hops of one kind; each run is one router call."""
    runs = []
    for kind, group in groupby(hops, key=lambda h: router.kind(h.dex)):
        assert kind is not None  # _pick_router kept only routers that know every dex
        runs.append((kind, tuple(group)))
    return runs


def _swap_call(
    router: Router,
    kind: Kind,
    hops: Sequence[HopQuote],
    pools: Mapping[str, Pool],
    *,
    amount_in: int,
    least: int,
    to: str,
    deadline: int,
    counted: bool,
) -> RouterCall:
    if kind is Kind.V2:
        path = [to_checksum_address(hops[0].token_in), *(to_checksum_address(h.token_out) for h in hops)]
        tail = ",uint256" if router.v2_deadline else ""
        fn = Function.parse(f"swapExactTokensForTokens(uint256,uint256,address[],address{tail})({router.v2_returns})")
        args: list[Any] = [amount_in, least, path, to, *([deadline] if router.v2_deadline else [])]
        return RouterCall(fn.encode(args), router.v2_returns, counted)
    middle = ",uint256" if router.v3_deadline else ""
    fn = Function.parse(f"exactInput((bytes,address{middle},uint256,uint256))(uint256)")
    params = (_v3_path(hops, pools), to, *([deadline] if router.v3_deadline else []), amount_in, least)
    return RouterCall(fn.encode([params]), "uint256", counted)


def _v3_path(hops: Sequence[HopQuote], pools: Mapping[str, Pool]) -> bytes:
    """The packed path: token, then (fee as uint24, token) per hop."""
    encoded = bytes.fromhex(hops[0].token_in[2:])
    for hop in hops:
        pool = pools[hop.pool]
        if not isinstance(pool, V3Pool):
            raise BadSwapInput(f"{hop.dex} pool {hop.pool} is not a V3 pool")
        encoded += pool.state.fee.to_bytes(3, "big") + bytes.fromhex(hop.token_out[2:])
    return encoded


def _multicall(router: Router, calls: Sequence[RouterCall], deadline: int) -> bytes:
    fn = Function.parse(router.multicall.value)
    datas = [c.data for c in calls]
    return fn.encode([deadline, datas] if router.multicall is Multicall.DEADLINE else [datas])


def _curve_tx(legs: Sequence[Leg], pools: Mapping[str, Pool], recipient: str, least: int, deadline: int) -> SwapTx:
    """A Curve pool's own ``exchange``: one hop, paid to the sender (the pool has no recipient argument)."""
    if len(legs) != 1 or len(legs[0].hops) != 1:
        raise NoRouterTx("a Curve route of several hops or legs has no single router: send the legs apart")
    hop = legs[0].hops[0]
    pool = pools[hop.pool]
    if not isinstance(pool, CurvePool):
        raise BadSwapInput(f"curve pool {hop.pool} is not a Curve pool")
    fn = Function.parse("exchange(int128,int128,uint256,uint256)(uint256)")
    call = RouterCall(
        fn.encode([pool.coins.index(hop.token_in), pool.coins.index(hop.token_out), hop.amount_in, least]),
        "uint256",
        counted=True,
    )
    address = to_checksum_address(hop.pool)
    return SwapTx(recipient, address, "0x" + call.data.hex(), 0, least, deadline, "curve pool", (call,), False)
