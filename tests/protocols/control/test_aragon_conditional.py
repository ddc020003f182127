"""An Aragon grant with parameters (aragonOS's ``grantPermissionP``) on the devnet's ACL replica: its holder fails
``hasPermission`` while the condition is unmet, yet is counted as an upgrader, shown as conditional with its
parameter count (read with hasPermission, in the same round), because the condition can be met: past the time
in its parameter, the holder upgrades stETH alone."""

from __future__ import annotations

from typing import Final

import pytest
from web3.exceptions import ContractLogicError

from defiscope.analytics.risk.rules import contract_score
from defiscope.analytics.risk.score import overrides_of
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.anvil import rpc
from defiscope.devnet.aragon import APP_BASES_NAMESPACE, APP_MANAGER_ROLE, aragon_dao, vote_grant_after
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.profile import ContractControl, control_surface

DAY: Final = 86_400


async def _steth(client: ChainClient, deployment: Deployment) -> ContractControl:
    surface = await control_surface(Batcher(await client.snapshot()).reader("control"), deployment, "lido")
    (control,) = [c for c in surface.contracts if c.proxy.address == deployment.contracts["LidoStETH"]]
    return control


async def test_a_conditional_grant_counts_as_an_upgrader_though_has_permission_says_no(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    dao = aragon_dao(sender, deployment.contracts["LidoStETH"])
    kernel, acl, voting, eoa = dao.app.kernel, dao.app.acl, dao.voting.address, sender.accounts[7]
    before = await _steth(client, deployment)
    assert [link.kind for link in before.admin_chain] == ["contract", "contract", "governor"]
    assert before.admin_chain[1].conditional == ()  # the negative control: every grant unconditional

    when = sender.w3.eth.get_block("latest")["timestamp"] + 30 * DAY
    vote_grant_after(sender, dao, eoa, when)
    how = APP_BASES_NAMESPACE + dao.app.app_id  # what setApp passes for stETH
    assert kernel.functions.hasPermission(eoa, kernel.address, APP_MANAGER_ROLE, how).call() is False
    assert acl.functions.getPermissionParamsLength(eoa, kernel.address, APP_MANAGER_ROLE).call() == 1
    new_base = str(sender.deploy(contract_artifact("EmptyContract")).address)
    with pytest.raises(ContractLogicError, match="KERNEL_AUTH_FAILED"):  # not yet: the condition is unmet
        sender.send(kernel.functions.setApp(APP_BASES_NAMESPACE, dao.app.app_id, new_base), sender=eoa)

    control = await _steth(client, deployment)
    acl_link = control.admin_chain[1]
    assert acl_link.address == acl.address
    assert set(acl_link.controllers) == {voting, eoa}
    assert acl_link.conditional == ((eoa, 1),)
    assert f"held by {voting}, {eoa} (conditional: 1 parameters)" in acl_link.detail
    assert acl_link.to_json()["conditional"] == [{"address": eoa, "params": 1}]
    # Each holder may act alone: the weakest, the EOA, ends the chain.
    assert [(link.kind, link.address) for link in control.admin_chain][-1] == ("eoa", eoa)
    score, rule, why = contract_score(control)
    assert (score, rule) == (10, "control.eoa-no-delay")
    assert f"conditional holder {eoa} at {acl.address} (1 parameters; counted: a condition can be met)" in why
    assert "override.eoa-upgrade-no-delay" in {o.rule for o in overrides_of([control])}

    # The condition met (its time passed), the conditional holder upgrades stETH alone.
    rpc(eth_chain.rpc_url, "evm_increaseTime", [31 * DAY])
    rpc(eth_chain.rpc_url, "evm_mine")
    assert kernel.functions.hasPermission(eoa, kernel.address, APP_MANAGER_ROLE, how).call() is True
    sender.send(kernel.functions.setApp(APP_BASES_NAMESPACE, dao.app.app_id, new_base), sender=eoa)
    assert dao.app.proxy.functions.implementation().call() == new_base
