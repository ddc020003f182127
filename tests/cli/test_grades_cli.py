"""`defiscope grades` over a store with published grades: the document verbatim, --at-block, signals, bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defiscope.cli import app
from defiscope.store import Repository
from defiscope.store.grades import GradeStore
from tests.analytics.grades.published_store import PublishedStore, published_store
from tests.service.conftest import cli  # noqa: F401  (a CliRunner that restores structlog)


@pytest.fixture(scope="module")
async def store(tmp_path_factory: pytest.TempPathFactory) -> PublishedStore:
    return await published_store(tmp_path_factory.mktemp("grades-cli"))


@pytest.fixture
def on_store(store: PublishedStore, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> PublishedStore:
    monkeypatch.setenv("DEFISCOPE_DATA_DIR", str(tmp_path))
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", store.url)
    return store


def documents(url: str) -> dict[int, str]:
    repo = Repository.open(url)
    try:
        return {p.block.number: p.document for p in GradeStore(repo.engine).publications(1)}
    finally:
        repo.close()


def test_json_is_the_published_document_verbatim(cli: CliRunner, on_store: PublishedStore) -> None:  # noqa: F811
    published = documents(on_store.url)
    newest = cli.invoke(app, ["grades", "--json"])
    assert newest.exit_code == 0, newest.output
    assert newest.stdout.strip() == published[on_store.blocks[-1]]
    middle = on_store.blocks[4]
    at = cli.invoke(app, ["grades", "--at-block", str(middle + 0), "--json"])
    assert at.stdout.strip() == published[middle]
    # Between publications: the one before (blocks after it may be stored, not yet published).
    assert (
        json.loads(cli.invoke(app, ["grades", "--at-block", str(on_store.newest_stored), "--json"]).stdout)["block"][
            "number"
        ]
        == on_store.blocks[-1]
    )


def test_table_shows_grades_and_top_factors(cli: CliRunner, on_store: PublishedStore) -> None:  # noqa: F811
    shown = cli.invoke(app, ["grades", "--at-block", str(on_store.blocks[2])], terminal_width=200)
    assert shown.exit_code == 0, shown.output
    assert f"Grades at block {on_store.blocks[2]}" in shown.stdout
    doc = json.loads(documents(on_store.url)[on_store.blocks[2]])
    aave = next(g for g in doc["grades"] if g["slug"] == "aave")
    line = next(row for row in shown.stdout.splitlines() if " aave " in row)
    assert f"{aave['trader_grade']:.1f}" in line
    assert "momentum" in line or "tvl_trend" in line


def test_signals(cli: CliRunner, on_store: PublishedStore) -> None:  # noqa: F811
    listed = cli.invoke(app, ["grades", "signals", "--json", "--slug", "aave"])
    assert listed.exit_code == 0, listed.output
    signals = json.loads(listed.stdout)["signals"]
    assert signals
    assert {s["entity"] for s in signals} == {"aave"}
    text = cli.invoke(app, ["grades", "signals", "--limit", "2"], terminal_width=200)
    assert text.exit_code == 0
    assert len(text.stdout.strip().splitlines()) == 2


@pytest.mark.parametrize(
    ("args", "says"),
    [
        (["grades", "--at-block", "5"], "no grades are published at or before block 5"),
        (["grades", "--at-block", "999999999"], "block 999999999 is not stored yet"),
        (["grades", "signals", "--slug", "nope"], "unknown graded protocol 'nope'"),
        (["grades", "signals", "--limit", "0"], "limit must be 1 to 1000"),
        (["grades", "evaluate", "--json"], "the evaluation needs at least 270 publications (270 days at 1 a day); 20"),
        (["grades", "evaluate", "--splits", "2"], "the evaluation needs at least 150 publications (150 days at 1 a"),
        (["grades", "evaluate", "--splits", "1"], "splits must be 2 to 12, got 1"),
        (["grades", "compute", "--block", "5"], "block 5 of chain 1 is not stored"),
    ],
)
def test_bad_input_is_one_line_exit_2(
    cli: CliRunner,  # noqa: F811
    on_store: PublishedStore,
    args: list[str],
    says: str,
) -> None:
    del on_store
    result = cli.invoke(app, args)
    assert result.exit_code == 2, result.output
    assert says in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert "Traceback" not in result.output


def test_an_empty_store_has_nothing_published(
    cli: CliRunner,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setenv("DEFISCOPE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DEFISCOPE_DATABASE_URL", raising=False)
    result = cli.invoke(app, ["grades", "--json"])
    assert result.exit_code == 2
    assert "no grades are published yet" in result.stderr
