"""Aave V3's AaveOracle on the devnet: not a proxy and without an owner, it is run by its market's ACLManager
roles (`setAssetSources`/`setFallbackOracle` are `onlyAssetListingOrPoolAdmins`), so its admin is the fork of the
ASSET_LISTING_ADMIN_ROLE and POOL_ADMIN_ROLE holders, followed to the governance like the PoolConfigurator's. An EOA
made asset listing admin through the ACLManager's own `addAssetListingAdmin` joins the fork and caps the score."""

from __future__ import annotations

from eth_utils import keccak

from defiscope.analytics.risk.rules import contract_score
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.profile import ContractControl, control_surface

ASSET_LISTING_ADMIN = keccak(text="ASSET_LISTING_ADMIN")


async def _oracles(client: ChainClient, deployment: Deployment) -> dict[str, ContractControl]:
    reader = Batcher(await client.snapshot()).reader("control")
    surface = await control_surface(reader, deployment, "aave-v3")
    return {c.proxy.address: c for c in surface.contracts if c.interface == "aave/IAaveOracle"}


async def test_each_markets_oracle_is_run_by_its_acl_roles_up_to_the_governance(
    client: ChainClient, deployment: Deployment
) -> None:
    c = deployment.contracts
    oracles = await _oracles(client, deployment)
    prime = oracles[c["AaveV3Oracle:Prime"]]
    assert [(link.kind, link.address) for link in prime.admin_chain] == [
        ("contract", c["AaveV3Oracle:Prime"]),
        ("contract", c["AaveExecutorLvl1"]),
        ("timelock", c["AavePayloadsController"]),
        ("governor", c["AaveGovernanceCore"]),
    ]
    assert c["AaveV3ACLManager:Prime"] in prime.admin_chain[0].detail
    assert contract_score(prime)[:2] == (60, "control.governor-delay")
    core = oracles[c["AaveV3Oracle"]]
    (fork,) = core.admin_chain  # Governance V2's short executor keeps its Core role on the devnet
    assert dict(zip(fork.controllers, fork.controller_kinds, strict=True)) == {
        c["AaveShortExecutor"]: "timelock",
        c["AaveExecutorLvl1"]: "contract",
    }
    for oracle in oracles.values():
        assert contract_score(oracle)[1] != "control.no-admin"


async def test_an_eoa_asset_listing_admin_joins_the_fork_and_scores_as_an_eoa(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    c = deployment.contracts
    oracle = c["AaveV3Oracle:Prime"]
    before = (await _oracles(client, deployment))[oracle]
    sender = Sender.connect(eth_chain.rpc_url)
    acl = sender.contract(aave_artifact("protocol/configuration/ACLManager"), c["AaveV3ACLManager:Prime"])
    eoa, executor = sender.accounts[7], c["AaveExecutorLvl1"]  # the ACL admin: only it may grant the role
    with sender.impersonating(executor, gas_money=10**18):
        sender.send(acl.functions.addAssetListingAdmin(eoa), sender=executor)
    assert acl.functions.hasRole(ASSET_LISTING_ADMIN, eoa).call()

    after = (await _oracles(client, deployment))[oracle]
    (fork,) = after.admin_chain
    assert dict(zip(fork.controllers, fork.controller_kinds, strict=True)) == {executor: "contract", eoa: "eoa"}
    assert contract_score(after)[:2] == (10, "control.eoa-no-delay")
    assert contract_score(before)[0] > contract_score(after)[0]
