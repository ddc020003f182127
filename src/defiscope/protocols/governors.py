"""Which protocols are governed on chain, by which contracts (registry names), and which adapter keeps the events.

An adapter never writes to the store; the adapter of the governed protocol declares its governor's events as
its own `event_streams()` (`streams_of`), and the service keeps them under that adapter's slug.

    spec = GOVERNORS["compound"]
    spec.governor, spec.keeper                     # "CompoundGovernor", "compound-v2"
    streams_of(deployment, "compound-v2")          # [] when the registry has no Compound governor

Four shapes: a Governor with Bravo's events (`GOVERNOR`: Compound, Uniswap), Aave Governance V3
(`AAVE_GOVERNANCE_V3`: GovernanceCore for proposals, a PayloadsController per chain for their payloads, votes on
voting machines elsewhere; `governance.aave_v3`), Aave Governance V2 (`AAVE_GOVERNANCE_V2`: one governance
contract, executors as timelocks, AAVE + stkAAVE voting power through a strategy; Aave's governor from 2020 to
2024, kept as "aave-v2" for its proposals) and Maker's chief (`CHIEF`: DSChief approval voting, DSPause, spells;
`governance.maker`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final

from defiscope.deployments import Deployment
from defiscope.protocols.aave_governance_events import (
    AAVE_GOVERNANCE_EVENTS,
    DELEGATED_POWER_CHANGED_EVENT,
    aave_governance_streams,
)
from defiscope.protocols.aave_governance_v3_events import (
    GET_PROPOSAL,
    GOVERNANCE_CORE_EVENTS,
    PAYLOADS_CONTROLLER_EVENTS,
    aave_governance_v3_streams,
)
from defiscope.protocols.events import EventStream
from defiscope.protocols.governor_events import (
    DELEGATE_VOTES_CHANGED_EVENT,
    GOVERNOR_EVENTS,
    governor_streams,
)
from defiscope.protocols.maker_governance_events import CHIEF_NOTES, PAUSE_NOTES, maker_governance_streams
from defiscope.protocols.surface import ContractUse

#: How far a mainnet service's first scan looks back: 60 days of 12-second blocks (every live proposal and
#: its votes; voting power changes before that are not seen, so concentration is over recent delegation).
MAINNET_LOOKBACK: Final = 60 * 7200

#: Governance shapes (`GovernedProtocol.shape`).
GOVERNOR: Final = "governor"  # GovernorBravo / OpenZeppelin Governor, Bravo's events
AAVE_GOVERNANCE_V2: Final = "aave-v2"  # AaveGovernanceV2 with its executors and strategy
AAVE_GOVERNANCE_V3: Final = "aave-v3"  # GovernanceCore (the `governor`) and a PayloadsController (the `timelock`)
CHIEF: Final = "chief"  # Maker's DSChief (the `governor`), its DSPause (the `timelock`) and spells


@dataclass(frozen=True, slots=True)
class GovernedProtocol:
    protocol: str  # the governance view's name: "compound", "uniswap"
    keeper: str  # slug of the adapter that declares the events (and under which they are stored)
    governor: str  # registry names
    token: str
    timelock: str
    token_interface: str  # the mainnet token's real ABI (tests/fixtures/abi)
    shape: str = GOVERNOR

    def present(self, deployment: Deployment) -> bool:
        needed = (self.governor, self.token) + ((self.timelock,) if self.shape in (CHIEF, AAVE_GOVERNANCE_V3) else ())
        return all(name in deployment.contracts for name in needed)


GOVERNORS: Final[Mapping[str, GovernedProtocol]] = MappingProxyType(
    {
        "compound": GovernedProtocol(
            "compound",
            "compound-v2",
            "CompoundGovernor",
            "CompoundGovernanceToken",
            "CompoundTimelock",
            "compound/COMP",
        ),
        "uniswap": GovernedProtocol(
            "uniswap", "uniswap-v3", "UniswapGovernor", "UniswapGovernanceToken", "UniswapTimelock", "uniswap/Uni"
        ),
        "aave": GovernedProtocol(
            "aave",
            "aave-v3",
            "AaveGovernanceCore",
            "AaveGovernanceToken",
            "AavePayloadsController",
            "aave/IAaveToken",
            AAVE_GOVERNANCE_V3,
        ),
        "aave-v2": GovernedProtocol(
            "aave-v2",
            "aave-v3",
            "AaveGovernor",
            "AaveGovernanceToken",
            "AaveShortExecutor",
            "aave/IAaveToken",
            AAVE_GOVERNANCE_V2,
        ),
        "maker": GovernedProtocol(
            "maker", "makerdao", "MakerChief", "MakerGovernanceToken", "MakerPause", "maker/DSToken", CHIEF
        ),
    }
)
#: Aave's other governance contracts: the long executor (the second timelock) and the voting strategy.
AAVE_LONG_EXECUTOR: Final = "AaveLongExecutor"
AAVE_STRATEGY: Final = "AaveGovernanceStrategy"


def power_unfollowed(deployment: Deployment, spec: GovernedProtocol) -> str | None:
    """Why the token's voting power is not followed on this deployment (no concentration figures), or None."""
    if spec.shape == AAVE_GOVERNANCE_V3:
        return (
            "Aave Governance V3 votes on voting machines with storage proofs of AAVE, stkAAVE and aAAVE balances "
            "on Ethereum: voting power is not followed"
        )
    if spec.shape == AAVE_GOVERNANCE_V2 and deployment.network == "mainnet":
        return "mainnet's AAVE (AaveTokenV3) emits no DelegatedPowerChanged: voting power is not followed"
    return None


def streams_of(deployment: Deployment, keeper: str) -> list[EventStream]:
    """The governance event streams adapter `keeper` declares on this deployment."""
    streams: list[EventStream] = []
    for spec in GOVERNORS.values():
        if spec.keeper != keeper or not spec.present(deployment):
            continue
        # A devnet is scanned from genesis: its governors were deployed with the world.
        lookback = MAINNET_LOOKBACK if deployment.network == "mainnet" else 10**12
        if spec.shape == CHIEF:
            # Approval is every lock, free and vote since the chief's launch: its notes are scanned from the
            # start on mainnet too (once; then incrementally), or the MKR locked before the window is missed.
            chief, pause = deployment.contracts[spec.governor], deployment.contracts[spec.timelock]
            streams += maker_governance_streams(chief=chief, pause=pause, start_block=0, lookback=10**12)
            continue
        if spec.shape == AAVE_GOVERNANCE_V3:
            core, controller = deployment.contracts[spec.governor], deployment.contracts[spec.timelock]
            streams += aave_governance_v3_streams(
                core=core, payloads_controller=controller, start_block=0, lookback=lookback
            )
            continue
        read_streams = aave_governance_streams if spec.shape == AAVE_GOVERNANCE_V2 else governor_streams
        streams += read_streams(
            governor=deployment.contracts[spec.governor],
            token=None if power_unfollowed(deployment, spec) else deployment.contracts[spec.token],
            start_block=0,
            lookback=lookback,
        )
    return streams


#: What the governance view calls: Bravo's one quorum, OpenZeppelin's quorum at a proposal's snapshot.
QUORUM_VOTES: Final = "quorumVotes()(uint256)"
QUORUM_AT: Final = "quorum(uint256)(uint256)"
#: Aave: the strategy's voting supply at a proposal's start block, the proposal's executor's thresholds.
TOTAL_VOTING_SUPPLY_AT: Final = "getTotalVotingSupplyAt(uint256)(uint256)"
MINIMUM_QUORUM: Final = "MINIMUM_QUORUM()(uint256)"
VOTE_DIFFERENTIAL: Final = "VOTE_DIFFERENTIAL()(uint256)"


def governance_surface(deployment: Deployment, keeper: str) -> tuple[ContractUse, ...]:
    """The governors and tokens adapter `keeper` keeps events of: mainnet's GovernorBravo and COMP-style
    tokens, the devnet's OpenZeppelin Governor and ERC20Votes token (same events, another quorum call)."""
    uses: list[ContractUse] = []
    mainnet = deployment.network == "mainnet"
    for spec in GOVERNORS.values():
        if spec.keeper != keeper or not spec.present(deployment):
            continue
        if spec.shape == AAVE_GOVERNANCE_V2:
            uses += _aave_uses(deployment, spec)
            continue
        if spec.shape == AAVE_GOVERNANCE_V3:
            uses += aave_v3_surface(deployment, spec)
            continue
        if spec.shape == CHIEF:
            uses += chief_surface(deployment, spec)
            continue
        # Both mainnet governors are deployments of Compound's GovernorBravoDelegate source.
        governor_interface = "compound/GovernorBravo" if mainnet else "openzeppelin/Governor"
        token_interface = spec.token_interface if mainnet else "openzeppelin/ERC20Votes"
        uses += [
            ContractUse(
                f"{spec.protocol} governor",
                governor_interface,
                calls=(QUORUM_VOTES if mainnet else QUORUM_AT,),
                events=GOVERNOR_EVENTS,
                address=deployment.contracts[spec.governor],
            ),
            ContractUse(
                f"{spec.protocol} governance token",
                token_interface,
                events=(DELEGATE_VOTES_CHANGED_EVENT,),
                address=deployment.contracts[spec.token],
            ),
        ]
    return tuple(uses)


def _aave_uses(deployment: Deployment, spec: GovernedProtocol) -> list[ContractUse]:
    """AaveGovernanceV2 (the same bytecode on the devnet, from @aave/governance-v2), its executors and strategy;
    the token's DelegatedPowerChanged on the devnet's AaveTokenV2 (mainnet's AAVE is AaveTokenV3 now, which no
    longer emits it, so mainnet's voting power is not followed)."""
    contracts = deployment.contracts
    executors = [contracts[name] for name in (spec.timelock, AAVE_LONG_EXECUTOR) if name in contracts]
    uses = [
        ContractUse(
            "aave governance", "aave/AaveGovernanceV2", events=AAVE_GOVERNANCE_EVENTS, address=contracts[spec.governor]
        ),
        *(
            ContractUse("aave executor", "aave/Executor", calls=(MINIMUM_QUORUM, VOTE_DIFFERENTIAL), address=a)
            for a in executors
        ),
        ContractUse(
            "aave governance strategy",
            "aave/GovernanceStrategy",
            calls=(TOTAL_VOTING_SUPPLY_AT,),
            address=contracts.get(AAVE_STRATEGY),
        ),
    ]
    if power_unfollowed(deployment, spec):
        return uses
    token = ContractUse(
        "aave governance token",
        "aave/AaveTokenV2",
        events=(DELEGATED_POWER_CHANGED_EVENT,),
        address=contracts[spec.token],
    )
    return [*uses, token]


#: What the governance view reads of GovernanceCore: a proposal's times and payloads, an access level's voting
#: configuration (its yes threshold is the quorum), the wait between queueing and execution.
GET_VOTING_CONFIG: Final = "getVotingConfig(uint8)((uint24,uint24,uint56,uint56,uint56))"
COOLDOWN_PERIOD: Final = "COOLDOWN_PERIOD()(uint256)"
V3_CORE_CALLS: Final = (GET_PROPOSAL, GET_VOTING_CONFIG, COOLDOWN_PERIOD)


def aave_v3_surface(deployment: Deployment, spec: GovernedProtocol) -> tuple[ContractUse, ...]:
    """GovernanceCore and this chain's PayloadsController: mainnet's (the address book's interfaces) and the
    devnet's stand-ins written to them."""
    contracts = deployment.contracts
    return (
        ContractUse(
            f"{spec.protocol} governance core",
            "aave/IGovernanceCore",
            calls=V3_CORE_CALLS,
            events=GOVERNANCE_CORE_EVENTS,
            address=contracts[spec.governor],
        ),
        ContractUse(
            f"{spec.protocol} payloads controller",
            "aave/IPayloadsControllerCore",
            events=PAYLOADS_CONTROLLER_EVENTS,
            address=contracts[spec.timelock],
        ),
    )


#: What the governance view reads of a spell (not in its events): when it can no longer be scheduled, what it
#: would plot, and its title.
SPELL_EXPIRATION: Final = "expiration()(uint256)"
SPELL_ACTION: Final = "action()(address)"
SPELL_SIG: Final = "sig()(bytes)"
SPELL_DESCRIPTION: Final = "description()(string)"
SPELL_CALLS: Final = (SPELL_EXPIRATION, SPELL_ACTION, SPELL_SIG, SPELL_DESCRIPTION)


def chief_surface(deployment: Deployment, spec: GovernedProtocol) -> tuple[ContractUse, ...]:
    """Maker's chief and pause (their ds-note LogNotes) and the spells found in the chief's slates; the same
    interfaces on mainnet (MCD_ADM, MCD_PAUSE) and the devnet (stand-ins written to them)."""
    contracts = deployment.contracts
    return (
        ContractUse(f"{spec.protocol} chief", "maker/DSChief", notes=CHIEF_NOTES, address=contracts[spec.governor]),
        ContractUse(f"{spec.protocol} pause", "maker/DSPause", notes=PAUSE_NOTES, address=contracts[spec.timelock]),
        ContractUse(f"{spec.protocol} spells (candidates in the chief's slates)", "maker/DssSpell", calls=SPELL_CALLS),
    )
