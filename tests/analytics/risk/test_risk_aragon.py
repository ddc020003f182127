"""Issue 18 item 6 for Lido's stETH pattern: an Aragon app, whose upgrades go through its kernel's ACL, is scored
as an admin not understood (0, and the composite capped), never as "not a proxy, no admin" (100)."""

from __future__ import annotations

from defiscope.analytics.risk.rules import contract_score, control_pillar
from defiscope.analytics.risk.score import overrides_of
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.aragon import LIDO_APP_ID, deploy_aragon_app
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.admin import ARAGON_ACL_WHY
from defiscope.protocols.control.profile import inspect_contract
from defiscope.protocols.surface import ContractUse


async def test_an_aragon_app_scores_as_an_unknown_admin_and_caps_the_composite(
    client: ChainClient, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    app = deploy_aragon_app(sender, sender.deploy(contract_artifact("EmptyContract")).address, app_id=LIDO_APP_ID)
    reader = Batcher(await client.snapshot()).reader("control")
    steth = await inspect_contract(reader, ContractUse("stETH", "lido/StETH", address=app.proxy.address))
    score, rule, why = contract_score(steth)
    assert (score, rule) == (0, "control.unknown-admin")
    assert app.acl.address in why
    assert ARAGON_ACL_WHY in why
    pillar = control_pillar([steth])
    assert (pillar.score, pillar.rule) == (0, "control.unknown-admin")
    assert [(o.rule, o.cap) for o in overrides_of([steth])] == [("override.unknown-admin", 40)]
