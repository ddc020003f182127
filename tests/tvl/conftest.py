from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import replace

import pytest
from web3 import Web3

from defiscope.chain.client import ChainClient
from defiscope.deployments import Deployment, TreasurySpec
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.base import Adapter
from defiscope.protocols.registry import adapters_for
from defiscope.tvl.engine import TvlEngine
from tests.prices.kit import Kit

#: A fresh address that holds nothing until a test sends it tokens.
TREASURY = Web3.to_checksum_address("0x" + "7e" * 20)

EngineFactory = Callable[..., TvlEngine]


@pytest.fixture
def sender(eth_chain: DevnetChain) -> Sender:
    return Sender.connect(eth_chain.rpc_url)


def with_treasury(deployment: Deployment, *tokens: str, holder: str = TREASURY) -> Deployment:
    return replace(deployment, treasuries=(TreasurySpec("test-treasury", "Test Treasury", (holder,), tokens),))


def give(sender: Sender, token: str, to: str, amount: int) -> None:
    """Move `amount` raw units of a devnet token from account 0 (WETH is wrapped first)."""
    weth = sender.contract(npm_artifact("WETH9"), token)
    if weth.functions.symbol().call() == "WETH":
        sender.send(weth.functions.deposit(), value=amount)
    erc20 = sender.contract(contract_artifact("DevToken"), token)
    sender.send(erc20.functions.transfer(to, amount))


@pytest.fixture
async def make_engine(eth_chain: DevnetChain) -> AsyncIterator[EngineFactory]:
    clients: list[ChainClient] = []

    def build(deployment: Deployment, adapters: list[Adapter] | None = None) -> TvlEngine:
        client = ChainClient.connect(deployment.chain_id, [eth_chain.rpc_url])
        clients.append(client)
        return TvlEngine(
            client,
            deployment,
            adapters if adapters is not None else adapters_for(deployment),
            PriceAggregator(deployment),
        )

    yield build
    for client in clients:
        await client.aclose()


@pytest.fixture
def kit(eth_chain: DevnetChain, deployment: Deployment) -> Kit:
    return Kit.connect(eth_chain, deployment)
