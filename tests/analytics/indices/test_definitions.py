"""Index definitions as data: the shipped files load and validate, and each bad input is one error naming the field."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path

import pytest

from defiscope.analytics.indices.definition import CalendarRebalance, DriftRebalance
from defiscope.analytics.indices.errors import InvalidDefinition
from defiscope.analytics.indices.loader import (
    EXTRA_DEFINITIONS_ENV,
    SHIPPED_DEFINITIONS,
    configured_definitions,
    load_definitions,
    parse_definition,
)
from defiscope.errors import InputError

VALID = """
id = "demo"
name = "Demo"
description = "A test index."
base_value = 1000
base_date = 2026-03-01

[eligibility]
categories = ["Dexes", "Lending"]
min_tvl_usd = 1_000_000
max_members = 5

[weighting]
method = "mcap"
cap = 0.25

[rebalance]
kind = "calendar"
every = "quarterly"
day = 15
"""


def edited(old: str, new: str) -> str:
    assert old in VALID
    return VALID.replace(old, new)


def test_the_three_shipped_definitions_load_and_validate() -> None:
    definitions = load_definitions()
    assert sorted(definitions) == ["defi-grade", "defi-pulse", "defi-tvl"]
    pulse = definitions["defi-pulse"]
    assert (pulse.weighting.method, pulse.weighting.cap) == ("mcap", Decimal("0.25"))
    assert pulse.rebalance == CalendarRebalance(kind="calendar", every="monthly", day=1)
    assert pulse.eligibility.min_age_days == 180  # DPI: the protocol launched at least 180 days before
    assert definitions["defi-tvl"].weighting.method == "tvl"
    assert isinstance(definitions["defi-tvl"].rebalance, DriftRebalance)
    assert definitions["defi-grade"].weighting.method == "grade"
    for definition in definitions.values():
        assert definition.weighting.cap * definition.eligibility.max_members >= 1


def test_toml_floats_are_read_as_exact_decimals() -> None:
    definition = parse_definition(edited("cap = 0.25", "cap = 0.1").replace("max_members = 5", "max_members = 10"))
    assert definition.weighting.cap == Decimal("0.1")
    assert definition.weighting.cap * 10 == 1


def test_fixed_weights_that_sum_to_one_are_accepted() -> None:
    text = edited(
        'method = "mcap"\ncap = 0.25', 'method = "fixed"\ncap = 0.5\nweights = {UNI = 0.5, AAVE = 0.3, MKR = 0.2}'
    )
    assert parse_definition(text).weighting.weights == {
        "UNI": Decimal("0.5"),
        "AAVE": Decimal("0.3"),
        "MKR": Decimal("0.2"),
    }


BAD_INPUTS = [
    pytest.param(
        edited('method = "mcap"\ncap = 0.25', 'method = "fixed"\ncap = 0.5\nweights = {UNI = 0.5, AAVE = 0.3}'),
        "weighting.weights",
        "explicit weights sum to 0.8, not 1",
        id="weights-not-summing",
    ),
    pytest.param(
        edited(
            'method = "mcap"\ncap = 0.25', 'method = "fixed"\nweights = {A = 0.5, B = 0.50000000000000000000000000001}'
        ),
        "weighting.weights",
        "explicit weights sum to 1.00000000000000000000000000001, not 1",  # 29 digits: a Decimal sum would round
        id="weights-off-by-1e-29",
    ),
    pytest.param(
        edited(
            'method = "mcap"\ncap = 0.25', 'method = "fixed"\ncap = 0.4\nweights = {UNI = 0.5, AAVE = 0.3, X = 0.2}'
        ),
        "weighting.weights",
        "above the cap 0.4: UNI 0.5",
        id="fixed-weight-above-cap",
    ),
    pytest.param(
        edited("cap = 0.25", "cap = 0.25\nweights = {UNI = 1}"),
        "weighting.weights",
        "only read by method 'fixed', not 'mcap'",
        id="weights-without-fixed",
    ),
    pytest.param(
        edited("cap = 0.25", "cap = 0.1"),
        "weighting",
        "cap 0.1 * eligibility.max_members 5 = 0.5 < 1",
        id="cap-too-low-to-fill",
    ),
    pytest.param(edited("cap = 0.25", "cap = 1.5"), "weighting.cap", "less than or equal to 1", id="cap-above-1"),
    pytest.param(edited("cap = 0.25", "cap = 0"), "weighting.cap", "greater than 0", id="cap-zero"),
    pytest.param(edited('"mcap"', '"price"'), "weighting.method", "'mcap', 'sqrt-mcap'", id="unknown-method"),
    pytest.param(edited("cap = 0.25", "caps = 0.25"), "weighting.caps", "Extra inputs", id="misspelled-key"),
    pytest.param(edited("day = 15", "day = 31"), "rebalance.day", "day 31 is not in every quarter", id="day-31"),
    pytest.param(
        edited('every = "quarterly"\nday = 15', 'every = "weekly"\nday = 8'),
        "rebalance.day",
        "day 8 is not in every week: use 1 to 7",
        id="weekday-8",
    ),
    pytest.param(
        edited('kind = "calendar"\nevery = "quarterly"\nday = 15', 'kind = "drift"\nthreshold_pct = 0'),
        "rebalance.threshold_pct",
        "greater than 0",
        id="drift-zero",
    ),
    pytest.param(edited('kind = "calendar"', 'kind = "lunar"'), "rebalance", "'calendar', 'drift'", id="unknown-kind"),
    pytest.param(edited("base_date = 2026-03-01\n", ""), "base_date", "Field required", id="no-base-date"),
    pytest.param(edited("base_value = 1000", "base_value = -5"), "base_value", "greater than 0", id="negative-base"),
    pytest.param(edited('id = "demo"', 'id = "Demo Index"'), "id", "should match pattern", id="bad-id"),
    pytest.param(
        edited("min_tvl_usd = 1_000_000", "min_tvl_usd = -1"),
        "eligibility.min_tvl_usd",
        "greater than or equal to 0",
        id="negative-tvl",
    ),
    pytest.param(edited('["Dexes", "Lending"]', "[]"), "eligibility.categories", "at least 1 item", id="no-category"),
    pytest.param(
        edited("max_members = 5", "max_members = 0"),
        "eligibility.max_members",
        "greater than or equal to 1",
        id="no-members",
    ),
    pytest.param(edited("cap = 0.25", "cap = nan"), "weighting.cap", "finite number", id="nan-cap"),
]


@pytest.mark.parametrize(("text", "field", "problem"), BAD_INPUTS)
def test_each_bad_input_is_one_clear_error_naming_the_field(text: str, field: str, problem: str) -> None:
    with pytest.raises(InvalidDefinition) as raised:
        parse_definition(text, source="demo.toml")
    message = str(raised.value)
    assert isinstance(raised.value, InputError)  # the API answers 400 and the CLI exits 2 by this class
    assert raised.value.field == field
    assert message.startswith(f"demo.toml: {field}: "), message
    assert problem in message, message
    assert "\n" not in message


def test_broken_toml_is_one_error_with_its_line() -> None:
    with pytest.raises(InvalidDefinition, match=r"^demo\.toml: not valid TOML \(.*line 13, column 11\)\)$") as raised:
        parse_definition(edited("[weighting]", "[weighting"), source="demo.toml")
    assert raised.value.field == "definition"


def test_a_repeated_id_across_files_is_refused_naming_both(tmp_path: Path) -> None:
    (tmp_path / "a.toml").write_text(VALID)
    (tmp_path / "b.toml").write_text(VALID)
    with pytest.raises(InvalidDefinition, match=r"b\.toml: id 'demo' is already defined by .*a\.toml") as raised:
        load_definitions(tmp_path)
    assert raised.value.field == "id"


def test_a_directory_without_definitions_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidDefinition, match="no index definitions"):
        load_definitions(tmp_path)


def test_a_bad_file_among_good_ones_is_named(tmp_path: Path) -> None:
    for source in SHIPPED_DEFINITIONS.glob("*.toml"):
        (tmp_path / source.name).write_text(source.read_text())
    (tmp_path / "zz-broken.toml").write_text(edited("cap = 0.25", "cap = 2"))
    with pytest.raises(InvalidDefinition, match=r"zz-broken\.toml: weighting\.cap: "):
        load_definitions(tmp_path)


def test_a_configured_folder_adds_its_definitions_validated_like_the_shipped(tmp_path: Path) -> None:
    (tmp_path / "demo.toml").write_text(VALID)
    found = configured_definitions({EXTRA_DEFINITIONS_ENV: str(tmp_path)})
    assert sorted(found) == ["defi-grade", "defi-pulse", "defi-tvl", "demo"]
    assert found["demo"].eligibility.max_members == 5
    assert sorted(configured_definitions({})) == ["defi-grade", "defi-pulse", "defi-tvl"]

    (tmp_path / "demo.toml").write_text(edited("cap = 0.25", "cap = 2"))
    with pytest.raises(InvalidDefinition, match=r"demo\.toml: weighting\.cap: "):
        configured_definitions({EXTRA_DEFINITIONS_ENV: str(tmp_path)})
    (tmp_path / "demo.toml").write_text(edited('id = "demo"', 'id = "defi-tvl"'))
    with pytest.raises(InvalidDefinition, match="id 'defi-tvl' is a shipped definition's") as raised:
        configured_definitions({EXTRA_DEFINITIONS_ENV: str(tmp_path)})
    assert raised.value.field == "id"
    with pytest.raises(InvalidDefinition, match=f"{EXTRA_DEFINITIONS_ENV}=.*nowhere: no such folder"):
        configured_definitions({EXTRA_DEFINITIONS_ENV: str(tmp_path / "nowhere")})
