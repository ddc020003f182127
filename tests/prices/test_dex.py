"""DEX prices from pools created in the test through the real Uniswap V3 contracts."""

from __future__ import annotations

from decimal import Decimal, localcontext
from fractions import Fraction

import pytest
from web3.contract import Contract

from defiscope.chain.client import ChainClient
from defiscope.prices.aggregator import PriceAggregator
from defiscope.prices.base import TokenRef
from defiscope.prices.dex import core_usd, to_decimal, twap_tick, usd_price, v3_raw_price
from defiscope.protocols.uniswap.math.tick_math import get_sqrt_ratio_at_tick
from tests.prices.kit import Kit

FEE = 3000
NEW_USD = Fraction(5, 2)  # the new token starts at $2.50


def new_token_pool(kit: Kit, weth_amount: int) -> tuple[TokenRef, Contract]:
    """A fresh 18-decimal token with one full-range 0.3 % pool against WETH holding `weth_amount` wei."""
    token = kit.new_token("NEW", 18, 10**30)
    weth = kit.ref("WETH").address
    pool = kit.v3_pool(token.address, weth, FEE, NEW_USD, Fraction(3000), 18, 18, weth_amount)
    return TokenRef(1, token.address, "NEW", 18), pool


def price_at_tick(tick: int, token: TokenRef, kit: Kit) -> Decimal:
    raw = v3_raw_price(
        get_sqrt_ratio_at_tick(tick), token_is_token0=int(token.address, 16) < int(kit.ref("WETH").address, 16)
    )
    return usd_price(raw, token_decimals=18, core_decimals=18, core_usd=Decimal(3000))


async def test_new_token_priced_from_its_twap(client: ChainClient, kit: Kit) -> None:
    new, pool = new_token_pool(kit, 1000 * 10**18)  # $3M of WETH: a deep pool
    kit.grow_observations(pool, 50)
    kit.advance(3600)
    kit.refresh_feeds()
    batcher = await kit.batcher(client)
    decision = (await PriceAggregator(kit.deployment).prices(batcher, [new]))[new.address]
    quote = decision.quote
    assert quote is not None
    assert decision.flags == ()
    assert quote.source == f"uniswap-v3:{pool.address}:twap1800"
    assert quote.confidence == 0.9
    _, tick = kit.pool_state(pool)
    assert quote.usd == price_at_tick(tick, new, kit)  # no swaps: the 30-minute mean tick is today's tick
    assert abs(quote.usd - Decimal("2.5")) / Decimal("2.5") < Decimal("0.0001")  # within one tick (1 bp)
    weth_in_pool = kit.token(kit.ref("WETH").address).functions.balanceOf(pool.address).call()
    assert quote.liquidity_usd == to_decimal(Fraction(weth_in_pool, 10**18) * 3000)
    assert Decimal(2_999_999) < quote.liquidity_usd <= Decimal(3_000_000)


async def test_one_big_swap_moves_spot_not_the_twap(client: ChainClient, kit: Kit) -> None:
    new, pool = new_token_pool(kit, 1000 * 10**18)
    kit.grow_observations(pool, 50)
    kit.advance(3600)
    kit.refresh_feeds()
    _, tick_before = kit.pool_state(pool)
    before = price_at_tick(tick_before, new, kit)

    # Buy NEW with 800 WETH: the pool holds 1000, so its spot price of NEW more than triples.
    receipt = kit.swap_exact_in(kit.ref("WETH").address, new.address, FEE, 800 * 10**18)
    swapped_at = kit.block_time(receipt)
    kit.advance(12)  # one block later
    kit.refresh_feeds()
    sqrt_after, tick_after = kit.pool_state(pool)
    spot_after = usd_price(
        v3_raw_price(sqrt_after, token_is_token0=int(new.address, 16) < int(kit.ref("WETH").address, 16)),
        token_decimals=18,
        core_decimals=18,
        core_usd=Decimal(3000),
    )
    assert spot_after / before > Decimal("3.2")

    batcher = await kit.batcher(client)
    quote = (await PriceAggregator(kit.deployment).prices(batcher, [new]))[new.address].quote
    assert quote is not None
    assert quote.source.endswith(":twap1800")
    # The mean over 30 minutes: the old tick until the swap, the new one for the seconds since.
    since = batcher.block.timestamp - swapped_at
    expected_tick = (tick_before * (1800 - since) + tick_after * since) // 1800
    assert quote.usd == price_at_tick(expected_tick, new, kit)
    moved = abs(quote.usd - before) / before
    assert 0 < moved < Decimal("0.02")  # it moved a little (seconds of a 3x price), less than the tolerance
    assert (await PriceAggregator(kit.deployment).prices(batcher, [new]))[new.address].flags == ()


async def test_young_oracle_falls_back_to_spot(client: ChainClient, kit: Kit) -> None:
    new, pool = new_token_pool(kit, 1000 * 10**18)  # just created: observe([1800, 0]) reverts "OLD"
    batcher = await kit.batcher(client)
    decision = (await PriceAggregator(kit.deployment).prices(batcher, [new]))[new.address]
    assert decision.quote is not None
    assert decision.quote.source == f"uniswap-v3:{pool.address}:spot"
    assert decision.quote.confidence == 0.6
    sqrt_price, _ = kit.pool_state(pool)
    token_is_token0 = int(new.address, 16) < int(kit.ref("WETH").address, 16)
    expected = usd_price(
        v3_raw_price(sqrt_price, token_is_token0=token_is_token0),
        token_decimals=18,
        core_decimals=18,
        core_usd=Decimal(3000),
    )
    assert decision.quote.usd == expected
    assert abs(expected - Decimal("2.5")) < Decimal("1e-20")  # spot is the initialized price


async def test_thin_pool_is_ignored(client: ChainClient, kit: Kit) -> None:
    new, pool = new_token_pool(kit, 2 * 10**18)  # $6,000 of WETH: below the $10,000 floor
    batcher = await kit.batcher(client)
    decision = (await PriceAggregator(kit.deployment).prices(batcher, [new]))[new.address]
    assert decision.quote is None
    assert decision.reason == (
        "chainlink: no Chainlink route for NEW; "
        f"dex: uniswap-v3:{pool.address}:spot: WETH side $6,000 below the $10,000 floor; "
        "derived: NEW is neither a known wrapper nor a pair of a known V2 factory"
    )


def test_twap_tick_rounds_toward_negative_infinity() -> None:
    assert twap_tick([0, 1800 * 7], 1800) == 7
    assert twap_tick([0, 1800 * 7 + 1], 1800) == 7
    assert twap_tick([0, -1800 * 7], 1800) == -7
    assert twap_tick([0, -1800 * 7 - 1], 1800) == -8  # OracleLibrary.consult steps down
    assert twap_tick([100, 100 - 1], 1800) == -1


@pytest.mark.parametrize("tick", [-887272, -200_000, -1, 0, 1, 60, 196_256, 500_000, 887_272])
def test_tick_price_matches_the_power_of_1_0001(tick: int) -> None:
    with localcontext(prec=60):
        exact = Decimal("1.0001") ** tick
        sqrt_ratio = get_sqrt_ratio_at_tick(tick)
        ours = Decimal(sqrt_ratio) ** 2 / Decimal(2**192)
        # Rounding sqrtPriceX96 to an integer costs at most 2 / sqrtPriceX96 relative (4e-10 at MIN_TICK,
        # below 1e-23 near tick 0), plus the constants' own error (6e-20 at MAX_TICK): far below a tick (1e-4).
        assert abs(ours / exact - 1) < Decimal(4) / sqrt_ratio + Decimal("1e-18")


def test_core_side_value() -> None:
    assert core_usd(2 * 10**18, 18, Decimal(3000)) == Decimal(6000)
