"""Every call and event our protocol code declares on a mainnet registry exists, read-only, in the real ABI;
every stand-in of ours has only what the real contract has, plus its listed admin hooks."""

from __future__ import annotations

import pytest
from web3 import Web3

from defiscope.deployments.mainnet import MAINNET_CHAINS, mainnet
from defiscope.devnet.standins import STANDIN_INTERFACES
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.registry import adapters_for
from defiscope.protocols.surface import ContractUse
from defiscope.protocols.treasury import TreasuryAdapter
from tests.mainnet.conformance import standin_problems, surface_problems, use_problems

ADAPTERS = [
    pytest.param(adapter, id=f"{chain_id}-{adapter.info.slug}")
    for chain_id in MAINNET_CHAINS
    for adapter in adapters_for(mainnet(chain_id))
]


@pytest.mark.parametrize("adapter", ADAPTERS)
def test_mainnet_surface_matches_real_abis(adapter) -> None:  # type: ignore[no-untyped-def]
    uses = adapter.surface()
    assert uses, f"{adapter.info.slug} declares no surface on chain {adapter.deployment.chain_id}"
    assert surface_problems(uses) == []


def test_fixed_addresses_come_from_the_registry() -> None:
    for chain_id in MAINNET_CHAINS:
        deployment = mainnet(chain_id)
        known = {a.lower() for a in deployment.contracts.values()} | {
            t.address.lower() for t in deployment.tokens.values()
        }
        for adapter in adapters_for(deployment):
            if isinstance(adapter, TreasuryAdapter):
                continue
            for use in adapter.surface():
                assert use.address is None or use.address.lower() in known, (adapter.info.slug, use.name)


@pytest.mark.parametrize("chain_id", MAINNET_CHAINS)
def test_price_sources_match_real_abis(chain_id: int) -> None:
    uses = PriceAggregator(mainnet(chain_id)).surface()
    assert any(use.interface == "chainlink/AggregatorV3Interface" for use in uses)
    assert surface_problems(uses) == []


@pytest.mark.parametrize(("artifact", "interface_name"), sorted(STANDIN_INTERFACES.items()))
def test_standin_has_nothing_the_real_contract_lacks(artifact: str, interface_name: str) -> None:
    assert standin_problems(artifact, interface_name) == []


#: The graded protocols' tokens (and SKY, MKR's successor) -> the real ABI each answers.
GRADED_TOKEN_ABIS = {
    (1, "UNI"): "uniswap/Uni",
    (1, "COMP"): "compound/COMP",
    (1, "AAVE"): "aave/AaveTokenV2",
    (1, "MKR"): "common/DSToken",
    (1, "CRV"): "common/ERC20",
    (1, "LDO"): "common/ERC20",
    (1, "EIGEN"): "common/ERC20",
    (1, "SKY"): "common/ERC20",
    (56, "CAKE"): "common/ERC20",
}


@pytest.mark.parametrize(("chain_id", "symbol"), sorted(GRADED_TOKEN_ABIS))
def test_graded_tokens_are_registered_and_answer_the_supply_reads(chain_id: int, symbol: str) -> None:
    """Circulating supply is totalSupply() minus the non-circulating holders' balanceOf: both exist, read-only."""
    token = mainnet(chain_id).tokens[symbol]
    assert token.decimals == 18
    assert token.coingecko_id
    calls = ("totalSupply()(uint256)", "balanceOf(address)(uint256)")
    use = ContractUse(symbol, GRADED_TOKEN_ABIS[chain_id, symbol], calls=calls, address=token.address)
    assert use_problems(use) == []


def test_governance_registry_names_point_at_the_registered_tokens() -> None:
    deployment = mainnet(1)
    for name, symbol in (
        ("UniswapGovernanceToken", "UNI"),
        ("CompoundGovernanceToken", "COMP"),
        ("AaveGovernanceToken", "AAVE"),
        ("MakerGovernanceToken", "MKR"),
    ):
        assert deployment.contracts[name] == deployment.tokens[symbol].address


def test_locked_supply_holders_are_checksummed_and_their_tokens_registered() -> None:
    for chain_id in MAINNET_CHAINS:
        deployment = mainnet(chain_id)
        for symbol, holders in deployment.locked_supply.items():
            assert symbol in deployment.tokens
            assert holders
            assert all(Web3.to_checksum_address(h) == h for h in holders)
    # The governed treasuries are the registry's own contracts where the registry has them.
    locked = mainnet(1).locked_supply
    assert locked["UNI"] == (mainnet(1).contracts["UniswapTimelock"],)
    assert locked["MKR"] == (mainnet(1).contracts["MakerPauseProxy"],)
