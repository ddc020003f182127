"""The Compound V2 and Compound III adapters on the seeded devnet: exact balances, one batch each.

Maker's: tests/protocols/maker/test_devnet.py."""

from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal

import pytest

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.deployments.mainnet import mainnet
from defiscope.devnet.compound import COMETS, V2_USERS
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.spec import ETHEREUM, PROTOCOL_TOKENS
from defiscope.devnet.world import DevnetChain
from defiscope.prices.derivatives import DerivativeSource
from defiscope.prices.quote import PriceQuote
from defiscope.prices.wrappers import compound_rules, known_rules, maker_rules
from defiscope.protocols.base import AdapterError, BalanceKind
from defiscope.protocols.compound.registry import compound_maker_adapters
from defiscope.protocols.compound.v2 import CompoundV2Adapter
from defiscope.protocols.compound.v3 import CometAssets, CompoundV3Adapter
from defiscope.protocols.registry import adapters_for, known_protocols
from tests.protocols.compound.kit import Lab, borrowed, held

E18, E6, E8 = 10**18, 10**6, 10**8
#: Every Comet's seed users: what they supplied minus what they borrowed is, token by token, what the
#: Comets hold together (each base is lent by one Comet only).
COMET_USERS = tuple(u for c in COMETS for u in c.users)


def units(symbol: str, whole: int) -> int:
    decimals = PROTOCOL_TOKENS[1].get(symbol)  # wstETH comes from the Lido deploy step, not the spec's tokens
    return whole * 10 ** (ETHEREUM.token(symbol).decimals if decimals is None else decimals)


def usd(amounts: Mapping[str, int]) -> Decimal:
    """Whole tokens at the devnet's spec prices (WETH $3,000, WBTC $100,000, stables $1)."""
    return sum((Decimal(whole) * Decimal(ETHEREUM.token(s).usd.numerator) / ETHEREUM.token(s).usd.denominator
                for s, whole in amounts.items()), Decimal(0))  # fmt: skip


def totals(positions: list, kind: BalanceKind) -> dict[str, int]:  # type: ignore[type-arg]
    out: dict[str, int] = {}
    for p in positions:
        if p.kind == kind:
            out[p.token] = out.get(p.token, 0) + p.amount
    return out


async def test_adapters_read_exact_balances(eth_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    t = {s: deployment.token(s).address for s in ("WETH", "USDC", "USDT", "DAI", "WBTC", "wstETH", "LINK", "UNI")}
    v2, v3 = CompoundV2Adapter(deployment), CompoundV3Adapter(deployment)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        batcher = Batcher(await client.snapshot())
        r2, r3 = [await a.read(batcher.reader(a.info.slug)) for a in (v2, v3)]
        borrows = await Lab.connect(eth_chain).values(
            [
                Call.of(eth_chain.contracts[f"CompoundV2cToken:{s}"], "totalBorrows()(uint256)")
                for s in ("WETH", "USDC", "DAI", "WBTC")
            ]
            + [Call.of(eth_chain.contracts[f"CompoundV3Comet:{c.base}"], "totalBorrow()(uint256)") for c in COMETS]
        )
    # Compound V2: cash = supplied - lent out; borrowed = totalBorrows (seeded amounts plus accrued interest).
    assert totals(list(r2.positions), BalanceKind.TVL) == {t[s]: units(s, w) for s, w in held(V2_USERS).items()}
    assert list(totals(list(r2.positions), BalanceKind.BORROWED).values()) == borrows[:4]
    lent = borrowed(V2_USERS)
    assert units("WETH", lent["WETH"]) <= borrows[0] < units("WETH", lent["WETH"]) * 1001 // 1000
    assert units("DAI", lent["DAI"]) <= borrows[2] < units("DAI", lent["DAI"]) * 1001 // 1000
    assert set(v2.receipt_tokens()) == {
        eth_chain.contracts[f"CompoundV2cToken:{s}"] for s in ("WETH", "USDC", "DAI", "WBTC")
    }
    # Comets: each base supplied - lent out is held, collateral as seeded; one borrowed figure per base.
    comet_tvl = totals(list(r3.positions), BalanceKind.TVL)
    assert {k: v for k, v in comet_tvl.items() if v} == {t[s]: units(s, w) for s, w in held(COMET_USERS).items()}
    assert {k for k, v in comet_tvl.items() if not v} == {t["LINK"], t["UNI"]}  # cUSDTv3 lists them, unused
    assert totals(list(r3.positions), BalanceKind.BORROWED) == {
        t[c.base]: b for c, b in zip(COMETS, borrows[4:], strict=True)
    }
    for comet, total_borrow in zip(COMETS, borrows[4:], strict=True):
        comet_lent = units(comet.base, borrowed(comet.users)[comet.base])
        assert comet_lent <= total_borrow < comet_lent * 1001 // 1000, comet.base
    # Each adapter's reads are recorded for provenance.
    assert [c.function for c in r2.calls[:1]] == ["getAllMarkets()"]


async def test_registry_and_pricing_rules(eth_chain: DevnetChain, bnb_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    slugs = [a.info.slug for a in compound_maker_adapters(deployment)]
    assert slugs == ["compound-v2", "compound-v3", "makerdao"]
    assert {"compound-v2", "compound-v3", "makerdao"} <= {a.info.slug for a in adapters_for(deployment)}
    assert {"compound-v2", "compound-v3", "makerdao"} <= set(known_protocols())
    assert compound_maker_adapters(devnet_deployment(bnb_chain)) == []  # Ethereum only
    # cTokens are valued through exchangeRateStored; Maker's DAI 1:1 as the registry DAI.
    rules = compound_rules(deployment)
    assert [(r.label, r.scale) for r in rules] == [
        ("cWETH->WETH", 10**28),
        ("cUSDC->USDC", 10**16),
        ("cDAI->DAI", 10**28),
        ("cWBTC->WBTC", 10**18),
    ]
    assert [r.label for r in maker_rules(deployment)] == ["MakerDAI->DAI"]
    assert set(rules) <= set(known_rules(deployment))
    assert maker_rules(mainnet(1)) == []
    assert len(compound_rules(mainnet(1))) == 5
    usdc = deployment.token("USDC")
    cusdc = next(r for r in rules if r.label == "cUSDC->USDC")
    source = DerivativeSource(deployment, rules)
    from defiscope.prices.base import TokenRef

    refs = {
        cusdc.token: TokenRef(1, cusdc.token, "cUSDC", 8),
        usdc.address: TokenRef(1, usdc.address, "USDC", 6),
    }
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        batcher = Batcher(await client.snapshot())
        book = await source.observe(batcher.reader("prices"), [refs[cusdc.token]])
        rate = await Lab.connect(eth_chain).values([Call.of(cusdc.token, "exchangeRateStored()(uint256)")])
    one = PriceQuote(
        chain_id=1, token=usdc.address, usd=Decimal(1), source="t", timestamp=0, confidence=1.0, block_number=0
    )
    answer = source.quote(book, refs, {usdc.address: one}, 1)[cusdc.token]
    assert isinstance(answer, PriceQuote)
    assert answer.usd == Decimal(rate[0]) / Decimal(10**16)  # ~0.02 USDC per cUSDC, grown by interest
    assert Decimal("0.02") < answer.usd < Decimal("0.0201")


async def test_adapter_fails_loudly_on_a_wrong_address(eth_chain: DevnetChain) -> None:
    from dataclasses import replace

    deployment = devnet_deployment(eth_chain)
    broken = replace(
        deployment, contracts={**deployment.contracts, "CompoundV2Comptroller": eth_chain.contracts["Reverter"]}
    )
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        batcher = Batcher(await client.snapshot())
        with pytest.raises(AdapterError, match=r"compound-v2: .*getAllMarkets"):
            await CompoundV2Adapter(broken).positions(batcher.reader("x"))


async def test_tvl_engine_prices_every_position(eth_chain: DevnetChain) -> None:
    from defiscope.prices.aggregator import PriceAggregator
    from defiscope.tvl.engine import TvlEngine

    deployment = devnet_deployment(eth_chain)
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        engine = TvlEngine(client, deployment, compound_maker_adapters(deployment), PriceAggregator(deployment))
        result = await engine.snapshot()
    assert result.failures == ()
    by_slug = {s.slug: s for s in result.snapshots}
    assert all(s.unpriced == () for s in by_slug.values())
    # USD at the devnet feeds: WETH $3,000, WBTC $100,000, stables $1.
    assert by_slug["compound-v2"].total(BalanceKind.TVL) == usd(held(V2_USERS))
    # wstETH is priced by the aggregator's own route (through stETH), about $3,596.
    wsteth = result.prices[deployment.token("wstETH").address].quote
    assert wsteth is not None
    v3_tvl = by_slug["compound-v3"].total(BalanceKind.TVL)
    comet = held(COMET_USERS)
    wsteth_held = comet.pop("wstETH")
    assert v3_tvl == usd(comet) + wsteth_held * wsteth.usd
    # The seeded loans plus the interest accrued while seeding (well under 0.1 %).
    lent = usd(borrowed(V2_USERS))
    assert lent < by_slug["compound-v2"].total(BalanceKind.BORROWED) < lent * Decimal("1.001")


async def test_comet_collateral_listed_later_is_learnt(eth_chain: DevnetChain) -> None:
    """Governance lists new collateral on mainnet Comets: an adapter that learnt a shorter list (as before a
    listing) sees numAssets grow and reads the new assets, in one more round only then."""
    deployment = devnet_deployment(eth_chain)
    comet = eth_chain.contracts["CompoundV3Comet:USDT"]
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        snapshot = await client.snapshot()
        fresh = CompoundV3Adapter(deployment)
        expected = await fresh.positions(Batcher(snapshot).reader("fresh"))
        stale = CompoundV3Adapter(deployment)
        stale.assets = dict(fresh.assets)
        full = fresh.assets[comet]
        stale.assets[comet] = CometAssets(full.base, full.collateral[:2])  # WETH, WBTC; then wstETH, LINK, UNI
        batcher = Batcher(snapshot)
        found = await stale.positions(batcher.reader("stale"))
        rounds = batcher.flushes
        again = Batcher(snapshot)
        assert await stale.positions(again.reader("again")) == expected
    assert found == expected
    assert stale.assets[comet] == full
    assert len(full.collateral) == 5
    assert again.flushes == 1 < rounds  # learnt: back to one batch
