"""`defiscope risk liquidations --protocol compound-v2|compound-v3|maker` on the seeded devnet."""

from __future__ import annotations

import doctest
import importlib
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defiscope.cli import app
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)


@pytest.mark.parametrize(
    ("protocol", "accounts"),
    [("compound-v2", [1, 1, 2, 2, 2]), ("compound-v3", [0, 1, 1, 1, 4]), ("maker", [1, 1, 1, 2, 4])],
)
def test_liquidations_json(cli: CliRunner, devnet_home: Path, protocol: str, accounts: list[int]) -> None:  # noqa: F811
    result = cli.invoke(app, ["risk", "liquidations", "--protocol", protocol, "--asset", "WETH", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert [s["accounts"] for s in data["scenarios"]] == accounts
    assert data["already_liquidatable"]["accounts"] == 0


def test_unknown_asset_is_one_line_exit_2(cli: CliRunner, devnet_home: Path) -> None:  # noqa: F811
    result = cli.invoke(app, ["risk", "liquidations", "--protocol", "maker", "--asset", "UNI"])
    assert result.exit_code == 2
    assert "maker has no asset 'UNI' on chain 1; known: WETH, WBTC, wstETH, LINK, USDC" in result.output


@pytest.mark.parametrize(
    "module",
    [
        "defiscope.protocols.compound.rates",
        "defiscope.protocols.compound.v2_math",
        "defiscope.protocols.compound.comet_math",
        "defiscope.protocols.compound.liquidation_math",
        "defiscope.protocols.maker.math",
    ],
)
def test_docstring_examples_run(module: str) -> None:
    failed, attempted = doctest.testmod(importlib.import_module(module))
    assert (failed, attempted > 0) == (0, True)
