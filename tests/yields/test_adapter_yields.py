"""Adapters' yields on the seeded devnet equal the contracts' own rate views at the same block, exactly,
and reading them costs no extra request: they share the positions' batches."""

from __future__ import annotations

import asyncio
from decimal import Decimal, localcontext
from fractions import Fraction

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.devnet.aave import AAVE_MARKETS
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.aave.adapter import AaveV3Adapter
from defiscope.protocols.aave.market import GET_RESERVE_DATA, GET_RESERVES_LIST
from defiscope.protocols.base import Adapter, AdapterResult
from defiscope.protocols.compound.v2 import CompoundV2Adapter
from defiscope.protocols.compound.v3 import CompoundV3Adapter
from defiscope.protocols.yields import Yield, YieldKind

RAY, WAD = 10**27, 10**18
#: Ethereum's blocks a year since the merge (12 s): what Compound V2's per-block rates are paid over.
BLOCKS_PER_YEAR, SECONDS_PER_YEAR = 2_628_000, 31_536_000


def compounded(per_period: Fraction, periods: int) -> Decimal:
    """(1 + r) ** n - 1 at 50 digits, r the per-period rate: the APY written out independently."""
    with localcontext() as ctx:
        ctx.prec = 50
        return (1 + Decimal(per_period.numerator) / Decimal(per_period.denominator)) ** periods - 1


def by_key(rows: tuple[Yield, ...]) -> dict[tuple[str, YieldKind], Yield]:
    return {(y.market if y.protocol != "aave-v3" else y.asset, y.kind): y for y in rows}


async def _read_all(adapters: list[Adapter], batcher: Batcher) -> list[AdapterResult]:
    return list(await asyncio.gather(*(a.read(batcher.reader(a.info.slug)) for a in adapters)))


async def test_lending_yields_equal_the_contract_views(eth_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    aave, v2, v3 = AaveV3Adapter(deployment), CompoundV2Adapter(deployment), CompoundV3Adapter(deployment)
    pool = eth_chain.contracts["AaveV3Pool"]
    ctokens = {k: a for k, a in eth_chain.contracts.items() if k.startswith("CompoundV2cToken:")}
    comets = {k.split(":")[1]: a for k, a in eth_chain.contracts.items() if k.startswith("CompoundV3Comet:")}
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        snapshot = await client.snapshot()
        await _read_all([aave, v2, v3], Batcher(snapshot))  # discovery (first sight of markets) done
        batcher = Batcher(snapshot)
        aave_r, v2_r, v3_r = await _read_all([aave, v2, v3], batcher)
        flushes_with_yields = batcher.flushes
        plain = Batcher(snapshot)
        await asyncio.gather(*(a.positions(plain.reader(a.info.slug)) for a in (aave, v2, v3)))
        # The contracts' own views, at the same pinned block.
        (assets,) = [r.one() for r in await snapshot.call_many([Call.of(pool, GET_RESERVES_LIST)])]
        views = [
            r.unwrap()
            for r in await snapshot.call_many(
                [Call.of(pool, GET_RESERVE_DATA, a) for a in assets]
                + [Call.of(c, f"{s}RatePerBlock()(uint256)") for c in ctokens.values() for s in ("supply", "borrow")]
                + [Call.of(c, "getUtilization()(uint256)") for c in comets.values()]
            )
        ]
        utilizations = [u for (u,) in views[-len(comets) :]]
        comet_views = [
            r.one()
            for r in await snapshot.call_many(
                [
                    Call.of(c, f"get{s}Rate(uint256)(uint64)", u)
                    for c, u in zip(comets.values(), utilizations, strict=True)
                    for s in ("Supply", "Borrow")
                ]
            )
        ]
    assert flushes_with_yields == plain.flushes  # yields ride in the positions' batches

    # Aave: APR = getReserveData's currentLiquidityRate / currentVariableBorrowRate in ray, to the digit.
    # One row per reserve and kind in every market; Core's (this Pool's) checked against its views.
    assert len(aave_r.yields) == 2 * sum(len(m.reserves) for m in AAVE_MARKETS)
    aave_rows = by_key(tuple(y for y in aave_r.yields if y.market == pool))
    assert len(aave_rows) == 2 * len(assets)
    for asset, (data,) in zip(assets, views[: len(assets)], strict=True):
        liquidity_rate, borrow_rate = data[2], data[4]
        supply, borrow = aave_rows[(asset, YieldKind.SUPPLY)], aave_rows[(asset, YieldKind.BORROW)]
        assert (supply.apr, borrow.apr) == (Decimal(liquidity_rate).scaleb(-27), Decimal(borrow_rate).scaleb(-27))
        assert supply.apy == compounded(Fraction(liquidity_rate, RAY * SECONDS_PER_YEAR), SECONDS_PER_YEAR)
        assert borrow.apy == compounded(Fraction(borrow_rate, RAY * SECONDS_PER_YEAR), SECONDS_PER_YEAR)
        assert supply.market == pool
    assert any(y.apr > 0 for y in aave_r.yields)

    # Compound V2: per-block rates x 2,628,000 blocks a year; APY compounded per block.
    v2_rows = by_key(v2_r.yields)
    rates = views[len(assets) : -len(comets)]
    for i, ctoken in enumerate(ctokens.values()):
        (supply_pb,), (borrow_pb,) = rates[2 * i], rates[2 * i + 1]
        assert v2_rows[(ctoken, YieldKind.SUPPLY)].apr == Decimal(supply_pb * BLOCKS_PER_YEAR).scaleb(-18)
        assert v2_rows[(ctoken, YieldKind.BORROW)].apr == Decimal(borrow_pb * BLOCKS_PER_YEAR).scaleb(-18)
        assert v2_rows[(ctoken, YieldKind.BORROW)].apy == compounded(Fraction(borrow_pb, WAD), BLOCKS_PER_YEAR)
        assert borrow_pb > supply_pb > 0
    assert {y.symbol for y in v2_r.yields} == {"WETH", "USDC", "DAI", "WBTC"}

    # Compound III, every Comet: getSupplyRate / getBorrowRate at getUtilization, per second x seconds a year.
    v3_rows = by_key(v3_r.yields)
    assert len(v3_rows) == 2 * len(comets) >= 8
    for i, (base, comet) in enumerate(comets.items()):
        supply_ps, borrow_ps = comet_views[2 * i], comet_views[2 * i + 1]
        assert v3_rows[(comet, YieldKind.SUPPLY)].apr == Decimal(supply_ps * SECONDS_PER_YEAR).scaleb(-18)
        assert v3_rows[(comet, YieldKind.BORROW)].apr == Decimal(borrow_ps * SECONDS_PER_YEAR).scaleb(-18)
        assert v3_rows[(comet, YieldKind.SUPPLY)].apy == compounded(Fraction(supply_ps, WAD), SECONDS_PER_YEAR)
        assert borrow_ps > supply_ps > 0, base
        assert v3_rows[(comet, YieldKind.SUPPLY)].symbol == base
