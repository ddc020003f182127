"""The market simulation: reproducible for a seed, and it keeps pools at the feed prices."""

from __future__ import annotations

from fractions import Fraction

from web3 import Web3

from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.simulation import Regime, Simulation, SimulationConfig
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain


def run(chain: DevnetChain, seed: int, ticks: int) -> tuple[str, list[dict[str, Fraction]]]:
    sim = Simulation(chain, SimulationConfig(seed=seed, lp_every=2))
    sim.start()
    try:
        reports = sim.run(ticks)
    finally:
        sim.stop()
    block = Web3(Web3.HTTPProvider(chain.rpc_url)).eth.get_block("latest")
    return block["hash"].to_0x_hex(), [dict(r.prices) for r in reports]


def test_same_seed_same_chain(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    start = sender.rpc("evm_snapshot", [])
    first_hash, first_prices = run(eth_chain, seed=11, ticks=3)
    assert sender.rpc("evm_revert", [start]) is True
    start = sender.rpc("evm_snapshot", [])
    second_hash, second_prices = run(eth_chain, seed=11, ticks=3)
    assert sender.rpc("evm_revert", [start]) is True
    other_hash, other_prices = run(eth_chain, seed=12, ticks=3)
    assert second_hash == first_hash  # same state root, same transactions, same timestamps
    assert second_prices == first_prices
    assert other_hash != first_hash
    assert other_prices != first_prices


def test_feeds_move_and_pools_follow(eth_chain: DevnetChain) -> None:
    wild = (Regime("wild", 400.0),)  # a step of several percent, far outside the arbitrage band
    sim = Simulation(eth_chain, SimulationConfig(seed=3, regimes=wild, trades_per_tick=0))
    sim.start()
    try:
        (report,) = sim.run(1)
    finally:
        sim.stop()
    sender = Sender.connect(eth_chain.rpc_url)
    feed = sender.contract(contract_artifact("PriceFeed"), eth_chain.contracts["feed:ETH/USD"])
    eth_usd = Fraction(feed.functions.latestAnswer().call(), 10**8)
    assert eth_usd == report.prices["ETH/USD"]
    assert eth_usd != 3000
    assert abs(eth_usd / 3000 - 1) > Fraction(1, 100)
    assert report.arbitrages >= 5  # the volatile pairs moved out of the band; stable pairs may not have
    weth, usdc = eth_chain.tokens["WETH"], eth_chain.tokens["USDC"]
    pool = next(p for p in eth_chain.pools_of("uniswap-v2") if {p.token0, p.token1} == {weth, usdc})
    r0, r1, _ = sender.contract(npm_artifact("UniswapV2Pair"), pool.address).functions.getReserves().call()
    weth_reserve, usdc_reserve = (r0, r1) if pool.token0 == weth else (r1, r0)
    pool_price = Fraction(usdc_reserve, 10**6) / Fraction(weth_reserve, 10**18)
    assert abs(pool_price / eth_usd - 1) < Fraction(3, 1000)  # arbitraged back to the feed, within fee and band
