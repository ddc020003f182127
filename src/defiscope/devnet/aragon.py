"""Aragon apps on the devnet: an app behind a replica of aragonOS 4's AppProxyUpgradeable (as Lido's stETH is on
mainnet), its code held by a kernel whose ACL grants APP_MANAGER_ROLE (contracts/src/AragonApps.sol).

Example::

    app = deploy_aragon_app(sender, implementation.address, app_id=LIDO_APP_ID)
    app.proxy.address          # the app's address (what a registry lists)
    set_app_base(sender, app, new_implementation)   # an upgrade: the kernel's setApp by the role holder
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from eth_utils import keccak
from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender

#: aragonOS's namespace of app bases (implementations): keccak256("base").
APP_BASES_NAMESPACE: Final = keccak(text="base")
APP_MANAGER_ROLE: Final = keccak(text="APP_MANAGER_ROLE")
#: Lido's app id on mainnet: namehash("lido.lidopm.eth").
LIDO_APP_ID: Final = bytes.fromhex("3ca7c3e38968823ccb4c78ea688df41356f182ae1d159e4ee608d30d68cef320")


@dataclass(frozen=True, slots=True)
class AragonApp:
    proxy: Contract
    kernel: Contract
    acl: Contract
    app_id: bytes


def deploy_aragon_app(sender: Sender, implementation: str, *, app_id: bytes) -> AragonApp:
    """An app at ``implementation`` behind a new AppProxyUpgradeable; APP_MANAGER_ROLE is account 0's."""
    acl = sender.deploy(contract_artifact("AragonACL"), sender.owner)
    kernel = sender.deploy(contract_artifact("AragonKernel"), acl.address)
    sender.send(acl.functions.grant(APP_MANAGER_ROLE, sender.owner))
    proxy = sender.deploy(contract_artifact("AppProxyUpgradeable"), kernel.address, app_id, b"")
    app = AragonApp(proxy, kernel, acl, app_id)
    set_app_base(sender, app, implementation)
    return app


def set_app_base(sender: Sender, app: AragonApp, implementation: str) -> None:
    """Upgrade the app: the kernel's setApp in the bases namespace, sent by the APP_MANAGER_ROLE holder."""
    sender.send(app.kernel.functions.setApp(APP_BASES_NAMESPACE, app.app_id, implementation))
