"""Unsigned swap transactions for single-router routes, and their simulation with ``eth_call``.

A leg whose hops all sit on one router's dex becomes one call (defiscope never holds keys; the caller
signs and sends it):

| dex             | router (registry name) | call                                                         |
|-----------------|------------------------|--------------------------------------------------------------|
| uniswap-v2      | UniswapV2Router02      | swapExactTokensForTokens(amountIn, minOut, path, to, deadline) |
| pancakeswap-v2  | PancakeV2Router        | the same                                                     |
| uniswap-v3      | SwapRouter             | exactInput((path, recipient, deadline, amountIn, minOut))      |
| curve (1 hop)   | the pool itself        | exchange(i, j, dx, min_dy) — pays msg.sender                  |

    tx = build_swap_tx(quote.legs[0], pools, deployment.contracts, recipient, min_out, deadline)
    tx.to, tx.data   # send from ``recipient`` after approving ``tx.to`` for the input token
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final

from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, to_checksum_address

from defiscope.errors import DefiscopeError
from defiscope.routing.pools import CurvePool, Pool, V3Pool
from defiscope.routing.search import Leg

V2_ROUTERS: Final = {"uniswap-v2": "UniswapV2Router02", "pancakeswap-v2": "PancakeV2Router"}
V3_ROUTERS: Final = {"uniswap-v3": "SwapRouter"}
DEADLINE_SECONDS: Final = 20 * 60


class NoRouterTx(DefiscopeError):
    """The route spans several routers (or one this chain lacks): no single transaction executes it."""


@dataclass(frozen=True, slots=True)
class SwapTx:
    """An unsigned transaction: send ``data`` to ``to`` with ``value`` from ``sender``."""

    sender: str
    to: str
    data: str
    value: int
    min_out: int
    deadline: int
    output_types: tuple[str, ...]  # what the call returns: the amount out is the last number

    def to_json(self) -> dict[str, Any]:
        return {"from": self.sender, "to": self.to, "data": self.data, "value": hex(self.value)}

    def amount_out(self, returned: str) -> int:
        """The amount out from the call's return data."""
        decoded = decode(list(self.output_types), bytes.fromhex(returned.removeprefix("0x")))
        last = decoded[-1]
        return int(last[-1]) if isinstance(last, (list, tuple)) else int(last)


def min_out(amount_out: int, slippage_percent: Fraction) -> int:
    """The least accepted out: ``amount_out * (1 - slippage / 100)``, rounded down."""
    if not 0 <= slippage_percent < 100:
        raise NoRouterTx(f"slippage must be at least 0 and below 100 %, got {float(slippage_percent)}")
    return int(amount_out * (1 - slippage_percent / 100))


def _calldata(signature: str, types: list[str], args: list[Any]) -> str:
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, args)).hex()


def build_swap_tx(
    leg: Leg, pools: Mapping[str, Pool], contracts: Mapping[str, str], recipient: str, least: int, deadline: int
) -> SwapTx:
    """The router call that executes ``leg`` for ``recipient``; raises `NoRouterTx` if no one router can."""
    recipient = to_checksum_address(recipient)
    dexes = leg.dexes
    (dex,) = dexes if len(dexes) == 1 else (None,)
    if dex in V2_ROUTERS and V2_ROUTERS[dex] in contracts:
        path = [to_checksum_address(t) for t in leg.tokens]
        data = _calldata(
            "swapExactTokensForTokens(uint256,uint256,address[],address,uint256)",
            ["uint256", "uint256", "address[]", "address", "uint256"],
            [leg.amount_in, least, path, recipient, deadline],
        )
        return SwapTx(recipient, contracts[V2_ROUTERS[dex]], data, 0, least, deadline, ("uint256[]",))
    if dex in V3_ROUTERS and V3_ROUTERS[dex] in contracts:
        encoded = bytes.fromhex(leg.hops[0].token_in[2:])
        for h in leg.hops:
            pool = pools[h.pool]
            assert isinstance(pool, V3Pool)
            encoded += pool.state.fee.to_bytes(3, "big") + bytes.fromhex(h.token_out[2:])
        data = _calldata(
            "exactInput((bytes,address,uint256,uint256,uint256))",
            ["(bytes,address,uint256,uint256,uint256)"],
            [(encoded, recipient, deadline, leg.amount_in, least)],
        )
        return SwapTx(recipient, contracts[V3_ROUTERS[dex]], data, 0, least, deadline, ("uint256",))
    if dex == "curve" and len(leg.hops) == 1:
        h = leg.hops[0]
        pool = pools[h.pool]
        assert isinstance(pool, CurvePool)
        i, j = pool.coins.index(h.token_in), pool.coins.index(h.token_out)
        data = _calldata(
            "exchange(int128,int128,uint256,uint256)",
            ["int128", "int128", "uint256", "uint256"],
            [i, j, h.amount_in, least],
        )
        return SwapTx(recipient, to_checksum_address(h.pool), data, 0, least, deadline, ("uint256",))
    raise NoRouterTx(f"no single router executes a route over {', '.join(sorted(dexes))} on this chain")
