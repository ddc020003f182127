"""Curated, sourced facts per protocol: audits, incidents, insurance cover, bug bounty — one TOML file each.

    facts = load_facts("aave-v3")
    facts.bounty.max_payout_usd, [a.auditor for a in facts.audits]   # 1000000, ["OpenZeppelin", ...]

Every fact carries the public page it was taken from (``source``); an entry without one is rejected, as is an
unknown field. Dates are ``YYYY-MM-DD``, or ``YYYY-MM`` where only the month is certain. A loss that was not
established says why instead of a number. An empty list means "none recorded here", not "none happened": the
files hold fewer true facts rather than many guesses, and say when they were last checked.
"""

from __future__ import annotations

import re
import tomllib
from importlib import resources
from typing import Annotated, Any, Final

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, model_validator

from defiscope.errors import InputError

_DATE: Final = re.compile(r"^\d{4}-(0[1-9]|1[0-2])(-(0[1-9]|[12]\d|3[01]))?$")
_URL: Final = re.compile(r"^https://[^\s/]+\.[^\s/]+(/\S*)?$")


def _date(value: str) -> str:
    if not _DATE.match(value):
        raise ValueError(f"{value!r} is not a date YYYY-MM-DD, or YYYY-MM where only the month is certain")
    return value


def _url(value: str) -> str:
    if not _URL.match(value):
        raise ValueError(f"{value!r} is not an https URL")
    return value


FuzzyDate = Annotated[str, AfterValidator(_date)]
Url = Annotated[str, AfterValidator(_url)]


class _Fact(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    source: Url = Field(description="The public page the fact was taken from.")


class Audit(_Fact):
    auditor: str = Field(min_length=1)
    date: FuzzyDate
    scope: str = Field(min_length=1)
    link: Url


class Incident(_Fact):
    date: FuzzyDate
    loss_usd: int | None = Field(default=None, ge=0)
    loss_why: str | None = None  # why there is no single figure (estimates disagree, returned funds, ...)
    cause: str = Field(min_length=1)
    link: Url

    @model_validator(mode="after")
    def _loss_or_why(self) -> Incident:
        if self.loss_usd is None and not self.loss_why:
            raise ValueError("an incident without loss_usd says why (loss_why)")
        return self


class Insurance(_Fact):
    provider: str = Field(min_length=1)
    capacity_usd: int | None = Field(default=None, ge=0)
    capacity_why: str | None = None

    @model_validator(mode="after")
    def _capacity_or_why(self) -> Insurance:
        if self.capacity_usd is None and not self.capacity_why:
            raise ValueError("a cover without capacity_usd says why (capacity_why)")
        return self


class Bounty(_Fact):
    platform: str = Field(min_length=1)
    max_payout_usd: int = Field(gt=0)


class ProtocolFacts(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    slug: str
    checked: FuzzyDate  # when the file was last checked against its sources
    audits: tuple[Audit, ...] = ()
    incidents: tuple[Incident, ...] = ()
    insurance: tuple[Insurance, ...] = ()
    bounty: Bounty | None = None

    def to_json(self) -> dict[str, Any]:
        return self.model_dump(mode="json")


class FactsError(InputError):
    """A facts file that does not validate, or a slug without one."""


def known_slugs() -> list[str]:
    return sorted(p.name.removesuffix(".toml") for p in resources.files(__name__).iterdir() if p.name.endswith(".toml"))


def parse_facts(slug: str, text: str) -> ProtocolFacts:
    """Facts from a TOML document; `FactsError` naming the field when it does not validate."""
    try:
        data = tomllib.loads(text)
        facts = ProtocolFacts.model_validate({"slug": slug, **data})
    except tomllib.TOMLDecodeError as exc:
        raise FactsError(f"facts of {slug}: not TOML: {exc}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(part) for part in first["loc"])
        raise FactsError(f"facts of {slug}: {where}: {first['msg']}") from None
    return facts


def load_facts(slug: str) -> ProtocolFacts:
    path = resources.files(__name__) / f"{slug}.toml"
    if not path.is_file():
        raise FactsError(f"slug: no facts file for {slug!r}; known: {', '.join(known_slugs())}")
    return parse_facts(slug, path.read_text(encoding="utf-8"))
