"""Pydantic v2 models of the /v1 responses (they are the OpenAPI schema).

USD figures are **exact decimal strings** (`"12345.678901234567890123"`, never exponent notation): a JSON
number would round them to a double. Token amounts are integer strings in raw units. Every figure names
the block(s) it was read at. The compat endpoints (DefiLlama, CoinGecko) use JSON numbers instead, as
those APIs do.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

Usd = str  # exact decimal string
Change = str | None  # percent, exact decimal string; null when there is no earlier figure


class _Model(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Block(_Model):
    chain: str = Field(description="chain slug, e.g. ethereum")
    chain_id: int
    number: int
    hash: str
    timestamp: int = Field(description="unix seconds")


class Totals(_Model):
    tvl_usd: Usd
    borrowed_usd: Usd
    staking_usd: Usd
    pool2_usd: Usd


class ProtocolSummary(_Model):
    slug: str
    name: str
    category: str
    tvl_usd: Usd
    borrowed_usd: Usd
    staking_usd: Usd
    pool2_usd: Usd
    chains: dict[str, Usd] = Field(description="TVL by chain slug")
    change_1h: Change
    change_1d: Change
    change_7d: Change
    unpriced_count: int = Field(description="tokens held that could not be valued (left out of the totals)")
    uncounted_count: int = Field(
        default=0, description="positions not counted at all: unreadable (one pool failing), blacklisted, long tail"
    )
    not_counted: str | None = Field(
        default=None, description='"N positions not counted: <reasons>", or null when everything was counted'
    )
    blocks: list[Block]


class ProtocolPage(_Model):
    items: list[ProtocolSummary]
    total: int
    limit: int
    offset: int
    network: Literal["mainnet", "devnet"] | None = Field(
        default=None, description="devnet: the figures are a local simulation on anvil chains, not mainnet"
    )


class TokenPrice(_Model):
    usd: Usd
    source: str
    timestamp: int
    confidence: float
    block_number: int | None
    liquidity_usd: Usd | None


class TokenHolding(_Model):
    chain: str
    token: str
    symbol: str
    decimals: int
    kind: Literal["tvl", "borrowed", "staking", "pool2"]
    amount: str = Field(description="raw integer units")
    value_usd: Usd | None
    price: TokenPrice | None
    unpriced_reason: str | None
    receipt_of: str | None


class NotCountedPosition(_Model):
    """A position left out of the totals, with what is known of it (never a 0 in its place)."""

    chain: str
    holder: str
    token: str | None
    symbol: str
    kind: Literal["tvl", "borrowed", "staking", "pool2"]
    cause: Literal["unread", "blacklisted", "long_tail"]
    reason: str
    label: str
    amount: str | None = Field(description="raw integer units; null when it could not be read")
    price_usd: Usd | None = Field(description="the token's price when known (even if the amount is not)")
    value_usd: Usd | None = Field(description="what it would add, when amount and price are both known")


class ChainBreakdown(Totals):
    block: Block


class ProtocolDetail(ProtocolSummary):
    methodology: str
    url: str
    by_chain: dict[str, ChainBreakdown]
    by_kind: Totals
    by_token: list[TokenHolding]
    not_counted_positions: list[NotCountedPosition] = Field(default_factory=list)


class TvlPoint(_Model):
    timestamp: int = Field(description="start of the interval (or the block time, interval=block)")
    tvl_usd: Usd
    borrowed_usd: Usd
    staking_usd: Usd
    pool2_usd: Usd
    uncounted_count: int = Field(default=0, description="positions left out of these figures (see not_counted)")
    blocks: list[Block]


class ProtocolHistory(_Model):
    slug: str
    chain: str | None
    interval: str
    points: list[TvlPoint]


class ChainSummary(_Model):
    chain: str
    chain_id: int
    name: str
    tvl_usd: Usd = Field(description="each underlying counted once (receipts of protocols in the total left out)")
    sum_of_protocols_usd: Usd
    double_counted_usd: Usd
    protocols: int
    uncounted_count: int = Field(default=0, description="positions the protocols here could not count, in total")
    blocks: list[Block]


class ChainTvlPoint(_Model):
    timestamp: int
    tvl_usd: Usd = Field(description="sum of the protocols' own TVL at that block")
    protocols: int
    block: Block


class ChainHistory(_Model):
    chain: str
    chain_id: int
    interval: str
    points: list[ChainTvlPoint]


class Price(_Model):
    token: str = Field(description="chain:address as asked")
    chain: str
    chain_id: int
    address: str
    symbol: str | None
    usd: Usd
    source: str
    timestamp: int
    confidence: float
    block_number: int | None


class Prices(_Model):
    prices: list[Price]
    missing: list[str] = Field(description="tokens asked for that have no stored price")


class PricePoint(_Model):
    timestamp: int
    usd: Usd
    source: str
    confidence: float
    block_number: int | None


class PriceHistory(_Model):
    token: str
    chain: str
    address: str
    points: list[PricePoint]


class IndexGap(_Model):
    from_block: int
    to_block: int
    blocks: int = Field(description="scheduled blocks in the range that were not indexed")
    reason: str


class SyncInfo(_Model):
    phase: Literal["discovering", "catching_up", "following"] = Field(
        description="discovering: the first snapshot (event sources scanned from their start to the head); "
        "catching_up: the blocks due since the last stored one; following: at the head"
    )
    percent: float | None = Field(description="share done; null while the total is not known")
    done: int = Field(description="units done: blocks scanned (discovering) or indexed (catching_up)")
    total: int = Field(description="units to do; 0 while not known")
    rate: float | None = Field(description="units per second, moving average; null until measured")
    eta_seconds: int | None = Field(description="seconds left at the moving rate; null while unknown")
    started_at: int = Field(description="unix seconds the phase began")
    stalled_seconds: int = Field(description="seconds since `done` last grew")


class ChainHealth(_Model):
    chain: str
    chain_id: int
    last_block: int | None = Field(description="the last indexed block; null before the first is stored")
    block_timestamp: int | None
    lag_seconds: int | None = Field(description="now minus the last indexed block's time")
    head_block: int | None = Field(description="the chain head, when this server follows the chain")
    lag_blocks: int | None
    gaps: list[IndexGap] = Field(
        default_factory=list, description="scheduled blocks the follower skipped since it started, and why"
    )
    state: Literal["ok", "stale", "syncing", "unknown"] = Field(
        default="unknown",
        description="stale: behind the head (or failing, or a sync stalled) longer than the allowed lag; syncing: "
        "discovering or catching up after a start (see `progress`); unknown: this server does not follow the "
        "chain, so its head is not known",
    )
    behind_seconds: int | None = Field(
        default=None, description="the head block's time minus the last indexed block's, when following"
    )
    failing_seconds: int | None = Field(default=None, description="how long indexing has been failing")
    last_error: str | None = Field(default=None, description="the indexer's last error, endpoints redacted")
    progress: SyncInfo | None = Field(default=None, description="indexing progress, when this server indexes")


class Health(_Model):
    status: Literal["ok", "empty", "stale", "syncing"]
    time: int
    network: Literal["mainnet", "devnet"] | None = Field(
        description="devnet: the figures are a local simulation on anvil chains, not mainnet"
    )
    chains: list[ChainHealth]


class Explanation(BaseModel):
    """The provenance document of `defiscope.tvl.explain.explain`: block, calls, tokens, prices and sums."""

    model_config = ConfigDict(extra="allow")

    slug: str
    chain_id: int
    block: dict[str, Any]
    calls: list[dict[str, Any]]
    tokens: list[dict[str, Any]]
    unpriced: list[dict[str, Any]]
    not_counted: list[dict[str, Any]] = Field(default_factory=list)
    not_counted_summary: str | None = None
    totals: dict[str, Any]


class ErrorBody(_Model):
    field: str | None
    problem: str
    id: str | None = Field(default=None, description="on 5xx: the id under which the detail was logged")


class Error(_Model):
    error: ErrorBody


#: Answers any route may give: a bad parameter or unknown item, a missing or wrong key, a rate limit.
COMMON_ERRORS: dict[int | str, dict[str, Any]] = {
    404: {"model": Error},
    422: {"model": Error},
    401: {"model": Error, "description": "an API key is required, or the one sent is unknown or revoked"},
    429: {"model": Error, "description": "rate limited: retry after Retry-After seconds (RateLimit-* headers)"},
}
