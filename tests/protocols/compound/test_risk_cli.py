"""`defiscope risk liquidations --protocol compound-v2|compound-v3|maker` on the seeded devnet."""

from __future__ import annotations

import asyncio
import doctest
import importlib
import json
from collections.abc import Iterable
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defiscope.chain.client import ChainClient
from defiscope.cli import app
from defiscope.cli.risk import SOURCES, RiskSource
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.lending.risk import Leg, Position
from tests.protocols.compound.kit import Lab
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


def _risk_read(chain: DevnetChain, source: RiskSource) -> tuple[list[Position], tuple[str, ...]]:
    async def read() -> tuple[list[Position], tuple[str, ...]]:
        async with ChainClient.connect(1, [chain.rpc_url]) as client:
            _, positions, _, not_valued = await source(client, devnet_deployment(chain), "latest", None)
            return positions, not_valued

    return asyncio.run(read())


def _unmoved(position: Position) -> tuple[str, tuple[Leg, ...], tuple[str, ...]]:
    """What a block's interest leaves as it was: the account, its collateral, what it owes (not how much)."""
    return position.account, position.collateral, tuple(leg.asset for leg in position.debt)


def _accounts(lines: Iterable[str]) -> list[str]:
    return sorted(line.split(":")[0] for line in lines)


@pytest.mark.parametrize("protocol", ["compound-v2", "compound-v3"])
def test_a_missing_price_lists_the_accounts_and_values_the_rest(
    cli: CliRunner,  # noqa: F811
    devnet_home: Path,  # noqa: F811
    eth_chain: DevnetChain,
    protocol: str,
) -> None:
    source = SOURCES[protocol]
    before, nothing = _risk_read(eth_chain, source)
    assert nothing == ()
    Lab.connect(eth_chain).set_feed("ETH/USD", 0)  # the ETH feed answers 0: V2's oracle says 0, Comet reverts

    valued, not_valued = _risk_read(eth_chain, source)
    assert not_valued  # listed, with why; neither refused nor valued at 0
    assert all("price" in line for line in not_valued), not_valued
    # Every borrower is either valued as before (the other prices did not move) or listed.
    assert sorted([p.account for p in valued] + _accounts(not_valued)) == sorted(p.account for p in before)
    listed = set(_accounts(not_valued))
    unlisted = [p for p in before if p.account not in listed]
    # The valued ones as before: the same collateral (balances and prices did not move) and debts; a Comet's
    # debt accrued over the block that changed the feed, V2's stored borrow did not.
    assert sorted(map(_unmoved, valued)) == sorted(map(_unmoved, unlisted))
    if protocol == "compound-v2":
        assert sorted(valued, key=lambda p: p.account) == sorted(unlisted, key=lambda p: p.account)
    if protocol == "compound-v2":  # exactly the borrowers in the ETH market (the chain's own answer)
        comptroller = Lab.connect(eth_chain).at("Comptroller", "CompoundV2Comptroller")
        ceth = eth_chain.contracts["CompoundV2cToken:WETH"]
        in_eth = {p.account for p in before if ceth in comptroller.functions.getAssetsIn(p.account).call()}
        assert listed == in_eth
    else:  # each listed borrower used WETH: as collateral on a USD Comet, or as the debt of cWETHv3
        legs = {p.account: {leg.asset for leg in (*p.collateral, *p.debt)} for p in before}
        assert all("WETH" in legs[account] for account in listed)

    result = cli.invoke(app, ["risk", "liquidations", "--protocol", protocol, "--asset", "WBTC", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert _accounts(data["not_valued"]) == _accounts(not_valued)
    assert "$0" not in result.output
