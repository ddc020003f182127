"""Odd market states: a frozen or paused reserve, 100 % utilisation, a feed that answers 0."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from defiscope.chain.client import ChainClient
from defiscope.cli import app
from defiscope.devnet.aave import AAVE_MARKETS, SeedUser, seed_address
from defiscope.protocols.aave.adapter import AaveV3Adapter
from defiscope.protocols.aave.market import AaveError, AaveMarket, Reserve, read_strategy
from defiscope.protocols.aave.positions import pool_account_data, scan_accounts
from defiscope.protocols.base import BalanceKind
from tests.protocols.aave.kit import AaveKit
from tests.service.conftest import cli, devnet_home  # noqa: F401  (fixtures reused)


async def _reserve(kit: AaveKit, client: ChainClient, symbol: str) -> Reserve:
    reserves = await AaveMarket.of(kit.deployment).reserves(await kit.reader(client))
    return next(r for r in reserves if r.symbol == symbol)


async def test_frozen_and_paused_reserves_are_reported(kit: AaveKit, client: ChainClient) -> None:
    configurator, admin = kit.configurator.functions, kit.pool_admin
    kit.sender.send(configurator.setReserveFreeze(kit.token("WBTC").address, True), sender=admin)
    kit.sender.send(configurator.setReservePause(kit.token("DAI").address, True), sender=admin)
    assert (await _reserve(kit, client, "WBTC")).config.status == "frozen"
    dai = await _reserve(kit, client, "DAI")
    assert (dai.config.status, dai.config.paused, dai.config.frozen) == ("paused", True, False)
    assert (await _reserve(kit, client, "USDC")).config.status == "active"
    # Views keep working on a paused reserve: TVL and positions read as before.
    positions = await AaveV3Adapter(kit.deployment).positions(await kit.reader(client))
    assert len(positions) == 2 * sum(len(m.reserves) for m in AAVE_MARKETS)
    accounts = list(kit.sender.accounts[1:10])
    reader = await kit.reader(client)
    ours = await scan_accounts(reader, AaveMarket.of(kit.deployment), accounts)
    assert [p.data for p in ours] == await pool_account_data(reader, kit.deployment.contract("AaveV3Pool"), accounts)


async def test_full_utilisation(kit: AaveKit, client: ChainClient) -> None:
    dai = await _reserve(kit, client, "DAI")
    whale = kit.user("dai drainer")
    kit.supply(whale, "WBTC", 2_000 * 10**8)  # $200M of collateral
    kit.borrow(whale, "DAI", dai.available_liquidity)
    drained = await _reserve(kit, client, "DAI")
    assert drained.available_liquidity == 0
    assert drained.utilisation == 1
    strategy = await read_strategy(await kit.reader(client), drained.state.interest_rate_strategy)
    # At 100 % the variable rate is the curve's maximum: base + slope 1 + slope 2 (6 % + 75 %).
    assert drained.state.current_variable_borrow_rate == strategy.max_variable_borrow_rate == 81 * 10**25
    assert strategy.calculate_interest_rates(drained.rate_inputs()).variable_borrow_rate == 81 * 10**25
    positions = await AaveV3Adapter(kit.deployment).positions(await kit.reader(client))
    tvl = next(p for p in positions if p.token == drained.asset and p.kind is BalanceKind.TVL)
    # TVL is what the aToken holds: nothing, all of it is lent out.
    assert tvl.amount == drained.available_liquidity == 0


async def test_a_feed_answering_zero(kit: AaveKit, client: ChainClient) -> None:
    kit.set_price("ETH/USD", 0)
    weth = await _reserve(kit, client, "WETH")
    assert weth.price is None
    assert weth.price_error is not None
    assert "feed answers 0 or less and there is no fallback oracle" in weth.price_error
    # TVL needs no price: still read.
    positions = await AaveV3Adapter(kit.deployment).positions(await kit.reader(client))
    assert len(positions) == 2 * sum(len(m.reserves) for m in AAVE_MARKETS)
    # A position holding WETH cannot be valued: a clear error naming the asset, as the Pool itself reverts.
    with pytest.raises(AaveError, match="no oracle price for WETH"):
        await scan_accounts(await kit.reader(client), AaveMarket.of(kit.deployment), [kit.sender.accounts[1]])


def test_a_feed_answering_zero_in_the_cli(kit: AaveKit, cli: CliRunner, devnet_home: Path) -> None:  # noqa: F811
    kit.set_price("ETH/USD", 0)
    result = cli.invoke(app, ["risk", "liquidations", "--protocol", "aave-v3", "--asset", "WBTC", "--json"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    # Every seeded borrower whose position holds WETH (as collateral or debt) cannot be valued: listed, with
    # the reason, and in no figure; the others are valued as usual.
    users = [(m.name, u) for m in AAVE_MARKETS for u in m.users if u.borrow]
    with_weth = {_address(kit, u) for _, u in users if "WETH" in {s for s, _ in (*u.supply, *u.borrow)}}
    assert {line.split()[1].rstrip(":") for line in doc["not_valued"]} == with_weth
    assert all("no oracle price for WETH" in line for line in doc["not_valued"])
    assert doc["positions"] == len(users) - len(with_weth)
    text = cli.invoke(app, ["risk", "liquidations", "--protocol", "aave-v3", "--asset", "WBTC"])
    assert f"not valued ({len(with_weth)}, left out of the figures above)" in text.stdout


def _address(kit: AaveKit, user: SeedUser) -> str:
    return kit.sender.accounts[user.account] if user.account is not None else seed_address(user.name)


async def test_a_stale_feed_is_flagged_but_still_used(kit: AaveKit, client: ChainClient) -> None:
    feed = kit.feed("ETH/USD")
    answer, stamp = kit.price("ETH/USD"), kit.now() - 2 * 86_400  # two days old: ETH/USD's heartbeat is 1 h
    kit.sender.send(feed.functions.updateRoundData(feed.functions.latestRound().call() + 1, answer, stamp, stamp))
    reserves = {r.symbol: r for r in await AaveMarket.of(kit.deployment).reserves(await kit.reader(client))}
    now = kit.now()
    assert reserves["WETH"].price_updated_at == stamp
    assert reserves["WETH"].price_stale(now, max_age=3_600)
    assert not reserves["USDC"].price_stale(now, max_age=3_600)
    assert reserves["WETH"].tokens.price_source == kit.deployment.feeds["ETH/USD"].address
    # AaveOracle reads latestAnswer without a freshness check: the Pool keeps using the stale price.
    assert reserves["WETH"].price == answer
    accounts = list(kit.sender.accounts[1:4])
    reader = await kit.reader(client)
    ours = await scan_accounts(reader, AaveMarket.of(kit.deployment), accounts)
    assert [p.data for p in ours] == await pool_account_data(reader, kit.deployment.contract("AaveV3Pool"), accounts)
