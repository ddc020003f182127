"""What differs between Pool versions, without a chain: which calls a reserve's snapshot makes (v3.0 vs v3.1+,
with or without a stable-debt token) and which reserves an e-mode covers (v3.0 configuration vs v3.2 bitmaps)."""

from __future__ import annotations

from defiscope.protocols.aave.market import (
    RAY,
    ZERO_ADDRESS,
    PoolVersion,
    Reserve,
    ReserveConfig,
    ReserveState,
    ReserveTokens,
)
from defiscope.protocols.aave.positions import EModeCategory, UserBalances, calculate_user_account_data

POOL = "0x87870Bca3F3fD6335C3F4ce8392D69350B4fA4E2"
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
A_TOKEN, V_TOKEN, S_TOKEN = ("0x" + c * 40 for c in "abc")


def _tokens(stable: str) -> ReserveTokens:
    return ReserveTokens(WETH, "WETH", A_TOKEN, stable, V_TOKEN, ZERO_ADDRESS)


def test_v3_0_reads_the_atokens_balance_and_the_stable_rate() -> None:
    version = PoolVersion(virtual_accounting=False)
    available = version.available_call(POOL, _tokens(S_TOKEN))
    assert (available.target, available.function.signature, available.args) == (WETH, "balanceOf(address)", (A_TOKEN,))
    stable = version.stable_call(_tokens(S_TOKEN))
    assert stable is not None
    assert stable.function.signature == "getTotalSupplyAndAvgRate()"


def test_v3_1_reads_the_virtual_balance_and_v3_2_no_stable_debt() -> None:
    v3_1 = PoolVersion(virtual_accounting=True)
    available = v3_1.available_call(POOL, _tokens(S_TOKEN))
    assert (available.target, available.function.signature) == (POOL, "getVirtualUnderlyingBalance(address)")
    stable = v3_1.stable_call(_tokens(S_TOKEN))
    assert stable is not None
    assert stable.function.signature == "totalSupply()"
    # v3.2+: no stable debt, even where getReserveData still names a (mock) stable-debt token.
    assert PoolVersion(virtual_accounting=True, emode_bitmaps=True).stable_call(_tokens(S_TOKEN)) is None
    # A reserve listed since v3.2 has none to read on any Pool.
    assert v3_1.stable_call(_tokens(ZERO_ADDRESS)) is None
    assert PoolVersion(virtual_accounting=False).stable_call(_tokens(ZERO_ADDRESS)) is None


def _reserve(asset: str, symbol: str, rid: int, threshold: int, decimals: int, emode: int, price: int) -> Reserve:
    config = ReserveConfig.from_bitmap(
        (threshold - 200) | threshold << 16 | 10500 << 32 | decimals << 48 | 1 << 56 | 1 << 58 | emode << 168
    )
    state = ReserveState(config, RAY, 0, RAY, 0, 0, 1_000, rid, A_TOKEN, ZERO_ADDRESS, V_TOKEN, ZERO_ADDRESS, 0, 0, 0)
    return Reserve(ReserveTokens(asset, symbol, A_TOKEN, ZERO_ADDRESS, V_TOKEN, ZERO_ADDRESS), state,
                   0, 0, 0, 0, 0, 0, price)  # fmt: skip


def test_emode_membership_by_configuration_before_v3_2_and_by_bitmap_after() -> None:
    # WETH (id 0) as collateral, USDC (id 1) borrowed; the user is in category 1 (threshold 93 %).
    weth = _reserve(WETH, "WETH", 0, 8300, 18, emode=1, price=3_000 * 10**8)
    usdc = _reserve(USDC, "USDC", 1, 8000, 6, emode=0, price=10**8)
    config = 1 << 1 | 1 << 2  # collateral on id 0, borrowing id 1
    balances = {0: UserBalances(scaled_a_token=10 * 10**18), 1: UserBalances(scaled_variable_debt=20_000 * 10**6)}
    category = EModeCategory(9000, 9300, 10100, ZERO_ADDRESS, "ETH correlated")
    common = {"config": config, "reserves": [weth, usdc], "balances": balances, "now": 1_000, "emode": 1}
    legacy, _ = calculate_user_account_data(**common, emode_category=category)  # type: ignore[arg-type]
    in_bitmap, _ = calculate_user_account_data(**common, emode_category=category, emode_collateral_bitmap=0b01)  # type: ignore[arg-type]
    # v3.2: the reserve's own e-mode bits no longer count; outside the bitmap, its own threshold applies.
    outside, _ = calculate_user_account_data(**common, emode_category=category, emode_collateral_bitmap=0b10)  # type: ignore[arg-type]
    collateral, debt = 30_000 * 10**8, 20_000 * 10**8
    assert legacy == in_bitmap
    assert legacy.current_liquidation_threshold == 9300
    assert legacy.health_factor == (collateral * 9300 + 5_000) // 10_000 * 10**18 // debt
    assert outside.current_liquidation_threshold == 8300
    assert outside.health_factor == (collateral * 8300 + 5_000) // 10_000 * 10**18 // debt
