"""Aave Governance V3 on the devnet: our replica of GovernanceCore, the Ethereum PayloadsController, its two
executors and a voting portal (contracts/src/AaveGovernanceV3.sol), beside Governance V2, which stays deployed
for its own proposals ("aave-v2").

Example::

    contracts.update(deploy_aave_governance_v3(sender, spec, contracts))
    contracts["AaveGovernanceCore"], contracts["AavePayloadsController"], contracts["AaveExecutorLvl1"]

As on mainnet, the level-1 executor administers every Ethereum market (`hand_markets_to_executor`: it owns each
PoolAddressesProvider, is its ACL admin and holds DEFAULT_ADMIN and POOL_ADMIN; the deployer keeps none of them)
and owns the PayloadsController, so an executed payload changes real state; the level-2 executor owns nothing
yet. Proposition power is the AAVE token's (the
devnet's AaveTokenV2, spread over the V2 delegates), votes are the voting portal's owner's to deliver (the
deployer, standing in for the voting machine's bridge). Durations are seconds: a simulation tick passes a block's
time (12 s on chain 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.seeding import seed_address
from defiscope.devnet.spec import ChainSpec
from defiscope.devnet.tx import Sender

SEED: Final = "aave-governance-v3"
WAD: Final = 10**18
#: Seconds between queueing and execution on GovernanceCore (mainnet's COOLDOWN_PERIOD: 1 day).
COOLDOWN: Final = 5
#: Seconds every executor waits after a payload is queued (mainnet: 1 day level 1, 7 days level 2).
EXECUTION_DELAYS: Final = {1: 5, 2: 10}


@dataclass(frozen=True, slots=True)
class VotingConfigInput:
    """IGovernanceCore.SetVotingConfigInput (AAVE amounts in whole tokens; the contract takes wei)."""

    access_level: int
    cool_down_before_voting_start: int
    voting_duration: int
    yes_threshold: int
    yes_no_differential: int
    min_proposition_power: int

    def as_tuple(self) -> tuple[int, int, int, int, int, int]:
        return (
            self.access_level,
            self.cool_down_before_voting_start,
            self.voting_duration,
            self.yes_threshold * WAD,
            self.yes_no_differential * WAD,
            self.min_proposition_power * WAD,
        )


#: The devnet's voting configurations: thresholds of the order of mainnet's (hundreds of thousands of AAVE for
#: level 1, about a million for level 2) against the devnet's 16M AAVE; seconds for durations.
VOTING_CONFIGS: Final = (
    VotingConfigInput(1, 2, 20, 320_000, 80_000, 80_000),
    VotingConfigInput(2, 2, 30, 1_040_000, 1_040_000, 200_000),
)


def voting_machine() -> str:
    """Where the portal's results come from (mainnet: the VotingMachine on the voting chain)."""
    return seed_address(SEED, "voting machine")


def deploy_aave_governance_v3(sender: Sender, spec: ChainSpec, contracts: Mapping[str, str]) -> dict[str, str]:
    """Registry entries of Aave Governance V3 (Ethereum, after Governance V2 deployed the AAVE token)."""
    if spec.chain_id != 1 or "AaveGovernanceToken" not in contracts:
        return {}
    collector = seed_address(SEED, "cancellation fee collector")
    configs = [c.as_tuple() for c in VOTING_CONFIGS]
    core = sender.deploy(
        contract_artifact("AaveGovernanceCore"), COOLDOWN, collector, contracts["AaveGovernanceToken"], configs
    )
    portal = sender.deploy(contract_artifact("AaveVotingPortal"), core.address, voting_machine(), spec.chain_id)
    sender.send(core.functions.addVotingPortals([portal.address]))
    controller = sender.deploy(contract_artifact("AavePayloadsController"), core.address, core.address, spec.chain_id)
    executors = {level: sender.deploy(contract_artifact("AaveExecutor"), controller.address) for level in (1, 2)}
    sender.send(
        controller.functions.updateExecutors(
            [(level, (executors[level].address, EXECUTION_DELAYS[level])) for level in (1, 2)]
        )
    )
    sender.send(controller.functions.transferOwnership(executors[1].address))
    return {
        "AaveGovernanceCore": core.address,
        "AavePayloadsController": controller.address,
        "AaveVotingPortalEthEth": portal.address,
        "AaveExecutorLvl1": executors[1].address,
        "AaveExecutorLvl2": executors[2].address,
    }


def market_suffixes(contracts: Mapping[str, str]) -> list[str]:
    """The registry suffix of each Aave V3 market deployed ("" for Core, ":Prime", ":EtherFi")."""
    prefix = "AaveV3ACLManager"
    return [name[len(prefix) :] for name in contracts if name.startswith(prefix)]


def hand_markets_to_executor(sender: Sender, spec: ChainSpec, contracts: Mapping[str, str]) -> dict[str, str]:
    """Every market to the level-1 executor, as on mainnet (aave-permissions-book `out/ETHEREUM-V3.md`:
    Executor_lvl1 owns the PoolAddressesProvider and holds DEFAULT_ADMIN and POOL_ADMIN; RISK_ADMIN is held by
    stewards, EMERGENCY_ADMIN by the guardian Safe). The deployer gives up its roles and the provider's
    ownership. Run last: the guardian Safe's grant needs the deployer's DEFAULT_ADMIN. Devnet difference: Governance
    V2's short executor keeps its Core roles (mainnet moved them in the V3 migration), as its agent's proposals
    configure that market. Nothing to register."""
    if spec.chain_id != 1 or "AaveExecutorLvl1" not in contracts:
        return {}
    executor, owner = contracts["AaveExecutorLvl1"], sender.owner
    for suffix in market_suffixes(contracts):
        acl_address = contracts[f"AaveV3ACLManager{suffix}"]
        acl = sender.contract(aave_artifact("protocol/configuration/ACLManager"), acl_address)
        provider = sender.contract(
            aave_artifact("protocol/configuration/PoolAddressesProvider"),
            contracts[f"AaveV3PoolAddressesProvider{suffix}"],
        )
        a, default_admin = acl.functions, acl.functions.DEFAULT_ADMIN_ROLE().call()
        sender.send(a.grantRole(default_admin, executor))
        sender.send(a.addPoolAdmin(executor))
        sender.send(provider.functions.setACLAdmin(executor))
        sender.send(provider.functions.transferOwnership(executor))
        for held, remove in ((a.isPoolAdmin, a.removePoolAdmin), (a.isRiskAdmin, a.removeRiskAdmin)):
            if held(owner).call():
                sender.send(remove(owner))
        sender.send(a.renounceRole(default_admin, owner))
    return {}


def pool_admin(contracts: Mapping[str, str]) -> str:
    """Who configures the Ethereum markets (tests act as it, impersonated): the level-1 executor."""
    return contracts["AaveExecutorLvl1"]
