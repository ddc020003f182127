"""`defiscope risk liquidations` against positions created with known health factors."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

from typer.testing import CliRunner

from defiscope.cli import app
from tests.protocols.aave.kit import AaveKit
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)

WETH = 10**18


def _create_positions(kit: AaveKit) -> int:
    """Four borrowers made after the returned block: WETH-backed at HF 1.0375, 1.186, 1.556; one WETH short."""
    start = kit.sender.w3.eth.block_number + 1
    for label, usdc in (("a", 24_000), ("b", 21_000), ("c", 16_000)):
        user = kit.user(f"risk {label}")
        kit.supply(user, "WETH", 10 * WETH)  # $30,000, liquidation threshold 83 %: $24,900 weighted
        kit.borrow(user, "USDC", usdc * 10**6)
    short = kit.user("risk short")
    kit.supply(short, "WBTC", 10**8)  # $100,000 at 78 %
    kit.borrow(short, "WETH", 10 * WETH)  # $30,000: a WETH drop only helps
    return start


def _cents(value: str) -> Decimal:
    return Decimal(value).quantize(Decimal("0.01"))


def test_liquidations_json(cli: CliRunner, devnet_home: Path, kit: AaveKit) -> None:  # noqa: F811
    start = _create_positions(kit)
    args = ["risk", "liquidations", "--protocol", "aave-v3", "--asset", "WETH", "--json", "--from-block", str(start)]
    result = cli.invoke(app, args)
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert doc["positions"] == 4
    assert doc["block"]["number"] == kit.sender.w3.eth.block_number
    assert _cents(doc["asset_collateral_usd"]) == 90_000
    assert _cents(doc["asset_debt_usd"]) == 30_000
    assert doc["already_liquidatable"]["accounts"] == 0
    got = [(s["drop"], s["accounts"], _cents(s["debt_usd"]), _cents(s["collateral_usd"])) for s in doc["scenarios"]]
    assert got == [
        ("5%", 1, 24_000, 28_500),  # a: 28,500 x 0.83 = 23,655 < 24,000
        ("10%", 1, 24_000, 27_000),  # b still holds: 27,000 x 0.83 = 22,410 > 21,000
        ("20%", 2, 45_000, 48_000),
        ("30%", 2, 45_000, 42_000),  # c holds until 21,000 x 0.83 = 17,430 > 16,000
        ("50%", 3, 61_000, 45_000),
    ]


def test_liquidations_table(cli: CliRunner, devnet_home: Path, kit: AaveKit) -> None:  # noqa: F811
    start = _create_positions(kit)
    result = cli.invoke(app, ["risk", "liquidations", "-p", "aave-v3", "-a", "WETH", "--from-block", str(start)])
    assert result.exit_code == 0, result.output
    assert "4 positions with debt" in result.stdout
    assert "-20%" in result.stdout
    assert "$45.00k" in result.stdout


def test_whole_market_from_deployment(cli: CliRunner, devnet_home: Path) -> None:  # noqa: F811
    result = cli.invoke(app, ["risk", "liquidations", "--protocol", "aave-v3", "--asset", "WETH", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # The seeded borrowers of every market: 18 in Core, 2 in Prime, 1 in EtherFi.
    assert doc["positions"] == 18 + 2 + 1
    # A drop d liquidates every WETH-backed seeded borrower with HF < 1 / (1 - d): the four WETH whales
    # (HF 1.0375 to 1.13) and accounts 1..9 (HF 1.033, 1.05, 1.10, 1.2, 1.3, 1.5, 2 - interest, 3, 4).
    # Prime's WETH lender (HF 4.3 against USDC) is out of reach, its wstETH looper owes WETH (a drop helps).
    assert [s["accounts"] for s in doc["scenarios"]] == [4, 6, 8, 9, 11]


def test_bad_input_is_one_line(cli: CliRunner, devnet_home: Path) -> None:  # noqa: F811
    result = cli.invoke(app, ["risk", "liquidations", "--protocol", "aave-v2", "--asset", "WETH"])
    assert result.exit_code == 2
    assert result.stderr.startswith("error: no liquidation risk for protocol 'aave-v2'; known: aave-v3")
    assert len(result.stderr.strip().splitlines()) == 1
    result = cli.invoke(app, ["risk", "liquidations", "--protocol", "aave-v3", "--asset", "PEPE"])
    assert result.exit_code == 2
    assert "aave-v3 has no asset 'PEPE' on chain 1; known: WETH, wstETH, WBTC, USDC, USDT, DAI" in result.stderr
