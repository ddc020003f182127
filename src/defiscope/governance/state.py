"""A proposal's state from its events and the block it is read at, as the Governor's `state(id)` gives it.

Both Governors share the eight states and one order of checks (GovernorBravoDelegate.state, OpenZeppelin
Governor.state); they differ only in two rules, kept as data (`GovernorRules`):

- quorum: Bravo compares the for votes alone with `quorumVotes()`; OpenZeppelin's GovernorCountingSimple
  compares for + abstain with `quorum(snapshot)`;
- expiry: Bravo's Timelock drops a queued proposal `GRACE_PERIOD` (14 days) after its eta; OpenZeppelin's
  TimelockController never does, so its proposals never expire.

Aave Governance V2 (AaveGovernanceV2.getProposalState with its executor's ProposalValidator) has the same eight
states (its Failed is Defeated) and order, and two more rules: the for votes alone must reach `MINIMUM_QUORUM`
of the voting supply at the start block, and beat the against votes by `VOTE_DIFFERENTIAL` of that supply
(`VoteDifferential`); its executor expires a proposal only once the time is past eta + `GRACE_PERIOD`.

    >>> rules = GovernorRules(quorum_counts_abstain=True, grace_period=None)
    >>> tally = Tally(for_votes=60, against=10, abstain=0)
    >>> proposal_state(Timeline(vote_start=10, vote_end=20), tally, quorum=50, block=21, timestamp=0, rules=rules)
    <ProposalState.SUCCEEDED: 'Succeeded'>
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class ProposalState(StrEnum):
    """IGovernor.ProposalState, in the enum's order."""

    PENDING = "Pending"
    ACTIVE = "Active"
    CANCELED = "Canceled"
    DEFEATED = "Defeated"
    SUCCEEDED = "Succeeded"
    QUEUED = "Queued"
    EXPIRED = "Expired"
    EXECUTED = "Executed"


@dataclass(frozen=True, slots=True)
class GovernorRules:
    quorum_counts_abstain: bool
    grace_period: int | None  # seconds after eta a queued proposal stays executable; None: forever
    expires_after_grace: bool = False  # Aave: expired once past eta + grace; Bravo: from eta + grace on
    vote_differential: bool = False  # Aave: the for votes must beat the against by a share of the supply


BRAVO: GovernorRules = GovernorRules(quorum_counts_abstain=False, grace_period=14 * 24 * 3600)
OPENZEPPELIN: GovernorRules = GovernorRules(quorum_counts_abstain=True, grace_period=None)
#: Both mainnet executors (short and long) and the devnet's have a 5-day GRACE_PERIOD.
AAVE_V2: GovernorRules = GovernorRules(
    quorum_counts_abstain=False, grace_period=5 * 24 * 3600, expires_after_grace=True, vote_differential=True
)

#: ProposalValidator.ONE_HUNDRED_WITH_PRECISION: quorum and differential are in hundredths of a percent.
ONE_HUNDRED_WITH_PRECISION = 10_000


@dataclass(frozen=True, slots=True)
class VoteDifferential:
    """What Aave's ProposalValidator.isVoteDifferentialValid reads: the voting supply at the start block and the
    executor's VOTE_DIFFERENTIAL (hundredths of a percent)."""

    supply: int
    differential: int

    def valid(self, tally: Tally) -> bool:
        """for/supply > against/supply + differential, each share floored to hundredths of a percent as the
        contract does (so a margin within one rounding step can fail)."""
        if self.supply == 0:
            return False
        for_share = tally.for_votes * ONE_HUNDRED_WITH_PRECISION // self.supply
        against_share = tally.against * ONE_HUNDRED_WITH_PRECISION // self.supply
        return for_share > against_share + self.differential


@dataclass(frozen=True, slots=True)
class Tally:
    for_votes: int
    against: int
    abstain: int


@dataclass(frozen=True, slots=True)
class Timeline:
    """From ProposalCreated (startBlock/endBlock, voteStart/voteEnd) and the later events."""

    vote_start: int
    vote_end: int
    eta: int | None = None  # ProposalQueued
    executed: bool = False
    canceled: bool = False


def quorum_reached(tally: Tally, quorum: int, rules: GovernorRules) -> bool:
    counted = tally.for_votes + (tally.abstain if rules.quorum_counts_abstain else 0)
    return counted >= quorum


def proposal_state(
    timeline: Timeline,
    tally: Tally,
    *,
    quorum: int | None,
    block: int,
    timestamp: int,
    rules: GovernorRules,
    differential: VoteDifferential | None = None,
) -> ProposalState | None:
    """The state at `block` (whose timestamp is `timestamp`); None when it hangs on an unknown quorum.

    The checks run in the contracts' order: executed and canceled first (OpenZeppelin) — Bravo checks
    canceled first and executed after the vote, which gives the same answer since an executed proposal
    cannot be canceled; then Pending while the block is at or before the snapshot, Active up to the deadline
    inclusive, Defeated unless for > against and the quorum is met, Succeeded until queued, then Queued or
    Expired. Aave checks executed after the vote, with the same answer for the same reason. Under
    `rules.vote_differential` an ended, unqueued vote needs `differential` too (else None).
    """
    if timeline.canceled:
        return ProposalState.CANCELED
    if timeline.executed:
        return ProposalState.EXECUTED
    if block <= timeline.vote_start:
        return ProposalState.PENDING
    if block <= timeline.vote_end:
        return ProposalState.ACTIVE
    if tally.for_votes <= tally.against:
        return ProposalState.DEFEATED
    if timeline.eta is None:
        if quorum is None or (rules.vote_differential and differential is None):
            return None
        passed = quorum_reached(tally, quorum, rules)
        if differential is not None and rules.vote_differential:
            passed = passed and differential.valid(tally)
        return ProposalState.SUCCEEDED if passed else ProposalState.DEFEATED
    # Queued implies the vote succeeded (queue() requires Succeeded).
    if rules.grace_period is not None and _past_grace(timestamp, timeline.eta + rules.grace_period, rules):
        return ProposalState.EXPIRED
    return ProposalState.QUEUED


def _past_grace(timestamp: int, grace_end: int, rules: GovernorRules) -> bool:
    return timestamp > grace_end if rules.expires_after_grace else timestamp >= grace_end
