"""Governance health from a hand-built governance view: which proposals count as decided, quorum reach as the
governor counts it (OpenZeppelin counts abstain), control-changing proposals, concentration passed through; and
the composite's bounds and monotonicity over any pillar scores (hypothesis)."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from defiscope.analytics.risk.health import RECENT, governance_health
from defiscope.analytics.risk.rules import PillarScore
from defiscope.analytics.risk.score import WEIGHTS, compose
from defiscope.governance.actions import Action
from defiscope.governance.concentration import concentration
from defiscope.governance.load import GovernanceView
from defiscope.governance.proposals import Proposal
from defiscope.governance.state import BRAVO, OPENZEPPELIN, ProposalState, Tally, Timeline


def _action(flag: str) -> Action:
    return Action("0x" + "11" * 20, None, 0, None, (), "0x", flag, "test")  # type: ignore[arg-type]


def _proposal(pid: int, state: ProposalState | None, tally: Tally, quorum: int | None, *flags: str) -> Proposal:
    actions = tuple(_action(f) for f in flags)
    reason = "test"
    return Proposal(str(pid), "0xP", "", 1000 - pid, "0x", Timeline(1, 2), tally, 3, quorum, state, reason, actions)


VIEW = GovernanceView(
    "x",
    1,
    "0xGov",
    None,
    (
        _proposal(1, ProposalState.ACTIVE, Tally(0, 0, 0), 100),  # not over: not decided
        _proposal(2, ProposalState.CANCELED, Tally(500, 0, 0), 100, "upgrade"),  # withdrawn: not decided
        _proposal(3, ProposalState.EXECUTED, Tally(80, 0, 30), 100, "admin-change", "parameter-change"),
        _proposal(4, ProposalState.DEFEATED, Tally(10, 50, 0), 100),
        _proposal(5, None, Tally(10, 0, 0), None),  # quorum unread: state unknown, not decided
        _proposal(6, ProposalState.EXECUTED, Tally(200, 0, 0), 100, "parameter-change"),
    ),
    concentration({"a": 50, "b": 30, "c": 20}),
)


def test_decided_reached_and_control_changes() -> None:
    health = governance_health(VIEW, OPENZEPPELIN, timelock_delay=86400)
    assert (health.proposals, health.decided, health.reached) == (6, 3, 2)  # 80 + 30 abstain >= 100 counts
    assert health.control_changes == 2  # the canceled upgrade was still proposed
    assert health.control_share == Fraction(1, 3)
    assert (health.nakamoto, health.top5_share, health.concentration_why) == (2, Fraction(1), None)
    assert health.timelock_delay == 86400
    # Bravo counts the for votes alone against the quorum.
    assert governance_health(VIEW, BRAVO, None).reached == 1


def test_only_the_newest_proposals_count_and_unfollowed_power_says_why() -> None:
    many = tuple(_proposal(i, ProposalState.EXECUTED, Tally(100, 0, 0), 100) for i in range(RECENT + 5))
    view = GovernanceView("x", 1, "0xGov", None, many, concentration({}), "votes on voting machines")
    health = governance_health(view, OPENZEPPELIN, None)
    assert (health.proposals, health.decided) == (RECENT, RECENT)
    assert (health.nakamoto, health.concentration_why) == (None, "votes on voting machines")


scores = st.lists(st.one_of(st.none(), st.integers(0, 100)), min_size=len(WEIGHTS), max_size=len(WEIGHTS))


@given(scores, st.integers(0, len(WEIGHTS) - 1), st.integers(0, 100))
def test_composite_is_bounded_and_monotone(values: list[int | None], which: int, raise_by: int) -> None:
    pillars = [PillarScore(name, value, "r", "e") for name, value in zip(WEIGHTS, values, strict=True)]
    result = compose(pillars, []).composite
    if all(v is None for v in values):
        assert result is None
        return
    assert result is not None
    assert min(v for v in values if v is not None) <= result <= max(v for v in values if v is not None)
    current = values[which]
    if current is None:
        return
    better = list(values)
    better[which] = min(100, current + raise_by)
    improved = compose([PillarScore(n, v, "r", "e") for n, v in zip(WEIGHTS, better, strict=True)], []).composite
    assert improved is not None
    assert improved >= result
