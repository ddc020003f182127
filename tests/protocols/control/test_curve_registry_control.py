"""Curve's main registry on the devnet, read as its code checks its admin: its admin-only functions assert
``msg.sender == self.address_provider.admin()``, so its admin chain is the AddressProvider's admin's, not "no admin".
As on mainnet, that admin is Curve's Ownership Agent (an Aragon Agent) that only the Ownership Voting makes act: the
chain ends at the Voting, a governor (60); an EOA the Voting grants EXECUTE_ROLE on the Agent (the ACL's own
grantPermission, by the role's manager) makes a fork scored as the EOA (10)."""

from __future__ import annotations

import pytest
from web3.exceptions import ContractLogicError

from defiscope.analytics.risk.rules import contract_score
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.aragon import EXECUTE_ROLE, AragonDao, aragon_dao, calls_script, run_vote
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.curve import (
    CURVE_AGENT,
    CURVE_PARAMETER_AGENT,
    CURVE_VOTING,
    OWNER_PROXY,
    POOL_PROXY,
    ZERO_ADDRESS,
    vote_pool_proxy_admins,
)
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.admin import admin_chain
from defiscope.protocols.control.profile import DEPUTY_NOT_FOLLOWED, ContractControl, control_surface
from defiscope.protocols.control.rounds import Rounds


async def _controls(client: ChainClient, deployment: Deployment) -> dict[str, ContractControl]:
    reader = Batcher(await client.snapshot()).reader("control")
    surface = await control_surface(reader, deployment, "curve")
    return {c.proxy.address: c for c in surface.contracts}


def _curve_dao(sender: Sender, deployment: Deployment) -> AragonDao:
    """Curve's DAO as the chain has it: the Agent's kernel and ACL, the Voting managing APP_MANAGER_ROLE."""
    dao = aragon_dao(sender, deployment.contracts[CURVE_AGENT])
    assert dao.voting.address == deployment.contracts[CURVE_VOTING]
    return dao


async def test_the_registry_is_run_by_the_ownership_agent_for_the_ownership_voting(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    c = deployment.contracts
    agent, voting = c[CURVE_AGENT], c[CURVE_VOTING]
    registry_contract = sender.contract(contract_artifact("CurveMainRegistry"), c["CurveRegistry"])
    assert registry_contract.functions.address_provider().call() == c["CurveAddressProvider"]
    provider_contract = sender.contract(contract_artifact("CurveAddressProvider"), c["CurveAddressProvider"])
    assert provider_contract.functions.admin().call() == agent
    controls = await _controls(client, deployment)
    registry, provider = controls[c["CurveRegistry"]], controls[c["CurveAddressProvider"]]
    assert registry.proxy.kind == "none"
    assert [(link.kind, link.address) for link in registry.admin_chain] == [
        ("contract", agent),
        ("governor", voting),
    ]
    assert registry.admin_chain[0].controllers == (voting,)  # holder and manager of every role that makes it act
    assert registry.admin_chain[0].detail == (
        f"Aragon Agent: EXECUTE_ROLE held by {voting} (manager {voting}); "
        "RUN_SCRIPT_ROLE held by nobody (no manager); "  # never created on Curve's Agent, as on mainnet
        "SAFE_EXECUTE_ROLE held by nobody (no manager); "
        f"APP_MANAGER_ROLE held by {voting} (manager {voting})"
    )
    assert registry.admin_chain[1].detail.startswith("Aragon Voting: votes of ")
    assert registry.admin_chain == provider.admin_chain
    assert contract_score(registry)[:2] == (60, "control.governor-no-delay")  # the deployer's EOA scored 10


async def test_the_ng_factories_are_run_by_the_ownership_agent_as_on_mainnet(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    """stable-ng, twocrypto-ng and tricrypto-ng: admin() is the Agent, so their chains end at the Voting as the
    registry's does; the deployer, who listed their pools through the Agent, can no longer list one itself."""
    sender = Sender.connect(eth_chain.rpc_url)
    c = deployment.contracts
    controls = await _controls(client, deployment)
    registry = controls[c["CurveRegistry"]]
    for name in ("CurveStableNgFactory", "CurveTwocryptoNgFactory", "CurveTricryptoNgFactory"):
        factory = sender.contract(contract_artifact(name), c[name])
        assert factory.functions.admin().call() == c[CURVE_AGENT]
        assert factory.functions.pool_count().call() > 0  # its pools were listed, by the Agent
        with pytest.raises(ContractLogicError, match="admin only"):
            sender.send(factory.functions.register_pool(c["Curve3Pool"], 3, ZERO_ADDRESS))
        assert controls[c[name]].admin_chain == registry.admin_chain, name
        assert contract_score(controls[c[name]])[:2] == (60, "control.governor-no-delay")


async def test_the_stable_factory_is_run_by_its_owner_proxy_for_the_ownership_voting(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    """The old stable factory's admin() is the StableSwap Owner Proxy, whose ownership_admin() is the Ownership
    Agent: factory -> proxy -> Agent -> Voting, a governor (60), as the registry's chain ends. Its parameter admin
    (the Parameter Agent, run by the same Voting here) and emergency admin are named as powers, not followed."""
    sender = Sender.connect(eth_chain.rpc_url)
    c = deployment.contracts
    agent, parameter_agent = c[CURVE_AGENT], c[CURVE_PARAMETER_AGENT]
    factory = sender.contract(contract_artifact("CurveStableFactory"), c["CurveStableFactory"])
    proxy = sender.contract(contract_artifact(OWNER_PROXY), c[OWNER_PROXY])
    assert (factory.functions.admin().call(), factory.functions.future_admin().call()) == (proxy.address, ZERO_ADDRESS)
    assert factory.functions.pool_count().call() > 0  # listed by the deployer before it handed the factory over
    admins = [proxy.functions.ownership_admin(), proxy.functions.parameter_admin(), proxy.functions.emergency_admin()]
    assert [call.call() for call in admins] == [agent, parameter_agent, agent]
    assert proxy.functions.FACTORY().call() == factory.address
    with pytest.raises(ContractLogicError, match="admin only"):
        sender.send(factory.functions.register_pool(c["Curve3Pool"], 3, ZERO_ADDRESS))
    for only_admins in (
        proxy.functions.commit_set_admins(sender.owner, sender.owner, sender.owner),  # the ownership admin's
        proxy.functions.apply_set_admins(),
        proxy.functions.commit_transfer_ownership(factory.address, sender.owner),
        proxy.functions.ramp_A(c["Curve3Pool"], 200, 2**40),  # the parameter admin's
        proxy.functions.stop_ramp_A(c["Curve3Pool"]),  # the parameter or emergency admin's
    ):
        with pytest.raises(ContractLogicError, match="Access denied"):
            sender.send(only_admins)
    with pytest.raises(ContractLogicError, match="future admin only"):  # anyone may ask; nothing was committed
        sender.send(proxy.functions.accept_transfer_ownership(factory.address))

    controls = await _controls(client, deployment)
    stable, registry = controls[factory.address], controls[c["CurveRegistry"]]
    first, *rest = stable.admin_chain
    assert (first.kind, first.address, first.controllers) == ("contract", proxy.address, (agent,))
    assert first.detail.startswith(f"Curve owner proxy: ownership_admin {agent} (")
    assert f"parameter_admin {parameter_agent} (pool parameters" in first.detail
    assert tuple(rest) == registry.admin_chain  # Agent -> Voting
    assert contract_score(stable)[:2] == (60, "control.governor-no-delay")
    powers = {power.power.split(":")[0]: power for power in stable.pause}
    assert powers.keys() == {"pool parameters", "emergency"}
    parameters, emergency = powers["pool parameters"], powers["emergency"]
    assert (parameters.holders, parameters.source) == ((parameter_agent,), f"parameter_admin() of {proxy.address}")
    assert (emergency.holders, emergency.source) == ((agent,), f"emergency_admin() of {proxy.address}")
    # named, not followed (not scored: the ownership admin may replace them at any block)
    assert parameters.holder_chains == emergency.holder_chains == ()
    assert parameters.why == emergency.why == DEPUTY_NOT_FOLLOWED


async def test_the_ownership_voting_replaces_the_proxys_admins_and_the_chain_follows(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    """commit_set_admins then apply_set_admins, each the ownership admin's (the Agent's, in one passed vote: no
    delay between them): an EOA made ownership admin is then the factory's controller (10). The devnet can
    contradict what the control reads say, so the chain is read again, not assumed."""
    sender = Sender.connect(eth_chain.rpc_url)
    c = deployment.contracts
    dao = _curve_dao(sender, deployment)
    proxy = sender.contract(contract_artifact(OWNER_PROXY), c[OWNER_PROXY])
    agent = sender.contract(contract_artifact("AragonAgent"), c[CURVE_AGENT])
    eoa, deputy = sender.accounts[6], sender.accounts[8]
    calls = [proxy.functions.commit_set_admins(eoa, deputy, deputy), proxy.functions.apply_set_admins()]
    executed = [
        agent.functions.execute(proxy.address, 0, bytes.fromhex(f._encode_transaction_data()[2:])) for f in calls
    ]
    script = calls_script(*((agent.address, bytes.fromhex(e._encode_transaction_data()[2:])) for e in executed))
    run_vote(sender, dao, script)
    assert proxy.functions.ownership_admin().call() == eoa

    controls = await _controls(client, deployment)
    stable = controls[c["CurveStableFactory"]]
    assert [(link.kind, link.address) for link in stable.admin_chain] == [("contract", proxy.address), ("eoa", eoa)]
    assert contract_score(stable)[:2] == (10, "control.eoa-no-delay")
    assert {power.holders for power in stable.pause} == {(deputy,)}


async def test_an_eoa_the_voting_grants_execute_role_on_the_agent_scores_the_registry_as_an_eoa(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    dao = _curve_dao(sender, deployment)
    agent, eoa = deployment.contracts[CURVE_AGENT], sender.accounts[6]
    grant = dao.app.acl.functions.grantPermission(eoa, agent, EXECUTE_ROLE)
    with pytest.raises(ContractLogicError):  # only the role's manager, the Voting, may grant it
        sender.send(grant)
    run_vote(sender, dao, calls_script((dao.app.acl.address, bytes.fromhex(grant._encode_transaction_data()[2:]))))
    assert dao.app.acl.functions.hasPermission(eoa, agent, EXECUTE_ROLE).call()

    controls = await _controls(client, deployment)
    registry = controls[deployment.contracts["CurveRegistry"]]
    (fork,) = registry.admin_chain  # a fork ends the chain: each controller is classified
    assert (fork.kind, fork.address) == ("contract", agent)
    assert dict(zip(fork.controllers, fork.controller_kinds, strict=True)) == {
        dao.voting.address: "governor",
        eoa: "eoa",
    }
    assert f"EXECUTE_ROLE held by {dao.voting.address}, {eoa}" in fork.detail
    assert contract_score(registry)[:2] == (10, "control.eoa-no-delay")


async def test_the_agent_is_read_to_the_voting_in_three_rounds_and_foreign_grants_are_dropped(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    """The Agent's probes; its kernel's acl() with the SetPermission events naming it (by topic, from any emitter);
    the managers and the confirmations with the Voting's probes. A SetPermission naming the Agent emitted by another
    ACL (anyone can deploy one) is no candidate: only its kernel's ACL is asked."""
    sender = Sender.connect(eth_chain.rpc_url)
    agent, voting, eoa = deployment.contracts[CURVE_AGENT], deployment.contracts[CURVE_VOTING], sender.accounts[7]
    foreign = sender.deploy(contract_artifact("AragonACL"), sender.owner)
    sender.send(foreign.functions.createPermission(eoa, agent, EXECUTE_ROLE, eoa))  # SetPermission(eoa, agent, ...)
    reader = Batcher(await client.snapshot()).reader("control")
    rounds = Rounds(reader)
    chain = await rounds.run(admin_chain(rounds, agent))
    assert [(link.kind, link.address) for link in chain] == [("contract", agent), ("governor", voting)]
    assert rounds.rounds == 3
    assert any(query.address is None for query in reader.log_queries)  # the grants, asked by the Agent's topic
    asked_about = {r.call.args[0] for r in reader.records if r.call.function.name == "hasPermission"}
    # The Voting, and the deployer (granted, then revoked, while it set Curve up); the foreign ACL's grantee is not
    # even confirmed.
    assert asked_about == {voting, sender.owner}


def test_the_address_provider_hands_its_admin_over_only_after_three_days(
    eth_chain: DevnetChain, deployment: Deployment
) -> None:
    """Mainnet's commit_transfer_ownership / apply_transfer_ownership, sent by the Agent: the new admin takes over
    no sooner than three days after the commit."""
    sender = Sender.connect(eth_chain.rpc_url)
    agent = deployment.contracts[CURVE_AGENT]
    provider = sender.contract(contract_artifact("CurveAddressProvider"), deployment.contracts["CurveAddressProvider"])
    newcomer = sender.accounts[5]
    with pytest.raises(ContractLogicError, match="admin only"):
        sender.send(provider.functions.commit_transfer_ownership(newcomer))
    with sender.impersonating(agent, gas_money=10**18):
        sender.send(provider.functions.commit_transfer_ownership(newcomer), sender=agent)
        deadline = provider.functions.transfer_ownership_deadline().call()
        assert provider.functions.future_admin().call() == newcomer
        with pytest.raises(ContractLogicError, match="now < deadline"):
            sender.send(provider.functions.apply_transfer_ownership(), sender=agent)
        sender.rpc("evm_mine", [deadline])  # three days on (the test's snapshot, reverted after, brings time back)
        sender.send(provider.functions.apply_transfer_ownership(), sender=agent)
    assert provider.functions.admin().call() == newcomer
    assert provider.functions.transfer_ownership_deadline().call() == 0


REGISTRY_POOLS = ("Curve3Pool", "CurveUsdcUsdtPool", "CurveEthStethPool")
FACTORY_POOLS = ("CurveDaiUsdcPool", "CurveUsdt3CrvPool", "CurveDaiUsdtNgPool")


async def _pool_controls(client: ChainClient, deployment: Deployment) -> dict[str, ContractControl]:
    """The registry pools' controls, read as the profile reads them: inspected as "pools of CurveRegistry"."""
    c = deployment.contracts
    reader = Batcher(await client.snapshot()).reader("control")
    found = {"pools of CurveRegistry": [c[name] for name in REGISTRY_POOLS]}
    surface = await control_surface(reader, deployment, "curve", found=found)
    (kind,) = [k for k in surface.discovered if k.name == "pools of CurveRegistry"]
    assert kind.rule == "inspected"
    return {a: group.control for group in kind.groups for a in group.addresses}


async def test_registry_pools_are_owned_by_the_pool_proxy_run_by_the_ownership_voting(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    """As 3pool's owner() is Curve's PoolProxy on mainnet: pool -> PoolProxy (ownership_admin the Ownership Agent)
    -> Agent -> Voting, a governor (60), never "no admin". The deployer may not ramp A; a factory pool has no owner
    of its own (owner() reverts) and its A is its factory's admin's."""
    sender = Sender.connect(eth_chain.rpc_url)
    c = deployment.contracts
    proxy = sender.contract(contract_artifact(POOL_PROXY), c[POOL_PROXY])
    admins = [proxy.functions.ownership_admin(), proxy.functions.parameter_admin(), proxy.functions.emergency_admin()]
    assert [call.call() for call in admins] == [c[CURVE_AGENT], c[CURVE_PARAMETER_AGENT], c[CURVE_AGENT]]
    registry = (await _controls(client, deployment))[c["CurveRegistry"]]
    controls = await _pool_controls(client, deployment)
    for name in REGISTRY_POOLS:
        pool = sender.contract(contract_artifact("CurveStableSwap2"), c[name])
        owner = (pool.functions.owner(), pool.functions.future_owner(), pool.functions.transfer_ownership_deadline())
        assert [call.call() for call in owner] == [proxy.address, ZERO_ADDRESS, 0], name
        for only_owner in (pool.functions.ramp_A(200, 2**40), pool.functions.stop_ramp_A()):
            with pytest.raises(ContractLogicError, match="only owner"):
                sender.send(only_owner)
        first, *rest = controls[c[name]].admin_chain
        assert (first.kind, first.address, first.controllers) == ("contract", proxy.address, (c[CURVE_AGENT],)), name
        assert tuple(rest) == registry.admin_chain, name  # Agent -> Voting
        assert contract_score(controls[c[name]])[:2] == (60, "control.governor-no-delay"), name
        # The PoolProxy's parameter admin may ramp it (simulated with eth_call: no state changes).
        proxy.functions.ramp_A(pool.address, 200, 2**40).call({"from": c[CURVE_PARAMETER_AGENT]})
    owner_proxy = sender.contract(contract_artifact(OWNER_PROXY), c[OWNER_PROXY])
    for name in FACTORY_POOLS:
        pool = sender.contract(contract_artifact("CurveStableSwap2"), c[name])
        with pytest.raises(ContractLogicError, match="factory pool: no owner"):
            pool.functions.owner().call()
        with pytest.raises(ContractLogicError, match="only owner"):  # its factory's admin is not the deployer
            sender.send(pool.functions.ramp_A(200, 2**40))
        # Its factory's admin() may: the Owner Proxy (for its parameter admin) or stable-ng's, the Agent.
        if name == "CurveDaiUsdtNgPool":
            pool.functions.stop_ramp_A().call({"from": c[CURVE_AGENT]})
        else:
            owner_proxy.functions.stop_ramp_A(pool.address).call({"from": c[CURVE_PARAMETER_AGENT]})


async def test_the_ownership_voting_hands_the_pool_proxy_to_an_eoa_and_the_pools_read_follows(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    """A passed Ownership vote sets the PoolProxy's admins (commit_set_admins, apply_set_admins): the 3pool's chain is
    then pool -> proxy -> EOA (10). The EOA, as ownership admin, may commit the pool's own transfer, which waits
    three days (apply reverts before), revert, or apply three days later: the pool's chain is then the EOA alone."""
    sender = Sender.connect(eth_chain.rpc_url)
    c = deployment.contracts
    proxy = sender.contract(contract_artifact(POOL_PROXY), c[POOL_PROXY])
    pool = sender.contract(contract_artifact("CurveStableSwap3"), c["Curve3Pool"])
    eoa = sender.accounts[6]
    vote_pool_proxy_admins(sender, c, eoa, eoa, eoa)
    controls = await _pool_controls(client, deployment)
    chain = controls[pool.address].admin_chain
    assert [(link.kind, link.address) for link in chain] == [("contract", proxy.address), ("eoa", eoa)]
    assert contract_score(controls[pool.address])[:2] == (10, "control.eoa-no-delay")

    with pytest.raises(ContractLogicError, match="Access denied"):
        sender.send(proxy.functions.commit_transfer_ownership(pool.address, sender.owner))
    receipt = sender.send(proxy.functions.commit_transfer_ownership(pool.address, eoa), sender=eoa)
    now = sender.w3.eth.get_block(receipt["blockNumber"])["timestamp"]
    assert (pool.functions.future_owner().call(), pool.functions.transfer_ownership_deadline().call()) == (
        eoa,
        now + 3 * 86400,
    )
    with pytest.raises(ContractLogicError, match="insufficient time"):
        sender.send(proxy.functions.apply_transfer_ownership(pool.address))
    sender.send(proxy.functions.revert_transfer_ownership(pool.address), sender=eoa)
    assert pool.functions.transfer_ownership_deadline().call() == 0
    assert pool.functions.owner().call() == proxy.address  # the pool's own transfer never went through

    # Committed again and applied three days later (anyone may apply through the proxy): the EOA owns the pool.
    receipt = sender.send(proxy.functions.commit_transfer_ownership(pool.address, eoa), sender=eoa)
    deadline = sender.w3.eth.get_block(receipt["blockNumber"])["timestamp"] + 3 * 86400
    sender.rpc("evm_mine", [deadline])
    with pytest.raises(ContractLogicError, match="only owner"):  # the pool's apply is its owner's: the proxy's
        sender.send(pool.functions.apply_transfer_ownership())
    sender.send(proxy.functions.apply_transfer_ownership(pool.address))
    assert (pool.functions.owner().call(), pool.functions.transfer_ownership_deadline().call()) == (eoa, 0)
    controls = await _pool_controls(client, deployment)
    assert [(link.kind, link.address) for link in controls[pool.address].admin_chain] == [("eoa", eoa)]
