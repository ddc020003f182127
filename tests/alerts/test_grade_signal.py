"""The `grade_signal` rule kind: its params as the API and the CLI validate them, and its evaluation over the signals
published at each block (fire on the state a signal entered, resolve when a later signal leaves it, cool-down)."""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from defiscope.alerts.evaluate import BlockFigures, Extras, RuleView, SignalEvent, SubjectState, evaluate_block
from defiscope.alerts.rules import GradeSignalParams, InvalidRule, parse_rule
from defiscope.analytics.grades.catalog import GRADED
from defiscope.api import ApiSettings, create_app
from defiscope.chain.block import BlockRef
from defiscope.cli import app
from defiscope.store import Repository
from tests.alerts.conftest import add_key


def signal(protocol: str, horizon: str, state: str, grade: str, previous: str = "neutral") -> SignalEvent:
    """A published signal as `alerts.wiring.signal_event` reads it back (its document is the alert's evidence)."""
    movers = [{"name": "momentum_7d", "before": 12.5, "after": 30.0, "change": 17.5}]
    document = {"entity": protocol, "state": state, "previous": previous, "grade": float(grade), "movers": movers}
    return SignalEvent(protocol, horizon, state, Decimal(grade), {**document, "horizon": horizon})


def run(
    params: dict[str, Any], published: dict[int, Sequence[SignalEvent]], blocks: range, cooldown: int = 0
) -> list[tuple[str, int, str]]:
    """(type, block, subject) of every transition of the rule over `blocks`, with the signals `published` there."""
    rule = RuleView("rul_g", parse_rule({"kind": "grade_signal", "params": params}), cooldown)
    states: dict[str, SubjectState] = {}
    seen = []
    for n in blocks:
        figures = BlockFigures(BlockRef(1, n, f"0x{n:064x}", 1_700_000_000 + 12 * n))
        extras = Extras(signals=published.get(n, ()))
        for move in evaluate_block(
            rule, figures, lambda _n: None, extras, states, lambda r, b, s: f"{r}.{b.number}.{s}"
        ):
            seen.append((move.type, move.block.number, move.observation.subject))
    return seen


# ------------------------------------------------------------------ params


def test_params_default_to_every_signal_on_chain_1() -> None:
    spec = parse_rule({"kind": "grade_signal", "params": {}})
    assert isinstance(spec.params, GradeSignalParams)
    assert (spec.params.chain_id, spec.params.protocol, spec.params.horizon, spec.params.direction) == (
        1,
        "any",
        "any",
        "any",
    )
    chosen = parse_rule({"kind": "grade_signal", "params": {"protocol": "aave", "horizon": "trader"}})
    assert chosen.params.model_dump(exclude_none=True) == {
        "chain": "ethereum",
        "protocol": "aave",
        "horizon": "trader",
        "direction": "any",
    }


@pytest.mark.parametrize(
    ("params", "field", "says"),
    [
        ({"protocol": "sushiswap"}, "grade_signal.params.protocol", "not a graded protocol"),
        ({"protocol": "aave-v3"}, "grade_signal.params.protocol", "aave-v3 is graded as aave"),
        ({"horizon": "weekly"}, "grade_signal.params.horizon", "'trader', 'investor' or 'any'"),
        ({"direction": "up"}, "grade_signal.params.direction", "'bullish', 'bearish', 'neutral' or 'any'"),
        ({"chain": "bsc"}, "grade_signal.params.chain", "published on chain 1 only"),
        ({"chain": "nochain"}, "grade_signal.params.chain", "unknown chain"),
        ({"threshold": 70}, "grade_signal.params.threshold", "Extra inputs are not permitted"),
    ],
)
def test_bad_params_name_the_field(params: dict[str, Any], field: str, says: str) -> None:
    with pytest.raises(InvalidRule) as refused:
        parse_rule({"kind": "grade_signal", "params": params})
    assert refused.value.field == field
    assert str(refused.value).startswith(f"{field}: ")
    assert says in str(refused.value)


@pytest.fixture
def api(repo: Repository) -> Iterator[TestClient]:
    app_ = create_app(ApiSettings(anonymous=True), repo=repo, deployments=())
    with TestClient(app_) as client:
        yield client


def test_the_api_answers_4xx_json_naming_the_field(api: TestClient, repo: Repository) -> None:
    who = {"X-API-Key": add_key(repo, "alice").key}
    body = {"kind": "grade_signal", "params": {"protocol": "nope", "direction": "bullish"}, "channels": []}
    refused = api.post("/v1/alerts/rules", json=body, headers=who)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["field"].endswith("params.protocol")
    assert "'nope' is not a graded protocol" in refused.text
    assert "pancakeswap" in refused.text  # it says which slugs are graded
    good = {"kind": "grade_signal", "params": {"protocol": "curve", "direction": "bearish"}, "channels": []}
    created = api.post("/v1/alerts/rules", json=good, headers=who)
    assert created.status_code == 201, created.text
    shown = api.get(f"/v1/alerts/rules/{created.json()['id']}", headers=who).json()
    assert shown["chain_id"] == 1
    assert shown["params"] == {"chain": "ethereum", "protocol": "curve", "horizon": "any", "direction": "bearish"}
    schema = api.get("/openapi.json").json()["components"]["schemas"]
    assert set(schema["GradeSignalParams"]["properties"]) == {"chain", "protocol", "horizon", "direction"}


def test_the_cli_exits_2_with_one_line_naming_the_field(
    cli: CliRunner, sqlite_url: str, repo: Repository, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", sqlite_url)
    add_key(repo, "ops")
    args = ["alerts", "rules", "add", "grade_signal", "--key", "ops", "--params"]
    ran = cli.invoke(app, [*args, '{"protocol": "nope"}'])
    assert ran.exit_code == 2, ran.output
    (line,) = ran.stderr.strip().splitlines()
    assert "grade_signal.params.protocol" in line
    added = cli.invoke(app, [*args, '{"protocol": "uniswap", "horizon": "investor"}'])
    assert added.exit_code == 0, added.output


# ------------------------------------------------------------------ evaluation


def test_a_directed_rule_fires_on_its_state_and_resolves_when_a_later_signal_leaves_it() -> None:
    published = {
        10: [signal("aave", "trader", "bullish", "72.5"), signal("aave", "investor", "bullish", "71")],
        12: [signal("uniswap", "trader", "bullish", "80")],  # another protocol
        15: [signal("aave", "trader", "neutral", "58", previous="bullish")],
        20: [signal("aave", "trader", "bearish", "25", previous="neutral")],  # a state this rule does not watch
        30: [signal("aave", "trader", "bullish", "75", previous="bearish")],
    }
    params = {"protocol": "aave", "horizon": "trader", "direction": "bullish"}
    assert run(params, published, range(1, 40)) == [
        ("alert.firing", 10, "aave:trader:bullish"),
        ("alert.resolved", 15, "aave:trader:bullish"),
        ("alert.firing", 30, "aave:trader:bullish"),
    ]


def test_any_direction_moves_from_state_to_state_and_any_protocol_sees_them_all() -> None:
    published = {
        10: [signal("aave", "trader", "bullish", "72.5"), signal("curve", "investor", "bearish", "20")],
        15: [signal("aave", "trader", "neutral", "58", previous="bullish")],
        16: [signal("aave", "trader", "bearish", "29", previous="neutral")],
    }
    assert run({}, published, range(1, 20)) == [
        ("alert.firing", 10, "aave:trader:bullish"),
        ("alert.firing", 10, "curve:investor:bearish"),
        ("alert.resolved", 15, "aave:trader:bullish"),
        ("alert.firing", 15, "aave:trader:neutral"),
        ("alert.resolved", 16, "aave:trader:neutral"),
        ("alert.firing", 16, "aave:trader:bearish"),
    ]
    assert run({"horizon": "investor"}, published, range(1, 20)) == [("alert.firing", 10, "curve:investor:bearish")]


def test_the_cooldown_holds_back_a_second_firing_on_the_same_state() -> None:
    published = {
        10: [signal("aave", "trader", "bullish", "72")],
        12: [signal("aave", "trader", "neutral", "59", previous="bullish")],
        14: [signal("aave", "trader", "bullish", "70", previous="neutral")],  # 4 blocks after the firing: held
        16: [signal("aave", "trader", "neutral", "55", previous="bullish")],
        25: [signal("aave", "trader", "bullish", "71", previous="neutral")],  # 15 after: fires
    }
    params = {"protocol": "aave", "direction": "bullish"}
    assert run(params, published, range(1, 30), cooldown=10) == [
        ("alert.firing", 10, "aave:trader:bullish"),
        ("alert.resolved", 12, "aave:trader:bullish"),
        ("alert.firing", 25, "aave:trader:bullish"),
    ]


def test_the_alert_carries_the_grade_the_movers_and_the_block_and_a_missing_source_changes_nothing() -> None:
    rule = RuleView("rul_g", parse_rule({"kind": "grade_signal", "params": {"direction": "bullish"}}), 0)
    states: dict[str, SubjectState] = {}
    block = BlockRef(1, 10, "0x" + "0a" * 32, 1_700_000_120)
    bullish = signal("aave", "trader", "bullish", "72.35")
    (fired,) = evaluate_block(
        rule, BlockFigures(block), lambda _n: None, Extras(signals=[bullish]), states, lambda *_: "alr_1"
    )
    seen = fired.observation
    assert (fired.block, seen.value, seen.previous, seen.threshold) == (block, Decimal("72.35"), None, None)
    assert seen.evidence == bullish.document
    assert seen.evidence["movers"][0]["name"] == "momentum_7d"
    # No source read at the next block (a process without the grades store): the alert stays as it is.
    later = BlockFigures(BlockRef(1, 11, "0x" + "0b" * 32, 1_700_000_132))
    assert evaluate_block(rule, later, lambda _n: None, Extras(), states, lambda *_: "alr_2") == []
    assert states["aave:trader:bullish"].open_alert == "alr_1"


def test_the_docs_list_the_params_and_the_graded_slugs_the_schema_takes() -> None:
    text = (Path(__file__).parents[2] / "docs" / "grades.md").read_text()
    rows = dict(re.findall(r"^\| `(\w+)` \| (.+?) \| `?[\w]+`? \|$", text, re.MULTILINE))
    assert set(rows) == set(GradeSignalParams.model_fields)
    assert re.findall(r"`([a-z]+)`", rows["protocol"]) == [*GRADED, "any"]
