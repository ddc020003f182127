"""Positions left out by rule: blacklisted tokens, and DefiLlama's long-tail rule for DEX pools."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

import pytest

from defiscope.chain.client import ChainClient
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.world import DevnetChain
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.base import BalanceKind, Position
from defiscope.protocols.uniswap.v2 import PANCAKESWAP_V2, V2Adapter
from defiscope.tvl.engine import TvlEngine
from defiscope.tvl.model import NotCountedCause, ProtocolSnapshot, exact_sum
from defiscope.tvl.policy import DOUBLED, LongTailPolicy, PolicyInputError, core_side, parse_policy

WETH, USDC, MEME, SCAM = ("0x" + c * 40 for c in "abcd")
CORE = {WETH, USDC}


def pool(holder: str, *sides: tuple[str, int]) -> list[Position]:
    return [Position(token, amount, holder=holder, label=f"pool {holder}") for token, amount in sides]


def test_a_pool_with_one_core_asset_counts_twice_its_core_side() -> None:
    positions = pool("p1", (WETH, 100), (MEME, 9_000))
    kept, left = core_side(positions, CORE, Fraction(1, 100))
    assert [(p.token, p.amount) for p in kept] == [(WETH, 100), (WETH, 100)]
    assert kept[1].label == "pool p1 (core side again, for its long-tail side)"
    assert [(item.position, item.cause, item.reason) for item in left] == [
        (positions[1], NotCountedCause.LONG_TAIL, DOUBLED)
    ]


def test_pools_with_two_core_assets_or_none_are_counted_as_they_are() -> None:
    positions = pool("p1", (WETH, 100), (USDC, 300)) + pool("p2", (MEME, 5), (SCAM, 7))
    assert core_side(positions, CORE, Fraction(1, 100)) == (positions, [])


def test_a_pool_under_the_floor_counts_its_core_side_once_and_leaves_the_rest() -> None:
    # The largest one-core pool of WETH holds 10_000; 99 is under 1 % of it, 100 is not.
    big = pool("big", (MEME, 1), (WETH, 10_000))
    small = pool("small", (WETH, 99), (SCAM, 10**30))
    edge = pool("edge", (WETH, 100), (SCAM, 5))
    kept, left = core_side(big + small + edge, CORE, Fraction(1, 100))
    assert [(p.holder, p.token, p.amount) for p in kept] == [
        ("big", WETH, 10_000),  # in place of MEME
        ("big", WETH, 10_000),
        ("small", WETH, 99),
        ("edge", WETH, 100),
        ("edge", WETH, 100),
    ]
    assert [(item.position.holder, item.position.token) for item in left] == [
        ("big", MEME),
        ("small", SCAM),
        ("edge", SCAM),
    ]
    assert "under 1% of the largest pool's" in left[1].reason


def test_the_rule_applies_to_dexes_only_when_asked_and_the_blacklist_always() -> None:
    positions = pool("p1", (WETH, 100), (MEME, 9_000)) + pool("p2", (WETH, 1), (SCAM, 2))
    blacklist = {1: {SCAM: "the protocol's own token"}}
    off = LongTailPolicy(blacklist=blacklist)
    kept, left = off.apply(1, "Dexes", positions, core=CORE)
    assert [p.token for p in kept] == [WETH, MEME, WETH]
    assert [(item.position.token, item.cause, item.reason) for item in left] == [
        (SCAM, NotCountedCause.BLACKLISTED, "blacklisted: the protocol's own token")
    ]
    assert off.apply(56, "Dexes", positions, core=CORE) == (positions, [])  # another chain's list
    on = LongTailPolicy(blacklist=blacklist, defillama=True)
    assert on.apply(1, "Lending", positions[:2], core=CORE) == (positions[:2], [])
    kept, left = on.apply(1, "Dexes", positions, core=CORE)
    # The blacklisted side goes first; p2 is then a one-sided holder, kept as it is.
    assert [(p.token, p.amount) for p in kept] == [(WETH, 100), (WETH, 100), (WETH, 1)]
    assert [item.cause for item in left] == [NotCountedCause.BLACKLISTED, NotCountedCause.LONG_TAIL]


def test_the_config_table_is_checked() -> None:
    policy = parse_policy(
        {"long_tail": "defillama", "min_lp_ratio": 0.005, "blacklist": {"1": {SCAM.upper().replace("0X", "0x"): "x"}}},
        "[tvl]",
    )
    assert (policy.defillama, policy.min_lp_ratio, policy.blacklist) == (True, Fraction(1, 200), {1: {SCAM: "x"}})
    assert parse_policy({}, "[tvl]") == LongTailPolicy()
    for bad in (
        {"long_tail": "some"},
        {"min_lp_ratio": 2},
        {"min_lp_ratio": "x"},
        {"blacklist": {"one": {}}},
        {"blacklist": {"1": {"0x12": "why"}}},
        {"blacklist": {"1": {SCAM[2:]: "why"}}},
        {"blacklist": {"1": {SCAM: ""}}},
        {"core_assets": "WETH"},
        {"colour": "blue"},
    ):
        with pytest.raises(PolicyInputError, match=r"\[tvl\]"):
            parse_policy(bad, "[tvl]")


def test_methodology_text_carries_the_numbers() -> None:
    assert "1% of the largest" in " ".join(LongTailPolicy(defillama=True).describe())
    assert "off (default)" in LongTailPolicy().describe()[2]


async def _pancake(chain: DevnetChain, policy: LongTailPolicy | None) -> ProtocolSnapshot:
    deployment = devnet_deployment(chain)
    async with ChainClient.connect(56, [chain.rpc_url]) as client:
        engine = TvlEngine(
            client, deployment, [V2Adapter(deployment, PANCAKESWAP_V2)], PriceAggregator(deployment), policy=policy
        )
        (snap,) = (await engine.snapshot()).snapshots
    return snap


async def test_defillama_rule_on_the_devnet_values_cake_wbnb_as_twice_its_wbnb(bnb_chain: DevnetChain) -> None:
    everything = await _pancake(bnb_chain, None)
    ruled = await _pancake(bnb_chain, LongTailPolicy(defillama=True))
    cake, wbnb = bnb_chain.tokens["CAKE"], bnb_chain.tokens["WBNB"]
    (cake_pool,) = [p.address for p in bnb_chain.pools_of("pancakeswap-v2") if cake in (p.token0, p.token1)]
    assert everything.uncounted == ()
    (left,) = ruled.uncounted
    assert (left.token, left.holder, left.cause, left.reason) == (cake, cake_pool, NotCountedCause.LONG_TAIL, DOUBLED)
    held = {t.token: t for t in everything.tokens}
    assert left.amount == held[cake].amount
    assert left.value_usd == held[cake].value_usd
    assert cake not in {t.token for t in ruled.tokens}
    # The pool's WBNB side counts once more, in the CAKE side's place.
    ruled_wbnb = next(t for t in ruled.tokens if t.token == wbnb)
    extra = ruled_wbnb.amount - held[wbnb].amount
    assert extra > 0
    assert ruled_wbnb.value_usd is not None
    assert held[wbnb].value_usd is not None
    extra_usd = ruled_wbnb.value_usd - held[wbnb].value_usd
    cake_usd = held[cake].value_usd
    assert cake_usd is not None
    expected = exact_sum([everything.total(BalanceKind.TVL), -cake_usd, extra_usd])
    assert ruled.total(BalanceKind.TVL) == expected
    assert extra_usd > Decimal(0)


async def test_a_blacklisted_token_is_listed_with_its_amount_and_value(bnb_chain: DevnetChain) -> None:
    cake = bnb_chain.tokens["CAKE"]
    everything = await _pancake(bnb_chain, None)
    ruled = await _pancake(bnb_chain, LongTailPolicy(blacklist={56: {cake.lower(): "the protocol's own token"}}))
    held = {t.token: t for t in everything.tokens}
    (left,) = ruled.uncounted
    assert (left.token, left.cause, left.reason) == (
        cake,
        NotCountedCause.BLACKLISTED,
        "blacklisted: the protocol's own token",
    )
    assert (left.amount, left.value_usd) == (held[cake].amount, held[cake].value_usd)
    cake_usd = held[cake].value_usd
    assert cake_usd is not None
    assert ruled.total(BalanceKind.TVL) == everything.total(BalanceKind.TVL) - cake_usd
