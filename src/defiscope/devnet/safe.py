"""A real Safe multisig (``@gnosis.pm/safe-contracts@1.3.0``) as the Aave markets' emergency admin.

Example::

    contracts.update(deploy_guardian_safe(sender, spec, contracts))
    contracts["AaveGuardianSafe"]   # a 3-of-5 Safe proxy holding EMERGENCY_ADMIN_ROLE on the ACLManager

On mainnet a Safe (the Aave Guardian) holds the emergency admin role that may pause the pool; here the same:
the singleton and the proxy factory are deployed from the package's bytecode, a proxy is created with
``createProxyWithNonce`` and ``setup`` (5 seeded owners, threshold 3), it is granted the role in every market and
the deployer gives the role up (then its other roles: `aave_governance_v3.hand_markets_to_executor`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Final

from eth_typing import ChecksumAddress

from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.artifacts import npm_artifact
from defiscope.devnet.seeding import seed_address
from defiscope.devnet.spec import ChainSpec
from defiscope.devnet.tx import Sender

SEED: Final = "aave-guardian-safe"
OWNERS: Final = 5
THRESHOLD: Final = 3
ZERO: Final = "0x" + "00" * 20


def safe_owner(index: int) -> ChecksumAddress:
    """The i-th seeded owner of the guardian Safe."""
    return seed_address(SEED, f"owner {index}")


def deploy_safe(sender: Sender, owners: list[ChecksumAddress], threshold: int, *, salt: int = 0) -> dict[str, str]:
    """A Safe proxy set up with ``owners`` and ``threshold``, with the singleton and factory it came from."""
    singleton = sender.deploy(npm_artifact("GnosisSafe"))
    factory = sender.deploy(npm_artifact("GnosisSafeProxyFactory"))
    setup = singleton.functions.setup(owners, threshold, ZERO, b"", ZERO, ZERO, 0, ZERO)
    initializer = setup._encode_transaction_data()
    create = factory.functions.createProxyWithNonce(singleton.address, initializer, salt)
    proxy = create.call({"from": sender.owner})
    sender.send(create)
    return {"SafeSingleton": singleton.address, "SafeProxyFactory": factory.address, "Safe": proxy}


def deploy_guardian_safe(sender: Sender, spec: ChainSpec, contracts: Mapping[str, str]) -> dict[str, str]:
    """Registry entries of the Aave guardian Safe (Ethereum only, after the Aave market exists)."""
    if spec.chain_id != 1 or "AaveV3ACLManager" not in contracts:
        return {}
    deployed = deploy_safe(sender, [safe_owner(i) for i in range(OWNERS)], THRESHOLD)
    acl_artifact = aave_artifact("protocol/configuration/ACLManager")
    for name in [name for name in contracts if name.startswith("AaveV3ACLManager")]:  # every market's
        acl = sender.contract(acl_artifact, contracts[name])
        sender.send(acl.functions.addEmergencyAdmin(deployed["Safe"]))
        sender.send(acl.functions.removeEmergencyAdmin(sender.owner))
    return {
        "AaveGuardianSafe": deployed["Safe"],
        "SafeSingleton": deployed["SafeSingleton"],
        "SafeProxyFactory": deployed["SafeProxyFactory"],
    }


def safe_transaction(sender: Sender, safe: str, owners: list[ChecksumAddress], to: str, data: bytes) -> None:
    """Have the first ``threshold`` of ``owners`` approve a call from the Safe and execute it (Safe 1.3.0's
    approved-hash signatures, v = 1: the seeded owners have no keys, each approves on chain, impersonated)."""
    contract = sender.contract(npm_artifact("GnosisSafe"), safe)
    s = contract.functions
    threshold = s.getThreshold().call()
    signers = sorted(owners[:threshold], key=lambda owner: int(owner, 16))  # Safe wants ascending signers
    tx_hash = s.getTransactionHash(to, 0, data, 0, 0, 0, 0, ZERO, ZERO, s.nonce().call()).call()
    for owner in signers:
        with sender.impersonating(owner, gas_money=10**18):
            sender.submit(s.approveHash(tx_hash), sender=owner)
    signatures = b"".join(bytes(12) + bytes.fromhex(owner[2:]) + bytes(32) + b"\x01" for owner in signers)
    sender.submit(s.execTransaction(to, 0, data, 0, 0, 0, 0, ZERO, ZERO, signatures))
