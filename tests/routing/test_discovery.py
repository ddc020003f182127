"""Pool discovery from the deployment registry: on the devnet it finds exactly the pools the devnet seeded
(the world's own record of what it deployed), and `defiscope quote` routes through discovered pools when
the chain is not the running devnet's."""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import replace

import pytest
import structlog
from typer.testing import CliRunner

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.cli import app
from defiscope.cli import quote as quote_cli
from defiscope.devnet import Devnet
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.world import DevnetChain
from defiscope.routing.discovery import discover_pools
from defiscope.routing.load import PoolRef
from defiscope.service import pools as service_pools
from defiscope.service.context import ChainTarget
from tests.protocols.uniswap_v3.kit import Fn
from tests.routing.trades import Trader


def seeded(chain: DevnetChain) -> set[PoolRef]:
    return {PoolRef(p.dex, p.address, p.token0, p.token1) for p in chain.pools}


async def discovered(chain: DevnetChain, extra: list[str] | None = None) -> list[PoolRef]:
    async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
        reader = Batcher(await client.snapshot()).reader("test")
        return await discover_pools(reader, devnet_deployment(chain), extra or [])


@pytest.mark.parametrize("chain_id", [1, 56])
async def test_discovery_finds_the_seeded_pools(devnet: Devnet, chain_id: int) -> None:
    chain = devnet.chain(chain_id)
    refs = await discovered(chain)
    assert len(refs) == len(set(refs))
    assert set(refs) == seeded(chain)


async def test_an_empty_pool_is_not_offered(eth_chain: DevnetChain) -> None:
    # A V2 pair created but never funded: the factory knows it, no route can price through it.
    trader = Trader.funded(eth_chain)
    link, uni = eth_chain.tokens["LINK"], eth_chain.tokens["UNI"]
    trader.send(
        eth_chain.contracts["UniswapV2Factory"], Fn("createPair", ("address", "address"), ("address",)), link, uni
    )
    assert set(await discovered(eth_chain)) == seeded(eth_chain)


@pytest.fixture
def cli() -> Iterator[CliRunner]:
    saved = structlog.get_config()
    yield CliRunner()
    structlog.configure(**saved)


def test_quote_cli_uses_discovery_off_the_devnet(
    eth_chain: DevnetChain, cli: CliRunner, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A chain configured by RPC (network "mainnet") gets its pools from discovery, not from the run file."""
    target = ChainTarget(1, (eth_chain.rpc_url,), replace(devnet_deployment(eth_chain), network="mainnet"))
    monkeypatch.setattr(quote_cli, "resolve_targets", lambda settings, chains: [target])
    monkeypatch.setattr(service_pools, "read_run", lambda: pytest.fail("the run file must not be read"))
    result = cli.invoke(
        app, ["quote", "--sell", "USDC", "--buy", "WETH", "--amount", "1000", "--routes", "2", "--json"]
    )
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    used = {hop["pool"] for route in answer["routes"] for hop in route["hops"]}
    assert used <= {r.address for r in seeded(eth_chain)}
    assert int(answer["amount_out"]["raw"]) > 0
    bad = cli.invoke(app, ["quote", "--sell", "USDC", "--buy", "WETH", "--amount", "1", "--pool", "0x" + "12" * 20])
    assert bad.exit_code == 2
    assert "no known pool" in bad.output
