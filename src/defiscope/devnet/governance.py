"""Governance of the devnet's Compound and Uniswap: a token with ERC20Votes, OpenZeppelin's Governor and a
TimelockController that is the admin of the protocol's contracts, as on mainnet.

Example::

    contracts.update(deploy_governance(sender, spec, contracts, tokens))
    contracts["CompoundGovernor"], contracts["CompoundTimelock"], contracts["CompoundGovernanceToken"]

Mainnet's Compound Timelock is the admin of the Comptroller and every cToken and owns the Comets' ProxyAdmin;
Uniswap's Timelock owns the V3 factory and is the V2 factory's feeToSetter. Here too: the Comptroller's (its
Unitroller's) and the cTokens' admin is handed to the timelock (two steps, `_setPendingAdmin` then `_acceptAdmin`
from the timelock), so are the Comets' ProxyAdmins, the V3 factory's owner and the V2 factory's feeToSetter are
set to it, so an executed
proposal changes real state (an oracle, a rate model, a fee tier, a pending admin or implementation).
The token is the chain's one COMP or UNI (deployed with the other tokens, traded and priced; `devnet.supplies`
gives its real supply): `DELEGATE_SHARES` of its circulating supply go to seeded holders who delegate to
themselves (voting power for the simulation's votes and the concentration figures), and the timelock takes the
seeded treasury's tokens, as mainnet's timelocks hold the treasuries.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Final

from eth_typing import ChecksumAddress
from web3 import Web3
from web3.contract import Contract

from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.compound import deploy_comet_implementation, hand_oracle_to
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.proxies import transfer_proxy_admin, upgrade_to
from defiscope.devnet.safe import deploy_safe
from defiscope.devnet.seeding import hand_treasury, seed_address, seed_user
from defiscope.devnet.spec import ChainSpec
from defiscope.devnet.supplies import circulating_units
from defiscope.devnet.tx import Sender

#: Shares of the circulating supply each delegate holds, largest first.
DELEGATE_SHARES: Final = tuple(Fraction(p, 100) for p in (20, 15, 12, 10, 8, 5, 4))
#: Blocks, not seconds. A simulation tick mines one block (12 s apart on chain 1): a proposal made in one tick is
#: voted on two ticks later, and its vote closes three ticks after that (mainnet: about 2 and 3 days).
VOTING_DELAY: Final = 1
VOTING_PERIOD: Final = 3
#: Seconds between queueing and execution (mainnet: 2 days): the next tick's block is past it.
TIMELOCK_DELAY: Final = 10
QUORUM_PERCENT: Final = 4  # Compound's 400,000 of 10M COMP; Uniswap's 40M of 1B UNI
#: Compound's pause guardian: a Safe, as mainnet's (0xbbf3f1421D886E9b2c5D716B5192aC998af2012c, Compound's
#: community multisig), the Comets' `pauseGuardian` and the Comptroller's alike (comp.xyz "Compound Governance
#: Proposal Guardian", t/5544: the 4/8 community multisig "has been functioning as the Pause Guardian"; "[RFC]
#: Formalizing the Community Multisig", t/6395: created to pause the protocol and set V2 borrow caps); its owners
#: here are seeded, its threshold a stand-in.
PAUSE_GUARDIAN_SEED: Final = "compound-pause-guardian"
PAUSE_GUARDIAN_OWNERS: Final = 8
PAUSE_GUARDIAN_THRESHOLD: Final = 4


@dataclass(frozen=True, slots=True)
class GovernanceSpec:
    protocol: str  # registry prefix: "Compound", "Uniswap"
    symbol: str  # the governed token, one of the chain's tokens
    proposal_threshold: int  # whole tokens (Compound: 25,000 COMP; Uniswap: 1M UNI at 1/1000 of the supply)


SPECS: Final = (
    GovernanceSpec("Compound", "COMP", 25_000),
    GovernanceSpec("Uniswap", "UNI", 1_000_000),
)


def delegate_address(protocol: str, index: int) -> ChecksumAddress:
    """The i-th seeded delegate of a protocol's governance (largest first)."""
    return seed_address(f"{protocol.lower()}-governance", f"delegate {index}")


def deploy_governance(
    sender: Sender, spec: ChainSpec, contracts: Mapping[str, str], tokens: Mapping[str, Contract]
) -> dict[str, str]:
    """Registry entries of the governance of each protocol the chain has (Compound and Uniswap on Ethereum)."""
    if spec.chain_id != 1:
        return {}
    registry: dict[str, str] = {}
    for gov in SPECS:
        token = tokens[gov.symbol]
        governor, timelock = _deploy_one(sender, gov, token)
        registry |= {
            f"{gov.protocol}Governor": governor.address,
            f"{gov.protocol}Timelock": timelock.address,
            f"{gov.protocol}GovernanceToken": token.address,
        }
    registry["CompoundPauseGuardian"] = _hand_compound_to(sender, contracts, registry["CompoundTimelock"])
    factory = sender.contract(npm_artifact("UniswapV3Factory"), contracts["UniswapV3Factory"])
    sender.send(factory.functions.setOwner(registry["UniswapTimelock"]))
    v2_factory = sender.contract(npm_artifact("UniswapV2Factory"), contracts["UniswapV2Factory"])
    sender.send(v2_factory.functions.setFeeToSetter(registry["UniswapTimelock"]))  # mainnet: the same Timelock
    return registry


def _deploy_one(sender: Sender, gov: GovernanceSpec, token: Contract) -> tuple[Contract, Contract]:
    wad = 10**18
    # No proposer yet: the governor is granted the role once it exists. Anyone may execute; no admin.
    zero = "0x" + "00" * 20
    timelock = sender.deploy(contract_artifact("GovernanceTimelock"), TIMELOCK_DELAY, [], [zero], sender.owner)
    governor = sender.deploy(
        contract_artifact("DevGovernor"),
        f"{gov.protocol} Governor",
        token.address,
        timelock.address,
        VOTING_DELAY,
        VOTING_PERIOD,
        gov.proposal_threshold * wad,
        QUORUM_PERCENT,
    )
    t = timelock.functions
    for role in (t.PROPOSER_ROLE().call(), t.CANCELLER_ROLE().call()):
        sender.send(t.grantRole(role, governor.address))
    # The deployer gives up its bootstrap admin role: the timelock administers itself from here.
    sender.send(t.renounceRole(t.DEFAULT_ADMIN_ROLE().call(), sender.owner))
    circulating = circulating_units(1, gov.symbol)
    for index, share in enumerate(DELEGATE_SHARES):
        holder = seed_user(sender, f"{gov.protocol.lower()}-governance", f"delegate {index}")
        sender.send(token.functions.transfer(holder, int(circulating * share)))
        sender.send(token.functions.delegate(holder), sender=holder)
        sender.rpc("anvil_stopImpersonatingAccount", [holder])
    hand_treasury(sender, token, gov.symbol, timelock.address)
    return governor, timelock


def _hand_compound_to(sender: Sender, contracts: Mapping[str, str], timelock_address: str) -> str:
    """Make the timelock the admin of the Comptroller's Unitroller and of every cToken (pending, then accepted), and
    the owner of every Comet's ProxyAdmin (mainnet: the CometProxyAdmin, owned by the Timelock); each Comet is
    upgraded first to an implementation whose governor is the timelock and whose pause guardian is a Safe (both
    Comet immutables). The same Safe is the Comptroller's pause guardian, named by the admin with
    `_setPauseGuardian` before the admin is handed over (Compound v2.2 brought the Pause Guardian in with the
    Timelock, medium.com/compound-finance "Upgrading Compound Governance"), and owns the V2 price oracle, as
    mainnet's community multisig does. The guardian Safe's address."""
    timelock = Web3.to_checksum_address(timelock_address)
    guardian = deploy_safe(sender, pause_guardian_owners(), PAUSE_GUARDIAN_THRESHOLD, salt=2)["Safe"]
    for name, address in sorted(contracts.items()):
        if name.startswith("CompoundV3Comet:"):
            implementation = deploy_comet_implementation(sender, address, governor=timelock, pause_guardian=guardian)
            upgrade_to(sender, address, implementation)
            transfer_proxy_admin(sender, address, timelock)
    comptroller = sender.contract(contract_artifact("Comptroller"), contracts["CompoundV2Comptroller"])
    sender.send(comptroller.functions._setPauseGuardian(guardian))  # the deployer, still its admin
    if comptroller.functions.pauseGuardian().call() != guardian:  # an error code, not a revert, if refused
        raise DevnetError(f"the Comptroller refused {guardian} as its pause guardian")
    admins = [sender.contract(contract_artifact("Unitroller"), contracts["CompoundV2Comptroller"])]
    admins += [
        sender.contract(contract_artifact("CErc20"), address)
        for name, address in sorted(contracts.items())
        if name.startswith("CompoundV2cToken:")
    ]
    sender.rpc("anvil_impersonateAccount", [timelock])
    sender.rpc("anvil_setBalance", [timelock, hex(10**18)])
    for contract in admins:
        sender.send(contract.functions._setPendingAdmin(timelock))
        sender.send(contract.functions._acceptAdmin(), sender=timelock)
    sender.rpc("anvil_stopImpersonatingAccount", [timelock])
    hand_oracle_to(sender, contracts["CompoundV2Oracle"], guardian)  # mainnet: the community multisig owns it
    return guardian


def pause_guardian_owners() -> list[ChecksumAddress]:
    """The seeded owners of Compound's pause guardian Safe."""
    return [seed_address(PAUSE_GUARDIAN_SEED, f"owner {index}") for index in range(PAUSE_GUARDIAN_OWNERS)]


def propose_close_factor(url: str, contracts: Mapping[str, str], description: str) -> None:
    """Compound's largest delegate proposes a close factor of 60 % on the devnet's governor (impersonated): a
    proposal whose quorum a reader asks once its vote has started (tests and benchmarks of the governance reads)."""
    sender = Sender.connect(url)
    governor = sender.contract(contract_artifact("DevGovernor"), contracts["CompoundGovernor"])
    proposer = delegate_address("Compound", 0)
    target = contracts["CompoundV2Comptroller"]
    comptroller = sender.contract(contract_artifact("Comptroller"), target)
    calldata = bytes.fromhex(comptroller.encode_abi("_setCloseFactor", args=[6 * 10**17])[2:])
    with sender.impersonating(proposer, gas_money=10**18):
        sender.send(governor.functions.propose([target], [0], [calldata], description), sender=proposer)
