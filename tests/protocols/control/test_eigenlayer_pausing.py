"""EigenLayer's pausing on the devnet, as mainnet's: the managers defer to one PauserRegistry, whose pausers (the
Operations and Pauser Safes) set pause flags, which then stop the flagged calls (deposits: flag 0), and whose
unpauser (the Operations Safe) alone clears them and names pausers; the control reads list both roles with their
holders' chains, and follow the registry when it changes (a pauser added by `setIsPauser`)."""

from __future__ import annotations

from typing import Any

import pytest
from eth_utils import keccak, to_checksum_address
from web3.exceptions import ContractLogicError

from defiscope.analytics.risk.rules import pause_points
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher, Reader
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.eigenlayer import ETHER, pauser_registry, whitelisted_strategies
from defiscope.devnet.eigenlayer_admin import (
    MANAGERS,
    PAUSER_THRESHOLD,
    THRESHOLD,
    operations_owners,
    pauser_owners,
)
from defiscope.devnet.safe import safe_transaction
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.control.eigenlayer import (
    PAUSABLE_INTERFACES,
    PAUSER_STATUS_CHANGED_TOPIC,
    pauser_candidates,
)
from defiscope.protocols.control.profile import ContractControl, control_surface, inspect_contract
from defiscope.protocols.surface import ContractUse

DEPOSITS = 0  # mainnet StrategyManager's PAUSED_DEPOSITS


async def _reader(client: ChainClient) -> Reader:
    return Batcher(await client.snapshot()).reader("control")


def _error(name: str) -> str:
    return "0x" + keccak(text=f"{name}()")[:4].hex()


def _reverts_with(error: str) -> Any:
    return pytest.raises(ContractLogicError, match=_error(error))


def _calldata(contract: object, fn: str, *args: object) -> bytes:
    encoded = contract.encode_abi(fn, args=list(args))  # type: ignore[attr-defined]
    return bytes.fromhex(encoded[2:])


def _deposit(sender: Sender, manager: object, staker: str) -> None:
    strategies = whitelisted_strategies(sender, manager.address)  # type: ignore[attr-defined]
    token_address, strategy = next(iter(strategies.items()))
    token = sender.contract(contract_artifact("DevToken"), token_address)
    sender.send(token.functions.approve(manager.address, MAX_UINT256), sender=staker)  # type: ignore[attr-defined]
    call = manager.functions.depositIntoStrategy(strategy, token_address, ETHER)  # type: ignore[attr-defined]
    sender.send(call, sender=staker)


def test_a_pauser_pauses_deposits_and_only_the_unpauser_unpauses(
    deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    ops, pauser_safe = deployment.contracts["EigenLayerOperationsSafe"], deployment.contracts["EigenLayerPauserSafe"]
    manager = sender.contract(contract_artifact("StrategyManager"), deployment.contracts["EigenLayerStrategyManager"])
    registry = pauser_registry(sender, manager)
    assert registry.functions.unpauser().call() == ops
    assert [registry.functions.isPauser(a).call() for a in (ops, pauser_safe, sender.owner)] == [True, True, False]
    staker = sender.accounts[1]
    _deposit(sender, manager, staker)  # not paused: deposits go through

    stranger = sender.accounts[3]
    with _reverts_with("OnlyPauser"):
        sender.send(manager.functions.pause(1 << DEPOSITS), sender=stranger)
    safe_transaction(sender, pauser_safe, pauser_owners(), manager.address, _calldata(manager, "pause", 1))
    assert manager.functions.paused(DEPOSITS).call() is True
    assert manager.functions.paused().call() == 1
    with _reverts_with("CurrentlyPaused"):
        _deposit(sender, manager, staker)
    # A pause only sets flags; an unpause only clears them, and is the unpauser's alone (not a pauser's).
    with sender.impersonating(pauser_safe, gas_money=10**18):
        with _reverts_with("InvalidNewPausedStatus"):
            sender.send(manager.functions.pause(2), sender=pauser_safe)
        with _reverts_with("OnlyUnpauser"):
            sender.send(manager.functions.unpause(0), sender=pauser_safe)
    with _reverts_with("OnlyUnpauser"):
        sender.send(registry.functions.setIsPauser(stranger, True), sender=stranger)
    safe_transaction(sender, ops, operations_owners(), manager.address, _calldata(manager, "unpause", 0))
    assert manager.functions.paused().call() == 0
    _deposit(sender, manager, staker)

    # The other managers' flags: new delegations (DelegationManager 0) and new pods (EigenPodManager 0).
    delegation = sender.contract(
        contract_artifact("DelegationManager"), deployment.contracts["EigenLayerDelegationManager"]
    )
    pods = sender.contract(contract_artifact("EigenPodManager"), deployment.contracts["EigenLayerEigenPodManager"])
    for contract in (delegation, pods):
        safe_transaction(sender, pauser_safe, pauser_owners(), contract.address, _calldata(contract, "pauseAll"))
        assert contract.functions.paused().call() == 2**256 - 1
    with _reverts_with("CurrentlyPaused"):
        sender.send(delegation.functions.registerAsOperator(sender.owner, 0, "x"), sender=sender.accounts[9])
    with _reverts_with("CurrentlyPaused"):
        sender.send(pods.functions.createPod(), sender=sender.accounts[9])


def _pausing(control: ContractControl) -> tuple[set[str], tuple[str, ...]]:
    pause, unpause = control.pause
    assert pause.power.startswith("pause")
    assert pause.why is None
    assert unpause.power.startswith("unpause")
    assert unpause.why is None
    return set(pause.holders), unpause.holders


async def test_the_control_read_lists_the_registry_pausers_and_unpauser_with_their_kinds(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    ops, pauser_safe = deployment.contracts["EigenLayerOperationsSafe"], deployment.contracts["EigenLayerPauserSafe"]
    surface = await control_surface(await _reader(client), deployment, "eigenlayer")
    managers = {deployment.contracts[name] for name in MANAGERS}
    controls = [c for c in surface.contracts if c.interface in PAUSABLE_INTERFACES]
    registry = pauser_registry(Sender.connect(eth_chain.rpc_url), deployment.contracts[MANAGERS[0]]).address
    assert {c.proxy.address for c in controls} == managers
    for control in controls:
        pausers, unpauser = _pausing(control)
        assert pausers == {ops, pauser_safe}
        assert unpauser == (ops,)
        pause, unpause = control.pause
        chains = {holder: chain for holder, chain in zip(pause.holders, pause.holder_chains, strict=True)}
        assert [(link.kind, link.threshold) for link in chains[ops]] == [("multisig", THRESHOLD)]
        assert [(link.kind, link.threshold) for link in chains[pauser_safe]] == [("multisig", PAUSER_THRESHOLD)]
        assert [link.kind for link in unpause.holder_chains[0]] == ["multisig"]
        assert pause.source.startswith(f"PauserRegistry {registry}")
    points, what = pause_points(controls)
    assert points == 10
    assert "multisig" in what


async def test_a_pauser_added_by_set_is_pauser_shows_up_and_a_removed_one_goes(
    client: ChainClient, deployment: Deployment, eth_chain: DevnetChain
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    ops, pauser_safe = deployment.contracts["EigenLayerOperationsSafe"], deployment.contracts["EigenLayerPauserSafe"]
    registry = pauser_registry(sender, deployment.contracts["EigenLayerStrategyManager"])
    added = sender.accounts[5]
    safe_transaction(
        sender, ops, operations_owners(), registry.address, _calldata(registry, "setIsPauser", added, True)
    )
    dropped = _calldata(registry, "setIsPauser", pauser_safe, False)
    safe_transaction(sender, ops, operations_owners(), registry.address, dropped)
    surface = await control_surface(await _reader(client), deployment, "eigenlayer")
    (manager,) = [c for c in surface.contracts if c.proxy.address == deployment.contracts[MANAGERS[0]]]
    pausers, unpauser = _pausing(manager)
    assert pausers == {ops, added}
    assert unpauser == (ops,)
    pause = manager.pause[0]
    kinds = {h: chain[0].kind for h, chain in zip(pause.holders, pause.holder_chains, strict=True)}
    assert kinds == {ops: "multisig", added: "eoa"}
    points, what = pause_points([manager])
    assert points == 0
    assert added in what


async def test_a_manager_whose_registry_cannot_be_read_is_unread_not_unpausable(
    client: ChainClient, deployment: Deployment
) -> None:
    # The timelock answers no pauserRegistry(): its pause power is reported unread, with why (scored as unknown).
    use = ContractUse("not a manager", PAUSABLE_INTERFACES[0], address=deployment.contracts["EigenLayerTimelock"])
    control = await inspect_contract(await _reader(client), use)
    (power,) = control.pause
    assert power.holders == ()
    assert power.why is not None
    assert "pauserRegistry" in power.why
    assert pause_points([control])[0] == -20


def test_pauser_candidates_come_from_the_registry_events_data() -> None:
    topic = PAUSER_STATUS_CHANGED_TOPIC
    first, second = "0x" + "11" * 20, "0x" + "22" * 20

    def entry(address: str, can: bool) -> dict[str, object]:
        return {"topics": [topic], "data": "0x" + "00" * 12 + address[2:] + f"{int(can):064x}"}

    logs = [entry(first, True), entry(second, True), entry(first, False), {"topics": ["0x" + "00" * 32], "data": "0x"}]
    assert pauser_candidates(logs) == [to_checksum_address(first), to_checksum_address(second)]
