"""`[risk] every_hours` / DEFISCOPE_RISK_EVERY_HOURS: the risk hook's interval of block time between scores."""

from __future__ import annotations

from pathlib import Path

import pytest

from defiscope.chain.errors import InvalidInput
from defiscope.config import load_settings


def test_default_file_and_environment(tmp_path: Path) -> None:
    env = {"DEFISCOPE_DATA_DIR": str(tmp_path)}
    assert load_settings(env=env).risk_every_seconds == 6 * 3600
    (tmp_path / "config.toml").write_text("[risk]\nevery_hours = 24\n[grades]\nevery_hours = 1\n")
    settings = load_settings(env=env)
    assert (settings.risk_every_seconds, settings.grades_every_seconds) == (86_400, 3600)
    assert load_settings(env={**env, "DEFISCOPE_RISK_EVERY_HOURS": "0.5"}).risk_every_seconds == 1800


@pytest.mark.parametrize(
    ("text", "env", "problem"),
    [
        ("[risk]\nevery_hours = 0\n", {}, r"\[risk\] every_hours: expected a positive number of hours, got 0"),
        ("risk = 3\n", {}, r"\[risk\] must be a table"),
        ("", {"DEFISCOPE_RISK_EVERY_HOURS": "-1"}, "DEFISCOPE_RISK_EVERY_HOURS: expected a positive number"),
    ],
)
def test_bad_interval_is_named(tmp_path: Path, text: str, env: dict[str, str], problem: str) -> None:
    (tmp_path / "config.toml").write_text(text)
    with pytest.raises(InvalidInput, match=problem):
        load_settings(env={"DEFISCOPE_DATA_DIR": str(tmp_path), **env})
