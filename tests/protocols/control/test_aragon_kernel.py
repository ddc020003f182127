"""Lido's DAO kernel as a contract of its own: an aragonOS KernelProxy whose code is the core app of its own registry
(``getApp(CORE_NAMESPACE, KERNEL_APP_ID)``), upgraded by its own ``setApp`` under APP_MANAGER_ROLE; its chain is the
upgrader chain of any app of it, its history its SetApp events in the core namespace."""

from __future__ import annotations

import pytest
from web3.contract import Contract
from web3.exceptions import ContractLogicError

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.aragon import aragon_dao, calls_script, run_vote
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.aragon import CORE_NAMESPACE, KERNEL_CORE_APP_ID
from defiscope.protocols.control.profile import ContractControl, control_surface


async def _kernel_control(client: ChainClient, deployment: Deployment) -> ContractControl:
    reader = Batcher(await client.snapshot()).reader("control")
    surface = await control_surface(reader, deployment, "lido")
    (control,) = [c for c in surface.contracts if c.proxy.address == deployment.contracts["LidoKernel"]]
    return control


def _core_app(kernel: Contract) -> str:
    return str(kernel.functions.getApp(CORE_NAMESPACE, KERNEL_CORE_APP_ID).call())


async def test_lidos_kernel_is_a_kernel_proxy_upgraded_by_the_voting(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    dao = aragon_dao(Sender.connect(eth_chain.rpc_url), deployment.contracts["LidoStETH"])
    kernel = dao.app.kernel
    assert kernel.address == deployment.contracts["LidoKernel"]
    assert kernel.functions.CORE_NAMESPACE().call() == CORE_NAMESPACE
    assert kernel.functions.KERNEL_APP_ID().call() == KERNEL_CORE_APP_ID
    control = await _kernel_control(client, deployment)
    assert (control.proxy.kind, control.proxy.pattern) == ("custom", "aragon-kernel")
    assert control.proxy.implementation == _core_app(kernel)
    chain = [(link.kind, link.address) for link in control.admin_chain]
    assert chain == [("contract", kernel.address), ("contract", dao.app.acl.address), ("governor", dao.voting.address)]
    # Its first code (the KernelProxy's constructor logs it); not the apps' bases or the ACL it also set.
    assert [u.implementation for u in control.upgrades] == [control.proxy.implementation]


async def test_a_vote_upgrades_the_kernel_and_its_history_shows_it(
    client: ChainClient, eth_chain: DevnetChain, deployment: Deployment
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    dao = aragon_dao(sender, deployment.contracts["LidoStETH"])
    kernel = dao.app.kernel
    first = _core_app(kernel)
    new_base = str(sender.deploy(contract_artifact("AragonKernel")).address)
    with pytest.raises(ContractLogicError, match="KERNEL_AUTH_FAILED"):  # account 0 alone cannot (negative control)
        sender.send(kernel.functions.setApp(CORE_NAMESPACE, KERNEL_CORE_APP_ID, new_base))
    data = kernel.encode_abi("setApp", args=[CORE_NAMESPACE, KERNEL_CORE_APP_ID, new_base])
    receipt = run_vote(sender, dao, calls_script((kernel.address, bytes.fromhex(data[2:]))))
    control = await _kernel_control(client, deployment)
    assert control.proxy.implementation == new_base == _core_app(kernel)
    assert [(u.implementation, u.block) for u in control.upgrades][-1] == (new_base, receipt["blockNumber"])
    assert [u.implementation for u in control.upgrades] == [first, new_base]
    # The kernel still works on its new code: stETH's chain reads through it as before.
    steth = next(
        c
        for c in (
            await control_surface(Batcher(await client.snapshot()).reader("control"), deployment, "lido")
        ).contracts
        if c.proxy.address == deployment.contracts["LidoStETH"]
    )
    assert steth.admin_chain[-1].address == dao.voting.address
