"""Who may upgrade EigenLayer on the devnet: a TimelockController owns the managers' ProxyAdmins and the strategies'
UpgradeableBeacon, and a 3-of-6 Safe
(mainnet's Operations multisig) is its proposer, as on mainnet, where upgrades are queued by the Operations
multisig on a timelock before the ProxyAdmin carries them out.

Example::

    contracts.update(deploy_eigenlayer_admin(sender, spec, contracts))
    contracts["EigenLayerTimelock"], contracts["EigenLayerOperationsSafe"]

The managers' own ``owner()`` (the whitelister and the devnet's delay hook answer to it) is the same Safe:
mainnet's is the Executor Multisig, itself run by the timelock and the community multisig (one Safe here).

Pausing goes through the managers' PauserRegistry, as on mainnet, where Layr-Labs/eigenlayer-contracts
``script/deploy/mainnet/M1_Deploy.s.sol`` made the Executor, Operations and Pauser multisigs pausers and the Executor
multisig the unpauser (its `_checkPauserInitializations` asserts it; the script is commented out in later
releases, and the live registry was not read for this text): here the Operations Safe (standing for the Executor
multisig too) and a Pauser Safe (`PAUSER_OWNERS`, `PAUSER_THRESHOLD`) are the pausers, the Operations Safe the
unpauser. Account 0, the registry's first pauser and unpauser, names them and drops itself (each change an event,
as on mainnet).

The timelock's delay is the devnet's governance delay (`governance.TIMELOCK_DELAY`; mainnet: 10 days), so the
simulation's scheduled operations become ready within a few ticks. Anyone may execute a ready operation; the
timelock administers itself (no admin role), so its delay changes only through an operation of its own.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from eth_typing import ChecksumAddress

from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.eigenlayer import STRATEGY_BEACON, pauser_registry
from defiscope.devnet.governance import TIMELOCK_DELAY
from defiscope.devnet.proxies import transfer_proxy_admin
from defiscope.devnet.safe import ZERO, deploy_safe
from defiscope.devnet.seeding import seed_address
from defiscope.devnet.spec import ChainSpec
from defiscope.devnet.tx import Sender

#: Registry names of the upgradeable managers (each behind its own TransparentUpgradeableProxy).
MANAGERS: Final = ("EigenLayerStrategyManager", "EigenLayerDelegationManager", "EigenLayerEigenPodManager")
MANAGER_ARTIFACTS: Final = {
    "EigenLayerStrategyManager": "StrategyManager",
    "EigenLayerDelegationManager": "DelegationManager",
    "EigenLayerEigenPodManager": "EigenPodManager",
}
SEED: Final = "eigenlayer-operations-safe"
OWNERS: Final = 6
THRESHOLD: Final = 3
#: The Pauser multisig (mainnet 0x5050389572f2d220ad927CcbeA0D406831012390): 1 of 8, Eigen Labs' and the Eigen
#: Foundation's keys (docs.eigenfoundation.org, protocol-governance/technical-architecture), so one key can stop
#: an exploit.
PAUSER_SEED: Final = "eigenlayer-pauser-safe"
PAUSER_OWNERS: Final = 8
PAUSER_THRESHOLD: Final = 1


def operations_owners() -> list[ChecksumAddress]:
    """The seeded owners of the Operations Safe."""
    return [seed_address(SEED, f"owner {index}") for index in range(OWNERS)]


def pauser_owners() -> list[ChecksumAddress]:
    """The seeded owners of the Pauser Safe."""
    return [seed_address(PAUSER_SEED, f"owner {index}") for index in range(PAUSER_OWNERS)]


def hand_over_pausing(sender: Sender, manager: str, pausers: list[str], unpauser: str) -> None:
    """Account 0, the registry's unpauser, names ``pausers``, drops itself and hands the unpauser role on."""
    registry = pauser_registry(sender, manager).functions
    for pauser in pausers:
        sender.send(registry.setIsPauser(pauser, True))
    sender.send(registry.setIsPauser(sender.owner, False))
    sender.send(registry.setUnpauser(unpauser))


def deploy_timelock(sender: Sender, proposer: str, delay: int) -> str:
    """A TimelockController: ``proposer`` schedules (and cancels), anyone executes, no admin."""
    return str(sender.deploy(contract_artifact("GovernanceTimelock"), delay, [proposer], [ZERO], ZERO).address)


def deploy_eigenlayer_admin(sender: Sender, spec: ChainSpec, contracts: Mapping[str, str]) -> dict[str, str]:
    """Registry entries of EigenLayer's timelock, Operations Safe and Pauser Safe (Ethereum, once EigenLayer is
    deployed)."""
    if spec.chain_id != 1 or MANAGERS[0] not in contracts:
        return {}
    safe = deploy_safe(sender, operations_owners(), THRESHOLD, salt=1)["Safe"]
    timelock = deploy_timelock(sender, safe, TIMELOCK_DELAY)
    for name in MANAGERS:
        transfer_proxy_admin(sender, contracts[name], timelock)
        # The managers' own owner() (pausing, the whitelister, ...): a multisig as on mainnet, where it is the
        # Executor Multisig 0x369e6F597e22EaB55fFb173C6d9cD234BD699111 (l2beat: EigenLayerOwningMultisig).
        manager = sender.contract(contract_artifact(MANAGER_ARTIFACTS[name]), contracts[name])
        sender.send(manager.functions.transferOwnership(safe))
    beacon = sender.contract(npm_artifact("UpgradeableBeacon"), contracts[STRATEGY_BEACON])
    sender.send(beacon.functions.transferOwnership(timelock))
    pauser_safe = deploy_safe(sender, pauser_owners(), PAUSER_THRESHOLD, salt=2)["Safe"]
    hand_over_pausing(sender, contracts[MANAGERS[0]], [safe, pauser_safe], safe)
    return {"EigenLayerTimelock": timelock, "EigenLayerOperationsSafe": safe, "EigenLayerPauserSafe": pauser_safe}
