"""Compound V2's price oracle as a contract of the protocol, on the devnet through the real paths: the Comptroller's
oracle() is read at the block and inspected (mainnet's owner, the community multisig Safe, is the devnet's pause
guardian Safe), a `_setPriceOracle` by the Comptroller's admin (the Timelock) is inspected from the next block, an
ownership handed to an EOA (Ownable2Step: nominated, then accepted) shows in the chain and scores 10, and an oracle
answering no admin call is unknown (scored 0, never "no admin")."""

from __future__ import annotations

from web3.contract import Contract

from defiscope.analytics.risk.rules import contract_score, control_pillar
from defiscope.analytics.risk.score import overrides_of
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.compound import hand_oracle_to
from defiscope.devnet.governance import PAUSE_GUARDIAN_OWNERS, PAUSE_GUARDIAN_THRESHOLD, pause_guardian_owners
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.discovered import ControlGroup
from defiscope.protocols.control.profile import ControlSurface, control_surface

KIND = "Comptroller oracle"


async def _surface(client: ChainClient, deployment: Deployment) -> ControlSurface:
    """Compound V2's control surface at the head (no discovery listing: the oracle is named by the Comptroller)."""
    reader = Batcher(await client.snapshot()).reader("control")
    return await control_surface(reader, deployment, "compound-v2")


def _oracle_group(surface: ControlSurface) -> ControlGroup:
    (kind,) = [k for k in surface.discovered if k.name == KIND]
    assert (kind.rule, kind.count) == ("named", 1)
    (group,) = kind.groups
    return group


def _comptroller(sender: Sender, deployment: Deployment) -> Contract:
    return sender.contract(contract_artifact("Comptroller"), deployment.contracts["CompoundV2Comptroller"])


def _set_price_oracle(sender: Sender, deployment: Deployment, oracle: str) -> None:
    """The Comptroller's admin path: its admin, the Timelock (a governance proposal's executor), calls it."""
    timelock = deployment.contracts["CompoundTimelock"]
    comptroller = _comptroller(sender, deployment)
    with sender.impersonating(timelock, gas_money=10**18):
        sender.send(comptroller.functions._setPriceOracle(oracle), sender=timelock)
    assert comptroller.functions.oracle().call() == oracle


async def test_the_oracle_is_inspected_and_owned_by_the_community_multisig_safe(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    oracle = _comptroller(sender, deployment).functions.oracle().call()
    guardian = deployment.contracts["CompoundPauseGuardian"]
    surface = await _surface(client, deployment)
    group = _oracle_group(surface)
    assert group.addresses == (oracle,)
    assert (group.control.proxy.kind, group.control.dependency) == ("none", False)
    ((link,),) = [group.control.admin_chain]
    assert (link.kind, link.address, link.threshold) == ("multisig", guardian, PAUSE_GUARDIAN_THRESHOLD)
    assert link.signers == tuple(pause_guardian_owners())
    assert len(link.signers) == PAUSE_GUARDIAN_OWNERS
    assert contract_score(group.control)[:2] == (40, "control.multisig-no-delay")  # 30 + 10 for a threshold >= 3
    assert group.control in surface.scored  # scored with the protocol's own contracts
    assert f"{KIND} ({oracle}).admin_chain" in control_pillar(surface.scored).inputs


async def test_a_new_oracle_set_by_the_timelock_is_inspected_from_the_next_block(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    old = _comptroller(sender, deployment).functions.oracle().call()
    deployer = sender.owner
    new = sender.deploy(contract_artifact("CompoundV2Oracle"), []).address  # owned by its deployer, an EOA
    before = _oracle_group(await _surface(client, deployment))
    assert before.addresses == (old,)  # the negative control: deployed, not yet set

    _set_price_oracle(sender, deployment, new)
    after = _oracle_group(await _surface(client, deployment))
    assert after.addresses == (new,)
    assert [(link.kind, link.address) for link in after.control.admin_chain] == [("eoa", deployer)]
    assert contract_score(after.control)[:2] == (10, "control.eoa-no-delay")

    hand_oracle_to(sender, new, deployment.contracts["CompoundPauseGuardian"])  # as the deployer hands its own
    handed = _oracle_group(await _surface(client, deployment))
    assert [link.kind for link in handed.control.admin_chain] == ["multisig"]


async def test_ownership_handed_to_an_eoa_shows_once_accepted_and_scores_10(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    address = _comptroller(sender, deployment).functions.oracle().call()
    oracle = sender.contract(contract_artifact("CompoundV2Oracle"), address).functions
    guardian, eoa = deployment.contracts["CompoundPauseGuardian"], sender.accounts[4]
    with sender.impersonating(guardian, gas_money=10**18):
        sender.send(oracle.transferOwnership(eoa), sender=guardian)
    assert oracle.pendingOwner().call() == eoa
    pending = _oracle_group(await _surface(client, deployment))
    assert [link.kind for link in pending.control.admin_chain] == ["multisig"]  # Ownable2Step: not yet accepted
    nominee = pending.control.pending  # shown meanwhile, and scored: it may accept at any block
    assert nominee is not None
    assert (nominee.address, nominee.kind, nominee.via) == (eoa, "eoa", "pendingOwner()(address)")
    assert contract_score(pending.control)[:2] == (10, "control.pending-owner")

    sender.send(oracle.acceptOwnership(), sender=eoa)
    surface = await _surface(client, deployment)
    group = _oracle_group(surface)
    assert group.control.pending is None
    assert [(link.kind, link.address) for link in group.control.admin_chain] == [("eoa", eoa)]
    assert contract_score(group.control)[:2] == (10, "control.eoa-no-delay")
    pillar = control_pillar(surface.scored)
    assert f"weakest of {len(surface.scored)} contracts: {KIND} ({address}): ends at eoa {eoa}" in pillar.evidence
    assert pillar.inputs[f"{KIND} ({address}).admin_chain"] == f"none proxy; eoa {eoa}; delay 0 s"


async def test_an_oracle_answering_no_admin_call_is_unknown_and_caps_the_score(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    weth = deployment.token("WETH").address  # a contract answering none of owner/admin/governor/feeToSetter
    _set_price_oracle(sender, deployment, weth)
    surface = await _surface(client, deployment)
    group = _oracle_group(surface)
    ((link,),) = [group.control.admin_chain]
    assert (link.kind, link.address) == ("unknown", weth)
    assert link.why is not None
    assert "who configures its prices is not known" in link.why
    assert contract_score(group.control)[:2] == (0, "control.unknown-admin")
    cap = {o.rule: o for o in overrides_of(surface.scored)}["override.unknown-admin"]
    assert weth in cap.why
