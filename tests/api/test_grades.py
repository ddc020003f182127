"""GET /v1/grades, /v1/grades/{slug}/history and /v1/signals over a store with published grades."""

from __future__ import annotations

import json
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from defiscope.analytics.grades.catalog import GRADED
from defiscope.api import ApiSettings, create_app
from defiscope.store import Repository
from defiscope.store.grades import GradeStore
from tests.analytics.grades.published_store import PublishedStore, published_store


@pytest.fixture(scope="module")
async def store(tmp_path_factory: pytest.TempPathFactory) -> PublishedStore:
    return await published_store(tmp_path_factory.mktemp("grades-api"))


@pytest.fixture(scope="module")
def client(store: PublishedStore) -> Iterator[TestClient]:
    with TestClient(create_app(ApiSettings(database_url=store.url))) as test_client:
        yield test_client


@pytest.fixture(scope="module")
def stored(store: PublishedStore) -> Iterator[GradeStore]:
    repo = Repository.open(store.url)
    yield GradeStore(repo.engine)
    repo.close()


def test_grades_is_the_newest_document_verbatim(client: TestClient, stored: GradeStore) -> None:
    answer = client.get("/v1/grades")
    assert answer.status_code == 200
    newest = stored.at_or_before(1)
    assert newest is not None
    assert answer.content == newest.document.encode()
    doc = answer.json()
    assert set(doc) == {"block", "formula_version", "grades"}
    assert [g["slug"] for g in doc["grades"]] == list(GRADED)


def test_grades_at_a_block_is_what_was_published_at_or_before_it(
    client: TestClient, store: PublishedStore, stored: GradeStore
) -> None:
    middle = store.blocks[5]
    answer = client.get("/v1/grades", params={"block": middle})
    assert answer.status_code == 200
    assert answer.json()["block"]["number"] == middle
    assert client.get("/v1/grades", params={"block": store.newest_stored}).json()["block"]["number"] == store.blocks[-1]
    publication = stored.at_or_before(1, middle)
    assert publication is not None
    assert answer.content == publication.document.encode()


@pytest.mark.parametrize(
    ("query", "status", "field"),
    [
        ({"block": 3}, 404, "block"),  # before the first publication
        ({"block": 10**9}, 404, "block"),  # not stored yet: what will be published there is unknown
        ({"block": -1}, 422, "block"),
        ({"block": "x"}, 422, "block"),
    ],
)
def test_bad_blocks_name_the_field(client: TestClient, query: dict[str, object], status: int, field: str) -> None:
    answer = client.get("/v1/grades", params=query)
    assert answer.status_code == status, answer.text
    assert answer.json()["error"]["field"] == field


def test_history_has_one_point_per_publication(client: TestClient, store: PublishedStore) -> None:
    answer = client.get("/v1/grades/aave/history")
    assert answer.status_code == 200
    body = answer.json()
    assert body["slug"] == "aave"
    assert [p["block"]["number"] for p in body["history"]] == list(store.blocks)
    newest = client.get("/v1/grades").json()
    aave = next(g for g in newest["grades"] if g["slug"] == "aave")
    assert body["history"][-1]["trader_grade"] == aave["trader_grade"]
    assert body["history"][-1]["investor_grade"] == aave["investor_grade"]


def test_unknown_slug_is_a_404_naming_it(client: TestClient) -> None:
    for path in ("/v1/grades/nope/history", "/v1/signals?slug=nope"):
        answer = client.get(path)
        assert answer.status_code == 404, path
        assert answer.json()["error"]["field"] == "slug"
        assert "'nope'" in answer.json()["error"]["problem"]


def test_signals_newest_first_filtered_and_limited(client: TestClient, stored: GradeStore) -> None:
    every = client.get("/v1/signals", params={"limit": 1000}).json()["signals"]
    assert every == [json.loads(s.document) for s in stored.signals(1)]
    assert every, "the trending market changes states"
    assert [s["block"] for s in every] == sorted((s["block"] for s in every), reverse=True)
    assert set(every[0]) == {"entity", "block", "horizon", "state", "previous", "grade", "movers"}
    aave = client.get("/v1/signals", params={"slug": "aave"}).json()["signals"]
    assert aave == [s for s in every if s["entity"] == "aave"]
    assert client.get("/v1/signals", params={"limit": 1}).json()["signals"] == every[:1]
    assert client.get("/v1/signals", params={"limit": 0}).json()["error"]["field"] == "limit"


def test_the_routes_are_in_the_openapi_schema(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert {"/v1/grades", "/v1/grades/{slug}/history", "/v1/signals"} <= set(paths)
    grades = paths["/v1/grades"]["get"]
    assert grades["responses"]["200"]["content"]["application/json"]["schema"]["$ref"].endswith("/Grades")
