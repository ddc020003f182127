"""Check configured chains: each endpoint serves the right chain, and where its head is.

reports = await check_chains({1: ("https://eth.example",)})
reports[0].head.number
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from defiscope.chain.block import BlockRef
from defiscope.chain.client import ChainClient
from defiscope.chain.registry import CHAINS
from defiscope.chain.rpc import RpcClient
from defiscope.chain.settings import RpcSettings


@dataclass(frozen=True, slots=True)
class EndpointReport:
    url: str  # redacted
    requests: int
    errors: int
    latency_ms: float
    health: float
    rate_limited: int = 0  # refusals for rate (429, -32005)
    throttled_s: float = 0.0  # time spent waiting for budget or Retry-After


@dataclass(frozen=True, slots=True)
class ChainReport:
    chain_id: int
    name: str
    head: BlockRef
    endpoints: tuple[EndpointReport, ...]


async def check_chain(chain_id: int, urls: Sequence[str], rpc: RpcSettings | None = None) -> ChainReport:
    """Verify the chain id behind every URL and read the head; raises a typed `ChainError` otherwise."""
    options = rpc or RpcSettings()
    limits = {url: options.limits_for(url) for url in urls}
    client = ChainClient(
        RpcClient(chain_id, urls, timeout=options.timeout, max_attempts=options.max_attempts, limits=limits)
    )
    async with client:
        await client.rpc.verify()
        head = await client.block("latest")
        endpoints = tuple(
            EndpointReport(
                ep.name,
                ep.stats.requests,
                ep.stats.errors,
                ep.stats.latency_mean * 1000,
                ep.health,
                ep.stats.rate_limited,
                ep.stats.throttled_seconds,
            )
            for ep in client.rpc.endpoints
        )
    info = CHAINS.get(chain_id)
    return ChainReport(chain_id, info.name if info else f"chain-{chain_id}", head, endpoints)


async def check_chains(chains: Mapping[int, Sequence[str]], rpc: RpcSettings | None = None) -> list[ChainReport]:
    return list(await asyncio.gather(*(check_chain(cid, urls, rpc) for cid, urls in sorted(chains.items()))))
