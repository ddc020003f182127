"""Aave V3's admin chains on the devnet, followed through the real contracts as on mainnet: an aToken's admin is
the PoolConfigurator, acting for the ACLManager's POOL_ADMIN_ROLE holders (the level-1 executor), owned by the
PayloadsController (a timelock), which runs what GovernanceCore (a governor) queues; the Pool's admin is the
PoolAddressesProvider, owned by the same executor. An EOA made pool admin through the ACLManager's own
`addPoolAdmin` appears at the fork and caps the score like any EOA admin."""

from __future__ import annotations

from eth_utils import keccak

from defiscope.analytics.risk.rules import contract_score, control_pillar
from defiscope.analytics.risk.score import overrides_of
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.aave_governance_v3 import EXECUTION_DELAYS, market_suffixes
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.admin import admin_chain
from defiscope.protocols.control.profile import ContractControl, control_surface

POOL_ADMIN = keccak(text="POOL_ADMIN")


def _governance_tail(deployment: Deployment) -> list[tuple[str, str]]:
    """Executor_lvl1 (Ownable) -> PayloadsController (timelock) -> GovernanceCore (governor)."""
    c = deployment.contracts
    return [
        ("contract", c["AaveExecutorLvl1"]),
        ("timelock", c["AavePayloadsController"]),
        ("governor", c["AaveGovernanceCore"]),
    ]


def _a_token_of(surface_contracts: tuple[ContractControl, ...], configurator: str) -> ContractControl:
    return next(c for c in surface_contracts if c.admin_chain and c.admin_chain[0].address == configurator)


async def test_every_market_is_the_level_1_executors_and_its_chains_reach_the_governance(
    client: ChainClient, deployment: Deployment
) -> None:
    reader = Batcher(await client.snapshot()).reader("control")
    c = deployment.contracts
    tail = _governance_tail(deployment)
    for suffix in market_suffixes(c):
        provider_chain = await admin_chain(reader, c[f"AaveV3PoolAddressesProvider{suffix}"])
        assert [(link.kind, link.address) for link in provider_chain] == [
            ("contract", c[f"AaveV3PoolAddressesProvider{suffix}"]),
            *tail,
        ]
    (_, _, controller, core) = provider_chain
    assert controller.delay_seconds == min(EXECUTION_DELAYS.values())
    assert controller.controllers == (c["AaveGovernanceCore"],)
    assert "Aave GovernanceCore" in core.detail
    # Prime's configurator has one pool admin: the chain runs on through it to the governance.
    configurator = c["AaveV3PoolConfigurator:Prime"]
    surface = await control_surface(reader, deployment, "aave-v3")
    prime_a_token = _a_token_of(surface.contracts, configurator)
    assert [(link.kind, link.address) for link in prime_a_token.admin_chain] == [("contract", configurator), *tail]
    assert c["AaveV3ACLManager:Prime"] in prime_a_token.admin_chain[0].detail
    assert contract_score(prime_a_token)[:2] == (60, "control.governor-delay")  # 5 s: no delay points


async def test_an_eoa_pool_admin_appears_at_the_fork_and_caps_the_score(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    c = deployment.contracts
    configurator = c["AaveV3PoolConfigurator"]

    async def core_a_token() -> ContractControl:
        reader = Batcher(await client.snapshot()).reader("control")
        return _a_token_of((await control_surface(reader, deployment, "aave-v3")).contracts, configurator)

    before = await core_a_token()
    (fork,) = before.admin_chain  # Governance V2's short executor keeps its Core role on the devnet: a fork
    assert dict(zip(fork.controllers, fork.controller_kinds, strict=True)) == {
        c["AaveShortExecutor"]: "timelock",
        c["AaveExecutorLvl1"]: "contract",
    }
    assert "override.eoa-upgrade-no-delay" not in {o.rule for o in overrides_of([before])}  # negative control

    sender = Sender.connect(eth_chain.rpc_url)
    acl = sender.contract(aave_artifact("protocol/configuration/ACLManager"), c["AaveV3ACLManager"])
    eoa = sender.accounts[7]
    executor = c["AaveExecutorLvl1"]  # the ACL admin, as on mainnet: only it may grant the role
    with sender.impersonating(executor, gas_money=10**18):
        sender.send(acl.functions.addPoolAdmin(eoa), sender=executor)
    assert acl.functions.hasRole(POOL_ADMIN, eoa).call()

    after = await core_a_token()
    (fork,) = after.admin_chain
    assert dict(zip(fork.controllers, fork.controller_kinds, strict=True))[eoa] == "eoa"
    assert contract_score(after)[:2] == (10, "control.eoa-no-delay")
    assert contract_score(before)[0] > contract_score(after)[0]
    (cap,) = [o for o in overrides_of([after]) if o.rule == "override.eoa-upgrade-no-delay"]
    assert (cap.cap, eoa in cap.why) == (30, True)
    pillar = control_pillar([after])
    assert pillar.rule == "control.eoa-no-delay"
    assert "weakest controller is eoa" in pillar.evidence


async def test_a_payloads_controller_fed_from_another_chain_ends_the_chain_with_why(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    """Mainnet's PayloadsControllers off Ethereum take Ethereum's GovernanceCore messages over a bridge: the chain
    is not followed onto another chain, and says so (a replica deployed with origin chain 137 stands for one)."""
    sender = Sender.connect(eth_chain.rpc_url)
    core = deployment.contracts["AaveGovernanceCore"]
    controller = sender.deploy(contract_artifact("AavePayloadsController"), core, core, 137)
    executor = sender.deploy(contract_artifact("AaveExecutor"), controller.address)
    sender.send(controller.functions.updateExecutors([(1, (executor.address, 3600))]))
    reader = Batcher(await client.snapshot()).reader("control")
    chain = await admin_chain(reader, executor.address)
    assert [link.kind for link in chain] == ["contract", "timelock"]
    assert chain[-1].delay_seconds == 3600
    assert chain[-1].why is not None
    assert "chain 137" in chain[-1].why
    assert core in chain[-1].why
    assert chain[-1].controllers == ()
