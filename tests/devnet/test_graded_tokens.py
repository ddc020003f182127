"""The graded protocols' tokens on the devnet: one address each, mainnet's supplies with circulating computable
from chain, the governance contracts count them, the price layer prices them, and the simulation trades them."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from web3.contract import Contract

from defiscope.analytics.grades.catalog import GRADED
from defiscope.chain.client import ChainClient
from defiscope.devnet import Devnet, DevnetChain
from defiscope.devnet.aave_governance import governance_v2_artifact
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.simulation import Regime, Simulation, SimulationConfig
from defiscope.devnet.spec import CHAIN_SPECS
from defiscope.devnet.supplies import SUPPLIES, TokenSupply, holder_address, non_circulating_holders
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetPool
from defiscope.prices.aggregator import PriceAggregator
from defiscope.prices.quote import PriceQuote
from tests.prices.kit import Kit

ERC20 = contract_artifact("DevToken")
#: Registry names the governance code reads (shared with mainnet's registry) -> the token each must be.
GOVERNANCE_TOKENS = {
    "UniswapGovernanceToken": "UNI",
    "CompoundGovernanceToken": "COMP",
    "AaveGovernanceToken": "AAVE",
    "MakerGovernanceToken": "MKR",
}


def _erc20(chain: DevnetChain, token: str) -> Contract:
    return Sender.connect(chain.rpc_url).contract(ERC20, token)


def _balance(chain: DevnetChain, token: str, holder: str) -> int:
    result: int = _erc20(chain, token).functions.balanceOf(holder).call()
    return result


def test_the_supplies_cover_the_graded_tokens() -> None:
    assert sorted(s.symbol for s in SUPPLIES) == sorted(p.token for p in GRADED.values())
    for supply in SUPPLIES:
        spec = CHAIN_SPECS[supply.chain_id].token(supply.symbol)
        assert (spec.supply, spec.decimals) == (supply.total, 18)
        assert 0 < supply.circulating < supply.total


def test_each_symbol_has_one_address_which_governance_counts(devnet: Devnet) -> None:
    for chain in devnet.chains:
        assert len(set(chain.tokens.values())) == len(chain.tokens)  # no two symbols share a contract
    eth = devnet.chain(1)
    assert {name: eth.contracts[name] for name in GOVERNANCE_TOKENS} == {
        name: eth.tokens[symbol] for name, symbol in GOVERNANCE_TOKENS.items()
    }
    sender = Sender.connect(eth.rpc_url)
    for protocol, symbol in (("Compound", "COMP"), ("Uniswap", "UNI")):
        governor = sender.contract(contract_artifact("DevGovernor"), eth.contracts[f"{protocol}Governor"])
        assert governor.functions.token().call() == eth.tokens[symbol]
    chief = sender.contract(contract_artifact("DSChief"), eth.contracts["MakerChief"])
    assert chief.functions.GOV().call() == eth.tokens["MKR"]
    strategy = sender.contract(
        governance_v2_artifact("contracts/governance/GovernanceStrategy"), eth.contracts["AaveGovernanceStrategy"]
    )
    assert strategy.functions.AAVE().call() == eth.tokens["AAVE"]


@pytest.mark.parametrize("supply", SUPPLIES, ids=lambda s: s.symbol)
def test_supply_and_circulating_read_from_chain(devnet: Devnet, supply: TokenSupply) -> None:
    chain = devnet.chain(supply.chain_id)
    token = chain.tokens[supply.symbol]
    total = _erc20(chain, token).functions.totalSupply().call()
    assert total == supply.total * 10**18
    holders = devnet_deployment(chain).locked_supply[supply.symbol]  # what the factor code gets
    assert holders == non_circulating_holders(supply, chain.contracts)
    locked = sum(_balance(chain, token, holder) for holder in holders)
    assert total - locked == supply.circulating * 10**18
    if supply.treasury_contract:
        # Governance holds the treasury, as on mainnet; the seeded holder handed over all of it.
        treasury = dict(supply.holdings)["treasury"]
        assert _balance(chain, token, chain.contracts[supply.treasury_contract]) == treasury * 10**18
        assert _balance(chain, token, holder_address(supply.symbol, "treasury")) == 0


@pytest.mark.parametrize("chain_id", [1, 56], ids=["ethereum", "bnb"])
async def test_the_price_layer_prices_each_token_from_its_feed_and_pools(devnet: Devnet, chain_id: int) -> None:
    chain = devnet.chain(chain_id)
    kit = Kit.connect(chain, devnet_deployment(chain))
    refs = [kit.ref(s.symbol) for s in SUPPLIES if s.chain_id == chain_id]
    async with ChainClient.connect(chain_id, [chain.rpc_url]) as client:
        decisions = await PriceAggregator(kit.deployment).prices(await kit.batcher(client), refs)
    spec = CHAIN_SPECS[chain_id]
    for ref in refs:
        decision = decisions[ref.address]
        assert decision.quote is not None, decision.reason
        assert decision.quote.source == f"chainlink:{ref.symbol.upper()}/USD"
        assert (
            decision.quote.usd == Decimal(spec.token(ref.symbol).usd.numerator) / spec.token(ref.symbol).usd.denominator
        )
        # The pools seeded against the wrapped native coin answer too, and agree with the feed.
        dex = [a for a in decision.answers if isinstance(a, PriceQuote) and a.source != decision.quote.source]
        assert dex, f"no DEX price for {ref.symbol}"
        assert all(abs(a.usd / decision.quote.usd - 1) < Decimal("0.02") for a in dex)
        assert decision.flags == ()


def _pool_price(kit: Kit, pool: DevnetPool) -> Fraction:
    """Raw token1 per raw token0 in the pool now (V2 reserves, V3 slot0)."""
    if pool.dex == "uniswap-v2":
        r0, r1, _ = kit.sender.contract(npm_artifact("UniswapV2Pair"), pool.address).functions.getReserves().call()
        return Fraction(r1, r0)
    sqrt_price = kit.sender.contract(npm_artifact("UniswapV3Pool"), pool.address).functions.slot0().call()[0]
    return Fraction(sqrt_price**2, 2**192)


@pytest.mark.parametrize("chain_id", [1, 56], ids=["ethereum", "bnb"])
def test_a_tick_trades_each_token_to_its_new_feed_price(devnet: Devnet, chain_id: int) -> None:
    chain = devnet.chain(chain_id)
    kit = Kit.connect(chain, devnet_deployment(chain))
    # A wild regime: every feed moves by several percent, past the arbitrage band, so every pool is traded.
    config = SimulationConfig(
        seed=3, regimes=(Regime("wild", 60.0),), shock_probability=0, trades_per_tick=0, lp_every=0, agents=()
    )
    sim = Simulation(chain, config)
    wrapped = next(t.symbol for t in sim.spec.tokens if t.wrapped_native)
    pools: dict[str, Any] = {}
    for supply in (s for s in SUPPLIES if s.chain_id == chain_id):
        pair = {chain.tokens[supply.symbol], chain.tokens[wrapped]}
        (pools[supply.symbol],) = [p for p in sim.pools if {p.token0, p.token1} == pair]
    before = {symbol: _pool_price(kit, pool) for symbol, pool in pools.items()}
    sim.start()
    try:
        sim.tick()
    finally:
        sim.stop()
    for symbol, pool in pools.items():
        usd0, usd1 = sim.token_usd(pool.token0), sim.token_usd(pool.token1)
        assert usd0 is not None
        assert usd1 is not None
        after = _pool_price(kit, pool)
        assert after != before[symbol], symbol
        assert abs(after / (usd0 / usd1) - 1) < Fraction(1, 100), symbol
