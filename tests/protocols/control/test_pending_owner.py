"""Two-step handovers on the devnet: a nominee not yet accepted (Ownable2Step's ``pendingOwner()``, Compound's
``pendingAdmin()``) shows on the contract or on the link whose owner it would succeed, classified, in the rounds
the owner is read in (no request of its own); the contract scores as the weaker of its chain in force and the
chain once the nominee accepts (it needs nobody's consent); after the accept it is simply the owner."""

from __future__ import annotations

from typing import Any, Final

from eth_utils import keccak

from defiscope.analytics.risk.profile import control_json
from defiscope.analytics.risk.rules import contract_score, control_pillar
from defiscope.analytics.risk.score import overrides_of
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact, load_npm_artifact
from defiscope.devnet.compound import hand_oracle_to
from defiscope.devnet.governance import PAUSE_GUARDIAN_THRESHOLD
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.profile import ContractControl, control_surface, inspect_contract
from defiscope.protocols.control.rounds import Rounds
from defiscope.protocols.surface import ContractUse

#: OpenZeppelin 5's BeaconProxy refuses to be built without an initializing call: Reverter's `ok()` (pure) serves.
INIT: Final = keccak(text="ok()")[:4]


async def _comptroller(client: ChainClient, deployment: Deployment) -> tuple[ContractControl, int]:
    """The Comptroller's control in compound-v2's surface at the head, and the HTTP requests the surface cost."""
    reader = Batcher(await client.snapshot()).reader("control")
    before = client.rpc.total_requests()
    surface = await control_surface(reader, deployment, "compound-v2")
    (control,) = [c for c in surface.contracts if c.proxy.address == deployment.contracts["CompoundV2Comptroller"]]
    return control, client.rpc.total_requests() - before


def _unitroller(sender: Sender, deployment: Deployment) -> Any:
    return sender.contract(contract_artifact("Unitroller"), deployment.contracts["CompoundV2Comptroller"]).functions


async def test_a_comptroller_admin_nominated_shows_until_accepted_in_the_same_requests(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    timelock, eoa = deployment.contracts["CompoundTimelock"], sender.accounts[5]
    before, requests_before = await _comptroller(client, deployment)
    assert before.pending is None  # the negative control: nobody nominated
    in_force = contract_score(before)
    assert in_force[1] != "control.pending-owner"

    unitroller = _unitroller(sender, deployment)
    with sender.impersonating(timelock, gas_money=10**18):  # the Comptroller's admin, as a proposal would
        sender.send(unitroller._setPendingAdmin(eoa), sender=timelock)
    assert unitroller.pendingAdmin().call() == eoa
    nominated, requests = await _comptroller(client, deployment)
    assert requests == requests_before  # asked with admin(), classified with the chain: no request of its own
    assert nominated.admin_chain == before.admin_chain  # not the admin yet
    pending = nominated.pending
    assert pending is not None
    assert (pending.address, pending.kind, pending.via) == (eoa, "eoa", "pendingAdmin()(address)")
    entry = control_json(nominated)
    assert entry["pending_owner"] == {
        "address": eoa,
        "type": "eoa",
        "threshold": None,
        "delay_seconds": None,
        "via": "pendingAdmin()",
    }
    # Scored as the weaker of the two: the EOA can accept at any block, alone.
    score, rule, why = contract_score(nominated)
    assert (score, rule) == (10, "control.pending-owner")
    assert why.startswith(f"pendingAdmin() {eoa}, not yet accepted, may take over at any block: then ends at eoa")
    assert score < in_force[0]
    (cap,) = [o for o in overrides_of([nominated]) if o.rule == "override.eoa-upgrade-no-delay"]
    assert cap.why.endswith(f"by the EOA {eoa} without a timelock once its nominee {eoa} accepts")
    pillar = control_pillar([nominated])
    assert f"pending owner eoa {eoa} (pendingAdmin(), not yet accepted)" in pillar.evidence

    sender.send(unitroller._acceptAdmin(), sender=eoa)
    accepted, _ = await _comptroller(client, deployment)
    assert accepted.pending is None
    assert [(link.kind, link.address) for link in accepted.admin_chain] == [("eoa", eoa)]
    assert contract_score(accepted)[:2] == (10, "control.eoa-no-delay")


def _oz(sender: Sender, name: str, *args: Any) -> Any:
    return sender.deploy(load_npm_artifact(f"@openzeppelin/contracts/build/contracts/{name}.json"), *args)


async def _inspect(client: ChainClient, proxy: str) -> tuple[ContractControl, int]:
    """The beacon proxy's control, and the rounds it took."""
    rounds = Rounds(Batcher(await client.snapshot()).reader("control"))
    use = ContractUse("beacon proxy", "openzeppelin/IERC1967", address=proxy)
    control = await rounds.run(inspect_contract(rounds, use))
    return control, rounds.rounds


async def test_a_nominee_of_an_owner_in_the_chain_shows_on_its_link_and_scores_the_weaker(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    """A beacon owned by an Ownable2Step contract (the oracle's code), itself owned by the Safe: a nomination on the
    middle link shows there; the chain once accepted is the link, then the nominee."""
    sender = Sender.connect(eth_chain.rpc_url)
    guardian, eoa = deployment.contracts["CompoundPauseGuardian"], sender.accounts[6]
    owner = sender.deploy(contract_artifact("CompoundV2Oracle"), [])
    hand_oracle_to(sender, owner.address, guardian)
    beacon = _oz(sender, "UpgradeableBeacon", deployment.contracts["Reverter"], owner.address)
    proxy = _oz(sender, "BeaconProxy", beacon.address, INIT)
    before, rounds_before = await _inspect(client, proxy.address)
    assert [(link.kind, link.address) for link in before.admin_chain] == [
        ("contract", owner.address),
        ("multisig", guardian),
    ]
    assert before.admin_chain[0].pending is None
    assert contract_score(before)[:2] == (40, "control.multisig-no-delay")  # 30 + 10: a threshold >= 3

    with sender.impersonating(guardian, gas_money=10**18):
        sender.send(owner.functions.transferOwnership(eoa), sender=guardian)
    nominated, rounds = await _inspect(client, proxy.address)
    assert rounds == rounds_before  # the nominee is asked with owner() and classified beside the Safe
    link = nominated.admin_chain[0]
    assert link.pending is not None
    assert (link.pending.address, link.pending.kind) == (eoa, "eoa")
    assert nominated.admin_chain[1].kind == "multisig"
    assert nominated.admin_chain[1].threshold == PAUSE_GUARDIAN_THRESHOLD
    assert control_json(nominated)["admin_chain"][0]["pending_owner"]["address"] == eoa
    assert link.to_json()["pending_owner"] == {
        "address": eoa,
        "type": "eoa",
        "threshold": None,
        "delay_seconds": None,
        "via": "pendingOwner()",
    }
    score, rule, why = contract_score(nominated)
    assert (score, rule) == (10, "control.pending-owner")
    assert f"then ends at eoa {eoa}" in why
    assert {o.rule for o in overrides_of([nominated])} == {"override.eoa-upgrade-no-delay"}  # a beacon proxy

    # A nominee stronger than the chain in force is shown, and changes nothing: nominate the Safe under an EOA.
    sender.send(owner.functions.acceptOwnership(), sender=eoa)
    sender.send(owner.functions.transferOwnership(guardian), sender=eoa)
    weaker_now, _ = await _inspect(client, proxy.address)
    assert [link.kind for link in weaker_now.admin_chain] == ["contract", "eoa"]
    assert weaker_now.admin_chain[0].pending is not None
    assert weaker_now.admin_chain[0].pending.kind == "multisig"
    score, rule, why = contract_score(weaker_now)
    assert (score, rule) == (10, "control.eoa-no-delay")
    assert f"pending owner multisig {guardian} (pendingOwner(), not yet accepted)" in why
