"""Account positions from our own math equal `getUserAccountData`, as prices move and time passes."""

from __future__ import annotations

from fractions import Fraction

from defiscope.chain.client import ChainClient
from defiscope.devnet.aave import SEED_USERS, seed_address
from defiscope.protocols.aave.market import AaveMarket
from defiscope.protocols.aave.positions import (
    UINT256_MAX,
    AccountData,
    discover_accounts,
    pool_account_data,
    scan_accounts,
)
from tests.protocols.aave.kit import AaveKit, fresh_address


def _seeded(kit: AaveKit) -> set[str]:
    accounts = kit.sender.accounts
    return {accounts[u.account] if u.account is not None else seed_address(u.name) for u in SEED_USERS}


async def _scan_and_compare(kit: AaveKit, client: ChainClient, accounts: list[str]) -> dict[str, AccountData]:
    market = AaveMarket.of(kit.deployment)
    reader = await kit.reader(client)
    ours = await scan_accounts(reader, market, accounts)
    theirs = await pool_account_data(reader, market.pool, accounts)
    assert [p.data for p in ours] == theirs
    return {p.account: p.data for p in ours}


async def test_discovery_finds_every_seeded_account(kit: AaveKit, client: ChainClient) -> None:
    head = kit.sender.w3.eth.block_number
    found = await discover_accounts(client, kit.deployment.contract("AaveV3Pool"), 0, head)
    assert set(found) == _seeded(kit)


async def test_positions_equal_the_pool_as_prices_move(kit: AaveKit, client: ChainClient) -> None:
    accounts = [*sorted(_seeded(kit)), fresh_address("nobody")]
    before = await _scan_and_compare(kit, client, accounts)
    assert before[fresh_address("nobody")] == AccountData(0, 0, 0, 0, 0, UINT256_MAX)
    account1 = kit.sender.accounts[1]
    # 20 WETH at $3,000 against 48,200 USDC: HF = 60,000 x 0.83 / 48,200 (plus accrued interest).
    assert before[account1].total_collateral_base // 10**8 == 60_000
    assert 1_033_100_000_000_000_000 < before[account1].health_factor < 1_033_200_000_000_000_000

    kit.set_price("ETH/USD", 2_500 * 10**8)
    kit.set_price("BTC/USD", 91_234_567_89012)
    kit.set_price("WSTETH/USD", 2_999_99999999)
    kit.advance(45 * 86_400)
    after = await _scan_and_compare(kit, client, accounts)
    assert 50_000 <= after[account1].total_collateral_base // 10**8 < 50_100  # 45 days of supply interest
    assert after[account1].liquidatable
    assert not before[account1].liquidatable
    liquidatable = {a for a, d in after.items() if d.liquidatable}
    # ETH -16.7 %: every WETH-backed borrower with a health factor under 1.2 (accounts 1-4, four whales).
    whales = {seed_address(name) for name in ("eth long", "eth dai", "eth leverage", "eth dai 2")}
    assert liquidatable == {*kit.sender.accounts[1:5], *whales}


async def test_emode_positions(kit: AaveKit, client: ChainClient) -> None:
    configurator, admin = kit.configurator.functions, kit.pool_admin
    zero = "0x0000000000000000000000000000000000000000"
    kit.sender.send(configurator.setEModeCategory(1, 9_000, 9_300, 10_100, zero, "ETH correlated"), sender=admin)
    for symbol in ("WETH", "wstETH"):
        kit.sender.send(configurator.setAssetEModeCategory(kit.token(symbol).address, 1), sender=admin)
    user = kit.user("emode looper")
    kit.supply(user, "wstETH", 100 * 10**18)
    kit.sender.send(kit.pool.functions.setUserEMode(1), sender=user)
    kit.borrow(user, "WETH", 105 * 10**18)  # 87.5 % LTV: only possible in e-mode
    data = await _scan_and_compare(kit, client, [user])
    assert data[user].ltv == 9_000
    assert data[user].current_liquidation_threshold == 9_300


async def test_scan_is_two_batches_after_the_reserves(kit: AaveKit, client: ChainClient) -> None:
    market = AaveMarket.of(kit.deployment)
    reader = await kit.reader(client)
    await market.reserves(reader)
    before = reader.batcher.flushes
    positions = await scan_accounts(reader, market, sorted(_seeded(kit)))
    assert reader.batcher.flushes - before == 3  # reserves (one batch now), configurations, balances
    risk = {p.account: p.to_risk() for p in positions}
    account9 = risk[kit.sender.accounts[9]]
    assert [leg.asset for leg in account9.collateral] == ["WETH"]
    assert account9.collateral[0].weight == Fraction(8_300, 10_000)
    health = account9.health()
    assert health is not None
    assert abs(health - 4) < Fraction(1, 10_000)  # HF 4 at seeding, a little interest since
