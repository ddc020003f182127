"""GET /v1/quote: the best route for an exact-input swap, read at the latest indexed block of the chain.

    GET /v1/quote?chain=1&sell=USDC&buy=WETH&amount=1000&routes=3&slippage=0.5&recipient=0x...
    {"block": {"number": 123, ...}, "amount_out": {"raw": "412...", "units": "0.412..."},
     "routes": [...], "transaction": {"to": ..., "data": ..., "min_out": ..., "deadline": ...},
     "simulation": {"ok": true, "amount_out": "412..."}}

The quote is `routing.plan.plan_on_pools`'s, run on the server's own chain clients (`QuoteChain`) and on
its pools kept in memory from their events (`routing.dex_state.DexState`, the indexer's), at the chain's latest
*indexed* block, so it is cached and ETagged with the other /v1 bodies: the same
parameters at the same indexed blocks are computed once. Inputs are checked here first so every refusal
names its parameter; an amount no route can take is a 422 naming `amount`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from functools import partial
from typing import Any, Final

import structlog
from pydantic import ConfigDict, Field

from defiscope.api import models as m
from defiscope.api import params
from defiscope.api.context import ApiContext, QuoteChain
from defiscope.api.errors import ApiError, new_error_id
from defiscope.api.views import block_model
from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient, Snapshot
from defiscope.chain.rpc import RpcClient
from defiscope.deployments import TokenInfo
from defiscope.devnet.runfile import current_run
from defiscope.errors import DefiscopeError
from defiscope.routing.dex_state import DexState
from defiscope.routing.discovery import discover_at
from defiscope.routing.load import PoolRef
from defiscope.routing.plan import BadQuoteInput, SwapRequest, parse_amount, plan_on_pools, resolve_token
from defiscope.routing.search import NoRoute
from defiscope.tvl.engine import TvlEngine

log = structlog.get_logger(__name__)

#: Plain decimals only: an exponent ("1e999999999") would make parse_amount build an enormous integer.
_AMOUNT: Final = re.compile(r"^[0-9]+(\.[0-9]+)?$")
MAX_RAW_AMOUNT: Final = 2**256 - 1
#: /v1/quote's own RPC budget per chain: requests in flight per endpoint, and tries of a read.
QUOTE_RPC_CONCURRENCY: Final = 4
QUOTE_RPC_ATTEMPTS: Final = 2
#: Tokens resolved by address kept per chain.
MAX_CACHED_TOKENS: Final = 4096
#: Seconds a client should wait when the chain has no usable indexed block yet.
RETRY_AFTER: Final = "2"


# ------------------------------------------------------------------ response models


class _QuoteModel(m._Model):
    # Fields `plan_swap` may add later are left out until described here (the schema stays the truth).
    model_config = ConfigDict(frozen=True, extra="ignore", populate_by_name=True)


class Amount(_QuoteModel):
    raw: str = Field(description="integer, the token's raw units")
    units: str = Field(description="exact decimal string in token units")


class SoldToken(Amount):
    token: str
    symbol: str


class BoughtToken(_QuoteModel):
    token: str
    symbol: str


class HopFee(Amount):
    token: str = Field(description="symbol (or address) of the token the fee is charged in")


class Hop(_QuoteModel):
    dex: str
    pool: str
    token_in: str
    token_out: str
    amount_in: str
    amount_out: str
    fee: HopFee


class Route(_QuoteModel):
    amount_in: str
    amount_out: str
    path: list[str] = Field(description="token symbols (or addresses) from sold to bought")
    hops: list[Hop]


class Transaction(_QuoteModel):
    sender: str = Field(alias="from", description="the recipient: it signs and sends, after approving `to`")
    to: str
    data: str
    router: str | None = Field(default=None, description="registry name of the contract called")
    value: str = Field(description="hex wei")
    min_out: str = Field(description="least accepted out, raw units (quote minus slippage)")
    deadline: int = Field(description="unix seconds: the quoted block's time plus 20 minutes")


class Simulation(_QuoteModel):
    ok: bool
    amount_out: str | None = Field(default=None, description="what eth_call of the transaction returned")
    error: str | None = Field(default=None, description="why the call reverted (e.g. no balance or approval)")


class Quote(_QuoteModel):
    chain: str
    chain_id: int
    block: m.Block = Field(description="the latest indexed block: pools were read there")
    sell: SoldToken
    buy: BoughtToken
    amount_out: Amount
    price_impact_percent: str = Field(description="loss against the mid prices, fees included, percent")
    routes: list[Route]
    transaction: Transaction | None = Field(default=None, description="with `recipient`: the unsigned swap")
    transaction_note: str | None = Field(default=None, description="why there is no transaction")
    simulation: Simulation | None = None


# ------------------------------------------------------------------ pools and chains


def share_dex_states(engines: Mapping[int, TvlEngine]) -> None:
    """Give each engine its chain's one `DexState` (what `serve` wires): the engine's tracked DEX adapters and
    the pools quotes route through (the devnet's seeded pools; elsewhere those discovered between the
    registry's tokens at the first block), following the engine's `LogFeed`. The indexer's snapshots advance
    it; /v1/quote reads it (`quote_chains`)."""
    seeded = _seeded_pools(engines)
    for chain_id, engine in engines.items():
        if engine.dex is None:
            refs = seeded.get(chain_id, ())
            discover = None if refs else partial(discover_at, deployment=engine.deployment)
            engine.dex = DexState(chain_id, engine.adapters, refs, discover=discover, feed=engine.feed)


def quote_chains(engines: Mapping[int, TvlEngine]) -> dict[int, QuoteChain]:
    """The chains `serve` indexes, quotable on clients of their own (same endpoints, a separate connection
    pool and concurrency: callers cannot spend the indexer's RPC budget); each reads its engine's `DexState`
    (`share_dex_states`) where it has one, else follows its own (devnet chains: their seeded pools)."""
    seeded = _seeded_pools(engines)
    return {
        chain_id: QuoteChain(
            quote_client(engine.client),
            engine.deployment,
            seeded.get(chain_id, ()),
            owned=True,
            feed=engine.feed,  # the indexer's: the quotes and the snapshots read each block's logs once
            shared=engine.dex if isinstance(engine.dex, DexState) else None,
        )
        for chain_id, engine in engines.items()
    }


def _seeded_pools(engines: Mapping[int, TvlEngine]) -> dict[int, tuple[PoolRef, ...]]:
    """The devnet's seeded pools per chain (none off the devnet)."""
    run = current_run() if any(e.deployment.network == "devnet" for e in engines.values()) else None
    chains = run.chains if run is not None else ()
    return {c.chain_id: tuple(PoolRef(p.dex, p.address, p.token0, p.token1) for p in c.pools) for c in chains}


def quote_client(client: ChainClient) -> ChainClient:
    """A client of the same endpoints as `client` with its own, smaller budget for /v1/quote."""
    rpc = client.rpc
    own = RpcClient(
        rpc.chain_id,
        [endpoint.url for endpoint in rpc.endpoints],
        timeout=rpc.timeout,
        max_attempts=QUOTE_RPC_ATTEMPTS,
        max_batch_items=rpc.max_batch_items,
        max_concurrency=QUOTE_RPC_CONCURRENCY,
    )
    return ChainClient(
        own,
        info=client.info,
        multicall=client.multicall,
        max_calls_per_multicall=client.max_calls_per_multicall,
        max_calldata_bytes=client.max_calldata_bytes,
    )


class _PinnedClient(ChainClient):
    """The server's client (same RPC connections) whose default snapshot is the indexed block."""

    def __init__(self, client: ChainClient, block: BlockRef) -> None:
        super().__init__(
            client.rpc,
            info=client.info,
            multicall=client.multicall,
            max_calls_per_multicall=client.max_calls_per_multicall,
            max_calldata_bytes=client.max_calldata_bytes,
        )
        self.pinned = block

    async def snapshot(self, at: int | str = "latest") -> Snapshot:
        return Snapshot(self, self.pinned) if at == "latest" else await super().snapshot(at)


# ------------------------------------------------------------------ the quote


@dataclass(frozen=True, slots=True)
class QuoteQuery:
    chain_id: int
    sell: str
    buy: str
    amount: str
    routes: int
    slippage: Decimal  # percent
    recipient: str | None


def quotable(ctx: ApiContext, chain: str) -> int:
    """The chain id of `chain` if this server quotes on it; 404 naming `chain` otherwise."""
    chain_id = params.chain(chain, "chain").chain_id
    if chain_id not in ctx.quoting:
        served = ", ".join(str(c) for c in sorted(ctx.quoting)) or "none (this server reads no chains)"
        raise ApiError(404, "chain", f"no quotes on chain {chain_id}; chains quoted: {served}")
    return chain_id


async def quote(ctx: ApiContext, query: QuoteQuery) -> bytes:
    """The quote document as JSON bytes (aliases, e.g. the transaction's `from`, as in the schema)."""
    chain = ctx.quoting[query.chain_id]
    block = ctx.cache.blocks.get(query.chain_id)
    if block is None:
        raise ApiError(503, "chain", f"chain {query.chain_id} has no indexed block yet", {"Retry-After": RETRY_AFTER})
    client = _PinnedClient(chain.client, block)
    try:
        sell = await _token(client, chain, query.sell, "sell")
        buy = await _token(client, chain, query.buy, "buy")
        if sell.address == buy.address:
            raise ApiError(422, "buy", f"cannot sell {sell.symbol} for itself: choose another token to buy")
        _amount(query.amount, sell.decimals)
        pools, at = await chain.dex.pools_at(client, block)
        if not pools:
            raise ApiError(404, "chain", f"no known pools on chain {query.chain_id} to route through")
        request = SwapRequest(
            sell.address, buy.address, query.amount, query.routes, Fraction(query.slippage), query.recipient
        )
        result = await plan_on_pools(client, chain.deployment, pools, at, request)
    except NoRoute as exc:
        # No path joins the tokens: the `buy` side is at fault; a path that cannot take it all: `amount`.
        field = "buy" if str(exc).startswith("no pool path") else "amount"
        raise ApiError(422, field, str(exc)) from None
    except BadQuoteInput as exc:
        raise ApiError(422, "amount", str(exc)) from None
    except DefiscopeError as exc:  # the chain: RPC down, the indexed block reorged away
        raise ApiError(
            503,
            "chain",
            f"reading chain {query.chain_id} failed; try again later",
            {"Retry-After": RETRY_AFTER},
            detail=f"{type(exc).__name__}: {exc}",
        ) from exc
    return _document(query.chain_id, at, _public_simulation(result)).model_dump_json(by_alias=True).encode()


#: A chain error's suffix naming chain, endpoint and call ("... [chain 1, endpoint https://..., call eth_call]").
_WHERE: Final = re.compile(r"\s*\[chain [^\]]*\]\s*$")


def _public_simulation(result: Mapping[str, Any]) -> Mapping[str, Any]:
    """The simulation's revert reason is the client's business (no balance, no approval); the endpoint and
    any other failure detail are ours: logged under an error id, the client gets a fixed text."""
    simulation = result.get("simulation")
    if not isinstance(simulation, Mapping) or simulation.get("error") is None:
        return result
    error = str(simulation["error"])
    if error.startswith("execution reverted"):
        public = _WHERE.sub("", error)
    else:
        error_id = new_error_id()
        log.warning("api.quote_simulation_failed", error_id=error_id, detail=error)
        public = f"the simulation could not be run (error id {error_id})"
    return {**result, "simulation": {**simulation, "error": public}}


async def _token(client: ChainClient, chain: QuoteChain, name: str, field: str) -> TokenInfo:
    key = name.strip().lower()
    known = chain.tokens.get(key)
    if known is not None:
        return known
    try:
        token = await resolve_token(client, chain.deployment, name.strip())
    except BadQuoteInput as exc:
        raise ApiError(404, field, str(exc)) from None
    if len(chain.tokens) >= MAX_CACHED_TOKENS:  # bounded: addresses are the caller's choice
        chain.tokens.clear()
    chain.tokens[key] = token
    return token


def _amount(text: str, decimals: int) -> int:
    if not _AMOUNT.match(text):
        raise ApiError(422, "amount", f"{text!r} is not a plain positive decimal (e.g. 1000 or 0.25)")
    try:
        raw = parse_amount(text, decimals)
    except BadQuoteInput as exc:
        raise ApiError(422, "amount", str(exc)) from None
    if raw > MAX_RAW_AMOUNT:
        raise ApiError(422, "amount", f"{text} is beyond uint256 in raw units ({decimals} decimals)")
    return raw


def _document(chain_id: int, block: BlockRef, result: Mapping[str, Any]) -> Quote:
    described = block_model(block)
    return Quote.model_validate({**result, "chain": described.chain, "chain_id": chain_id, "block": described})
