"""One settings object: the data directory (`~` expanded once, in `config`) and the database URL come from
`load_settings` for every part that needs them, and `chain/` reads none of it itself."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import defiscope.chain
from defiscope import config
from defiscope.chain.errors import InvalidInput
from defiscope.config import load_settings
from defiscope.devnet import paths
from defiscope.store import database

CHAIN_DIR = Path(defiscope.chain.__file__).parent


def _imports(path: Path) -> set[str]:
    """Every module `path` imports (absolute names; relative imports resolved inside defiscope.chain)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            names.add(f"defiscope.chain.{base}" if node.level else base)
    return names


def test_chain_imports_nothing_from_config_nor_reads_the_environment() -> None:
    modules = sorted(CHAIN_DIR.glob("*.py"))
    assert len(modules) > 10  # the walk sees the package
    for module in modules:
        imported = _imports(module)
        assert not {n for n in imported if n == "defiscope.config" or n.startswith("defiscope.config.")}, module
        # Nor does it reach to its right (protocols, store, service, api, cli).
        right = ("defiscope.protocols", "defiscope.store", "defiscope.service", "defiscope.api", "defiscope.cli")
        assert not {n for n in imported if n.startswith(right)}, module
        assert "os.environ" not in module.read_text(), module


def test_a_home_data_dir_in_the_environment_is_expanded_once_for_everyone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("DEFISCOPE_DATA_DIR", "~/x")
    monkeypatch.delenv("DEFISCOPE_DATABASE_URL", raising=False)
    monkeypatch.delenv("DEFISCOPE_CONFIG", raising=False)
    expected = tmp_path / "x"
    assert load_settings().data_dir == expected
    assert config.data_dir() == database.data_dir() == paths.data_dir() == expected
    assert paths.devnet_dir() == expected / "devnet"
    assert database.database_url() == f"sqlite:///{expected / 'defiscope.db'}"
    assert "~" not in database.database_url()


def test_a_home_data_dir_in_the_toml_is_expanded_and_the_environment_wins(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    file = tmp_path / "defiscope.toml"
    file.write_text('data_dir = "~/from-toml"\n\n[store]\nurl = "postgresql://db.example/defiscope"\n')
    env = {"DEFISCOPE_CONFIG": str(file)}
    settings = load_settings(env=env)
    assert settings.data_dir == tmp_path / "from-toml"
    assert settings.database_url == "postgresql://db.example/defiscope"
    # The environment wins, for both.
    env |= {"DEFISCOPE_DATA_DIR": "~/from-env", "DEFISCOPE_DATABASE_URL": "sqlite:////tmp/other.db"}
    settings = load_settings(env=env)
    assert settings.data_dir == tmp_path / "from-env"
    assert settings.database_url == "sqlite:////tmp/other.db"
    # The config file's own path may start with ~ too.
    assert load_settings(env={"DEFISCOPE_CONFIG": "~/defiscope.toml"}).source == file


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("data_dir = 3\n", "data_dir must be a folder"),
        ('data_dir = ""\n', "data_dir must be a folder"),
        ("[store]\nurl = 5\n", r"\[store\] url must be a database URL"),
    ],
)
def test_bad_folder_or_store_settings_are_input_errors(tmp_path: Path, text: str, problem: str) -> None:
    file = tmp_path / "config.toml"
    file.write_text(text)
    with pytest.raises(InvalidInput, match=problem):
        load_settings(env={"DEFISCOPE_CONFIG": str(file)})


def test_a_home_relative_sqlite_url_opens_the_expanded_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    engine = database.create_engine("sqlite:///~/db/defiscope.db")
    try:
        with engine.connect() as conn:
            conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
        assert (tmp_path / "db" / "defiscope.db").is_file()
        assert not (tmp_path / "~").exists()
    finally:
        engine.dispose()
