"""GET /v1/grades/evaluation over a stored published history with planted skill (`evaluated_store`): the report is
the one `grades evaluate --json` computes, rebuilt when a publication lands (not before), and a history too short
is a 409 saying how many publications are needed — never a 500."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from defiscope.analytics.grades.published import evaluation_document
from defiscope.api import ApiSettings, create_app
from defiscope.store import Repository
from tests.analytics.grades.evaluated_store import (
    DAYS,
    SPLITS,
    TOKENS,
    evaluated_store,
    planted_prices,
    publish_history,
)

PATH = "/v1/grades/evaluation"


@pytest.fixture(scope="module")
def url(tmp_path_factory: pytest.TempPathFactory) -> str:
    return evaluated_store(tmp_path_factory.mktemp("evaluated"))


@pytest.fixture(scope="module")
def client(url: str) -> Iterator[TestClient]:
    with TestClient(create_app(ApiSettings(database_url=url))) as test_client:
        yield test_client


def test_the_report_is_the_evaluation_of_the_stored_history(client: TestClient, url: str) -> None:
    answer = client.get(PATH, params={"splits": SPLITS})
    assert answer.status_code == 200, answer.text
    repo = Repository.open(url)
    try:
        expected = evaluation_document(repo, TOKENS, n_splits=SPLITS)
    finally:
        repo.close()
    assert answer.json() == json.loads(json.dumps(expected))
    report = answer.json()
    assert report["publications"] == DAYS
    (trader,) = [g for g in report["grades"] if g["horizon"] == "trader"]
    (formula,) = [v for v in trader["variants"] if v["name"] == "formula"]
    assert formula["ic"]["mean"] > 0.2  # the planted skill is found
    assert formula["ic"]["p_value"] < 0.01
    assert len(formula["top_minus_bottom_by_period"]) == trader["evaluated_periods"]
    # Served again from the kept report: the same ETag, and 304 to a client that has it.
    again = client.get(PATH, params={"splits": SPLITS}, headers={"If-None-Match": answer.headers["etag"]})
    assert again.status_code == 304


def test_a_new_publication_rebuilds_the_report(url: str, tmp_path: Path) -> None:
    copy = tmp_path / "copy.db"
    shutil.copy(url.removeprefix("sqlite:///"), copy)  # the module's store stays as it is for the other tests
    copy_url = f"sqlite:///{copy}"
    with TestClient(create_app(ApiSettings(database_url=copy_url))) as client:
        before = client.get(PATH, params={"splits": SPLITS})
        assert before.json()["publications"] == DAYS
        assert client.get(PATH, params={"splits": SPLITS}).headers["etag"] == before.headers["etag"]
        repo = Repository.open(copy_url)
        try:
            publish_history(repo, DAYS + 1, planted_prices(5, DAYS + 1), first_day=DAYS)
        finally:
            repo.close()
        after = client.get(PATH, params={"splits": SPLITS})
        assert after.status_code == 200
        assert after.json()["publications"] == DAYS + 1
        assert after.headers["etag"] != before.headers["etag"]


def test_a_history_too_short_is_a_409_saying_what_is_needed(client: TestClient) -> None:
    answer = client.get(PATH)  # six test blocks: 60 + 6 x 30 + 30 daily publications
    assert answer.status_code == 409, answer.text
    error = answer.json()["error"]
    assert error["field"] == "history"
    assert (
        error["problem"] == f"the evaluation needs at least 270 publications (270 days at 1 a day); {DAYS} are stored"
    )


def test_no_publication_at_all_is_a_409_too(tmp_path: Path) -> None:
    with TestClient(create_app(ApiSettings(database_url=f"sqlite:///{tmp_path / 'empty.db'}"))) as client:
        answer = client.get(PATH)
    assert answer.status_code == 409
    assert answer.json()["error"]["field"] == "history"
    assert answer.json()["error"]["problem"].endswith("; 0 are stored")


@pytest.mark.parametrize("splits", ["1", "13", "x"])
def test_bad_splits_name_the_field(client: TestClient, splits: str) -> None:
    answer = client.get(PATH, params={"splits": splits})
    assert answer.status_code == 422
    assert answer.json()["error"]["field"] == "splits"


def test_the_route_is_in_the_openapi_schema(client: TestClient) -> None:
    operation = client.get("/openapi.json").json()["paths"][PATH]["get"]
    assert operation["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Evaluation")
    assert "409" in operation["responses"]
