"""Aave's governance on the devnet: Aave Governance V2's own bytecode (`@aave/governance-v2`), as mainnet ran it
from 2020 to 2024, with the short executor administering the Core market.

Example::

    contracts.update(deploy_aave_governance(sender, spec, contracts))
    contracts["AaveGovernor"], contracts["AaveShortExecutor"], contracts["AaveGovernanceToken"]

Why V2 and not V3: Governance V3 splits a proposal over three contracts and chains (GovernanceCore, a
VotingMachine voting on storage proofs of another chain's block, PayloadsController); its votes cannot be
replayed on one anvil without the proof machinery. V2 is one contract with every step's event on one chain,
and its package ships the real, deployable bytecode, so the devnet runs the contract itself, not a stand-in.

What is deployed: AAVE (AaveTokenV2 behind an InitializableAdminUpgradeabilityProxy; first initialised as the
package's AaveTokenV1Mock, which mints the 16M supply, then upgraded, as AAVE was) comes with the chain's tokens
(`deploy_aave_token`: the devnet's one AAVE, traded and priced like the others), its proxy administered by a
seeded admin until the long executor exists; here, in mainnet's order: stkAAVE (the same proxy and token, its
admin the long executor), the GovernanceStrategy (AAVE +
stkAAVE power, AAVE's supply), AaveGovernanceV2 (the deployer is its guardian), the short and long executors
with mainnet's quorum, differential and proposition thresholds (shorter delays and votes: blocks and seconds
pass fast here), both authorised, the governance's ownership handed to the long executor. The short executor
gets the Core market's pool-admin role and the ACL admin role, as on mainnet, so its proposals change real
state (a rate strategy, a reserve factor, the oracle's fallback, risk admins); `DELEGATE_SHARES` of the
circulating AAVE go to seeded delegates, and the short executor takes the seeded treasury's AAVE (mainnet's
ecosystem reserve; `devnet.supplies`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from eth_typing import ChecksumAddress
from web3.contract import Contract

from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.artifacts import Artifact, load_npm_artifact
from defiscope.devnet.governance import DELEGATE_SHARES
from defiscope.devnet.seeding import hand_treasury, seed_address, seed_user
from defiscope.devnet.spec import ChainSpec
from defiscope.devnet.supplies import circulating_units
from defiscope.devnet.tx import Sender

GOVERNANCE_V2_ROOT: Final = "@aave/governance-v2/artifacts/"
SEED: Final = "aave-governance"
#: Blocks between creation and the vote's start (mainnet: 0, later 7,200).
VOTING_DELAY: Final = 1
#: Seconds: timelock delays (mainnet: 1 day short, 7 days long) and the 5-day grace period of both.
SHORT_DELAY: Final = 10
LONG_DELAY: Final = 20
GRACE_PERIOD: Final = 5 * 24 * 3600
MAXIMUM_DELAY: Final = 30 * 24 * 3600


@dataclass(frozen=True, slots=True)
class ExecutorParams:
    """ExecutorWithTimelock + ProposalValidator constructor values; shares in hundredths of a percent."""

    registry_name: str
    delay: int
    proposition_threshold: int
    voting_duration: int  # blocks (mainnet: 19,200 short, 64,000 long; a simulation tick mines one)
    vote_differential: int
    minimum_quorum: int


#: Mainnet's thresholds (Aave Governance V2's README: short 0.5 % / 0.5 % / 2 %, long 2 % / 15 % / 20 %).
EXECUTORS: Final = (
    ExecutorParams("AaveShortExecutor", SHORT_DELAY, 50, 3, 50, 200),
    ExecutorParams("AaveLongExecutor", LONG_DELAY, 200, 6, 1500, 2000),
)


def governance_v2_artifact(path: str) -> Artifact:
    """An artifact of `@aave/governance-v2` by its path under `artifacts/`, without `.sol/<Name>.json`."""
    name = path.rsplit("/", 1)[-1]
    return load_npm_artifact(f"{GOVERNANCE_V2_ROOT}{path}.sol/{name}.json")


def governor_artifact() -> Artifact:
    return governance_v2_artifact("contracts/governance/AaveGovernanceV2")


def token_artifact() -> Artifact:
    return governance_v2_artifact("@aave/aave-token/contracts/token/AaveTokenV2")


def executor_artifact() -> Artifact:
    return governance_v2_artifact("contracts/governance/Executor")


def delegate_address(index: int) -> ChecksumAddress:
    """The i-th seeded AAVE holder who votes (largest first)."""
    return seed_address(SEED, f"delegate {index}")


def token_proxy_admin() -> ChecksumAddress:
    """Who administers AAVE's proxy from its deployment until the long executor takes over."""
    return seed_address(SEED, "token proxy admin")


def deploy_aave_token(sender: Sender) -> Contract:
    """AAVE behind its proxy, the 16M supply minted to account 0 (a `TokenContract` "AaveToken")."""
    proxy = _token_proxy(sender)
    _initialise_token(sender, proxy, token_proxy_admin(), sender.owner)
    return sender.contract(token_artifact(), proxy.address)


def deploy_aave_governance(
    sender: Sender, spec: ChainSpec, contracts: Mapping[str, str], tokens: Mapping[str, Contract]
) -> dict[str, str]:
    """Registry entries of Aave's governance (Ethereum only, with its Core market and AAVE deployed)."""
    if spec.chain_id != 1 or "AaveV3ACLManager" not in contracts or "AAVE" not in tokens:
        return {}
    aave, stk_aave = tokens["AAVE"], _token_proxy(sender)
    strategy = sender.deploy(
        governance_v2_artifact("contracts/governance/GovernanceStrategy"), aave.address, stk_aave.address
    )
    governance = sender.deploy(governor_artifact(), strategy.address, VOTING_DELAY, sender.owner, [])
    executors = {p.registry_name: _executor(sender, governance.address, p) for p in EXECUTORS}
    sender.send(governance.functions.authorizeExecutors([e.address for e in executors.values()]))
    long_executor = executors["AaveLongExecutor"].address
    sender.send(governance.functions.transferOwnership(long_executor))
    _initialise_token(sender, stk_aave, long_executor, seed_address(SEED, "safety module"))
    _change_proxy_admin(sender, aave.address, long_executor)
    short_executor = executors["AaveShortExecutor"].address
    _spread(sender, aave.address)
    hand_treasury(sender, aave, "AAVE", short_executor)
    _hand_core_market_to(sender, contracts, short_executor)
    return {
        "AaveGovernor": governance.address,
        "AaveGovernanceStrategy": strategy.address,
        "AaveGovernanceToken": aave.address,
        "AaveStakedGovernanceToken": stk_aave.address,
        **{name: executor.address for name, executor in executors.items()},
    }


def _token_proxy(sender: Sender) -> Contract:
    return sender.deploy(
        governance_v2_artifact("contracts/dependencies/open-zeppelin/InitializableAdminUpgradeabilityProxy")
    )


def _initialise_token(sender: Sender, proxy: Contract, admin: ChecksumAddress, holder: ChecksumAddress) -> None:
    """V1 (the package's mock: the 16M supply minted to `holder`), then V2 by the proxy admin, as AAVE was."""
    v1 = sender.deploy(governance_v2_artifact("contracts/mocks/AaveTokenV1Mock"))
    v2 = sender.deploy(token_artifact())
    sender.send(proxy.functions.initialize(v1.address, admin, v1.encode_abi("initialize", args=[holder])))
    sender.rpc("anvil_impersonateAccount", [admin])
    sender.rpc("anvil_setBalance", [admin, hex(10**18)])
    try:
        sender.send(proxy.functions.upgradeToAndCall(v2.address, v2.encode_abi("initialize", args=[])), sender=admin)
    finally:
        sender.rpc("anvil_stopImpersonatingAccount", [admin])


def _change_proxy_admin(sender: Sender, proxy_address: str, admin: ChecksumAddress) -> None:
    proxy = sender.contract(
        governance_v2_artifact("contracts/dependencies/open-zeppelin/InitializableAdminUpgradeabilityProxy"),
        proxy_address,
    )
    current = token_proxy_admin()
    sender.rpc("anvil_impersonateAccount", [current])
    sender.rpc("anvil_setBalance", [current, hex(10**18)])
    try:
        sender.send(proxy.functions.changeAdmin(admin), sender=current)
    finally:
        sender.rpc("anvil_stopImpersonatingAccount", [current])


def _executor(sender: Sender, governance: str, p: ExecutorParams) -> Contract:
    return sender.deploy(
        executor_artifact(),
        governance,
        p.delay,
        GRACE_PERIOD,
        p.delay,
        MAXIMUM_DELAY,
        p.proposition_threshold,
        p.voting_duration,
        p.vote_differential,
        p.minimum_quorum,
    )


def _spread(sender: Sender, token_address: str) -> None:
    """Shares of the circulating AAVE to the delegates (their own power: AAVE counts an undelegated holder's
    balance); the rest stays with account 0, the market's."""
    token = sender.contract(token_artifact(), token_address)
    circulating = circulating_units(1, "AAVE")
    for index, share in enumerate(DELEGATE_SHARES):
        holder = seed_user(sender, SEED, f"delegate {index}")
        sender.rpc("anvil_stopImpersonatingAccount", [holder])
        sender.send(token.functions.transfer(holder, int(circulating * share)))


def _hand_core_market_to(sender: Sender, contracts: Mapping[str, str], executor: str) -> None:
    """The short executor becomes pool admin and ACL admin of the Core market (it keeps them after Governance V3
    takes the markets over: its agent's proposals configure that market; mainnet moved them in the migration)."""
    acl = sender.contract(aave_artifact("protocol/configuration/ACLManager"), contracts["AaveV3ACLManager"])
    sender.send(acl.functions.addPoolAdmin(executor))
    sender.send(acl.functions.grantRole(acl.functions.DEFAULT_ADMIN_ROLE().call(), executor))
