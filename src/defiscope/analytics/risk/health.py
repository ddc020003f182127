"""Governance health from the governance view: concentration, quorum reach, timelock delay, what proposals change.

    health = governance_health(view, rules, timelock_delay=2 * 86400)
    health.nakamoto, health.top5_share, health.reached, health.decided   # 3, Fraction(4, 5), 7, 9

Pure: the view (proposals and voting power, read by `governance.load`) and the control surface's timelock delay
come in; nothing is read here. Only the newest `RECENT` proposals count, so the figures say how governance works
now. A proposal is *decided* once its vote ended (not canceled) and its state is known; it *reached quorum* when
its counted votes (for, plus abstain where the governor counts them) met the quorum the governor computed for it.
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import TYPE_CHECKING, Final

from defiscope.governance.state import GovernorRules, ProposalState, quorum_reached

if TYPE_CHECKING:  # the view's type only: `governance.load` reads the store and the chain, this module does not
    from defiscope.governance.load import GovernanceView

#: Proposals counted: the newest this many.
RECENT: Final = 20
#: Flags that change who controls the protocol or its code.
CONTROL_FLAGS: Final = frozenset({"upgrade", "admin-change"})
#: States that say nothing about quorum reach: the vote is not over, or it was withdrawn.
_UNDECIDED: Final = frozenset({ProposalState.PENDING, ProposalState.ACTIVE, ProposalState.CANCELED})


@dataclass(frozen=True, slots=True)
class GovernanceHealth:
    """A protocol's governance as the score reads it. ``governance`` is the followed governance's name (None, and
    ``why_none``, when the protocol has none followed here); ``concentration_why`` says why voting power is not
    known; ``timelock_delay`` is the longest timelock delay on the protocol's admin chains (None: no timelock)."""

    governance: str | None
    why_none: str | None = None
    nakamoto: int | None = None
    top5_share: Fraction | None = None
    concentration_why: str | None = None
    proposals: int = 0
    decided: int = 0
    reached: int = 0
    control_changes: int = 0
    timelock_delay: int | None = None

    @property
    def control_share(self) -> Fraction | None:
        """Share of the recent proposals that upgrade code or change an admin; None without proposals."""
        return Fraction(self.control_changes, self.proposals) if self.proposals else None


def no_governance(why: str, timelock_delay: int | None) -> GovernanceHealth:
    return GovernanceHealth(None, why_none=why, timelock_delay=timelock_delay)


def governance_health(view: GovernanceView, rules: GovernorRules, timelock_delay: int | None) -> GovernanceHealth:
    """Health of ``view``'s governance: its newest `RECENT` proposals and its delegates' voting power."""
    recent = view.proposals[:RECENT]  # newest first
    decided = [p for p in recent if p.state is not None and p.state not in _UNDECIDED and p.quorum is not None]
    reached = sum(1 for p in decided if p.quorum is not None and quorum_reached(p.tally, p.quorum, rules))
    power = view.concentration
    why = view.concentration_unavailable or (None if power.nakamoto is not None else "no delegated votes seen")
    return GovernanceHealth(
        view.protocol,
        nakamoto=power.nakamoto,
        top5_share=power.top_share,
        concentration_why=why,
        proposals=len(recent),
        decided=len(decided),
        reached=reached,
        control_changes=sum(1 for p in recent if CONTROL_FLAGS & set(p.flags)),
        timelock_delay=timelock_delay,
    )
