"""Lido stETH's pause powers on the devnet: the replica's stop/resume and staking pause checked through the Aragon
ACL as mainnet's, and the control reads that list who holds PAUSE_ROLE and STAKING_PAUSE_ROLE, each with its chain
(the Voting: a governor; an EOA the Voting granted the role: an EOA, which the devnet then shows can stop stETH)."""

from __future__ import annotations

import pytest
from web3.exceptions import ContractLogicError

from defiscope.analytics.risk.rules import PAUSE_POINTS, pause_points
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.aragon import LIDO_APP_ID, AragonDao, aragon_dao, calls_script, deploy_kernel, run_vote
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.lido import PAUSE_ROLE, RESUME_ROLE, STAKING_CONTROL_ROLE, STAKING_PAUSE_ROLE, STETH_ROLES
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.lido_pause import STETH_PAUSE_ROLES
from defiscope.protocols.control.profile import ContractControl, control_surface, inspect_contract
from defiscope.protocols.surface import ContractUse

ETHER = 10**18


def _steth(sender: Sender, deployment: Deployment):  # type: ignore[no-untyped-def]
    return sender.contract(contract_artifact("Lido"), deployment.contracts["LidoStETH"])


def _run_on_steth(sender: Sender, dao: AragonDao, steth: str, data: str) -> None:
    run_vote(sender, dao, calls_script((steth, bytes.fromhex(data[2:]))))


async def _steth_control(client: ChainClient, deployment: Deployment) -> ContractControl:
    reader = Batcher(await client.snapshot()).reader("control")
    surface = await control_surface(reader, deployment, "lido")
    (control,) = [c for c in surface.contracts if c.proxy.address == deployment.contracts["LidoStETH"]]
    return control


def test_the_roles_are_the_contracts_constants_and_the_voting_holds_them(
    eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    steth = _steth(sender, deployment)
    functions = steth.functions
    named = (functions.PAUSE_ROLE, functions.RESUME_ROLE, functions.STAKING_PAUSE_ROLE, functions.STAKING_CONTROL_ROLE)
    assert tuple(bytes(f().call()) for f in named) == STETH_ROLES
    assert STETH_ROLES == (PAUSE_ROLE, RESUME_ROLE, STAKING_PAUSE_ROLE, STAKING_CONTROL_ROLE)
    dao = aragon_dao(sender, steth.address)
    acl = dao.app.acl.functions
    for role in STETH_ROLES:
        assert acl.getPermissionManager(steth.address, role).call() == dao.voting.address
        assert functions.canPerform(dao.voting.address, role, []).call()
        assert not functions.canPerform(sender.owner, role, []).call()
    assert (functions.isStopped().call(), functions.isStakingPaused().call()) == (False, False)


def test_the_voting_stops_steth_and_a_transfer_then_reverts_a_non_holder_cannot(
    eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    steth = _steth(sender, deployment)
    user = sender.accounts[3]
    # A non-holder (account 0 deployed everything, and holds no role) cannot stop it nor pause staking.
    for call in (steth.functions.stop(), steth.functions.pauseStaking()):
        with pytest.raises(ContractLogicError, match="APP_AUTH_FAILED"):
            sender.send(call)
    sender.send(steth.functions.transfer(sender.accounts[4], ETHER), sender=user)  # moves before the stop

    dao = aragon_dao(sender, steth.address)
    _run_on_steth(sender, dao, steth.address, steth.encode_abi("stop", args=[]))
    assert (steth.functions.isStopped().call(), steth.functions.isStakingPaused().call()) == (True, True)
    with pytest.raises(ContractLogicError, match="CONTRACT_IS_STOPPED"):
        sender.send(steth.functions.transfer(sender.accounts[4], ETHER), sender=user)
    with pytest.raises(ContractLogicError, match="STAKING_PAUSED"):
        sender.send(steth.functions.submit(sender.owner), value=ETHER, sender=user)
    # Resuming needs RESUME_ROLE (the Voting's): then transfers and submits go through again.
    with pytest.raises(ContractLogicError, match="APP_AUTH_FAILED"):
        sender.send(steth.functions.resume())
    _run_on_steth(sender, dao, steth.address, steth.encode_abi("resume", args=[]))
    sender.send(steth.functions.transfer(sender.accounts[4], ETHER), sender=user)
    sender.send(steth.functions.submit(sender.owner), value=ETHER, sender=user)


def test_paused_staking_refuses_submits_alone_and_a_limit_caps_them(
    eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    steth = _steth(sender, deployment)
    user = sender.accounts[3]
    dao = aragon_dao(sender, steth.address)
    _run_on_steth(sender, dao, steth.address, steth.encode_abi("pauseStaking", args=[]))
    assert (steth.functions.isStopped().call(), steth.functions.isStakingPaused().call()) == (False, True)
    assert steth.functions.getCurrentStakeLimit().call() == 0
    with pytest.raises(ContractLogicError, match="STAKING_PAUSED"):
        sender.send(steth.functions.submit(sender.owner), value=ETHER, sender=user)
    sender.send(steth.functions.transfer(sender.accounts[4], ETHER), sender=user)  # transfers still move
    _run_on_steth(sender, dao, steth.address, steth.encode_abi("resumeStaking", args=[]))
    assert steth.functions.getCurrentStakeLimit().call() == 2**256 - 1  # unlimited
    _run_on_steth(sender, dao, steth.address, steth.encode_abi("setStakingLimit", args=[2 * ETHER, 0]))
    sender.send(steth.functions.submit(sender.owner), value=ETHER, sender=user)
    assert steth.functions.getCurrentStakeLimit().call() == ETHER
    with pytest.raises(ContractLogicError, match="STAKE_LIMIT"):
        sender.send(steth.functions.submit(sender.owner), value=2 * ETHER, sender=user)


async def test_the_devnet_steth_pause_holders_are_the_voting_a_governor(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    dao = aragon_dao(Sender.connect(eth_chain.rpc_url), deployment.contracts["LidoStETH"])
    control = await _steth_control(client, deployment)
    assert [p.power for p in control.pause] == [power for _, power in STETH_PAUSE_ROLES]
    for power in control.pause:
        assert power.why is None
        assert power.holders == (dao.voting.address,)  # holder and manager
        assert [[link.kind for link in chain] for chain in power.holder_chains] == [["governor"]]
        assert f"held by {dao.voting.address} (manager {dao.voting.address})" in power.source
        assert power.source.endswith("(now running, staking open)")
    assert pause_points([control])[0] == PAUSE_POINTS["governor"]


async def test_an_eoa_granted_pause_role_by_a_vote_is_a_pause_holder_scored_as_an_eoa(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    """The Voting, PAUSE_ROLE's manager, grants it to an EOA (the ACL's real path): the read lists it as an EOA, and
    the devnet shows what that means: the EOA alone stops stETH."""
    sender = Sender.connect(eth_chain.rpc_url)
    steth = _steth(sender, deployment)
    dao = aragon_dao(sender, steth.address)
    eoa = sender.accounts[6]
    grant = dao.app.acl.encode_abi("grantPermission", args=[eoa, steth.address, PAUSE_ROLE])
    run_vote(sender, dao, calls_script((dao.app.acl.address, bytes.fromhex(grant[2:]))))
    control = await _steth_control(client, deployment)
    stop, staking = control.pause
    assert set(stop.holders) == {dao.voting.address, eoa}
    kinds = {h: [link.kind for link in chain] for h, chain in zip(stop.holders, stop.holder_chains, strict=True)}
    assert kinds == {dao.voting.address: ["governor"], eoa: ["eoa"]}
    assert staking.holders == (dao.voting.address,)  # another role: not granted
    # Scored as an EOA: the weakest pause holder, worth no points (the Voting alone: a governor's).
    assert pause_points([control]) == (
        PAUSE_POINTS["eoa"],
        f"weakest pause holder: {control.name} {stop.power}: eoa {eoa}",
    )
    sender.send(steth.functions.stop(), sender=eoa)
    assert steth.functions.isStopped().call()
    assert (await _steth_control(client, deployment)).pause[0].source.endswith("(now stopped, staking paused)")


async def test_an_unreadable_acl_leaves_the_pause_powers_unread_with_why(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    """stETH's code behind a kernel whose acl() is no aragonOS ACL: the holders cannot be read, so the powers are
    reported unread (scored as unknown), never as held by nobody."""
    sender = Sender.connect(eth_chain.rpc_url)
    not_an_acl = str(sender.deploy(contract_artifact("EmptyContract")).address)
    kernel = deploy_kernel(sender, not_an_acl)
    steth = sender.deploy(contract_artifact("AppProxyUpgradeable"), kernel.address, LIDO_APP_ID, b"")
    reader = Batcher(await client.snapshot()).reader("control")
    control = await inspect_contract(reader, ContractUse("stETH", "lido/StETH", address=steth.address))
    assert control.pause
    for power in control.pause:
        assert power.holders == ()
        assert power.why is not None
        assert power.why.startswith("not read")
