"""Every call and event our protocol code declares on a mainnet registry exists, read-only, in the real ABI;
every stand-in of ours has only what the real contract has, plus its listed admin hooks."""

from __future__ import annotations

import pytest

from defiscope.deployments.mainnet import MAINNET_CHAINS, mainnet
from defiscope.devnet.standins import STANDIN_INTERFACES
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.registry import adapters_for
from defiscope.protocols.treasury import TreasuryAdapter
from tests.mainnet.conformance import standin_problems, surface_problems

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
