"""A quote end to end: tokens by symbol or address, amount in token units, pools read at one block,
the best route (one leg or a split), and the unsigned transaction that executes all of it through one
router (`routing.tx`), simulated with ``eth_call`` at the quoted block.

    async with ChainClient.connect(1, [rpc_url]) as client:
        result = await plan_swap(client, deployment, refs, "USDC", "WETH", "1000", recipient=me)
    result["amount_out"]["raw"], result["transaction"]
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from fractions import Fraction
from functools import partial
from typing import Any, Final

from eth_utils import is_address, to_checksum_address

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.deployments import Deployment, TokenInfo
from defiscope.errors import DefiscopeError, InputError
from defiscope.routing.dex_state import DexState
from defiscope.routing.load import PoolRef
from defiscope.routing.pools import Pool
from defiscope.routing.search import Quote, best_route
from defiscope.routing.tx import DEADLINE_SECONDS, NoRouterTx, SwapTx, build_route_tx, check_slippage, min_out

#: Route searches run here, one at a time: off the event loop (a search is CPU work), and never two at once
#: on the same pools (a V3 pool's `SwapLadder` grows as it is asked for larger amounts).
_SEARCH: Final = ThreadPoolExecutor(max_workers=1, thread_name_prefix="route-search")


class BadQuoteInput(InputError):
    """A token, amount or pool the quote cannot use."""


def parse_amount(text: str, decimals: int) -> int:
    """Token units (a decimal string) to raw units, exactly; more decimals than the token has is an error."""
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise BadQuoteInput(f"amount {text!r} is not a number") from None
    if not value.is_finite() or value <= 0:
        raise BadQuoteInput(f"amount must be positive, got {text}")
    raw = value.scaleb(decimals)
    if raw != raw.to_integral_value():
        raise BadQuoteInput(f"amount {text} has more than {decimals} decimals")
    return int(raw)


async def resolve_token(client: ChainClient, deployment: Deployment, name: str) -> TokenInfo:
    if is_address(name):
        known = deployment.token_at(name)
        if known is not None:
            return known
        result = await client.call(Call.of(name, "decimals()(uint8)"))
        if not result.success:
            raise BadQuoteInput(f"{name} is not an ERC-20 token on chain {deployment.chain_id} (no decimals())")
        return TokenInfo(name, to_checksum_address(name), int(result.one()))
    for symbol, info in deployment.tokens.items():
        if symbol.lower() == name.lower():
            return info
    raise BadQuoteInput(
        f"unknown token {name!r} on chain {deployment.chain_id}; known: {', '.join(sorted(deployment.tokens))}"
    )


def units(raw: int, decimals: int) -> str:
    return str(Decimal(raw).scaleb(-decimals))


@dataclass(frozen=True, slots=True)
class SwapRequest:
    """What a caller asks: tokens by symbol or address, the amount in token units, and the options."""

    sell: str
    buy: str
    amount: str
    max_routes: int = 1
    slippage: Fraction = Fraction(1, 2)
    recipient: str | None = None


async def plan_swap(
    client: ChainClient,
    deployment: Deployment,
    refs: Sequence[PoolRef],
    sell: str,
    buy: str,
    amount: str,
    *,
    max_routes: int = 1,
    slippage: Fraction = Fraction(1, 2),
    recipient: str | None = None,
) -> dict[str, Any]:
    """The quote as JSON-ready data (see the CLI's ``quote --json``), reading ``refs`` at the head: with no
    indexer running, the chain's DEX state is one of its own, loaded at the head (`DexState`)."""
    request = SwapRequest(sell, buy, amount, max_routes, slippage, recipient)
    check_slippage(slippage)
    pools, block = await DexState(deployment.chain_id, (), refs).pools_at(client, await client.block())
    return await plan_on_pools(client, deployment, pools, block, request)


async def plan_on_pools(
    client: ChainClient, deployment: Deployment, pools: Sequence[Pool], block: BlockRef, request: SwapRequest
) -> dict[str, Any]:
    """The quote on pools already read at ``block`` (e.g. a `PoolTracker`'s); with a recipient, its tx
    simulated at that block. The route search runs on one worker thread, off the event loop."""
    check_slippage(request.slippage)
    token_in = await resolve_token(client, deployment, request.sell)
    token_out = await resolve_token(client, deployment, request.buy)
    if token_in.address == token_out.address:
        raise BadQuoteInput(f"cannot sell {token_in.symbol} for itself")
    amount_in = parse_amount(request.amount, token_in.decimals)
    search = partial(best_route, pools, token_in.address, token_out.address, amount_in, max_routes=request.max_routes)
    quote = await asyncio.get_running_loop().run_in_executor(_SEARCH, search)
    result = _describe(quote, deployment, token_in, token_out)
    result["block"] = block.number
    if request.recipient is not None:
        try:
            tx = build_route_tx(
                quote.legs,
                {p.address: p for p in pools},
                deployment.contracts,
                request.recipient,
                min_out(quote.amount_out, request.slippage),
                block.timestamp + DEADLINE_SECONDS,
            )
        except NoRouterTx as exc:
            result["transaction"] = None
            result["transaction_note"] = str(exc)
        else:
            result["transaction"] = {
                **tx.to_json(),
                "router": tx.router,
                "min_out": str(tx.min_out),
                "deadline": tx.deadline,
            }
            result["simulation"] = await simulate(client, tx, block.number)
    return result


async def simulate(client: ChainClient, tx: SwapTx, block: int) -> dict[str, Any]:
    """``eth_call`` of the transaction from its sender at ``block``: the amount it returns, or why it reverts."""
    try:
        returned = await client.rpc.request("eth_call", [tx.to_json(), hex(block)])
    except DefiscopeError as exc:
        return {"ok": False, "error": str(exc)}
    return {"ok": True, "amount_out": str(tx.amount_out(returned))}


def _describe(quote: Quote, deployment: Deployment, token_in: TokenInfo, token_out: TokenInfo) -> dict[str, Any]:
    def symbol(address: str) -> str:
        info = deployment.token_at(address)
        return info.symbol if info else address

    def decimals(address: str) -> int:
        info = deployment.token_at(address)
        return info.decimals if info else 0

    return {
        "sell": {
            "token": token_in.address,
            "symbol": token_in.symbol,
            "raw": str(quote.amount_in),
            "units": units(quote.amount_in, token_in.decimals),
        },
        "buy": {"token": token_out.address, "symbol": token_out.symbol},
        "amount_out": {"raw": str(quote.amount_out), "units": units(quote.amount_out, token_out.decimals)},
        "price_impact_percent": str(
            round(Decimal(quote.price_impact.numerator) / quote.price_impact.denominator * 100, 6)
        ),
        "routes": [
            {
                "amount_in": str(leg.amount_in),
                "amount_out": str(leg.amount_out),
                "path": [symbol(t) for t in leg.tokens],
                "hops": [
                    {
                        "dex": h.dex,
                        "pool": h.pool,
                        "token_in": symbol(h.token_in),
                        "token_out": symbol(h.token_out),
                        "amount_in": str(h.amount_in),
                        "amount_out": str(h.amount_out),
                        "fee": {
                            "token": symbol(h.fee_token),
                            "raw": str(h.fee),
                            "units": units(h.fee, decimals(h.fee_token)),
                        },
                    }
                    for h in leg.hops
                ],
            }
            for leg in quote.legs
        ],
    }
