"""Fee rates per basis, and daily sampling, on hand-made samples (pure functions: no store)."""

from __future__ import annotations

from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from defiscope.analytics.grades.fees import fee_rate
from defiscope.analytics.grades.figures import Observation, Stamp, sample
from defiscope.analytics.grades.market import MemberSample, Rate
from defiscope.protocols.yields import YieldKind

STAMP = Stamp(1_750_000_000, 1, 100)
DAI = "0x6B175474E89094C44Da98b954EedeAC495271d0F"


def rates(kind: YieldKind, *aprs: str, asset: str = DAI) -> dict[YieldKind, tuple[Rate, ...]]:
    return {kind: tuple(Rate(f"m{i}", asset, Decimal(apr), Decimal(apr)) for i, apr in enumerate(aprs))}


def test_pool_fees_take_the_median_pool_rate_so_a_tiny_pool_cannot_stand_for_the_dex() -> None:
    pools = MemberSample(STAMP, Decimal(1_000_000), Decimal(0), rates=rates(YieldKind.LP_FEE, "0.1", "0.2", "140"))
    assert fee_rate("uniswap-v3", pools).value == Decimal("0.2") * 1_000_000


def test_borrow_interest_is_per_asset_and_several_markets_of_one_asset_share_its_debt() -> None:
    ilks = MemberSample(
        STAMP,
        Decimal(5000),
        Decimal(1000),
        tokens=((DAI.lower(), "borrowed", Decimal(1000)), (DAI.lower(), "tvl", Decimal(5000))),
        rates=rates(YieldKind.BORROW, "0.05", "0.07"),
    )
    assert fee_rate("makerdao", ilks).value == Decimal("0.06") * 1000


def test_a_borrowed_token_without_price_or_rate_leaves_the_fees_missing() -> None:
    unpriced = MemberSample(
        STAMP, Decimal(0), Decimal(0), tokens=((DAI.lower(), "borrowed", None),), rates=rates(YieldKind.BORROW, "0.05")
    )
    assert (
        fee_rate("aave-v3", unpriced).missing == f"aave-v3: borrowed {DAI.lower()} has no price at block 100 of chain 1"
    )
    other = "0x" + "11" * 20
    unrated = MemberSample(
        STAMP,
        Decimal(0),
        Decimal(0),
        tokens=((other, "borrowed", Decimal(5)),),
        rates=rates(YieldKind.BORROW, "0.05"),
    )
    assert fee_rate("aave-v3", unrated).missing == f"aave-v3: no borrow rate of {other} stored at block 100 of chain 1"
    assert fee_rate("eigenlayer", unrated).missing == (
        "no fee basis for eigenlayer: its fees are not among the stored figures"
    )
    assert fee_rate("lido", unrated).missing == "no staking rates of lido stored at block 100 of chain 1"


@given(
    times=st.lists(st.integers(0, 10_000), max_size=30).map(sorted),
    at=st.integers(-100, 11_000),
    max_age=st.integers(0, 5_000),
)
def test_a_sample_is_the_newest_observation_at_or_before_its_time_and_not_too_old(
    times: list[int], at: int, max_age: int
) -> None:
    observed = [Observation(t, Decimal(i), Stamp(t, 1, i)) for i, t in enumerate(times)]
    found = sample(observed, at, max_age)
    eligible = [o for o in observed if o.timestamp <= at]
    if not eligible or at - eligible[-1].timestamp > max_age:
        assert found is None
    else:
        assert found == eligible[-1]  # of equal times, the last one given
