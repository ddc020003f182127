"""Lido's DAO Agent (an Aragon Agent app, the admin of Lido's OssifiableProxies) read as a forwarder: it acts for the
holders and managers of EXECUTE_ROLE and RUN_SCRIPT_ROLE on it (and of APP_MANAGER_ROLE for its app id), each
confirmed with the kernel's hasPermission; one controller is the next hop, several a fork; an ACL that cannot be
read leaves it unknown."""

from __future__ import annotations

import pytest
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.devnet.aragon import (
    AGENT_APP_ID,
    EXECUTE_ROLE,
    AragonDao,
    aragon_dao,
    calls_script,
    deploy_aragon_app,
    run_vote,
)
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.admin import admin_chain
from defiscope.protocols.control.aragon import AGENT_ACL_WHY
from defiscope.protocols.control.profile import ContractControl, control_surface


async def _reader(client: ChainClient) -> Reader:
    return Batcher(await client.snapshot()).reader("control")


async def _queue_control(client: ChainClient, deployment: Deployment) -> ContractControl:
    surface = await control_surface(await _reader(client), deployment, "lido")
    (control,) = [c for c in surface.contracts if c.proxy.address == deployment.contracts["LidoWithdrawalQueue"]]
    return control


def _lido(sender: Sender, deployment: Deployment) -> tuple[AragonDao, Contract, Contract]:
    """Lido's DAO, the queue's OssifiableProxy and its admin, the Agent."""
    dao = aragon_dao(sender, deployment.contracts["LidoStETH"])
    proxy = sender.contract(contract_artifact("OssifiableProxy"), deployment.contracts["LidoWithdrawalQueue"])
    agent = sender.contract(contract_artifact("AragonAgent"), proxy.functions.proxy__getAdmin().call())
    return dao, proxy, agent


def _script(contract: Contract, function: str, *args: object) -> bytes:
    return calls_script((contract.address, bytes.fromhex(contract.encode_abi(function, args=list(args))[2:])))


async def test_the_queue_admin_chain_goes_through_the_agent_to_the_voting(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    dao, _, agent = _lido(Sender.connect(eth_chain.rpc_url), deployment)
    control = await _queue_control(client, deployment)
    chain = [(link.kind, link.address) for link in control.admin_chain]
    assert chain == [("contract", agent.address), ("governor", dao.voting.address)]
    link = control.admin_chain[0]
    voting = dao.voting.address
    assert link.controllers == (voting,)  # holder and manager of every role that makes it act
    assert link.detail == (
        f"Aragon Agent: EXECUTE_ROLE held by {voting} (manager {voting}); "
        f"RUN_SCRIPT_ROLE held by {voting} (manager {voting}); "
        "SAFE_EXECUTE_ROLE held by nobody (no manager); "
        f"APP_MANAGER_ROLE held by {voting} (manager {voting})"
    )


async def test_only_a_vote_makes_the_agent_upgrade_the_queue(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    """What the chain means on chain: account 0 cannot make the Agent act (negative control), a passed vote can,
    either way: the Voting calls ``execute`` or the Agent runs the Voting's script (``forward``)."""
    sender = Sender.connect(eth_chain.rpc_url)
    dao, proxy, agent = _lido(sender, deployment)
    first, second = (str(sender.deploy(contract_artifact("EmptyContract")).address) for _ in range(2))
    upgrade = proxy.encode_abi("proxy__upgradeTo", args=[first])
    with pytest.raises(ContractLogicError, match="APP_AUTH_FAILED"):
        sender.send(agent.functions.execute(proxy.address, 0, upgrade))
    assert not agent.functions.canForward(sender.owner, calls_script()).call()
    run_vote(sender, dao, _script(agent, "execute", proxy.address, 0, bytes.fromhex(upgrade[2:])))
    assert proxy.functions.proxy__getImplementation().call() == first
    inner = _script(proxy, "proxy__upgradeTo", second)
    run_vote(sender, dao, _script(agent, "forward", inner))
    control = await _queue_control(client, deployment)
    assert control.proxy.implementation == second
    assert [u.implementation for u in control.upgrades][-2:] == [first, second]
    assert control.admin_chain[-1].kind == "governor"


async def test_an_eoa_granted_execute_role_by_a_vote_makes_a_fork_whose_weakest_is_the_eoa(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    dao, _, agent = _lido(sender, deployment)
    eoa = sender.accounts[6]
    run_vote(sender, dao, _script(dao.app.acl, "grantPermission", eoa, agent.address, EXECUTE_ROLE))
    control = await _queue_control(client, deployment)
    (link,) = control.admin_chain  # a fork ends the chain: each controller is classified
    assert (link.kind, link.address) == ("contract", agent.address)
    assert dict(zip(link.controllers, link.controller_kinds, strict=True)) == {
        dao.voting.address: "governor",
        eoa: "eoa",
    }
    assert f"EXECUTE_ROLE held by {dao.voting.address}, {eoa}" in link.detail


async def test_an_agent_whose_acl_cannot_be_read_stays_unknown_with_why(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    """An Agent of a kernel whose ACL app was replaced by a contract that is no ACL (the kernel's own setApp)."""
    sender = Sender.connect(eth_chain.rpc_url)
    base = sender.deploy(contract_artifact("AragonAgent"))
    app = deploy_aragon_app(sender, base.address, app_id=AGENT_APP_ID)
    agent = sender.contract(contract_artifact("AragonAgent"), app.proxy.address)
    sender.send(agent.functions.initialize())
    kernel = app.kernel.functions
    not_an_acl = str(sender.deploy(contract_artifact("EmptyContract")).address)
    sender.send(kernel.setApp(kernel.APP_ADDR_NAMESPACE().call(), kernel.DEFAULT_ACL_APP_ID().call(), not_an_acl))
    chain = await admin_chain(await _reader(client), agent.address)
    assert [(link.kind, link.address) for link in chain] == [("unknown", agent.address)]
    why = chain[0].why
    assert why is not None
    assert why.startswith(AGENT_ACL_WHY)
    assert not_an_acl in why
