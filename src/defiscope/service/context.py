"""What the long-running commands work on: one TVL engine per chain, from RPC settings or the devnet.

With `DEFISCOPE_RPC_<CHAINID>` set, each configured chain is read with the mainnet address registry.
Without it, the running devnet (`defiscope devnet up`) is used with its own registry. `network` (the
CLI's `--network`, env `DEFISCOPE_NETWORK`) makes the choice explicit: "devnet" reads the running
devnet even when RPCs are configured, "mainnet" refuses to fall back to the devnet.

    async with open_runtime(load_settings()) as runtime:
        result = await runtime.engine(1).snapshot()
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Collection, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Final, Literal

from defiscope.chain.client import ChainClient
from defiscope.chain.registry import get_chain
from defiscope.chain.rpc import RpcClient
from defiscope.config import RpcSettings, Settings
from defiscope.deployments import Deployment
from defiscope.deployments.mainnet import mainnet
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.runfile import current_run
from defiscope.errors import DefiscopeError
from defiscope.prices.aggregator import AnySource, PriceAggregator
from defiscope.prices.chainlink import ChainlinkSource
from defiscope.prices.coingecko import CoinGeckoClient, CoinGeckoSource
from defiscope.prices.derivatives import DerivativeSource
from defiscope.prices.dex import DexSource
from defiscope.prices.wrappers import known_rules
from defiscope.protocols.registry import adapters_for
from defiscope.tvl.engine import TvlEngine
from defiscope.tvl.policy import LongTailPolicy

#: Environment variable the CLI reads for `--network`.
NETWORK_ENV: Final = "DEFISCOPE_NETWORK"
Network = Literal["auto", "mainnet", "devnet"]
NETWORKS: Final[tuple[Network, ...]] = ("auto", "mainnet", "devnet")


class NoChainsConfigured(DefiscopeError):
    """Neither RPC endpoints nor a running devnet: nothing to read."""


@dataclass(frozen=True, slots=True)
class ChainTarget:
    chain_id: int
    rpc_urls: tuple[str, ...]
    deployment: Deployment


def resolve_targets(
    settings: Settings, chains: Collection[int | str] | None = None, *, network: Network = "auto"
) -> list[ChainTarget]:
    """The chains to read: configured RPCs with the mainnet registry, else (or if asked) the running devnet."""
    if network not in NETWORKS:
        raise NoChainsConfigured(f"unknown network {network!r}; choose one of {', '.join(NETWORKS)}")
    if network == "mainnet" and not settings.chain_rpcs:
        raise NoChainsConfigured(
            "network mainnet asked but no RPC endpoint configured: set DEFISCOPE_RPC_<CHAINID> "
            "(e.g. DEFISCOPE_RPC_1=https://...)"
        )
    if settings.chain_rpcs and network != "devnet":
        targets = [ChainTarget(cid, urls, mainnet(cid)) for cid, urls in sorted(settings.chain_rpcs.items())]
    else:
        targets = _devnet_targets(explicit=network == "devnet")
    if chains is None:
        return targets
    wanted = {get_chain(c).chain_id for c in chains}
    missing = wanted - {t.chain_id for t in targets}
    if missing:
        have = ", ".join(str(t.chain_id) for t in targets)
        raise NoChainsConfigured(f"chain {min(missing)} is not configured (configured: {have})")
    return [t for t in targets if t.chain_id in wanted]


def _devnet_targets(*, explicit: bool) -> list[ChainTarget]:
    run = current_run()
    if run is None and explicit:
        raise NoChainsConfigured("network devnet asked but no devnet running: start one with `defiscope devnet up -d`")
    if run is None:
        raise NoChainsConfigured(
            "no RPC endpoint configured and no devnet running: start one with `defiscope devnet up --detach`, "
            "or set DEFISCOPE_RPC_<CHAINID> (e.g. DEFISCOPE_RPC_1=https://...)"
        )
    return [ChainTarget(c.chain_id, (c.rpc_url,), devnet_deployment(c)) for c in run.chains]


def build_engine(
    target: ChainTarget,
    rpc: RpcSettings,
    *,
    coingecko: CoinGeckoClient | None = None,
    policy: LongTailPolicy | None = None,
) -> TvlEngine:
    """A chain's engine; with a CoinGecko client, CoinGecko joins the on-chain price sources."""
    client = ChainClient(
        RpcClient(
            target.chain_id,
            target.rpc_urls,
            timeout=rpc.timeout,
            max_attempts=rpc.max_attempts,
            max_batch_items=rpc.max_batch_items,
            max_concurrency=rpc.max_concurrency,
            limits={url: rpc.limits_for(url) for url in target.rpc_urls},
        )
    )
    deployment = target.deployment
    sources: list[AnySource] | None = None
    if coingecko is not None:
        sources = [
            ChainlinkSource(deployment),
            DexSource(deployment),
            DerivativeSource(deployment, known_rules(deployment)),
            CoinGeckoSource(coingecko, deployments=[deployment]),
        ]
    return TvlEngine(client, deployment, adapters_for(deployment), PriceAggregator(deployment, sources), policy=policy)


@dataclass(slots=True)
class Runtime:
    engines: Mapping[int, TvlEngine]

    def engine(self, chain_id: int) -> TvlEngine:
        try:
            return self.engines[chain_id]
        except KeyError:
            raise NoChainsConfigured(f"chain {chain_id} is not configured") from None


@asynccontextmanager
async def open_runtime(
    settings: Settings, chains: Collection[int | str] | None = None, *, network: Network = "auto"
) -> AsyncIterator[Runtime]:
    targets = resolve_targets(settings, chains, network=network)
    coingecko = CoinGeckoClient() if settings.coingecko else None
    policy = settings.tvl_policy
    engines = {t.chain_id: build_engine(t, settings.rpc, coingecko=coingecko, policy=policy) for t in targets}
    try:
        yield Runtime(engines)
    finally:
        for engine in engines.values():
            await engine.client.aclose()
        if coingecko is not None:
            await coingecko.aclose()
