"""Issue 18 for Lido's stETH pattern: an Aragon app is scored by who can upgrade it through its kernel's ACL — the
DAO Voting (a governor) on the devnet as on mainnet; an EOA granted APP_MANAGER_ROLE beside it caps the composite;
an ACL that cannot be read scores as an admin not understood (0, capped at 40), never as safe. Lido's
WithdrawalQueue, administered by the DAO Agent, scores by the weakest of those who can make the Agent act."""

from __future__ import annotations

from defiscope.analytics.risk.rules import contract_score, control_pillar
from defiscope.analytics.risk.score import overrides_of
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.aragon import (
    APP_MANAGER_ROLE,
    EXECUTE_ROLE,
    LIDO_APP_ID,
    aragon_dao,
    calls_script,
    deploy_kernel,
    run_vote,
)
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.aragon import ARAGON_ACL_WHY
from defiscope.protocols.control.profile import ContractControl, inspect_contract
from defiscope.protocols.surface import ContractUse


async def _steth(client: ChainClient, address: str) -> ContractControl:
    reader = Batcher(await client.snapshot()).reader("control")
    return await inspect_contract(reader, ContractUse("stETH", "lido/StETH", address=address))


async def test_steth_upgraded_by_the_dao_voting_scores_as_a_governor_without_a_cap(
    client: ChainClient, deployment: Deployment
) -> None:
    steth = await _steth(client, deployment.contracts["LidoStETH"])
    score, rule, why = contract_score(steth)
    assert (score, rule) == (60, "control.governor-no-delay")
    assert steth.admin_chain[-1].address in why
    assert overrides_of([steth]) == ()


async def test_an_eoa_granted_app_manager_role_by_a_vote_caps_the_composite(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    dao = aragon_dao(sender, deployment.contracts["LidoStETH"])
    eoa = sender.accounts[7]
    grant = dao.app.acl.encode_abi("grantPermission", args=[eoa, dao.app.kernel.address, APP_MANAGER_ROLE])
    run_vote(sender, dao, calls_script((dao.app.acl.address, bytes.fromhex(grant[2:]))))
    steth = await _steth(client, deployment.contracts["LidoStETH"])
    score, rule, why = contract_score(steth)
    assert (score, rule) == (10, "control.eoa-no-delay")
    assert eoa in why
    assert [(o.rule, o.cap) for o in overrides_of([steth])] == [("override.eoa-upgrade-no-delay", 30)]
    # Revoked again through the Voting: the Voting alone once more (the same reads, the other answer).
    revoke = dao.app.acl.encode_abi("revokePermission", args=[eoa, dao.app.kernel.address, APP_MANAGER_ROLE])
    run_vote(sender, dao, calls_script((dao.app.acl.address, bytes.fromhex(revoke[2:]))))
    assert contract_score(await _steth(client, deployment.contracts["LidoStETH"]))[1] == "control.governor-no-delay"


async def test_an_aragon_app_whose_acl_is_unreadable_scores_as_an_unknown_admin_and_caps_the_composite(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    not_an_acl = sender.deploy(contract_artifact("EmptyContract")).address
    kernel = deploy_kernel(sender, not_an_acl)
    proxy = sender.deploy(contract_artifact("AppProxyUpgradeable"), kernel.address, LIDO_APP_ID, b"")
    steth = await _steth(client, proxy.address)
    score, rule, why = contract_score(steth)
    assert (score, rule) == (0, "control.unknown-admin")
    assert not_an_acl in why
    assert ARAGON_ACL_WHY in why
    # Its pause powers are read from the same ACL: unread too. The pillar stays at 0 and names the unknown admin as
    # its rule (what scored 0), the unread pause in its evidence; the override is the unknown admin's.
    assert all(p.why is not None and not p.holders for p in steth.pause)
    pillar = control_pillar([steth])
    assert (pillar.score, pillar.rule) == (0, "control.unknown-admin")
    assert "not read" in pillar.evidence
    assert ARAGON_ACL_WHY in pillar.evidence
    assert [(o.rule, o.cap) for o in overrides_of([steth])] == [("override.unknown-admin", 40)]


async def _queue(client: ChainClient, deployment: Deployment) -> ContractControl:
    """Lido's WithdrawalQueue, whose OssifiableProxy's admin is the DAO Agent (as on mainnet)."""
    reader = Batcher(await client.snapshot()).reader("control")
    use = ContractUse("WithdrawalQueue", "lido/WithdrawalQueue", address=deployment.contracts["LidoWithdrawalQueue"])
    return await inspect_contract(reader, use)


async def test_the_queue_administered_by_the_agent_scores_as_the_voting_without_a_cap(
    client: ChainClient, deployment: Deployment
) -> None:
    queue = await _queue(client, deployment)
    score, rule, why = contract_score(queue)
    assert (score, rule) == (60, "control.governor-no-delay")
    assert queue.admin_chain[-1].address in why
    assert overrides_of([queue]) == ()


async def test_an_eoa_granted_the_agents_execute_role_is_the_weakest_controller_and_caps_the_composite(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    dao = aragon_dao(sender, deployment.contracts["LidoStETH"])
    proxy = sender.contract(contract_artifact("OssifiableProxy"), deployment.contracts["LidoWithdrawalQueue"])
    agent = proxy.functions.proxy__getAdmin().call()
    eoa = sender.accounts[7]
    grant = dao.app.acl.encode_abi("grantPermission", args=[eoa, agent, EXECUTE_ROLE])
    run_vote(sender, dao, calls_script((dao.app.acl.address, bytes.fromhex(grant[2:]))))
    queue = await _queue(client, deployment)
    score, rule, why = contract_score(queue)
    assert (score, rule) == (10, "control.eoa-no-delay")
    assert why == f"ends at {agent}, whose weakest controller is eoa, delay 0 s"
    assert [(o.rule, o.cap) for o in overrides_of([queue])] == [("override.eoa-upgrade-no-delay", 30)]
    # What the EOA can then do alone: upgrade the queue through the Agent.
    upgrade = proxy.encode_abi("proxy__upgradeTo", args=[deployment.contracts["LidoStETH"]])
    agent_contract = sender.contract(contract_artifact("AragonAgent"), agent)
    sender.send(agent_contract.functions.execute(proxy.address, 0, upgrade), sender=eoa)
    assert proxy.functions.proxy__getImplementation().call() == deployment.contracts["LidoStETH"]
