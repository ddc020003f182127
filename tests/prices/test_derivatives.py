"""Wrapped and LP tokens valued through their underlying, on the devnet."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.prices.aggregator import PriceAggregator
from defiscope.prices.base import PriceMiss, TokenRef
from defiscope.prices.derivatives import Claim, DerivativeSource, OneToOneRule, RateRule, lp_usd
from defiscope.prices.dex import to_decimal
from defiscope.prices.wrappers import known_rules
from tests.prices.kit import Kit

# A PriceFeed stands in for a wrapper whose rate is a view call on the token itself (as wstETH's
# stEthPerToken): `latestAnswer()` with 8 decimals is "underlying per token".
RATE = "latestAnswer()(int256)"


def wrapper(kit: Kit, rate: int, symbol: str) -> TokenRef:
    feed = kit.sender.deploy(contract_artifact("PriceFeed"), 8, f"{symbol} rate", rate)
    return TokenRef(1, feed.address, symbol, 18)


async def test_v2_lp_token_is_its_share_of_the_reserves(client: ChainClient, kit: Kit) -> None:
    weth, usdc = kit.ref("WETH"), kit.ref("USDC")
    pair_address = next(
        p.address
        for p in kit.chain.pools
        if p.dex == "uniswap-v2" and {p.token0, p.token1} == {weth.address, usdc.address}
    )
    pair = kit.sender.contract(npm_artifact("UniswapV2Pair"), pair_address)
    lp = TokenRef(1, pair_address, "UNI-V2", 18)

    batcher = await kit.batcher(client)
    before = client.rpc.total_requests()
    decision = (await PriceAggregator(kit.deployment).prices(batcher, [lp]))[lp.address]
    assert client.rpc.total_requests() - before == 2  # the LP's underlyings are registry tokens: no extra round

    r0, r1, _ = pair.functions.getReserves().call()
    supply = pair.functions.totalSupply().call()
    reserves = {pair.functions.token0().call(): r0, pair.functions.token1().call(): r1}
    by_hand = (
        Fraction(reserves[weth.address], 10**18) * 3000 + Fraction(reserves[usdc.address], 10**6) * 1
    ) / Fraction(supply, 10**18)
    assert decision.quote is not None
    assert decision.quote.usd == to_decimal(by_hand)
    assert decision.quote.source == "derived:UNI-V2->WETH+USDC" or decision.quote.source == "derived:UNI-V2->USDC+WETH"
    assert decision.quote.confidence == 0.99


async def test_rate_rules_chain_through_two_wrappers(client: ChainClient, kit: Kit) -> None:
    inner = wrapper(kit, 120_000_000, "wWETH")  # 1.2 WETH per token
    outer = wrapper(kit, 150_000_000, "wwWETH")  # 1.5 wWETH per token
    rules = (
        RateRule(inner.address, kit.ref("WETH").address, RATE, scale=10**8, label="wWETH->WETH"),
        RateRule(outer.address, inner.address, RATE, scale=10**8, label="wwWETH->wWETH"),
    )
    aggregator = PriceAggregator(kit.deployment, rules=rules)
    decisions = await aggregator.prices(await kit.batcher(client), [outer, inner])
    assert decisions[inner.address].quote is not None
    assert decisions[outer.address].quote is not None
    assert decisions[inner.address].quote.usd == Decimal("3600")
    assert decisions[outer.address].quote.usd == Decimal("5400")
    assert decisions[outer.address].quote.source == "derived:wwWETH->wWETH"


async def test_derivation_depth_is_limited(client: ChainClient, kit: Kit) -> None:
    chain = [wrapper(kit, 100_000_000, f"w{i}") for i in range(4)]
    underlyings = [kit.ref("WETH").address] + [t.address for t in chain[:-1]]
    rules = [RateRule(t.address, u, RATE, scale=10**8) for t, u in zip(chain, underlyings, strict=True)]
    decisions = await PriceAggregator(kit.deployment, rules=rules).prices(
        await kit.batcher(client), [chain[-1], chain[-2]]
    )
    assert decisions[chain[-2].address].quote is not None  # three hops from WETH: allowed
    assert decisions[chain[-2].address].quote.usd == Decimal("3000")
    last = decisions[chain[-1].address]
    assert last.quote is None
    assert last.reason is not None
    assert "nested deeper than 3 levels" in last.reason


async def test_one_to_one_rule_and_its_check(client: ChainClient, kit: Kit) -> None:
    a_token = kit.new_token("aUSDC", 6, 10**12)
    checked = kit.new_token("aDAI", 18, 10**24)
    rules = (
        OneToOneRule(a_token.address, kit.ref("USDC").address, check_call=None),
        OneToOneRule(checked.address, kit.ref("DAI").address),  # DevToken has no UNDERLYING_ASSET_ADDRESS()
    )
    refs = [TokenRef(1, a_token.address, "aUSDC", 6), TokenRef(1, checked.address, "aDAI", 18)]
    decisions = await PriceAggregator(kit.deployment, rules=rules).prices(await kit.batcher(client), refs)
    usdc = decisions[a_token.address].quote
    assert usdc is not None
    assert (usdc.usd, usdc.source) == (Decimal(1), "derived:aUSDC->USDC")
    dai = decisions[checked.address]
    assert dai.quote is None
    assert dai.reason is not None
    assert "derived: aDAI->DAI: UNDERLYING_ASSET_ADDRESS failed" in dai.reason


def test_lp_formula() -> None:
    # 10 WETH + 30,000 USDC backing 100 LP: $600 per LP
    assert lp_usd(
        reserves=(10 * 10**18, 30_000 * 10**6),
        decimals=(18, 6),
        prices=(Decimal(3000), Decimal(1)),
        total_supply=100 * 10**18,
        lp_decimals=18,
    ) == Decimal(600)


def test_known_rules_price_wsteth_through_steth_on_mainnet() -> None:
    from defiscope.deployments.mainnet import mainnet

    rule = known_rules(mainnet(1))[0]  # wstETH first; Compound's cTokens follow
    assert isinstance(rule, RateRule)
    assert (rule.token, rule.underlying, rule.rate_call, rule.scale) == (
        "0x7f39C581F595B53c5cb19bD0b3f8dA6c935E2Ca0",
        "0xae7ab96520DE3A18E5e111B5EaAb095312D7fE84",
        "stEthPerToken()(uint256)",
        10**18,
    )
    assert known_rules(mainnet(56)) == ()


async def test_a_token_found_not_to_be_a_pair_is_not_read_again_until_the_recheck(
    client: ChainClient, kit: Kit
) -> None:
    """Five reverting reads per unknown token per block were most of a block's calls at 50,000 pools: a token whose
    factory() is not a known V2 factory's is remembered as not a pair (a pair's factory never changes), with the same
    answer; it is asked again `recheck_blocks` later (a day of blocks by default), or at an older block."""
    plain = kit.new_token("PLAIN", 18, 10**24)
    pair_address = next(p.address for p in kit.chain.pools if p.dex == "uniswap-v2")
    tokens = [TokenRef(1, plain.address, "PLAIN", 18), TokenRef(1, pair_address, "UNI-V2", 18)]
    source = DerivativeSource(kit.deployment, recheck_blocks=3)

    async def observe(source: DerivativeSource, at: int) -> tuple[dict[str, Claim | PriceMiss], set[str]]:
        reader = Batcher(await client.snapshot(at)).reader("derived")
        book = await source.observe(reader, tokens)
        return book, {r.call.target for r in reader.records}

    first = (await client.block()).number
    book, read = await observe(source, first)
    not_a_pair = PriceMiss("derived", "PLAIN is neither a known wrapper nor a pair of a known V2 factory")
    assert book[plain.address] == not_a_pair
    assert isinstance(book[pair_address], Claim)
    assert read == {plain.address, pair_address}

    kit.advance(12)
    later, read = await observe(source, first + 1)
    assert read == {pair_address}  # the pair's state is read at every block, the plain token's no more
    assert later == (await observe(DerivativeSource(kit.deployment), first + 1))[0]  # as a fresh source answers

    _, read = await observe(source, first - 1)  # older than what showed it (the chain went back): asked again
    assert read == {plain.address, pair_address}
    _, read = await observe(source, first + 1)  # shown again at first - 1
    assert read == {pair_address}
    kit.sender.rpc("anvil_mine", [hex(4)])
    _, read = await observe(source, first + 2)  # within 3 blocks of first - 1
    assert read == {pair_address}
    _, read = await observe(source, first + 3)  # 4 blocks after: asked again
    assert read == {plain.address, pair_address}
