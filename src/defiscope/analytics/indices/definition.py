"""The model of an index definition: what may enter the basket, how members are weighted, when it rebalances.

A definition is data (a TOML file under `definitions/`, read by `loader`); this module validates it and does
no I/O. Amounts and fractions are `Decimal`s (the loader parses TOML floats as `Decimal`, so 0.1 stays 0.1).

    >>> from decimal import Decimal
    >>> definition = IndexDefinition.model_validate({
    ...     "id": "demo", "name": "Demo", "description": "Four DEX tokens, equal weights.",
    ...     "eligibility": {"categories": ["Dexes"], "max_members": 4},
    ...     "weighting": {"method": "equal", "cap": Decimal("0.25")},
    ...     "rebalance": {"kind": "calendar", "every": "monthly", "day": 1},
    ...     "base_value": 100, "base_date": "2026-01-01",
    ... })
    >>> definition.weighting.cap * definition.eligibility.max_members
    Decimal('1.00')
"""

from __future__ import annotations

import datetime
from decimal import MAX_PREC, Decimal, localcontext
from fractions import Fraction
from typing import Annotated, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

#: The figure members are weighted by. `fixed` takes explicit weights from the definition itself.
WeightingMethod = Literal["mcap", "sqrt-mcap", "tvl", "grade", "equal", "fixed"]

#: The figure the largest `max_members` candidates are chosen by.
RankingFigure = Literal["mcap", "tvl", "grade"]

#: A calendar day that every month has, so a monthly or quarterly schedule never skips a month.
LAST_SAFE_DAY_OF_MONTH: Final = 28

_STRICT: Final = ConfigDict(frozen=True, extra="forbid")

NonNegativeUsd = Annotated[Decimal, Field(ge=0, allow_inf_nan=False)]


class Eligibility(BaseModel):
    """Who may enter: a member must pass every rule; then the largest `max_members` by `rank_by` are kept."""

    model_config = _STRICT

    categories: tuple[str, ...] = Field(min_length=1)
    min_tvl_usd: NonNegativeUsd = Decimal(0)
    min_liquidity_usd: NonNegativeUsd = Decimal(0)
    min_age_days: int = Field(default=0, ge=0)
    max_members: int = Field(ge=1)
    rank_by: RankingFigure = "mcap"


class Weighting(BaseModel):
    """How members are weighted, and the most any one member may weigh (1 means no cap)."""

    model_config = _STRICT

    method: WeightingMethod
    cap: Decimal = Field(default=Decimal(1), gt=0, le=1, allow_inf_nan=False)
    weights: dict[str, Annotated[Decimal, Field(gt=0, allow_inf_nan=False)]] | None = Field(
        default=None, validate_default=True
    )

    @field_validator("weights")
    @classmethod
    def _fixed_weights_are_whole_and_capped(
        cls, weights: dict[str, Decimal] | None, info: ValidationInfo
    ) -> dict[str, Decimal] | None:
        method, cap = info.data.get("method"), info.data.get("cap")
        if method is None or cap is None:
            return weights  # already refused, with its own error
        if method != "fixed":
            if weights is not None:
                raise ValueError(f"explicit weights are only read by method 'fixed', not {method!r}")
            return weights
        if not weights:
            raise ValueError("method 'fixed' needs a [weighting.weights] table: member = weight")
        with localcontext(prec=MAX_PREC):  # exact: the default context would round the sum at 28 digits
            total = sum(weights.values(), Decimal(0))
        if total != 1:
            raise ValueError(f"explicit weights sum to {total}, not 1")
        heavy = {member: weight for member, weight in weights.items() if weight > cap}
        if heavy:
            raise ValueError(f"explicit weights above the cap {cap}: {_listed(heavy)}")
        return weights


class CalendarRebalance(BaseModel):
    """Rebalance on a calendar day: `day` is the ISO weekday (1 = Monday) for weekly, else the day of the month
    (of the quarter's first month for quarterly), at most 28 so that every month has it."""

    model_config = _STRICT

    kind: Literal["calendar"]
    every: Literal["weekly", "monthly", "quarterly"]
    day: int = Field(ge=1)

    @field_validator("day")
    @classmethod
    def _day_exists_every_period(cls, day: int, info: ValidationInfo) -> int:
        every = info.data.get("every")
        if every is None:
            return day  # already refused, with its own error
        last = 7 if every == "weekly" else LAST_SAFE_DAY_OF_MONTH
        if day > last:
            raise ValueError(f"day {day} is not in every {every[:-2]}: use 1 to {last}")
        return day


class DriftRebalance(BaseModel):
    """Rebalance when some member's weight has drifted more than `threshold_pct` percentage points from target."""

    model_config = _STRICT

    kind: Literal["drift"]
    threshold_pct: Decimal = Field(gt=0, le=100, allow_inf_nan=False)


Rebalance = Annotated[CalendarRebalance | DriftRebalance, Field(discriminator="kind")]


class IndexDefinition(BaseModel):
    """One index: its identity, eligibility, weighting and cap, rebalance schedule, and base value at base date."""

    model_config = _STRICT

    id: str = Field(pattern=r"^[a-z0-9]+(-[a-z0-9]+)*$", max_length=64)
    name: str = Field(min_length=1)
    description: str = Field(min_length=1)
    eligibility: Eligibility
    weighting: Weighting
    rebalance: Rebalance
    base_value: Decimal = Field(gt=0, allow_inf_nan=False)
    base_date: datetime.date

    @field_validator("weighting")
    @classmethod
    def _basket_can_be_filled(cls, weighting: Weighting, info: ValidationInfo) -> Weighting:
        eligibility = info.data.get("eligibility")
        if eligibility is None:
            return weighting  # already refused, with its own error
        cap, most = weighting.cap, eligibility.max_members
        if Fraction(cap) * most < 1:
            raise ValueError(
                f"cap {cap} * eligibility.max_members {most} = {cap * most} < 1: "
                "the weights cannot sum to 1; raise the cap or admit more members"
            )
        fixed = weighting.weights or {}
        if len(fixed) > most:
            raise ValueError(f"{len(fixed)} explicit weights but eligibility.max_members is {most}")
        return weighting


def _listed(figures: dict[str, Decimal]) -> str:
    return ", ".join(f"{member} {figure}" for member, figure in sorted(figures.items()))
