"""Aave V3 account positions: collateral, debt and health factor from our own math, for many accounts.

``calculate_user_account_data`` ports ``GenericLogic.calculateUserAccountData`` and
``calculateAvailableBorrows`` (what ``Pool.getUserAccountData`` returns) exactly: per reserve the user
uses, the aToken balance is ``scaledBalanceOf x normalized income`` and the variable debt
``scaledBalanceOf x normalized debt``, valued at the oracle price (e-mode's price source when the user's
category has one), floored to the base currency (USD, 8 decimals). Scanning reads, for all accounts at
once, their configuration bitmaps and e-mode in one batch and then only the balances they use in a
second one: two Multicall3 batches for any number of accounts.

    scan = await scan_accounts(reader, market, accounts)       # list[AccountPosition]
    scan[0].data.health_factor                                  # wad; 2**256-1 without debt
    scan[0].to_risk()                                           # a lending.risk.Position

Accounts are discovered from the Pool's Supply and Borrow events (``onBehalfOf``), see `discover_accounts`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final

from eth_utils import to_checksum_address

from defiscope.chain.abi import Function
from defiscope.chain.client import ChainClient
from defiscope.chain.logs import topic_address
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Reader
from defiscope.protocols.aave.market import (
    BASE_UNIT,
    EMODE_COLLATERAL_BITMAP,
    GET_ASSET_PRICE,
    ZERO_ADDRESS,
    AaveError,
    AaveMarket,
    Reserve,
    ReserveTokens,
)
from defiscope.protocols.aave.rates import normalized_income, normalized_variable_debt
from defiscope.protocols.lending.rates import percent_mul, ray_mul, wad_div
from defiscope.protocols.lending.risk import Leg, Position, UnvaluedAccount
from defiscope.protocols.surface import event_topic

UINT256_MAX: Final = 2**256 - 1
#: The health factor below which a position can be liquidated: 1 in wad.
LIQUIDATION_HEALTH: Final = 10**18
USER_CONFIGURATION: Final = "getUserConfiguration(address)((uint256))"
USER_EMODE: Final = "getUserEMode(address)(uint256)"
EMODE_DATA: Final = "getEModeCategoryData(uint8)((uint16,uint16,uint16,address,string))"
EMODE_COLLATERAL_CONFIG: Final = "getEModeCategoryCollateralConfig(uint8)((uint16,uint16,uint16))"
SCALED_BALANCE: Final = "scaledBalanceOf(address)(uint256)"
BALANCE_OF: Final = "balanceOf(address)(uint256)"
ACCOUNT_DATA: Final = "getUserAccountData(address)(uint256,uint256,uint256,uint256,uint256,uint256)"
#: The Pool's Supply and Borrow events; both index ``onBehalfOf`` as topic 2.
SUPPLY_EVENT: Final = "Supply(address,address,address,uint256,uint16)"
BORROW_EVENT: Final = "Borrow(address,address,address,uint256,uint8,uint256,uint16)"
SUPPLY_TOPIC: Final = "0x" + event_topic(SUPPLY_EVENT).hex()
BORROW_TOPIC: Final = "0x" + event_topic(BORROW_EVENT).hex()


@dataclass(frozen=True, slots=True)
class AccountData:
    """``Pool.getUserAccountData``: base-currency amounts (USD, 8 decimals), ltv/threshold in bp, HF in wad."""

    total_collateral_base: int
    total_debt_base: int
    available_borrows_base: int
    current_liquidation_threshold: int
    ltv: int
    health_factor: int

    @property
    def liquidatable(self) -> bool:
        return self.health_factor < LIQUIDATION_HEALTH


EMPTY_ACCOUNT: Final = AccountData(0, 0, 0, 0, 0, UINT256_MAX)


@dataclass(frozen=True, slots=True)
class EModeCategory:
    """``DataTypes.EModeCategory``: risk parameters (bp) that replace the reserves' own in the category."""

    ltv: int
    liquidation_threshold: int
    liquidation_bonus: int
    price_source: str
    label: str


@dataclass(frozen=True, slots=True)
class UserBalances:
    """What a user holds of one reserve: scaled aToken and variable debt balances, and stable debt."""

    scaled_a_token: int = 0
    scaled_variable_debt: int = 0
    stable_debt: int = 0


@dataclass(frozen=True, slots=True)
class ReserveLeg:
    """One reserve of a position, valued in the base currency as the Pool values it."""

    symbol: str
    collateral_base: int  # 0 unless used as collateral (and its liquidation threshold is not 0)
    debt_base: int
    liquidation_threshold: int  # bp; e-mode's when the user's category applies


@dataclass(frozen=True, slots=True)
class AccountPosition:
    account: str
    emode: int
    data: AccountData
    legs: tuple[ReserveLeg, ...]

    def to_risk(self) -> Position:
        """The position for `lending.risk` (USD amounts; liquidation thresholds as collateral weights)."""
        return Position(
            self.account,
            tuple(
                Leg(leg.symbol, Fraction(leg.collateral_base, BASE_UNIT), Fraction(leg.liquidation_threshold, 10**4))
                for leg in self.legs
                if leg.collateral_base
            ),
            tuple(Leg(leg.symbol, Fraction(leg.debt_base, BASE_UNIT)) for leg in self.legs if leg.debt_base),
        )


def is_borrowing(config: int, reserve_id: int) -> bool:
    """``UserConfiguration.isBorrowing``: bit 2 * id."""
    return bool((config >> (reserve_id * 2)) & 1)


def is_collateral(config: int, reserve_id: int) -> bool:
    """``UserConfiguration.isUsingAsCollateral``: bit 2 * id + 1."""
    return bool((config >> (reserve_id * 2 + 1)) & 1)


def calculate_user_account_data(
    *,
    config: int,
    reserves: Sequence[Reserve],
    balances: Mapping[int, UserBalances],
    now: int,
    emode: int = 0,
    emode_category: EModeCategory | None = None,
    emode_price: int = 0,
    emode_collateral_bitmap: int | None = None,
) -> tuple[AccountData, tuple[ReserveLeg, ...]]:
    """``GenericLogic.calculateUserAccountData`` + ``calculateAvailableBorrows``, exactly.

    ``reserves`` in any order (each carries its id); ``balances`` by reserve id for the reserves the
    configuration marks; prices come from each reserve (``require_price`` fails clearly on a zero feed).
    The user's e-mode covers a reserve whose configuration names the category (v3.0/3.1), or, given
    ``emode_collateral_bitmap`` (v3.2+), whose id's bit is set there; only v3.0/3.1 categories price.
    """
    if config == 0:
        return EMPTY_ACCOUNT, ()
    total_collateral = total_debt = avg_ltv = avg_threshold = 0
    legs: list[ReserveLeg] = []
    for reserve in sorted(reserves, key=lambda r: r.state.id):
        rid = reserve.state.id
        borrowing, collateral = is_borrowing(config, rid), is_collateral(config, rid)
        if not (borrowing or collateral):
            continue
        cfg, state, held = reserve.config, reserve.state, balances.get(rid, UserBalances())
        if emode_collateral_bitmap is None:
            in_emode = emode != 0 and emode == cfg.emode_category
        else:
            in_emode = emode != 0 and bool((emode_collateral_bitmap >> rid) & 1)
        price = emode_price if emode_price != 0 and in_emode else reserve.require_price()
        ltv, threshold = cfg.ltv, cfg.liquidation_threshold
        if in_emode and emode_category is not None:
            ltv, threshold = emode_category.ltv, emode_category.liquidation_threshold
        collateral_base = debt_base = 0
        if cfg.liquidation_threshold != 0 and collateral:
            income = normalized_income(
                state.liquidity_index, state.current_liquidity_rate, state.last_update_timestamp, now
            )
            collateral_base = ray_mul(held.scaled_a_token, income) * price // reserve.unit
            total_collateral += collateral_base
            # The reserve's own LTV decides whether it counts (a zero-LTV asset never adds borrowing power).
            avg_ltv += collateral_base * ltv if cfg.ltv != 0 else 0
            avg_threshold += collateral_base * threshold
        if borrowing:
            debt = held.scaled_variable_debt
            if debt != 0:
                index = normalized_variable_debt(
                    state.variable_borrow_index, state.current_variable_borrow_rate, state.last_update_timestamp, now
                )
                debt = ray_mul(debt, index)
            debt_base = (debt + held.stable_debt) * price // reserve.unit
            total_debt += debt_base
        legs.append(ReserveLeg(reserve.symbol, collateral_base, debt_base, threshold))
    avg_ltv = avg_ltv // total_collateral if total_collateral else 0
    avg_threshold = avg_threshold // total_collateral if total_collateral else 0
    health = UINT256_MAX if total_debt == 0 else wad_div(percent_mul(total_collateral, avg_threshold), total_debt)
    borrowable = percent_mul(total_collateral, avg_ltv)
    available = 0 if borrowable < total_debt else borrowable - total_debt
    return AccountData(total_collateral, total_debt, available, avg_threshold, avg_ltv, health), tuple(legs)


# ---- scanning --------------------------------------------------------------------------------------


_CONFIGURATION_FN: Final = Function.parse(USER_CONFIGURATION)
_EMODE_FN: Final = Function.parse(USER_EMODE)
_SCALED_FN: Final = Function.parse(SCALED_BALANCE)
_BALANCE_FN: Final = Function.parse(BALANCE_OF)
_ACCOUNT_DATA_FN: Final = Function.parse(ACCOUNT_DATA)
#: A v3.2+ category: its (ltv, threshold, bonus), then the reserves it covers as collateral.
EMODE_GETTERS: Final = (EMODE_COLLATERAL_CONFIG, EMODE_COLLATERAL_BITMAP)


def _account_call(target: str, function: Function, account: str) -> Call:
    """``function(account)`` on ``target``, encoded by hand: the scan makes tens of thousands of these, and
    `Call.of` (checksumming every target, eth-abi encoding) would dominate its time. ``target`` comes from
    the chain (already checksummed)."""
    try:
        word = bytes(12) + bytes.fromhex(account.removeprefix("0x"))
    except ValueError:
        raise AaveError(f"aave-v3: {account!r} is not an address") from None
    if len(word) != 32:
        raise AaveError(f"aave-v3: {account!r} is not an address")
    return Call(target, function, (account,), function.selector + word)


def _value(result: CallResult, what: str) -> Any:
    if not result.success:
        raise AaveError(f"aave-v3: {what}: {result.call.describe()} failed: {result.error}")
    return result.one()


async def scan_accounts(
    reader: Reader, market: AaveMarket, accounts: Sequence[str], unvalued: list[UnvaluedAccount] | None = None
) -> list[AccountPosition]:
    """Positions of ``accounts`` at the reader's block: the reserves, then two batches for all accounts.

    An account using a reserve whose price cannot be read raises `AaveError`, or, given an ``unvalued`` list,
    is left out of the result and appended there with the reason."""
    reserves = await market.reserves(reader)
    by_id = {r.state.id: r for r in reserves}
    pool = to_checksum_address(market.pool)
    first = await reader.call_many(
        [c for a in accounts for c in (_account_call(pool, _CONFIGURATION_FN, a), _account_call(pool, _EMODE_FN, a))]
    )
    configs = [_value(first[2 * i], "user configuration")[0] for i in range(len(accounts))]
    emodes = [int(_value(first[2 * i + 1], "user e-mode")) for i in range(len(accounts))]
    used = [[rid for rid in by_id if (config >> (2 * rid)) & 3] for config in configs]
    categories = sorted({e for e in emodes if e})
    bitmaps = market.version is not None and market.version.emode_bitmaps

    def stable(tokens: ReserveTokens) -> bool:
        return not bitmaps and tokens.has_stable_debt_token

    per_category = 2 if bitmaps else 1
    if bitmaps:
        calls = [Call.of(market.pool, getter, e) for e in categories for getter in EMODE_GETTERS]
    else:
        calls = [Call.of(market.pool, EMODE_DATA, e) for e in categories]
    for account, ids in zip(accounts, used, strict=True):
        for rid in ids:
            tokens = by_id[rid].tokens
            calls += [
                _account_call(tokens.a_token, _SCALED_FN, account),
                _account_call(tokens.variable_debt_token, _SCALED_FN, account),
            ]
            # No stable debt since v3.2 (and reserves listed since have no stable-debt token at all).
            calls += [_account_call(tokens.stable_debt_token, _BALANCE_FN, account)] if stable(tokens) else []
    # v3.2+ e-modes are our port of a newer GenericLogic: the Pool's own figures check every account.
    checks = [_account_call(pool, _ACCOUNT_DATA_FN, a) for a in accounts] if bitmaps else []
    second = await reader.call_many([*calls, *checks])
    emode_data: dict[int, EModeCategory] = {}
    emode_bitmaps: dict[int, int] = {}
    for i, e in enumerate(categories):
        if bitmaps:
            (ltv, threshold, bonus) = _value(second[2 * i], f"e-mode category {e}")
            emode_data[e] = EModeCategory(ltv, threshold, bonus, ZERO_ADDRESS, "")
            emode_bitmaps[e] = int(_value(second[2 * i + 1], f"e-mode category {e} collateral bitmap"))
        else:
            emode_data[e] = EModeCategory(*_value(second[i], f"e-mode category {e}"))
    emode_prices = await _emode_prices(reader, market, emode_data)
    at = per_category * len(categories)
    positions: list[AccountPosition] = []
    for account, config, emode, ids in zip(accounts, configs, emodes, used, strict=True):
        balances: dict[int, UserBalances] = {}
        for rid in ids:
            count = 3 if stable(by_id[rid].tokens) else 2
            a, v, *s = (_value(r, "balance") for r in second[at : at + count])
            balances[rid] = UserBalances(a, v, s[0] if s else 0)
            at += count
        try:
            data, legs = calculate_user_account_data(
                config=config,
                reserves=reserves,
                balances=balances,
                now=reader.block.timestamp,
                emode=emode,
                emode_category=emode_data.get(emode),
                emode_price=emode_prices.get(emode, 0),
                emode_collateral_bitmap=emode_bitmaps.get(emode, 0) if bitmaps else None,
            )
        except AaveError as exc:
            if unvalued is None:
                raise
            borrowing = any(is_borrowing(config, rid) for rid in ids)
            unvalued.append(UnvaluedAccount(account, str(exc), borrowing))
            continue
        positions.append(AccountPosition(account, emode, data, legs))
    if checks:
        valued = {p.account for p in positions}
        results = second[len(second) - len(checks) :]
        _check_against_pool(market, positions, [r for a, r in zip(accounts, results, strict=True) if a in valued])
    return positions


def _check_against_pool(
    market: AaveMarket, positions: Sequence[AccountPosition], results: Sequence[CallResult]
) -> None:
    """Our figures must be the Pool's: a difference is an error naming the account, never a silent guess."""
    for position, result in zip(positions, results, strict=True):
        theirs = AccountData(*result.unwrap())
        if theirs != position.data:
            raise AaveError(
                f"aave-v3 {market.name}: account {position.account}: our port of the Pool's account math gives "
                f"{position.data}, the Pool's getUserAccountData {theirs}"
            )


async def _emode_prices(reader: Reader, market: AaveMarket, categories: Mapping[int, EModeCategory]) -> dict[int, int]:
    """An e-mode category with a price source prices all its assets with it (``EModeLogic``)."""
    sourced = {e: c.price_source for e, c in categories.items() if int(c.price_source, 16) != 0}
    if not sourced:
        return {}
    results = await reader.call_many([Call.of(market.oracle, GET_ASSET_PRICE, s) for s in sourced.values()])
    return {e: int(_value(r, f"e-mode {e} price")) for e, r in zip(sourced, results, strict=True)}


async def pool_account_data(reader: Reader, pool: str, accounts: Sequence[str]) -> list[AccountData]:
    """The Pool's own ``getUserAccountData`` for each account (one batch), to compare or as a fallback."""
    results = await reader.call_many([Call.of(pool, ACCOUNT_DATA, a) for a in accounts])
    return [AccountData(*r.unwrap()) for r in results]


async def discover_accounts(client: ChainClient, pool: str, from_block: int, to_block: int) -> list[str]:
    """Every ``onBehalfOf`` of the Pool's Supply and Borrow events in the range, first seen first."""
    logs = await client.get_logs(
        address=pool, topics=[[SUPPLY_TOPIC, BORROW_TOPIC]], from_block=from_block, to_block=to_block
    )
    found: dict[str, None] = {}
    for log in logs:
        found.setdefault(topic_address(log["topics"][2]), None)
    return list(found)
