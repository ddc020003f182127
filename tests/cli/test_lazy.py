"""The root group imports a command's module only to run it, and says exactly what the eager app said.

The eager app is built here the way the command line was built before it loaded lazily: every module imported,
its group added with `add_typer` and its top-level commands registered on the root.
"""

from __future__ import annotations

import importlib
import json
import subprocess
import sys

import pytest
import typer
from typer.core import TyperGroup
from typer.testing import CliRunner

from defiscope.cli import COMMANDS, app, main

HEAVY = ("web3", "fastapi", "sqlalchemy", "uvicorn")
runner = CliRunner()


def eager_app() -> typer.Typer:
    eager = typer.Typer(name="defiscope", help="DeFi analytics read straight from EVM chains.", no_args_is_help=True)
    eager.callback()(main)
    for entry in COMMANDS:
        module_app = getattr(importlib.import_module(entry.module), entry.attribute)
        if entry.group:
            eager.add_typer(module_app, name=entry.name)
        else:
            (info,) = (c for c in module_app.registered_commands if (c.name or c.callback.__name__) == entry.name)
            eager.registered_commands.append(info)
    return eager


def output(cli_app: typer.Typer, args: list[str]) -> tuple[int, str]:
    result = runner.invoke(cli_app, args, env={"COLUMNS": "120"}, terminal_width=120)
    return result.exit_code, result.output


def command_paths(group: TyperGroup, path: tuple[str, ...] = ()) -> list[tuple[str, ...]]:
    """Every command and group below `group` (resolved, so lazy ones are loaded), depth first."""
    paths = []
    for name in group.list_commands(typer.Context(group)):
        _, command, _ = group.resolve_command(typer.Context(group), [name])
        paths.append((*path, name))
        if isinstance(command, TyperGroup):
            paths.extend(command_paths(command, (*path, name)))
    return paths


@pytest.fixture(scope="module")
def eager() -> typer.Typer:
    return eager_app()


def test_root_help_lists_the_same_commands_and_help_lines(eager: typer.Typer) -> None:
    lazy_root = typer.main.get_command(app)
    eager_root = typer.main.get_command(eager)
    assert isinstance(lazy_root, TyperGroup)
    assert isinstance(eager_root, TyperGroup)
    ctx = typer.Context(lazy_root)
    assert lazy_root.list_commands(ctx) == eager_root.list_commands(typer.Context(eager_root))
    assert [c.name for c in COMMANDS] == lazy_root.list_commands(ctx)
    assert output(app, ["--help"]) == output(eager, ["--help"])
    assert output(app, []) == output(eager, [])  # no_args_is_help


def test_every_command_help_is_the_eager_one(eager: typer.Typer) -> None:
    eager_root = typer.main.get_command(eager)
    assert isinstance(eager_root, TyperGroup)
    paths = command_paths(eager_root)
    assert len(paths) > len(COMMANDS)  # the groups' own commands are walked too
    for path in paths:
        lazy_result = output(app, [*path, "--help"])
        assert lazy_result[0] == 0, path
        assert lazy_result == output(eager, [*path, "--help"]), path


@pytest.mark.parametrize(
    "args",
    [
        ["nosuch"],
        ["tvl", "--bogus"],
        ["alerts"],
        ["alerts", "rules"],
        ["delivery"],
        ["devnet", "up", "--world", "moon"],
        ["risk", "liquidations", "--scenario", "x"],
    ],
)
def test_mistakes_get_the_eager_exit_code_and_message(eager: typer.Typer, args: list[str]) -> None:
    lazy_code, lazy_text = output(app, args)
    assert lazy_code == 2, lazy_text
    assert (lazy_code, lazy_text) == output(eager, args)


PROBE = """
import json, sys
from defiscope.cli import app
try:
    app(sys.argv[1:], prog_name="defiscope")
except SystemExit as exit:
    code = exit.code
print(json.dumps({"code": code, "modules": sorted(sys.modules)}), file=sys.stderr)
"""


def modules_after(args: list[str]) -> tuple[int, set[str]]:
    """Exit code and imported modules of a fresh interpreter running `defiscope <args>`."""
    done = subprocess.run([sys.executable, "-c", PROBE, *args], capture_output=True, text=True, check=False)
    report = json.loads(done.stderr.strip().splitlines()[-1])
    return report["code"], set(report["modules"])


def test_root_help_imports_no_command_module() -> None:
    code, modules = modules_after(["--help"])
    assert code == 0
    assert not modules & set(HEAVY)
    assert not modules & {entry.module for entry in COMMANDS}


def test_a_command_help_imports_its_own_module_only() -> None:
    code, modules = modules_after(["tvl", "--help"])
    assert code == 0
    assert "defiscope.cli.tvl" in modules
    assert not modules & ({entry.module for entry in COMMANDS} - {"defiscope.cli.tvl"})
    assert not modules & {"web3", "fastapi", "sqlalchemy"}


def test_serve_starts_without_the_model_and_statistics_libraries() -> None:
    """`serve`, the workers and the API processes import the API; scikit-learn and scipy (2.5 s of a start) are
    imported only where a model is fitted or a statistic computed."""
    code, modules = modules_after(["serve", "--help"])
    assert code == 0
    assert {"defiscope.cli.serve", "defiscope.api.app", "fastapi"} <= modules
    assert not {m.split(".")[0] for m in modules} & {"sklearn", "scipy"}
