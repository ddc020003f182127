"""`[grades] every_hours` / DEFISCOPE_GRADES_EVERY_HOURS: the publishing interval of the indexer's hook."""

from __future__ import annotations

from pathlib import Path

import pytest

from defiscope.chain.errors import InvalidInput
from defiscope.config import load_settings


def test_default_file_and_environment(tmp_path: Path) -> None:
    env = {"DEFISCOPE_DATA_DIR": str(tmp_path)}
    assert load_settings(env=env).grades_every_seconds == 6 * 3600
    (tmp_path / "config.toml").write_text("[grades]\nevery_hours = 24\n")
    assert load_settings(env=env).grades_every_seconds == 86_400
    assert load_settings(env={**env, "DEFISCOPE_GRADES_EVERY_HOURS": "0.5"}).grades_every_seconds == 1800


@pytest.mark.parametrize(
    ("text", "env", "problem"),
    [
        ("[grades]\nevery_hours = 0\n", {}, r"\[grades\] every_hours: expected a positive number of hours, got 0"),
        ('[grades]\nevery_hours = "6"\n', {}, "expected a positive number of hours, got '6'"),
        ("grades = 3\n", {}, r"\[grades\] must be a table"),
        ("", {"DEFISCOPE_GRADES_EVERY_HOURS": "soon"}, "DEFISCOPE_GRADES_EVERY_HOURS: could not convert"),
        ("", {"DEFISCOPE_GRADES_EVERY_HOURS": "-1"}, "DEFISCOPE_GRADES_EVERY_HOURS: expected a positive number"),
    ],
)
def test_bad_interval_is_named(tmp_path: Path, text: str, env: dict[str, str], problem: str) -> None:
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(InvalidInput, match=problem):
        load_settings(env={"DEFISCOPE_DATA_DIR": str(tmp_path), **env})
