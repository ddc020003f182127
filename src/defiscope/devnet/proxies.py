"""Upgradeable stand-ins behind real proxies, as on mainnet: OpenZeppelin's TransparentUpgradeableProxy (with the
ProxyAdmin it creates; the package's own build, `artifacts.NPM_ARTIFACTS`) and Compound's Unitroller.

Example::

    comet = deploy_transparent(sender, implementation.address, sender.owner, init=b"...")
    proxy_admin(sender, comet)                      # the ProxyAdmin the proxy created, owned by account 0
    upgrade_to(sender, comet, new_implementation)   # through that ProxyAdmin: Upgraded(new_implementation)

OpenZeppelin 5's TransparentUpgradeableProxy creates one ProxyAdmin per proxy (mainnet's older proxies share
one); its owner upgrades through ``upgradeAndCall``, which emits EIP-1967's ``Upgraded`` on the proxy.
"""

from __future__ import annotations

from typing import Final

from eth_typing import ChecksumAddress
from eth_utils import keccak, to_checksum_address
from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.tx import Sender

#: EIP-1967's admin slot: bytes32(uint256(keccak256("eip1967.proxy.admin")) - 1).
ADMIN_SLOT: Final = int.from_bytes(keccak(text="eip1967.proxy.admin"), "big") - 1
#: EIP-1967's implementation slot.
IMPLEMENTATION_SLOT: Final = int.from_bytes(keccak(text="eip1967.proxy.implementation"), "big") - 1


def _slot_address(sender: Sender, address: str, slot: int) -> ChecksumAddress:
    word = sender.w3.eth.get_storage_at(to_checksum_address(address), slot)
    return to_checksum_address(bytes(word)[-20:])


def proxy_admin(sender: Sender, proxy: str) -> ChecksumAddress:
    """The ProxyAdmin of an OpenZeppelin transparent proxy (EIP-1967 admin slot)."""
    return _slot_address(sender, proxy, ADMIN_SLOT)


def implementation_of(sender: Sender, proxy: str) -> ChecksumAddress:
    """The implementation behind an EIP-1967 proxy."""
    return _slot_address(sender, proxy, IMPLEMENTATION_SLOT)


def deploy_transparent(sender: Sender, implementation: str, owner: str, init: bytes = b"") -> ChecksumAddress:
    """A TransparentUpgradeableProxy over ``implementation``, set up with ``init`` (calldata, delegated once); its
    ProxyAdmin is owned by ``owner``."""
    proxy = sender.deploy(npm_artifact("TransparentUpgradeableProxy"), implementation, owner, init)
    return proxy.address


def proxy_admin_contract(sender: Sender, proxy: str) -> Contract:
    return sender.contract(npm_artifact("ProxyAdmin"), proxy_admin(sender, proxy))


def upgrade_to(sender: Sender, proxy: str, implementation: str, init: bytes = b"") -> None:
    """Upgrade ``proxy`` through its ProxyAdmin while account 0 owns it (at deployment)."""
    sender.send(proxy_admin_contract(sender, proxy).functions.upgradeAndCall(proxy, implementation, init))


def transfer_proxy_admin(sender: Sender, proxy: str, new_owner: str) -> None:
    """Hand the proxy's ProxyAdmin from account 0 to ``new_owner`` (a timelock)."""
    sender.send(proxy_admin_contract(sender, proxy).functions.transferOwnership(new_owner))


def deploy_unitroller(sender: Sender, implementation: Contract) -> ChecksumAddress:
    """Compound's Unitroller with ``implementation`` accepted (pending, then ``_become``), as Compound deployed it."""
    unitroller = sender.deploy(contract_artifact("Unitroller"))
    sender.send(unitroller.functions._setPendingImplementation(implementation.address))
    sender.send(implementation.functions._become(unitroller.address))
    return unitroller.address
