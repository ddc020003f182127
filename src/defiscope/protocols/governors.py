"""Which protocols are governed on chain, by which contracts (registry names), and which adapter keeps the events.

An adapter never writes to the store; the adapter of the governed protocol declares its governor's events as
its own `event_streams()` (`streams_of`), and the service keeps them under that adapter's slug.

    spec = GOVERNORS["compound"]
    spec.governor, spec.keeper                     # "CompoundGovernor", "compound-v2"
    streams_of(deployment, "compound-v2")          # [] when the registry has no Compound governor
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Final, Literal

from defiscope.deployments import Deployment
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


@dataclass(frozen=True, slots=True)
class GovernedProtocol:
    protocol: str  # the governance view's name: "compound", "uniswap"
    keeper: str  # slug of the adapter that declares the events (and under which they are stored)
    governor: str  # registry names
    token: str
    timelock: str
    token_interface: str  # the mainnet token's real ABI (tests/fixtures/abi)
    #: "governor": a Bravo/OpenZeppelin Governor and its timelock; "chief": Maker's DSChief (the `governor`),
    #: its DSPause (the `timelock`) and spells (`governance.maker`).
    shape: Literal["governor", "chief"] = "governor"

    def present(self, deployment: Deployment) -> bool:
        needed = (self.governor, self.token) + ((self.timelock,) if self.shape == "chief" else ())
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
        "maker": GovernedProtocol(
            "maker", "makerdao", "MakerChief", "MakerGovernanceToken", "MakerPause", "maker/DSToken", shape="chief"
        ),
    }
)


def streams_of(deployment: Deployment, keeper: str) -> list[EventStream]:
    """The governance event streams adapter `keeper` declares on this deployment."""
    streams: list[EventStream] = []
    for spec in GOVERNORS.values():
        if spec.keeper != keeper or not spec.present(deployment):
            continue
        # A devnet is scanned from genesis: its governors were deployed with the world.
        lookback = MAINNET_LOOKBACK if deployment.network == "mainnet" else 10**12
        if spec.shape == "chief":
            # Approval is every lock, free and vote since the chief's launch: its notes are scanned from the
            # start on mainnet too (once; then incrementally), or the MKR locked before the window is missed.
            chief, pause = deployment.contracts[spec.governor], deployment.contracts[spec.timelock]
            streams += maker_governance_streams(chief=chief, pause=pause, start_block=0, lookback=10**12)
            continue
        streams += governor_streams(
            governor=deployment.contracts[spec.governor],
            token=deployment.contracts[spec.token],
            start_block=0,
            lookback=lookback,
        )
    return streams


#: What the governance view calls: Bravo's one quorum, OpenZeppelin's quorum at a proposal's snapshot.
QUORUM_VOTES: Final = "quorumVotes()(uint256)"
QUORUM_AT: Final = "quorum(uint256)(uint256)"


def governance_surface(deployment: Deployment, keeper: str) -> tuple[ContractUse, ...]:
    """The governors and tokens adapter `keeper` keeps events of: mainnet's GovernorBravo and COMP-style
    tokens, the devnet's OpenZeppelin Governor and ERC20Votes token (same events, another quorum call)."""
    uses: list[ContractUse] = []
    mainnet = deployment.network == "mainnet"
    for spec in GOVERNORS.values():
        if spec.keeper != keeper or not spec.present(deployment):
            continue
        if spec.shape == "chief":
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
