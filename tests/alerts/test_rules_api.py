"""/v1/alerts/rules: create, list, get, update, delete over a real store; a key sees only its own rules."""

from __future__ import annotations

import base64
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from defiscope.api import ApiSettings, create_app
from defiscope.store import Repository
from tests.alerts.conftest import Keyed, add_key

PRICE_MOVE: dict[str, Any] = {
    "kind": "price_move",
    "params": {"chain": "ethereum", "token": "WETH", "window_blocks": 10, "threshold_pct": 0.5},
    "confirmations": 0,
    "cooldown_blocks": 0,
    "channels": [{"type": "webhook", "url": "https://hooks.example.org/defiscope"}],
}


@pytest.fixture
def api(repo: Repository) -> Iterator[TestClient]:
    app = create_app(ApiSettings(anonymous=True), repo=repo, deployments=())
    with TestClient(app) as client:
        yield client


def headers(who: Keyed) -> dict[str, str]:
    return {"X-API-Key": who.key}


def test_create_returns_the_id_and_a_standard_webhooks_secret_once(api: TestClient, repo: Repository) -> None:
    alice = add_key(repo, "alice")
    created = api.post("/v1/alerts/rules", json=PRICE_MOVE, headers=headers(alice))
    assert created.status_code == 201, created.text
    body = created.json()
    assert set(body) == {"id", "webhook_secret"}
    assert body["webhook_secret"].startswith("whsec_")
    assert len(base64.b64decode(body["webhook_secret"].removeprefix("whsec_"))) >= 24

    shown = api.get(f"/v1/alerts/rules/{body['id']}", headers=headers(alice)).json()
    assert "webhook_secret" not in shown
    assert body["webhook_secret"] not in str(shown)
    assert shown["kind"] == "price_move"
    assert shown["chain_id"] == 1
    assert shown["params"] == {**PRICE_MOVE["params"], "threshold_pct": "0.5", "direction": "any"}  # exact decimal
    assert shown["channels"] == [{"type": "webhook", "target": "https://hooks.example.org/defiscope"}]
    listed = api.get("/v1/alerts/rules", headers=headers(alice)).json()["items"]
    assert [r["id"] for r in listed] == [body["id"]]


def test_another_key_gets_404_on_get_update_delete_and_an_empty_list(api: TestClient, repo: Repository) -> None:
    alice, mallory = add_key(repo, "alice"), add_key(repo, "mallory")
    rule_id = api.post("/v1/alerts/rules", json=PRICE_MOVE, headers=headers(alice)).json()["id"]
    changed = {**PRICE_MOVE, "cooldown_blocks": 99}

    assert api.get(f"/v1/alerts/rules/{rule_id}", headers=headers(mallory)).status_code == 404
    assert api.put(f"/v1/alerts/rules/{rule_id}", json=changed, headers=headers(mallory)).status_code == 404
    assert api.delete(f"/v1/alerts/rules/{rule_id}", headers=headers(mallory)).status_code == 404
    assert (
        api.get(f"/v1/alerts/rules/{rule_id}/backtest?from_block=0&to_block=1", headers=headers(mallory)).status_code
        == 404
    )
    assert api.get("/v1/alerts/rules", headers=headers(mallory)).json() == {"items": []}
    missing = api.get("/v1/alerts/rules/rul_nosuchrule", headers=headers(mallory))
    assert missing.status_code == 404
    assert missing.json()["error"]["field"] == "rule_id"

    # The owner's rule is untouched by those attempts, and the owner can change and delete it.
    assert api.get(f"/v1/alerts/rules/{rule_id}", headers=headers(alice)).json()["cooldown_blocks"] == 0
    updated = api.put(f"/v1/alerts/rules/{rule_id}", json=changed, headers=headers(alice))
    assert updated.status_code == 200
    assert updated.json()["cooldown_blocks"] == 99
    assert api.delete(f"/v1/alerts/rules/{rule_id}", headers=headers(alice)).status_code == 204
    assert api.get(f"/v1/alerts/rules/{rule_id}", headers=headers(alice)).status_code == 404


def test_rules_need_a_key_even_when_anonymous_reads_are_allowed(api: TestClient) -> None:
    answer = api.post("/v1/alerts/rules", json=PRICE_MOVE)
    assert answer.status_code == 401
    assert answer.json()["error"]["field"] == "X-API-Key"
    assert api.get("/v1/alerts/rules").status_code == 401


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"kind": "nonsense"}, "kind"),
        ({"params": {**PRICE_MOVE["params"], "threshold_pct": -1}}, "price_move.params.threshold_pct"),
        ({"params": {**PRICE_MOVE["params"], "chain": "atlantis"}}, "price_move.params.chain"),
        ({"params": {**PRICE_MOVE["params"], "surprise": 1}}, "price_move.params.surprise"),
        ({"confirmations": "eventually"}, "price_move.confirmations"),
        ({"cooldown_blocks": -3}, "price_move.cooldown_blocks"),
        ({"channels": [{"type": "webhook", "url": "ftp://example.org/x"}]}, "price_move.channels.0.url"),
        ({"channels": [{"type": "email"}]}, "price_move.channels.0"),
    ],
)
def test_bad_input_is_a_4xx_naming_the_field(
    api: TestClient, repo: Repository, change: dict[str, Any], field: str
) -> None:
    who = add_key(repo, f"bad-{field}")
    answer = api.post("/v1/alerts/rules", json={**PRICE_MOVE, **change}, headers=headers(who))
    assert answer.status_code == 422, answer.text
    assert answer.json()["error"]["field"].startswith(field)


def test_every_kind_is_accepted_and_its_params_are_in_the_openapi_schema(api: TestClient, repo: Repository) -> None:
    who = add_key(repo, "kinds")
    bodies = [
        {
            "kind": "tvl_change",
            "params": {"chain": "1", "protocol": "aave-v3", "window_blocks": 5, "threshold_usd": 1000},
        },
        {"kind": "yield", "params": {"chain": "1", "protocol": "aave-v3", "asset": "USDC", "above": 12}},
        {
            "kind": "liquidation_exposure",
            "params": {"chain": "1", "protocol": "aave-v3", "asset": "WETH", "drop_pct": 20, "threshold_usd": 10**6},
        },
        {"kind": "new_protocol", "params": {"chain": "bsc", "min_tvl_usd": 10**6, "within_days": 3}},
        {
            "kind": "governance",
            "params": {"chain": "1", "protocol": "compound-v2", "events": ["queued"], "flags": ["upgrade"]},
        },
        {"kind": "indexer_health", "params": {"chain": "1", "max_lag_blocks": 5}, "confirmations": "finalized"},
    ]
    for body in bodies:
        answer = api.post("/v1/alerts/rules", json=body, headers=headers(who))
        assert answer.status_code == 201, (body["kind"], answer.text)
    kinds = sorted(r["kind"] for r in api.get("/v1/alerts/rules", headers=headers(who)).json()["items"])
    assert kinds == sorted(b["kind"] for b in bodies)

    schemas = api.get("/openapi.json").json()["components"]["schemas"]
    for model, param in [
        ("PriceMoveParams", "threshold_pct"),
        ("TvlChangeParams", "threshold_usd"),
        ("YieldParams", "move_pct"),
        ("LiquidationExposureParams", "drop_pct"),
        ("NewProtocolParams", "within_days"),
        ("NewProtocolParams", "scope"),
        ("GovernanceParams", "flags"),
        ("IndexerHealthParams", "max_lag_blocks"),
    ]:
        assert param in schemas[model]["properties"], model
    assert schemas["NewProtocolParams"]["properties"]["scope"]["enum"] == ["protocol", "pool"]
