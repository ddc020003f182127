"""Curve's main registry on the devnet, read as its code checks its admin: its admin-only functions assert
``msg.sender == self.address_provider.admin()``, so its admin chain is the AddressProvider's admin's, not "no admin"
(on this devnet the deployer, an EOA: scored 10; mainnet's is Curve's Ownership Agent, an Aragon Agent)."""

from __future__ import annotations

from defiscope.analytics.risk.rules import contract_score
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.profile import ContractControl, control_surface


async def _controls(client: ChainClient, deployment: Deployment) -> dict[str, ContractControl]:
    reader = Batcher(await client.snapshot()).reader("control")
    surface = await control_surface(reader, deployment, "curve")
    return {c.proxy.address: c for c in surface.contracts}


async def test_the_registry_is_run_by_its_address_providers_admin(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    c = deployment.contracts
    registry_contract = sender.contract(contract_artifact("CurveMainRegistry"), c["CurveRegistry"])
    assert registry_contract.functions.address_provider().call() == c["CurveAddressProvider"]
    provider_contract = sender.contract(contract_artifact("CurveAddressProvider"), c["CurveAddressProvider"])
    admin = provider_contract.functions.admin().call()
    controls = await _controls(client, deployment)
    registry, provider = controls[c["CurveRegistry"]], controls[c["CurveAddressProvider"]]
    assert registry.proxy.kind == "none"
    assert [(link.kind, link.address) for link in registry.admin_chain] == [("eoa", admin)]
    assert registry.admin_chain == provider.admin_chain
    assert contract_score(registry)[:2] == (10, "control.eoa-no-delay")  # was 100 "control.no-admin"
