"""`defiscope alerts rules add|list|rm` over a real store; bad input exits 2 with one line."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from defiscope.cli import app
from defiscope.store import Repository
from tests.alerts.conftest import add_key

PARAMS = '{"chain": "ethereum", "protocol": "aave-v3", "window_blocks": 3, "threshold_pct": 2.5}'


@pytest.fixture
def store_env(sqlite_url: str, repo: Repository, monkeypatch: pytest.MonkeyPatch) -> Repository:
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", sqlite_url)
    return repo


def test_add_list_rm(cli: CliRunner, store_env: Repository) -> None:
    add_key(store_env, "ops")
    added = cli.invoke(
        app,
        [
            "alerts",
            "rules",
            "add",
            "tvl_change",
            "--key",
            "ops",
            "--params",
            PARAMS,
            "--confirmations",
            "finalized",
            "--cooldown",
            "5",
            "--webhook",
            "https://hooks.example.org/x",
        ],
    )
    assert added.exit_code == 0, added.output
    rule_id, secret = added.stdout.split()
    assert secret.startswith("whsec_")

    listed = cli.invoke(app, ["alerts", "rules", "list", "--key", "ops", "--json"])
    assert listed.exit_code == 0, listed.output
    (rule,) = json.loads(listed.stdout)
    assert rule["id"] == rule_id
    assert rule["params"]["threshold_pct"] == "2.5"
    assert rule["confirmations"] == "finalized"
    assert rule["cooldown_blocks"] == 5
    assert secret not in listed.stdout

    other = add_key(store_env, "other")
    refused = cli.invoke(app, ["alerts", "rules", "rm", rule_id, "--key", other.stored.key_id])
    assert refused.exit_code == 2  # another key's rule is not found
    assert cli.invoke(app, ["alerts", "rules", "rm", rule_id, "--key", "ops"]).exit_code == 0
    assert json.loads(cli.invoke(app, ["alerts", "rules", "list", "--key", "ops", "--json"]).stdout) == []


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["tvl_change", "--key", "ops", "--params", "{not json"], "--params"),
        (["tvl_change", "--key", "ops", "--params", '{"chain": "ethereum"}'], "tvl_change.params.protocol"),
        (["price_drift", "--key", "ops", "--params", "{}"], "kind"),
        (["tvl_change", "--key", "nobody", "--params", PARAMS], "--key"),
        (["tvl_change", "--key", "ops", "--params", PARAMS, "--confirmations", "soon"], "confirmations"),
    ],
)
def test_bad_input_exits_2_with_one_line(cli: CliRunner, store_env: Repository, args: list[str], names: str) -> None:
    add_key(store_env, "ops")
    ran = cli.invoke(app, ["alerts", "rules", "add", *args])
    assert ran.exit_code == 2, ran.output
    (line,) = ran.stderr.strip().splitlines()
    assert names in line


def test_backtest_of_a_live_only_kind_is_refused(cli: CliRunner, store_env: Repository) -> None:
    add_key(store_env, "ops")
    added = cli.invoke(app, ["alerts", "rules", "add", "indexer_health", "--key", "ops", "--params", '{"chain": "1"}'])
    rule_id = added.stdout.split()[0]
    ran = cli.invoke(app, ["alerts", "backtest", rule_id, "--from-block", "1", "--to-block", "2", "--json"])
    assert ran.exit_code == 2
    assert "only known live" in ran.stderr
