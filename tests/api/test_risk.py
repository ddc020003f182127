"""/v1/risk/{slug}, /score and /history over a store holding three scored blocks: the newest profile in
issue 18's shape with its change log, the history of changes, and 404s naming `slug` (unknown, or never scored)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from defiscope.analytics.risk.history import record_profile
from defiscope.api import ApiSettings, create_app
from defiscope.protocols.control.admin import AdminLink
from defiscope.store import Repository
from tests.store.storekit import block, make_snapshot
from tests.store.test_store_risk import EOA, LOCK, _profile

#: Issue 18's keys, and those added since (fields are only ever added): bad debt where a contract exposes it.
PROFILE_KEYS = {
    *("slug", "block", "formula_version", "composite", "pillars", "control", "facts", "changes"),
    *("bad_debt", "discovered"),  # added to the issue's shape: bad debt, the kinds found at run time with their rule
}


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    url = f"sqlite:///{tmp_path / 'risk.db'}"
    repo = Repository.open(url)
    for number in (100, 101, 102):
        repo.save_snapshot(make_snapshot(ref=block(number)))
    timelocked = (AdminLink(LOCK, "timelock", delay_seconds=7 * 86400, controllers=(EOA,)), AdminLink(EOA, "eoa"))
    record_profile(repo, 1, _profile(100, *timelocked))
    record_profile(repo, 1, _profile(101, *timelocked))
    record_profile(repo, 1, _profile(102, AdminLink(EOA, "eoa")))
    repo.close()
    with TestClient(create_app(ApiSettings(database_url=url))) as test_client:
        yield test_client


def test_profile_is_the_newest_score_in_the_issue_shape(client: TestClient) -> None:
    answer = client.get("/v1/risk/aave-v3")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert set(body) == PROFILE_KEYS
    assert (body["slug"], body["block"], body["composite"]) == ("aave-v3", 102, 30)
    assert [p["name"] for p in body["pillars"]] == [
        "control",
        "code & audits",
        "incidents",
        "oracle dependence",
        "governance",
        "economic",
    ]
    assert all(set(p) == {"name", "score", "weight", "evidence"} for p in body["pillars"])
    (pool,) = body["control"]
    issue = {"contract", "address", "proxy", "implementation", "admin_chain"}
    assert set(pool) == issue | {"proxy_pattern", "pending_owner"}  # added: the pattern, a nominee not accepted
    assert (pool["proxy"], pool["pending_owner"]) == ("transparent", None)
    assert pool["admin_chain"] == [
        {
            "address": EOA,
            "type": "eoa",
            "threshold": None,
            "delay_seconds": None,
            "pending_owner": None,
            "conditional": [],
        }
    ]
    assert set(body["facts"]) == {"audits", "incidents", "insurance", "bounty"}
    assert body["facts"]["bounty"]["max_payout_usd"] == 1_000_000
    assert [(c["block"], c["before"], c["after"]) for c in body["changes"]] == [
        (100, None, 75),
        (102, 50, 10),
        (102, 75, 30),
    ]
    assert all(set(c) == {"block", "input", "rule", "before", "after"} for c in body["changes"])
    assert body["changes"][1]["rule"] == "control.eoa-no-delay"


def test_history_lists_the_changes_newest_limited(client: TestClient) -> None:
    answer = client.get("/v1/risk/aave-v3/history", params={"limit": 2})
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["slug"], body["chain"]) == ("aave-v3", "ethereum")
    assert [(c["block"], c["rule"]) for c in body["changes"]] == [
        (102, "control.eoa-no-delay"),
        (102, "override.eoa-upgrade-no-delay"),
    ]
    assert "control/Pool" in body["changes"][0]["input"]


def test_score_names_rules_overrides_and_full_admin_links(client: TestClient) -> None:
    """The score behind the profile at the same block: the binding override, each pillar's rule, the links in full."""
    profile = client.get("/v1/risk/aave-v3").json()
    answer = client.get("/v1/risk/aave-v3/score")
    assert answer.status_code == 200, answer.text
    body = answer.json()
    assert (body["slug"], body["chain"], body["block"]) == ("aave-v3", "ethereum", profile["block"])
    assert (body["formula_version"], body["composite"]) == (profile["formula_version"], profile["composite"])
    assert body["composite_rule"] == "override.eoa-upgrade-no-delay"
    assert [(o["rule"], o["cap"]) for o in body["overrides"]] == [("override.eoa-upgrade-no-delay", 30)]
    assert EOA in body["overrides"][0]["why"]
    assert [(p["name"], p["score"]) for p in body["pillars"]] == [(p["name"], p["score"]) for p in profile["pillars"]]
    assert body["pillars"][0]["rule"] == "control.eoa-no-delay"
    (pool,) = body["control"]
    assert (pool["address"], pool["dependency"]) == (profile["control"][0]["address"], False)
    assert pool["admin_chain"][0] | {"signers": [], "why": None} == pool["admin_chain"][0]
    assert (pool["admin_chain"][0]["address"], pool["admin_chain"][0]["type"]) == (EOA, "eoa")


@pytest.mark.parametrize(
    ("path", "status", "field", "words"),
    [
        ("/v1/risk/nope", 404, "slug", "unknown protocol 'nope' for risk; known: aave-v3"),
        ("/v1/risk/nope/history", 404, "slug", "unknown protocol 'nope'"),
        ("/v1/risk/compound-v2", 404, "slug", "no risk score of 'compound-v2' stored on ethereum yet"),
        ("/v1/risk/compound-v2/score", 404, "slug", "no risk score of 'compound-v2' stored on ethereum yet"),
        ("/v1/risk/aave-v3?chain=nochain", 404, "chain", "unknown chain 'nochain'"),
        ("/v1/risk/aave-v3/history?limit=0", 422, "limit", ""),
    ],
)
def test_bad_input_is_4xx_naming_the_field(client: TestClient, path: str, status: int, field: str, words: str) -> None:
    answer = client.get(path)
    assert answer.status_code == status, answer.text
    error = answer.json()["error"]
    assert error["field"] == field
    assert words in error["problem"]
