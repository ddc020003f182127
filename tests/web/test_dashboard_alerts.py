"""The dashboard's alerts and governance views in a real browser against `defiscope serve` on its devnet.

With a key from `defiscope keys create`, the rule form shows the API's message next to the field it names, creates
a TVL rule (its webhook secret shown once), and the live panel shows the rule's alert when the test moves the
treasury's TVL on serve's chain; after a reconnect it resumes without showing an event twice. A stored rule opens
in the same form pre-filled, is saved with a new threshold (the API then holds it), and its backtest's alerts
fill a table equal to the API's. A Compound proposal the test makes appears in the governance view with its
flags and its decoded actions (opened on demand); the filters ask the API for what they show, and the source
selector lists Snapshot's off-chain votes (from the local recorded Hub), marked as such.

One server serves the whole module (each test uses its own API key; the chain moves on from test to test).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from defiscope.cli import app as cli_app
from defiscope.devnet import Devnet, DevnetChain
from defiscope.devnet.anvil import rpc
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.governance import delegate_address
from defiscope.devnet.runfile import RunInfo
from defiscope.devnet.tx import Sender
from tests.devnet.helpers import wait_until
from tests.governance.hub import Hub, hub_server
from tests.service.chainkit import feed_treasury, mine
from tests.service.conftest import FOREIGN_ENV
from tests.web.conftest import Served, require_chromium, serving, shoot

require_chromium()

from playwright.sync_api import Page  # noqa: E402  (after the chromium check)

TREASURY_RULE = {"chain": "ethereum", "protocol": "devnet-treasury", "window_blocks": "1", "threshold_usd": "100"}
PROPOSALS = "/v1/governance/proposals"


@pytest.fixture(scope="module")
def hub() -> Iterator[Hub]:
    with hub_server() as running:
        yield running


@pytest.fixture(scope="module")
def served(devnet: Devnet, hub: Hub, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    """The module's server, with the Snapshot source on the local Hub (its recorded proposals are of late 2025)."""
    snapshot = {
        "DEFISCOPE_SNAPSHOT_ENABLED": "1",
        "DEFISCOPE_SNAPSHOT_URL": hub.url,
        "DEFISCOPE_SNAPSHOT_LOOKBACK_DAYS": str(20 * 365),
    }
    with serving(devnet, tmp_path_factory.mktemp("served"), **snapshot) as running:
        yield running


def serve_chain(served: Served) -> DevnetChain:
    run = RunInfo.from_json(json.loads((served.home / "devnet" / "run.json").read_text()))
    return next(c for c in run.chains if c.chain_id == 1)


def api_key(served: Served, name: str) -> str:
    """A new key from `defiscope keys create` in serve's store (each test its own: it sees only its own rules and
    alerts). Run in this process: a child spends seconds importing the CLI on a loaded machine."""
    foreign = {k: None for k in os.environ if k.startswith("DEFISCOPE_RPC_") or k in FOREIGN_ENV}
    env = {**foreign, "DEFISCOPE_DATA_DIR": str(served.home)}
    made = CliRunner().invoke(cli_app, ["keys", "create", "--name", name], env=env)
    assert made.exit_code == 0, made.output
    return made.stdout.strip()


def fill_rule(page: Page, kind: str, params: dict[str, str], common: dict[str, str] | None = None) -> None:
    page.select_option("#rule-kind", kind)  # draws the kind's fields
    for name, value in params.items():
        page.fill(f'#rule-params [data-input="params.{name}"]', value)
    for name, value in (common or {}).items():
        page.fill(f'#rule-common [data-input="{name}"]', value)
    page.click("#rule-form button[type=submit]")


def test_rules_made_in_the_form_fire_live_and_the_stream_resumes_without_duplicates(
    served: Served, page: Page, tmp_path: Path
) -> None:
    key = api_key(served, "live")
    page.goto(f"{served.url}/#/alerts")
    page.fill("#api-key", "not-a-key")  # the stream's 401, next to the key field, and no retrying
    page.click("#key-form button[type=submit]")
    page.wait_for_selector('#stream-state[data-state="refused"]')
    refused = httpx.get(f"{served.url}/v1/alerts/stream", headers={"X-API-Key": "not-a-key"}).json()["error"]
    assert page.locator("#key-form .field-error").inner_text() == f"{refused['field']}: {refused['problem']}"

    page.fill("#api-key", key)
    page.click("#key-form button[type=submit]")
    page.wait_for_selector('#stream-state[data-state="open"]')
    assert key not in page.url
    assert page.evaluate("() => sessionStorage.getItem('defiscope.apiKey')") == key

    _bad_input_shows_the_apis_message_next_to_its_field(served, page, key)

    fill_rule(page, "tvl_change", TREASURY_RULE)
    page.wait_for_selector("#rule-secret:not([hidden])")
    rule_id = page.locator("#secret-rule").inner_text()
    assert page.locator("#secret-value").inner_text().startswith("whsec_")
    page.wait_for_selector(f'#rules tbody tr[data-rule-id="{rule_id}"]')
    stored = httpx.get(f"{served.url}/v1/alerts/rules", headers={"X-API-Key": key}).json()["items"]
    assert [(r["id"], r["kind"], r["params"]["threshold_usd"]) for r in stored] == [(rule_id, "tvl_change", "100")]
    page.click("#secret-dismiss")
    assert page.locator("#secret-value").inner_text() == ""  # shown once: gone from the page once dismissed

    chain = serve_chain(served)
    fed = feed_treasury(chain, 10**18)
    firing = page.locator(f'#live-alerts tbody tr[data-rule-id="{rule_id}"][data-state="firing"]')
    firing.wait_for(timeout=30_000)
    quiet = mine(chain, 1)
    page.locator(f'#live-alerts tbody tr[data-rule-id="{rule_id}"][data-state="resolved"]').wait_for(timeout=30_000)
    assert _shown(page) == _alerts_of(served, key, rule_id)[:2]
    assert [(row["state"], row["block"]) for row in _shown(page)] == [("firing", fed), ("resolved", quiet)]
    shoot(page, tmp_path, "dashboard-alerts")

    # The network drops: the stream breaks, and the chain moves on meanwhile; back online, the page resumes after
    # the last event it showed: the alerts it missed appear, none twice.
    page.context.set_offline(True)
    page.wait_for_selector('#stream-state[data-state="offline"]')
    missed = feed_treasury(chain, 2 * 10**18)
    wait_until(lambda: len(_alerts_of(served, key, rule_id)) == 3, 30, "the alert fired while the page was offline")
    page.context.set_offline(False)
    page.wait_for_selector('#stream-state[data-state="open"]', timeout=30_000)
    page.locator(f'#live-alerts tbody tr[data-block="{missed}"]').wait_for(timeout=30_000)
    shown = _shown(page)
    assert shown == _alerts_of(served, key, rule_id)
    assert len({row["event"] for row in shown}) == len(shown) == 3

    # The server restarts (its streams end; its devnet is saved and reloaded): the page retries with backoff until
    # it is back, then shows what the restarted server raises, after what it showed, none twice.
    served.stop()
    page.wait_for_selector('#stream-state[data-state="reconnecting"]', timeout=30_000)
    served.start()
    chain = serve_chain(served)
    mine(chain, 1)  # a quiet block: the alert still firing resolves (at the first quiet block the restart indexed)
    again = feed_treasury(chain, 10**18)
    page.locator(f'#live-alerts tbody tr[data-block="{again}"][data-state="firing"]').wait_for(timeout=60_000)
    shown = _shown(page)
    assert shown == _alerts_of(served, key, rule_id)
    assert [row["state"] for row in shown[3:]] == ["resolved", "firing"]
    assert missed < shown[3]["block"] < again
    assert len({row["event"] for row in shown}) == len(shown) == 5

    # A firing whose block is reorged away: the panel shows its retraction.
    mine(chain, 1)
    fork = rpc(chain.rpc_url, "evm_snapshot")
    orphan = feed_treasury(chain, 10**18)
    page.locator(f'#live-alerts tbody tr[data-block="{orphan}"][data-state="firing"]').wait_for(timeout=30_000)
    assert rpc(chain.rpc_url, "evm_revert", [fork]) is True
    mine(chain, 2)
    page.locator(f'#live-alerts tbody tr[data-block="{orphan}"][data-state="retracted"]').wait_for(timeout=30_000)
    shown = _shown(page)
    assert shown == _alerts_of(served, key, rule_id)
    assert len({row["event"] for row in shown}) == len(shown) == 8
    assert [row["alert"] for row in shown if row["block"] == orphan] == [shown[-1]["alert"]] * 2
    closed = page.locator("#live-alerts tbody tr.closed").evaluate_all("(rows) => rows.map((r) => r.dataset.state)")
    assert closed == ["firing"] * 4  # every firing row, once its resolution or retraction arrived
    shoot(page, tmp_path, "dashboard-alerts-retracted")

    _every_kind_is_created_from_the_form(served, page, key)

    page.click(f'#rules tbody tr[data-rule-id="{rule_id}"] button.delete')
    page.wait_for_selector(f'#rules tbody tr[data-rule-id="{rule_id}"]', state="detached")
    left = httpx.get(f"{served.url}/v1/alerts/rules", headers={"X-API-Key": key}).json()["items"]
    assert rule_id not in {r["id"] for r in left}
    assert page.locator("#rules tbody tr[data-rule-id]").count() == len(left) == len(OTHER_KINDS)


#: A rule of every other kind, as typed into the form (levels no devnet block reaches: they stay quiet).
OTHER_KINDS: dict[str, dict[str, str]] = {
    "price_move": {"chain": "ethereum", "token": "WETH", "window_blocks": "10", "threshold_pct": "0.5"},
    "yield": {"chain": "ethereum", "protocol": "aave-v3", "asset": "USDC", "above": "5000"},
    "liquidation_exposure": {
        "chain": "ethereum", "protocol": "aave-v3", "asset": "WETH", "drop_pct": "1", "threshold_usd": "1e15",
    },
    "new_protocol": {"chain": "bsc", "min_tvl_usd": "1000000000000000", "within_days": "3"},
    "governance": {"chain": "ethereum", "protocol": "compound"},
    "grade_signal": {"protocol": "aave", "horizon": "trader", "direction": "bullish"},
    "indexer_health": {"chain": "ethereum", "max_lag_blocks": "100000"},
}  # fmt: skip


def _every_kind_is_created_from_the_form(served: Served, page: Page, key: str) -> None:
    """The form offers the schema's eight kinds and creates each; the API stores what was typed, exactly."""
    kinds = page.locator("#rule-kind option").evaluate_all("(options) => options.map((o) => o.value)")
    assert sorted(kinds) == sorted(["tvl_change", *OTHER_KINDS])
    for kind, params in OTHER_KINDS.items():
        page.select_option("#rule-kind", kind)
        for name, value in params.items():
            field = page.locator(f'#rule-params [data-input="params.{name}"]')
            if field.evaluate("(e) => e.tagName") == "SELECT":
                field.select_option(value)
            else:
                field.fill(value)
        if kind == "governance":
            page.check('#rule-params [data-input="params.flags"] input[value="upgrade"]')
        page.click("#rule-form button[type=submit]")
        page.wait_for_selector("#rule-secret:not([hidden]), #rule-form .field-error:not([hidden])")
        assert not page.locator("#rule-form .field-error:visible").all_inner_texts(), kind
        made = page.locator(f'#rules tbody tr[data-rule-id="{page.locator("#secret-rule").inner_text()}"]')
        made.wait_for()
        assert made.locator("td").nth(1).inner_text() == kind
        page.click("#secret-dismiss")
    stored = httpx.get(f"{served.url}/v1/alerts/rules", headers={"X-API-Key": key}).json()["items"]
    by_kind = {r["kind"]: r["params"] for r in stored}
    assert set(by_kind) == {"tvl_change", *OTHER_KINDS}
    assert by_kind["price_move"]["threshold_pct"] == "0.5"  # the typed text, an exact decimal
    assert by_kind["governance"]["flags"] == ["upgrade"]
    assert by_kind["governance"]["events"] == ["created", "queued", "executed"]  # the schema's default, ticked
    assert by_kind["liquidation_exposure"]["protocol"] == "aave-v3"
    assert by_kind["indexer_health"]["max_lag_blocks"] == 100000
    assert by_kind["grade_signal"] == {
        "chain": "ethereum",
        "protocol": "aave",
        "horizon": "trader",
        "direction": "bullish",
    }


def _bad_input_shows_the_apis_message_next_to_its_field(served: Served, page: Page, key: str) -> None:
    """Bad values: the page shows what the API answers for the same body, next to the field it names."""
    bad = {**TREASURY_RULE, "threshold_usd": "-5"}
    error = _refusal(served, key, {"kind": "tvl_change", "params": bad, "channels": []})
    assert error["field"] == "tvl_change.params.threshold_usd"
    fill_rule(page, "tvl_change", bad)
    message = page.locator('#rule-params [data-field="params.threshold_usd"] .field-error')
    message.wait_for()
    assert message.inner_text() == f"{error['field']}: {error['problem']}"
    assert page.locator("#rule-form .field-error:visible").count() == 1  # only there
    assert page.locator("#rule-secret").is_hidden()

    price = {"chain": "ethereum", "token": "WETH", "window_blocks": "10", "threshold_pct": "0.5"}
    error = _refusal(served, key, {"kind": "price_move", "params": price, "confirmations": "eventually"})
    assert error["field"].startswith("price_move.confirmations")
    fill_rule(page, "price_move", price, {"confirmations": "eventually"})
    message = page.locator('#rule-common [data-field="confirmations"] .field-error')
    message.wait_for()
    assert message.inner_text() == f"{error['field']}: {error['problem']}"
    assert httpx.get(f"{served.url}/v1/alerts/rules", headers={"X-API-Key": key}).json()["items"] == []


def _refusal(served: Served, key: str, body: dict[str, Any], rule_id: str | None = None) -> dict[str, str]:
    """The API's error for `body`: created (POST), or replacing rule `rule_id` (PUT)."""
    path = "/v1/alerts/rules" if rule_id is None else f"/v1/alerts/rules/{rule_id}"
    method = "POST" if rule_id is None else "PUT"
    answer = httpx.request(method, served.url + path, json=body, headers={"X-API-Key": key})
    assert answer.status_code == 422, answer.text
    error: dict[str, str] = answer.json()["error"]
    return error


def _shown(page: Page) -> list[dict[str, Any]]:
    """The panel's rows, oldest first."""
    rows: list[dict[str, Any]] = page.evaluate(
        "() => [...document.querySelectorAll('#live-alerts tbody tr[data-event-id]')].reverse().map((tr) => ({"
        " event: Number(tr.dataset.eventId), alert: tr.dataset.alertId, state: tr.dataset.state,"
        " block: Number(tr.dataset.block), value: tr.dataset.value, threshold: tr.dataset.threshold}))"
    )
    return rows


def _alerts_of(served: Served, key: str, rule_id: str) -> list[dict[str, Any]]:
    """The key's stream from its start (Last-Event-ID 0), read over HTTP as the panel's rows would show it."""
    events: list[dict[str, Any]] = []
    fields: dict[str, str] = {}
    stored = httpx.get(f"{served.url}/v1/alerts/rules/{rule_id}/alerts", headers={"X-API-Key": key}).json()["items"]
    expected = sum(1 if a["state"] == "firing" else 2 for a in stored)  # firing, then resolved or retracted
    if not expected:
        return []
    headers = {"X-API-Key": key, "Last-Event-ID": "0"}
    with httpx.stream("GET", f"{served.url}/v1/alerts/stream", headers=headers, timeout=10) as response:
        for line in response.iter_lines():
            if line and not line.startswith(":"):
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")
            elif not line and "data" in fields:
                data = json.loads(fields["data"])["data"]
                events.append(
                    {
                        "event": int(fields["id"]),
                        "alert": data["alert_id"],
                        "state": fields["event"].removeprefix("alert."),
                        "block": data["block"]["number"],
                        "value": data["value"] or "",
                        "threshold": data["threshold"] or "",
                    }
                )
                fields = {}
                if len(events) == expected:
                    break
    return events


def _propose(chain: DevnetChain) -> int:
    """Compound's largest delegate proposes a pending Comptroller admin and a close factor: two flagged actions."""
    sender = Sender.connect(chain.rpc_url)
    governor = sender.contract(contract_artifact("DevGovernor"), chain.contracts["CompoundGovernor"])
    comptroller = sender.contract(contract_artifact("Comptroller"), chain.contracts["CompoundV2Comptroller"])
    unitroller = sender.contract(contract_artifact("Unitroller"), chain.contracts["CompoundV2Comptroller"])
    calls = [
        unitroller.encode_abi("_setPendingAdmin", args=["0x000000000000000000000000000000000000dEaD"]),
        comptroller.encode_abi("_setCloseFactor", args=[6 * 10**17]),
    ]
    targets = [comptroller.address] * len(calls)
    calldatas = [bytes.fromhex(c[2:]) for c in calls]
    description = "# Compound: a new admin and a close factor of 60 %"
    proposer = delegate_address("Compound", 0)
    rpc(chain.rpc_url, "anvil_impersonateAccount", [proposer])
    try:
        sender.send(governor.functions.propose(targets, [0, 0], calldatas, description), sender=proposer)
    finally:
        rpc(chain.rpc_url, "anvil_stopImpersonatingAccount", [proposer])
    hashed = governor.functions.hashProposal(targets, [0, 0], calldatas, sender.w3.keccak(text=description)).call()
    return int(hashed)


def test_governance_view_lists_a_new_proposal_with_its_flags_filters_and_sources(
    served: Served, page: Page, tmp_path: Path
) -> None:
    proposal = str(_propose(serve_chain(served)))

    def listed() -> bool:
        answer = httpx.get(f"{served.url}/v1/governance/proposals", params={"protocol": "compound"})
        return answer.status_code == 200 and proposal in {p["id"] for p in answer.json()["proposals"]}

    wait_until(listed, 120, "serve to index the proposal")
    page.goto(f"{served.url}/#/governance")
    row = page.locator(f'#proposals tbody tr[data-id="{proposal}"]')
    row.wait_for()
    (expected,) = [
        p for p in httpx.get(f"{served.url}/v1/governance/proposals").json()["proposals"] if p["id"] == proposal
    ]
    assert row.get_attribute("data-protocol") == "compound"
    assert row.get_attribute("data-state") == expected["state"]
    assert [row.get_attribute(f"data-{v}") for v in ("for", "against", "abstain")] == [
        expected["votes"]["for"],
        expected["votes"]["against"],
        expected["votes"]["abstain"],
    ]
    # The flags at a glance; the decoded calls once the row's actions are opened.
    actions = row.locator("details.actions")
    assert actions.locator("summary .badge").all_inner_texts() == expected["flags"]
    assert expected["flags"] == ["admin-change", "parameter-change"]
    assert actions.locator("ul.actions").is_hidden()
    actions.locator("summary").click()
    actions.locator("ul.actions").wait_for()
    flags = row.locator("ul.actions li")
    assert [flags.nth(i).get_attribute("data-flag") for i in range(flags.count())] == [
        "admin-change",
        "parameter-change",
    ]
    assert [flags.nth(i).locator(".badge").inner_text() for i in range(flags.count())] == [
        "admin-change",
        "parameter-change",
    ]
    assert row.locator("ul.actions li .why").all_inner_texts() == [a["why"] for a in expected["actions"]]
    calls = row.locator("ul.actions code").all_inner_texts()
    assert calls == [
        "CompoundV2Comptroller._setPendingAdmin(newPendingAdmin=0x000000000000000000000000000000000000dEaD)",
        f"CompoundV2Comptroller._setCloseFactor(newCloseFactorMantissa={6 * 10**17})",
    ]
    shoot(page, tmp_path, "dashboard-governance")

    # Filtered by the proposal's state: the API's answer for that filter, row for row.
    page.select_option("#gov-state", expected["state"])
    page.wait_for_function(
        "(s) => [...document.querySelectorAll('#proposals tbody tr[data-id]')].every((tr) => tr.dataset.state === s)",
        arg=expected["state"],
    )
    page.wait_for_selector(f'#proposals tbody tr[data-id="{proposal}"]')
    same = httpx.get(f"{served.url}/v1/governance/proposals", params={"state": expected["state"]}).json()
    shown = page.locator("#proposals tbody tr[data-id]")
    assert [shown.nth(i).get_attribute("data-id") for i in range(shown.count())] == [p["id"] for p in same["proposals"]]

    # Executed: the new proposal is not among them.
    page.select_option("#gov-state", "Executed")
    page.wait_for_function(
        "() => document.body.dataset.loaded === '#/governance'"
        " && ![...document.querySelectorAll('#proposals tbody tr')].some((tr) => tr.dataset.state"
        " && tr.dataset.state !== 'Executed')"
    )
    assert page.locator(f'#proposals tbody tr[data-id="{proposal}"]').count() == 0
    page.select_option("#gov-protocol", "compound")
    page.select_option("#gov-state", "")
    page.wait_for_selector(f'#proposals tbody tr[data-id="{proposal}"]')
    rows = page.locator("#proposals tbody tr[data-id]")
    protocols = rows.evaluate_all("(rows) => rows.map((r) => r.dataset.protocol)")
    assert set(protocols) == {"compound"}
    page.select_option("#gov-protocol", "")

    _sources_are_selected_and_snapshot_votes_marked_off_chain(served, page)
    shoot(page, tmp_path, "dashboard-governance-sources")


def test_a_stored_rule_is_edited_in_the_form_and_backtested(served: Served, page: Page, tmp_path: Path) -> None:
    key = api_key(served, "edit")
    headers = {"X-API-Key": key}
    channels = [
        {"type": "email", "address": "ops@example.org"},
        {"type": "webhook", "url": "https://hooks.example.org/a"},
    ]
    body = {"kind": "tvl_change", "params": TREASURY_RULE, "cooldown_blocks": 3, "channels": channels}
    made = httpx.post(f"{served.url}/v1/alerts/rules", json=body, headers=headers)
    assert made.status_code == 201, made.text
    rule_id = made.json()["id"]
    rule_url = f"{served.url}/v1/alerts/rules/{rule_id}"
    stored = httpx.get(rule_url, headers=headers).json()
    page.goto(f"{served.url}/#/alerts")
    page.fill("#api-key", key)
    page.click("#key-form button[type=submit]")
    row = page.locator(f'#rules tbody tr[data-rule-id="{rule_id}"]')

    # Opened in the form, pre-filled with what the API holds (left empty: what the rule does not set).
    row.locator("button.edit").click()
    page.wait_for_selector("#rule-cancel:visible")
    assert page.locator("#rule-form-title").text_content() == f"Edit rule {rule_id}"
    shown = page.locator("#rule-form [data-input]").evaluate_all(
        "(inputs) => Object.fromEntries(inputs.map((i) => [i.dataset.input, i.value]))"
    )
    assert shown == {
        "params.threshold_pct": "",
        **{f"params.{name}": str(value) for name, value in stored["params"].items()},
        "confirmations": str(stored["confirmations"]),
        "cooldown_blocks": "3",
    }
    assert page.locator("#channel-type").input_value() == "email"
    assert page.locator("#channel-target").input_value() == "ops@example.org"
    assert stored["channels"][1]["target"] in page.locator("#channel-extra").inner_text()

    # A bad threshold: the API's refusal of the same replacement, next to the field; the rule is unchanged.
    page.fill('#rule-params [data-input="params.threshold_usd"]', "-5")
    page.click("#rule-form button[type=submit]")
    error = _refusal(served, key, {"kind": "tvl_change", "params": {**TREASURY_RULE, "threshold_usd": "-5"}}, rule_id)
    assert error["field"] == "tvl_change.params.threshold_usd"
    message = page.locator('#rule-params [data-field="params.threshold_usd"] .field-error')
    message.wait_for()
    assert message.inner_text() == f"{error['field']}: {error['problem']}"
    assert page.locator("#rule-form .field-error:visible").count() == 1
    assert httpx.get(rule_url, headers=headers).json()["params"]["threshold_usd"] == "100"

    page.fill('#rule-params [data-input="params.threshold_usd"]', "250")
    page.click("#rule-form button[type=submit]")
    page.wait_for_selector("#rule-cancel", state="hidden")
    assert page.locator("#rule-saved").inner_text() == f"rule {rule_id} saved"
    assert page.locator("#rule-form-title").text_content() == "New rule"
    saved = httpx.get(rule_url, headers=headers).json()
    assert saved["params"] == {**stored["params"], "threshold_usd": "250"}
    assert (saved["cooldown_blocks"], saved["channels"]) == (3, stored["channels"])  # the other channel kept
    page.wait_for_selector(f'#rules tbody tr[data-rule-id="{rule_id}"] td.params:has-text("threshold_usd=250")')

    # The treasury moves, then a quiet block: the backtest over those blocks fires and resolves, as the API says.
    chain = serve_chain(served)
    fed = feed_treasury(chain, 10**18)
    quiet = mine(chain, 1)
    wait_until(lambda: _indexed(served) >= quiet, 30, "serve to index the quiet block")
    row.locator("button.backtest").click()
    page.wait_for_function("() => document.getElementById('backtest-to').value !== ''")
    assert int(page.locator("#backtest-to").input_value()) >= quiet  # offered: up to the last indexed block
    _backtest(page, fed - 1, quiet)
    page.wait_for_selector(f'#backtest[data-from="{fed - 1}"] tbody tr[data-state]')
    answer = httpx.get(f"{rule_url}/backtest", params={"from_block": fed - 1, "to_block": quiet}, headers=headers)
    expected = [
        {"state": b["type"].removeprefix("alert."), "block": b["data"]["block"]["number"],
         "alert": b["data"]["alert_id"], "value": b["data"]["value"] or ""}
        for b in answer.json()["alerts"]
    ]  # fmt: skip
    rows = page.locator("#backtest tbody tr[data-state]").evaluate_all(
        "(rows) => rows.map((r) => ({state: r.dataset.state, block: Number(r.dataset.block),"
        " alert: r.dataset.alertId, value: r.dataset.value}))"
    )
    assert rows == expected
    assert [(r["state"], r["block"]) for r in rows] == [("firing", fed), ("resolved", quiet)]
    assert page.locator("#backtest-summary").inner_text().endswith("fired 1 time")
    shoot(page, tmp_path, "dashboard-backtest")

    # A range the API refuses: its message next to the field it names.
    _backtest(page, quiet, fed)
    refused = httpx.get(f"{rule_url}/backtest", params={"from_block": quiet, "to_block": fed}, headers=headers)
    error = refused.json()["error"]
    message = page.locator(f'#backtest-form [data-field="{error["field"]}"] .field-error')
    message.wait_for()
    assert message.inner_text() == f"{error['field']}: {error['problem']}"


def _backtest(page: Page, from_block: int, to_block: int) -> None:
    page.fill("#backtest-from", str(from_block))
    page.fill("#backtest-to", str(to_block))
    page.click("#backtest-form button[type=submit]")


def _indexed(served: Served) -> int:
    chains = httpx.get(f"{served.url}/v1/health").json()["chains"]
    return int(next(c["last_block"] for c in chains if c["chain_id"] == 1))


def _sources_are_selected_and_snapshot_votes_marked_off_chain(served: Served, page: Page) -> None:
    """Each source (Snapshot's served by the local Hub) lists what the API lists for it, with its status."""
    for source in ("snapshot", "chain", "all"):
        page.select_option("#gov-source", source)
        expected = httpx.get(f"{served.url}{PROPOSALS}", params={"source": source}).json()
        _shows(page, expected)
        statuses = page.locator("#gov-sources li").evaluate_all(
            "(items) => items.map((li) => [li.dataset.source, li.dataset.status])"
        )
        assert statuses == [[s["source"], s["status"]] for s in expected["sources"]]
        assert ["ok"] * len(statuses) == [s for _, s in statuses]
        listed = {p["source"] for p in expected["proposals"]}
        assert listed == ({"chain", "snapshot"} if source == "all" else {source})

    # Snapshot's votes: marked off-chain, their choices with the voting power each got, no actions.
    offchain = [p for p in expected["proposals"] if p["source"] == "snapshot"]
    for proposal in offchain:
        row = page.locator(f'#proposals tbody tr[data-source="snapshot"][data-id="{proposal["id"]}"]')
        assert row.locator(".badge.source").inner_text() == "Snapshot · off-chain"
        assert row.locator("td.vote-choices").inner_text() == " · ".join(
            f"{c['choice']} {_short_score(c['score'])}" for c in proposal["choices"]
        )
        assert row.locator(".no-actions").inner_text() == "off-chain vote: no on-chain actions"
        assert row.locator("details.actions").count() == 0
    assert page.locator('#proposals tbody tr[data-source="chain"] .badge.source').first.inner_text() == "on chain"

    # Snapshot's own state, with the source: the API's answer for that filter, row for row.
    page.select_option("#gov-source", "snapshot")
    page.select_option("#gov-state", "Closed")
    _shows(page, httpx.get(f"{served.url}{PROPOSALS}", params={"source": "snapshot", "state": "Closed"}).json())


def _shows(page: Page, expected: dict[str, Any]) -> None:
    """The table lists the API's proposals, in its order, each with its source."""
    wanted = [[p["source"], p["id"]] for p in expected["proposals"]]
    page.wait_for_function(
        "(wanted) => JSON.stringify([...document.querySelectorAll('#proposals tbody tr[data-id]')]"
        ".map((tr) => [tr.dataset.source, tr.dataset.id])) === JSON.stringify(wanted)",
        arg=wanted,
    )


def _short_score(score: str | None) -> str:
    """The page's rendering of a Snapshot score: grouped, at most two decimals."""
    if score is None:
        return "—"
    text = f"{Decimal(score).quantize(Decimal('0.01')):,}"
    return text.rstrip("0").rstrip(".") if "." in text else text
