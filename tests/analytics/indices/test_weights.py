"""Target weights: worked examples by hand, the DPI cap against a literal transcription of the rule, properties."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from hypothesis import assume, event, given
from hypothesis import strategies as st

from defiscope.analytics.indices.definition import IndexDefinition
from defiscope.analytics.indices.errors import EmptyBasket, UnfillableBasket
from defiscope.analytics.indices.loader import load_definitions
from defiscope.analytics.indices.weights import (
    Candidate,
    Failure,
    capped,
    ineligibility,
    screen,
    sqrt_floor,
    target_weights,
)
from defiscope.errors import InputError

M = Decimal(1_000_000)


def candidate(symbol: str, mcap_m: int, **figures: Any) -> Candidate:
    """A candidate that passes defi-pulse's rules unless `figures` say otherwise (mcap in millions of USD)."""
    defaults: dict[str, Any] = {
        "category": "Dexes",
        "age_days": 1000,
        "tvl_usd": 500 * M,
        "liquidity_usd": 10 * M,
        "mcap_usd": mcap_m * M,
        "grade": Decimal(50),
    }
    return Candidate(symbol=symbol, **(defaults | figures))


def definition(**changes: Any) -> IndexDefinition:
    """defi-pulse with some tables replaced."""
    return load_definitions()["defi-pulse"].model_copy(update=changes)


def pulse() -> IndexDefinition:
    return load_definitions()["defi-pulse"]


def literal_dpi_cap(figures: dict[str, Fraction], cap: Fraction) -> dict[str, Fraction]:
    """The rule as the methodology words it: cut each member above the cap to the cap, give the excess to the
    members below the cap in proportion to their weights, repeat while any member is above the cap."""
    total = sum(figures.values())
    weights = {member: figure / total for member, figure in figures.items()}
    while any(weight > cap for weight in weights.values()):
        excess = sum(weight - cap for weight in weights.values() if weight > cap)
        weights = {member: min(weight, cap) for member, weight in weights.items()}
        below = {member: weight for member, weight in weights.items() if weight < cap}
        share = sum(below.values())
        for member, weight in below.items():
            weights[member] = weight + excess * weight / share
    return weights


# ---- worked examples, by hand ---------------------------------------------------------------------------------


def test_defi_pulse_by_hand() -> None:
    candidates = [
        candidate("UNI", 6000),
        candidate("AAVE", 3000, category="Lending"),
        candidate("MKR", 1500, category="CDP"),
        candidate("LDO", 1000, category="Liquid Staking"),
        candidate("COMP", 500, category="Lending"),
        candidate("NEW", 900, age_days=100),
        candidate("TRSY", 9000, category="Treasury"),
    ]
    # eligible: 6000, 3000, 1500, 1000, 500 of 12000 -> 1/2, 1/4, 1/8, 1/12, 1/24. UNI is cut to 1/4 and its
    # 1/4 shared by the other four (6000 of mcap): AAVE 3/8 > 1/4, cut too. MKR, LDO, COMP share 1/2 in the
    # ratio 1500 : 1000 : 500 -> 1/4, 1/6, 1/12; MKR is at the cap, not above it, so it stops there.
    assert target_weights(pulse(), candidates) == {
        "UNI": Fraction(1, 4),
        "AAVE": Fraction(1, 4),
        "MKR": Fraction(1, 4),
        "LDO": Fraction(1, 6),
        "COMP": Fraction(1, 12),
    }


def test_each_exclusion_says_why_with_the_figures() -> None:
    screening = screen(
        pulse(),
        [
            candidate("UNI", 6000),
            candidate("NEW", 900, age_days=100, liquidity_usd=Decimal(20_000)),
            candidate("TRSY", 9000, category="Treasury"),
            candidate("DARK", 100, tvl_usd=None, mcap_usd=None),
        ],
    )
    assert [member.symbol for member in screening.members] == ["UNI"]
    reasons = {exclusion.symbol: exclusion.reasons for exclusion in screening.excluded}
    assert reasons["NEW"] == (
        "liquidity 20000 USD is below the minimum 1000000 USD",
        "age 100 days is below the minimum 180 days",
    )
    assert reasons["TRSY"] == (
        "category 'Treasury' is not among Dexes, Lending, CDP, Derivatives, Yield, Liquid Staking, Restaking",
    )
    assert reasons["DARK"] == (
        "TVL unknown (the rule asks for at least 100000000 USD)",
        "market cap unknown, needed for weighting",
    )


def test_only_the_largest_max_members_are_kept_and_the_rest_say_their_rank() -> None:
    rule = pulse().eligibility.model_copy(update={"max_members": 4})
    candidates = [candidate(f"T{size}", size) for size in (10, 50, 40, 30, 20)]
    screening = screen(definition(eligibility=rule), candidates)
    assert [member.symbol for member in screening.members] == ["T50", "T40", "T30", "T20"]
    assert [(exclusion.symbol, exclusion.reasons) for exclusion in screening.excluded] == [
        ("T10", ("rank 5 by mcap; the index holds at most 4 members",))
    ]


def test_sqrt_mcap_tvl_grade_and_equal_by_hand() -> None:
    candidates = [
        candidate("A", 1, tvl_usd=200 * M, grade=Decimal(90)),
        candidate("B", 4, tvl_usd=300 * M, grade=Decimal(60)),
        candidate("C", 9, tvl_usd=500 * M, grade=Decimal(30)),
        candidate("D", 16, tvl_usd=1000 * M, grade=Decimal(20)),
    ]
    no_floors = pulse().eligibility.model_copy(update={"min_tvl_usd": Decimal(0)})

    def weights(method: str) -> list[Fraction]:
        weighting = pulse().weighting.model_copy(update={"method": method, "cap": Decimal(1)})
        found = target_weights(definition(eligibility=no_floors, weighting=weighting), candidates)
        return [found[symbol] for symbol in "ABCD"]

    # square roots of 1, 4, 9, 16 million: 1000, 2000, 3000, 4000 -> tenths
    assert weights("sqrt-mcap") == [Fraction(1, 10), Fraction(2, 10), Fraction(3, 10), Fraction(4, 10)]
    assert weights("tvl") == [Fraction(2, 20), Fraction(3, 20), Fraction(5, 20), Fraction(10, 20)]
    assert weights("grade") == [Fraction(90, 200), Fraction(60, 200), Fraction(30, 200), Fraction(20, 200)]
    assert weights("equal") == [Fraction(1, 4)] * 4


def test_fixed_weights_of_an_excluded_member_go_to_the_others_under_the_cap() -> None:
    weighting = pulse().weighting.model_copy(
        update={
            "method": "fixed",
            "cap": Decimal("0.6"),
            "weights": {"A": Decimal("0.5"), "B": Decimal("0.3"), "C": Decimal("0.2")},
        }
    )
    candidates = [candidate("A", 1), candidate("B", 1), candidate("C", 1, age_days=1), candidate("Z", 99)]
    fixed = definition(weighting=weighting)
    # C is too young: A and B share 1 as 5 : 3 -> 5/8 > 0.6, so A is capped at 3/5 and B takes 2/5
    assert target_weights(fixed, candidates) == {"A": Fraction(3, 5), "B": Fraction(2, 5)}
    excluded = {exclusion.symbol: exclusion.reasons for exclusion in screen(fixed, candidates).excluded}
    assert excluded["Z"] == ("fixed weights do not include it",)


def test_sqrt_floor_is_the_exact_floor_at_its_precision() -> None:
    root = sqrt_floor(Fraction(2))
    step = Fraction(1, 10**18)
    assert root * root <= 2 < (root + step) * (root + step)
    assert sqrt_floor(Fraction(9, 4)) == Fraction(3, 2)


# ---- refusals -------------------------------------------------------------------------------------------------


def test_an_eligibility_rule_that_leaves_nothing_is_one_clear_error() -> None:
    candidates = [candidate("NEW", 900, age_days=10), candidate("TRSY", 90, category="Treasury", age_days=20)]
    with pytest.raises(EmptyBasket) as raised:
        target_weights(pulse(), candidates)
    assert str(raised.value) == (
        "index defi-pulse: the eligibility rules leave none of 2 candidates "
        "(failed: eligibility.min_age_days 2, eligibility.categories 1)"
    )
    assert raised.value.field == "eligibility"


def test_missing_or_zero_figures_exclude_with_the_field_that_needs_them() -> None:
    by_grade = pulse().eligibility.model_copy(update={"rank_by": "grade"})
    candidates = [candidate("A", 5), candidate("B", 0), candidate("C", 5, grade=None)]
    excluded = screen(definition(eligibility=by_grade), candidates).excluded
    assert [(exclusion.symbol, exclusion.failures) for exclusion in excluded] == [
        ("B", (Failure("weighting.method", "market cap is 0: nothing to use for weighting"),)),
        ("C", (Failure("eligibility.rank_by", "grade unknown, needed for ranking"),)),
    ]


def test_a_symbol_given_twice_or_no_candidates_at_all_is_refused() -> None:
    with pytest.raises(InputError, match="candidate UNI is given twice") as raised:
        screen(pulse(), [candidate("UNI", 5), candidate("UNI", 6)])
    assert raised.value.field == "candidates"
    with pytest.raises(EmptyBasket, match="no candidates were given"):
        screen(pulse(), [])


def test_too_few_eligible_members_for_the_cap_is_refused_with_the_numbers() -> None:
    candidates = [candidate("A", 3), candidate("B", 2), candidate("C", 1)]
    with pytest.raises(UnfillableBasket, match=r"^cap 1/4 \* 3 members = 3/4 < 1: the weights cannot sum to 1"):
        target_weights(pulse(), candidates)


# ---- properties -----------------------------------------------------------------------------------------------

figures = st.dictionaries(
    st.text("ABCDEFGHIJ", min_size=1, max_size=3),
    st.fractions(min_value=Fraction(1, 10**6), max_value=10**12, max_denominator=10**6),
    min_size=1,
    max_size=15,
)


@st.composite
def baskets(draw: st.DrawFn) -> tuple[dict[str, Fraction], Fraction]:
    """Positive figures and a cap that the basket can meet (cap * members >= 1)."""
    members = draw(figures)
    cap = draw(st.fractions(min_value=Fraction(1, len(members)), max_value=1, max_denominator=10_000))
    return members, cap


@given(baskets())
def test_capped_weights_sum_to_exactly_one_and_none_exceeds_the_cap(
    basket: tuple[dict[str, Fraction], Fraction],
) -> None:
    members, cap = basket
    weights = capped(members, cap)
    assert sum(weights.values()) == 1
    assert max(weights.values()) <= cap
    assert list(weights) == list(members)


@given(baskets())
def test_capping_is_the_dpi_rule_applied_literally(basket: tuple[dict[str, Fraction], Fraction]) -> None:
    members, cap = basket
    assert capped(members, cap) == literal_dpi_cap(members, cap)


@given(baskets())
def test_uncapped_members_keep_their_order_and_ratios(basket: tuple[dict[str, Fraction], Fraction]) -> None:
    members, cap = basket
    weights = capped(members, cap)
    uncapped = [member for member in members if weights[member] < cap]
    # one factor scales every uncapped member, and the capped ones are those it would have lifted past the cap
    for member in uncapped:
        assert weights[member] / members[member] == weights[uncapped[0]] / members[uncapped[0]]
    for larger in members:
        for smaller in members:
            if members[larger] >= members[smaller]:
                assert weights[larger] >= weights[smaller]


@given(st.integers(min_value=1, max_value=30), st.fractions(min_value=Fraction(1, 10**6), max_value=10**12))
def test_equal_figures_give_equal_weights(count: int, figure: Fraction) -> None:
    weights = capped({f"T{n}": figure for n in range(count)}, Fraction(1, count))
    assert set(weights.values()) == {Fraction(1, count)}


@given(figures)
def test_a_cap_no_member_reaches_changes_nothing(members: dict[str, Fraction]) -> None:
    total = sum(members.values())
    assert capped(members, Fraction(1)) == {member: figure / total for member, figure in members.items()}


@given(figures.filter(lambda members: len(members) > 1), st.data())
def test_a_cap_below_one_over_members_is_refused(members: dict[str, Fraction], data: st.DataObject) -> None:
    cap = data.draw(st.fractions(min_value=Fraction(1, 10**4), max_value=Fraction(1, len(members))))
    assume(cap * len(members) < 1)  # exactly 1 is feasible (all at the cap): covered above
    with pytest.raises(UnfillableBasket, match=rf"^cap {cap} \* {len(members)} members = "):
        capped(members, cap)


candidates = st.lists(
    st.builds(
        Candidate,
        symbol=st.text("ABCDEFGH", min_size=1, max_size=3),
        category=st.sampled_from(["Dexes", "Lending", "Treasury"]),
        # coarse steps around defi-pulse's thresholds (180 days, 100 M TVL, 1 M liquidity), mostly above them,
        # and unknown figures: uniform draws, so that empty, unfillable and weighted baskets all come up
        age_days=st.sampled_from([None, *range(0, 1000, 50)]),
        tvl_usd=st.sampled_from([None, *(n * 25 * M for n in range(40))]),
        liquidity_usd=st.sampled_from([None, *(n * M / 4 for n in range(20))]),
        mcap_usd=st.sampled_from([None, *(n * 100 * M for n in range(50))]),
    ),
    min_size=3,
    max_size=30,
    unique_by=lambda candidate: candidate.symbol,
)


@given(candidates)
def test_every_candidate_is_either_weighted_or_excluded_with_a_reason(given_candidates: list[Candidate]) -> None:
    index = pulse()
    try:
        weights = target_weights(index, given_candidates)
    except EmptyBasket:
        event("nothing eligible")
        assert all(ineligibility(index, each) for each in given_candidates)
        return
    except UnfillableBasket:
        event("too few for the cap")
        assert len(screen(index, given_candidates).members) * index.weighting.cap < 1
        return
    event("weighted")
    screening = screen(index, given_candidates)
    assert all(exclusion.reasons for exclusion in screening.excluded)
    excluded = {exclusion.symbol for exclusion in screening.excluded}
    assert set(weights).isdisjoint(excluded)
    assert set(weights) | excluded == {each.symbol for each in given_candidates}
    assert sum(weights.values()) == 1
    assert max(weights.values()) <= Fraction(index.weighting.cap)
