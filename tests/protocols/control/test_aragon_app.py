"""An Aragon app (Lido's stETH on mainnet is one) behind the AppProxyUpgradeable replica: read as an ERC-897 proxy
whose admin chain is its kernel, the kernel's ACL (who holds or manages APP_MANAGER_ROLE), then the weakest of
those to its end; its upgrades are the kernel's SetApp events for its app id."""

from __future__ import annotations

import pytest
from web3.exceptions import ContractLogicError

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.devnet.aragon import (
    APP_BASES_NAMESPACE,
    APP_MANAGER_ROLE,
    LIDO_APP_ID,
    VOTING_APP_ID,
    aragon_dao,
    calls_script,
    deploy_aragon_app,
    deploy_kernel,
    run_vote,
    set_app_base,
    vote_set_app,
)
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.aragon import ANY_ENTITY, ARAGON_ACL_WHY, set_app_history
from defiscope.protocols.control.profile import ContractControl, control_surface, inspect_contract
from defiscope.protocols.control.proxy import read_proxy
from defiscope.protocols.surface import ContractUse


async def _reader(client: ChainClient) -> Reader:
    return Batcher(await client.snapshot()).reader("control")


async def _inspect(client: ChainClient, address: str) -> ContractControl:
    return await inspect_contract(await _reader(client), ContractUse("stETH", "lido/StETH", address=address))


def _empty(sender: Sender) -> str:
    return str(sender.deploy(contract_artifact("EmptyContract")).address)


async def test_an_aragon_app_chain_goes_through_the_acl_to_the_role_holder(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    base = _empty(sender)
    app = deploy_aragon_app(sender, base, app_id=LIDO_APP_ID)
    control = await _inspect(client, app.proxy.address)
    proxy = control.proxy
    assert (proxy.kind, proxy.pattern) == ("custom", "aragon-app")
    assert (proxy.implementation, proxy.admin) == (base, app.kernel.address)
    chain = [(link.kind, link.address) for link in control.admin_chain]
    # Account 0 holds and manages the role (a DAO template before its handover): one upgrader, an EOA.
    assert chain == [("contract", app.kernel.address), ("contract", app.acl.address), ("eoa", sender.owner)]
    acl = control.admin_chain[1]
    assert acl.controllers == (sender.owner,)
    assert acl.detail == f"Aragon ACL: APP_MANAGER_ROLE on the kernel held by {sender.owner}; manager {sender.owner}"


async def test_a_revoked_holder_is_not_an_upgrader_and_no_one_left_means_frozen(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    app = deploy_aragon_app(sender, _empty(sender), app_id=LIDO_APP_ID)
    acl = app.acl.functions
    sender.send(acl.revokePermission(sender.owner, app.kernel.address, APP_MANAGER_ROLE))
    sender.send(acl.removePermissionManager(app.kernel.address, APP_MANAGER_ROLE))
    control = await _inspect(client, app.proxy.address)
    # The SetPermission events still name account 0; hasPermission at the pinned block says it lost the role.
    end = control.admin_chain[-1]
    assert (end.kind, end.address, end.controllers) == ("contract", app.acl.address, ("0x" + "00" * 20,))
    assert end.why is not None
    assert "cannot change" in end.why


async def test_an_upgrade_through_set_app_is_in_the_history_with_block_and_implementation(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    first, second = _empty(sender), _empty(sender)
    app = deploy_aragon_app(sender, first, app_id=LIDO_APP_ID)
    receipt = set_app_base(sender, app, second)
    # Another namespace, and another app of the same kernel: not this app's upgrades (negative controls).
    sender.send(app.kernel.functions.setApp(app.kernel.functions.APP_ADDR_NAMESPACE().call(), LIDO_APP_ID, first))
    sender.send(app.kernel.functions.setApp(APP_BASES_NAMESPACE, VOTING_APP_ID, first))
    reader = await _reader(client)
    info = await read_proxy(reader, app.proxy.address)
    assert info.implementation == second
    history = await set_app_history(reader, info)
    assert [(e.implementation, e.block) for e in history][-1] == (second, receipt["blockNumber"])
    assert [e.implementation for e in history] == [first, second]
    assert history[-1].transaction == receipt["transactionHash"].to_0x_hex()


async def _steth_control(client: ChainClient, deployment: Deployment) -> ContractControl:
    steth = deployment.contracts["LidoStETH"]
    surface = await control_surface(await _reader(client), deployment, "lido")
    (control,) = [c for c in surface.contracts if c.proxy.address == steth]
    return control


async def test_the_devnet_steth_ends_at_lidos_voting_a_governor(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    control = await _steth_control(client, deployment)
    assert (control.proxy.kind, control.proxy.pattern) == ("custom", "aragon-app")
    dao = aragon_dao(Sender.connect(eth_chain.rpc_url), control.proxy.address)
    chain = [(link.kind, link.address) for link in control.admin_chain]
    kernel, acl = dao.app.kernel.address, dao.app.acl.address
    assert chain == [("contract", kernel), ("contract", acl), ("governor", dao.voting.address)]
    assert control.admin_chain[1].controllers == (dao.voting.address,)  # holder and manager: the Voting alone
    voting = control.admin_chain[-1].detail
    assert voting == (
        f"Aragon Voting: votes of {dao.token.address}, vote time 60 s, support > 50% of votes, yes > 5% of supply"
    )
    assert [u.implementation for u in control.upgrades] == [control.proxy.implementation]


async def test_a_vote_of_lidos_dao_upgrades_steth_and_the_history_shows_it(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    dao = aragon_dao(sender, deployment.contracts["LidoStETH"])
    implementation = str(sender.deploy(contract_artifact("Lido")).address)
    # Account 0 alone cannot: the role is the Voting's (negative control).
    with pytest.raises(ContractLogicError, match="KERNEL_AUTH_FAILED"):
        set_app_base(sender, dao.app, implementation)
    receipt = vote_set_app(sender, dao, implementation)
    control = await _steth_control(client, deployment)
    assert control.proxy.implementation == implementation
    assert (control.upgrades[-1].block, control.upgrades[-1].implementation) == (receipt["blockNumber"], implementation)
    assert len(control.upgrades) == 2
    assert control.admin_chain[-1].kind == "governor"


async def test_an_eoa_granted_app_manager_role_shows_and_is_the_weakest(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    """The Voting, as the role's manager, grants it to an EOA through a vote (the ACL's real path)."""
    sender = Sender.connect(eth_chain.rpc_url)
    dao = aragon_dao(sender, deployment.contracts["LidoStETH"])
    eoa = sender.accounts[5]
    grant = dao.app.acl.encode_abi("grantPermission", args=[eoa, dao.app.kernel.address, APP_MANAGER_ROLE])
    run_vote(sender, dao, calls_script((dao.app.acl.address, bytes.fromhex(grant[2:]))))
    control = await _steth_control(client, deployment)
    acl = control.admin_chain[1]
    assert set(acl.controllers) == {dao.voting.address, eoa}
    assert acl.why == "2 can upgrade, each alone: followed the weakest"
    assert [(link.kind, link.address) for link in control.admin_chain[2:]] == [("eoa", eoa)]


async def test_an_unreadable_acl_stays_unknown_with_why(client: ChainClient, eth_chain: DevnetChain) -> None:
    """A kernel whose acl() is no aragonOS ACL: getPermissionManager fails, the link is unknown, never safe."""
    sender = Sender.connect(eth_chain.rpc_url)
    not_an_acl = _empty(sender)
    kernel = deploy_kernel(sender, not_an_acl)
    proxy = sender.deploy(contract_artifact("AppProxyUpgradeable"), kernel.address, LIDO_APP_ID, b"")
    control = await _inspect(client, proxy.address)
    assert [(link.kind, link.address) for link in control.admin_chain] == [
        ("contract", kernel.address),
        ("unknown", not_an_acl),
    ]
    why = control.admin_chain[-1].why
    assert why is not None
    assert why.startswith(ARAGON_ACL_WHY)
    assert "getPermissionManager failed" in why


async def test_app_manager_role_for_any_entity_reads_as_anyone_and_anyone_can_upgrade(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    dao = aragon_dao(sender, deployment.contracts["LidoStETH"])
    grant = dao.app.acl.encode_abi("grantPermission", args=[ANY_ENTITY, dao.app.kernel.address, APP_MANAGER_ROLE])
    run_vote(sender, dao, calls_script((dao.app.acl.address, bytes.fromhex(grant[2:]))))
    control = await _steth_control(client, deployment)
    end = control.admin_chain[-1]
    assert (end.kind, end.address, end.detail) == ("eoa", ANY_ENTITY, "ANY_ENTITY: any account may upgrade")
    # What it means on chain: an account never granted anything upgrades stETH.
    implementation = str(sender.deploy(contract_artifact("Lido")).address)
    anyone = sender.accounts[8]
    kernel = dao.app.kernel.functions
    sender.send(kernel.setApp(APP_BASES_NAMESPACE, dao.app.app_id, implementation), sender=anyone)
    assert (await _steth_control(client, deployment)).proxy.implementation == implementation
