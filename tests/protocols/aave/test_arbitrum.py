"""Aave V3 on an Arbitrum devnet (42161, opt-in): the same adapter reads it, and the L2 sequencer-uptime gate
acts as on mainnet — Aave's PriceOracleSentinel refuses borrows while the sequencer is down or within its grace
period, and defiscope's price layer reports the market's tokens unpriced, saying why, rather than valuing them."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from web3 import Web3

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet import Devnet, start_devnet
from defiscope.devnet.aave import ARBITRUM_RESERVES, SENTINEL_GRACE, aave_artifact
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.deployment import SEQUENCER_FEED, devnet_deployment
from defiscope.devnet.simulation import Simulation, SimulationConfig
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.aave.adapter import AaveV3Adapter
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.registry import adapters_for
from defiscope.tvl.engine import TvlEngine
from tests.mainnet.conformance import undeclared_calls
from tests.protocols.aave.kit import AaveKit

ARBITRUM = 42161


@pytest.fixture(scope="module")
def arbitrum() -> Iterator[Devnet]:
    with start_devnet((ARBITRUM,), show_progress=False) as running:
        yield running


@pytest.fixture
def kit(arbitrum: Devnet) -> Iterator[AaveKit]:
    chain = arbitrum.chain(ARBITRUM)
    kit = AaveKit.connect(chain, devnet_deployment(chain))
    snapshot = kit.sender.rpc("evm_snapshot", [])
    yield kit
    assert kit.sender.rpc("evm_revert", [snapshot]) is True


def _sequencer(kit: AaveKit, down: bool, since: int) -> None:
    feed = kit.sender.contract(contract_artifact("PriceFeed"), kit.deployment.contract(SEQUENCER_FEED))
    round_id = feed.functions.latestRound().call() + 1
    kit.sender.send(feed.functions.updateRoundData(round_id, int(down), since, since))


async def test_the_adapter_reads_aave_on_arbitrum(kit: AaveKit) -> None:
    deployment = kit.deployment
    assert deployment.sequencer_feed == deployment.contract(SEQUENCER_FEED)
    async with ChainClient.connect(ARBITRUM, [kit.chain.rpc_url]) as client:
        reader = Batcher(await client.snapshot()).reader("aave-v3")
        adapter = AaveV3Adapter(deployment)
        positions = await adapter.positions(reader)
    assert len(positions) == 2 * len(ARBITRUM_RESERVES)
    erc20 = contract_artifact("DevToken").abi
    for p in positions:
        if p.kind is BalanceKind.TVL:
            token = kit.sender.w3.eth.contract(address=Web3.to_checksum_address(p.token), abi=erc20)
            assert p.amount == token.functions.balanceOf(p.holder).call() > 0
    assert sum(p.amount for p in positions if p.kind is BalanceKind.BORROWED) > 0
    assert undeclared_calls(reader.records, adapter.surface()) == []


async def test_the_sequencer_gate(kit: AaveKit) -> None:
    user = kit.user("arbitrum gate")
    kit.supply(user, "WETH", 10 * 10**18)
    borrow = kit.pool.functions.borrow(kit.token("USDC").address, 1_000 * 10**6, 2, 0, user)
    sentinel = kit.sender.contract(
        aave_artifact("protocol/configuration/PriceOracleSentinel"),
        kit.deployment.contract("AaveV3PriceOracleSentinel"),
    )
    assert sentinel.functions.isBorrowAllowed().call()

    _sequencer(kit, down=True, since=kit.now())
    assert not sentinel.functions.isBorrowAllowed().call()
    with pytest.raises(Exception, match="revert"):
        borrow.call({"from": user})
    unpriced = await _aave_unpriced(kit)
    assert unpriced
    assert all("sequencer down" in why for why in unpriced.values())

    _sequencer(kit, down=False, since=kit.now())  # back up: the grace period starts
    assert not sentinel.functions.isBorrowAllowed().call()
    assert await _aave_unpriced(kit)
    kit.advance(SENTINEL_GRACE + 1)
    for pair in kit.deployment.feeds:  # a new round on each price feed: an hour passed, they would be stale
        kit.set_price(pair, kit.price(pair))
    assert sentinel.functions.isBorrowAllowed().call()
    kit.sender.send(borrow, sender=user)
    assert await _aave_unpriced(kit) == {}


async def _aave_unpriced(kit: AaveKit) -> dict[str, str]:
    """Symbol -> why, of Aave's holdings the TVL engine could not price."""
    async with ChainClient.connect(ARBITRUM, [kit.chain.rpc_url]) as client:
        engine = TvlEngine(client, kit.deployment, adapters_for(kit.deployment), PriceAggregator(kit.deployment))
        result = await engine.snapshot(slugs={"aave-v3"})
    (aave,) = [s for s in result.snapshots if s.slug == "aave-v3"]
    return {u.symbol: u.unpriced_reason or "" for u in aave.unpriced}


def test_the_simulation_runs_aave_users_on_arbitrum(kit: AaveKit, arbitrum: Devnet) -> None:
    pool = kit.deployment.contract("AaveV3Pool")
    supply = Web3.keccak(text="Supply(address,address,address,uint256,uint16)")

    def supplies() -> int:
        return len(kit.sender.w3.eth.get_logs({"address": pool, "topics": [supply], "fromBlock": 0}))

    before = supplies()
    sim = Simulation(arbitrum.chain(ARBITRUM), SimulationConfig(seed=5))
    sim.start()
    try:
        sim.run(6)
    finally:
        sim.stop()
    assert supplies() > before  # agents lent on the market's own reserves (it lists no DAI)
