"""A contract of the protocol that another names by a call (the Comptroller's ``oracle()``; a Curve registry's
``address_provider()``, whose admin its admin-only functions check) is ``unknown`` when that call fails: scored 0
with the failed call as the reason, never left out as "not inspected" nor taken for "no admin"."""

from __future__ import annotations

from defiscope.analytics.risk.profile import group_json
from defiscope.analytics.risk.rules import contract_score, control_pillar
from defiscope.analytics.risk.score import overrides_of
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.discovered import DiscoveredKind
from defiscope.protocols.control.profile import ControlSurface, control_surface, inspect_contract
from defiscope.protocols.surface import ContractUse

KIND = "Comptroller oracle"


async def _surface(client: ChainClient, deployment: Deployment) -> ControlSurface:
    return await control_surface(Batcher(await client.snapshot()).reader("control"), deployment, "compound-v2")


def _oracle_kind(surface: ControlSurface) -> DiscoveredKind:
    (kind,) = [k for k in surface.discovered if k.name == KIND]
    return kind


async def test_a_reverting_oracle_read_leaves_the_oracle_unknown_and_scored_0(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    comptroller, timelock = deployment.contracts["CompoundV2Comptroller"], deployment.contracts["CompoundTimelock"]
    reverter = deployment.contracts["Reverter"]  # answers no oracle() and has no fallback: the call reverts
    before = _oracle_kind(await _surface(client, deployment))
    assert (before.rule, before.count, len(before.groups)) == ("named", 1, 1)  # the negative control: read
    assert before.groups[0].control.admin_chain[0].kind == "multisig"

    # The Unitroller's own two-step upgrade path: its admin (the Timelock) proposes, the new code accepts.
    unitroller = sender.contract(contract_artifact("Unitroller"), comptroller).functions
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(unitroller._setPendingImplementation(reverter), sender=timelock)
    with sender.impersonating(reverter, gas_money=10**18):
        sender.send(unitroller._acceptImplementation(), sender=reverter)
    assert unitroller.comptrollerImplementation().call() == reverter

    surface = await _surface(client, deployment)
    kind = _oracle_kind(surface)
    assert (kind.rule, kind.count) == ("named", 1)
    assert f"oracle() failed at {comptroller}" in kind.why
    (group,) = kind.groups
    assert group.addresses == ()  # its address is not known
    ((link,),) = [group.control.admin_chain]
    assert (link.kind, link.address) == ("unknown", comptroller)
    assert link.why is not None
    assert link.why.startswith(f"oracle() of {comptroller} failed (reverted without a reason)")
    assert contract_score(group.control)[:2] == (0, "control.unknown-admin")
    assert group.control in surface.scored  # scored with the protocol's own contracts, never left out
    pillar = control_pillar(surface.scored)  # its pauseGuardian() reverts too: a pause not read (-20) beside it
    assert pillar.score == 0
    assert f"weakest of {len(surface.scored)} contracts: {KIND} ({comptroller}): admin {comptroller}" in pillar.evidence
    assert f"oracle() of {comptroller} failed" in pillar.evidence
    assert "override.unknown-admin" in {o.rule for o in overrides_of(surface.scored)}
    entry = group_json(kind, group)
    assert (entry["contract"], entry["address"], entry["proxy_pattern"]) == (KIND, None, "unread")
    assert entry["admin_chain"][0]["type"] == "unknown"


async def test_a_registry_whose_address_provider_read_reverts_is_unknown_not_unadministered(
    client: ChainClient, deployment: Deployment
) -> None:
    reverter = deployment.contracts["Reverter"]  # answers no owner(), admin() ..., nor address_provider()
    reader = Batcher(await client.snapshot()).reader("control")
    control = await inspect_contract(reader, ContractUse("a registry", "curve/MainRegistry", address=reverter))
    ((link,),) = [control.admin_chain]
    assert (link.kind, link.address) == ("unknown", reverter)
    assert link.why is not None
    assert "address_provider() failed: reverted without a reason" in link.why
    assert contract_score(control)[:2] == (0, "control.unknown-admin")
    # The same contract declared as one with no admin elsewhere answers nothing: "no admin" (the rule's scope).
    plain = await inspect_contract(reader, ContractUse("plain", "openzeppelin/Ownable", address=reverter))
    assert (plain.admin_chain, contract_score(plain)[1]) == ((), "control.no-admin")
