"""The revenue knobs on the devnet: every fee-paying rate an adapter reads carries its market's share of the fees,
read in the rates' own batch at the same block; turning a knob on chain changes that share, and the revenue
computed from it, exactly."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from defiscope.analytics.grades.fees import fee_rate, revenue_rate
from defiscope.analytics.grades.figures import Stamp
from defiscope.analytics.grades.market import MemberSample, Rate
from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call, CallResult
from defiscope.chain.reader import Batcher
from defiscope.devnet.aave import AAVE_RESERVES, aave_artifact
from defiscope.devnet.aave_governance_v3 import pool_admin
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.compound import V2_MARKETS
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.pancake_v3 import PROTOCOL_FEES
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.aave.adapter import AaveV3Adapter
from defiscope.protocols.base import Adapter
from defiscope.protocols.compound.v2 import CompoundV2Adapter
from defiscope.protocols.compound.v3 import CompoundV3Adapter
from defiscope.protocols.curve.adapter import CurveAdapter
from defiscope.protocols.pancakeswap.v3 import PANCAKESWAP_V3
from defiscope.protocols.revenue import FeeShare, knob_share
from defiscope.protocols.uniswap.v2 import PANCAKESWAP_V2, UNISWAP_V2, V2Adapter
from defiscope.protocols.uniswap.v3 import V3Adapter
from defiscope.protocols.uniswap.v3_spec import UNISWAP_V3
from defiscope.protocols.yields import Yield, YieldKind
from tests.conftest import mine_later

FEE_PAYING = (YieldKind.BORROW, YieldKind.LP_FEE)


async def read_rates(chain: DevnetChain, adapters: Sequence[Adapter]) -> tuple[list[Yield], int]:
    """The adapters' rates at the head (one batcher, as the engine reads them) and the batcher's flushes."""
    async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
        batcher = Batcher(await client.snapshot())
        results = await asyncio.gather(*(a.read(batcher.reader(a.info.slug)) for a in adapters))
    return [y for r in results for y in r.yields], batcher.flushes


def shares(rows: Sequence[Yield], slug: str, kind: YieldKind) -> dict[tuple[str, str], FeeShare | None]:
    """(market, asset) -> the share the row carries."""
    return {(r.market, r.asset): r.fee_share for r in rows if (r.protocol, r.kind) == (slug, kind)}


def known(share: FeeShare | None) -> Fraction:
    """The share a row carries, which must have been read."""
    assert share is not None
    assert share.share is not None, share.source
    return share.share


def revenue_of(row: Yield, usd: Decimal) -> Decimal | None:
    """The grades' revenue of one rate on `usd` borrowed (a lending rate) or held (a pool)."""
    rate = Rate(row.market, row.asset, row.apr, row.apy, row.fee_share)
    tokens = ((row.asset.lower(), "borrowed", usd),) if row.kind is YieldKind.BORROW else ()
    sample = MemberSample(Stamp(0, 1, 1), usd, usd, tokens, {row.kind: (rate,)})
    return revenue_rate(row.protocol, sample, None).value


async def test_aave_reserve_factor_is_read_with_each_borrow_rate_and_moves_the_revenue(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    adapter = AaveV3Adapter(devnet_deployment(eth_chain))
    rows, _ = await read_rates(eth_chain, [adapter])
    found = shares(rows, "aave-v3", YieldKind.BORROW)
    pool = eth_chain.contracts["AaveV3Pool"]  # the Core market, whose reserves `AAVE_RESERVES` lists
    for reserve in AAVE_RESERVES:
        share = found[(pool, eth_chain.tokens[reserve.symbol])]
        assert known(share) == Fraction(reserve.reserve_factor, 10_000)
        assert f"= {reserve.reserve_factor} (of 10,000)" in share.source
    assert all(share is None for share in shares(rows, "aave-v3", YieldKind.SUPPLY).values())

    weth = eth_chain.tokens["WETH"]
    before = next(r for r in rows if (r.market, r.asset, r.kind) == (pool, weth, YieldKind.BORROW))
    configurator = sender.contract(
        aave_artifact("protocol/pool/PoolConfigurator"), eth_chain.contracts["AaveV3PoolConfigurator"]
    )
    admin = _as(sender, pool_admin(eth_chain.contracts))  # the level-1 executor, as on mainnet
    sender.send(configurator.functions.setReserveFactor(weth, 2_500), sender=admin)
    rows, _ = await read_rates(eth_chain, [adapter])
    after = next(r for r in rows if (r.market, r.asset, r.kind) == (pool, weth, YieldKind.BORROW))
    assert after.fee_share == FeeShare(Fraction(1, 4), after.fee_share.source if after.fee_share else "")
    usd = Decimal(1_000_000)
    for row in (before, after):
        share = known(row.fee_share)
        assert revenue_of(row, usd) == row.apr * share.numerator / share.denominator * usd


def _as(sender: Sender, address: str) -> str:
    """Impersonate `address` (a contract's owner, as a timelock would act) with gas money."""
    sender.rpc("anvil_impersonateAccount", [address])
    sender.rpc("anvil_setBalance", [address, hex(10**18)])
    return address


async def test_compound_reserve_factor_and_comet_spread_equal_the_contract_views(eth_chain: DevnetChain) -> None:
    deployment = devnet_deployment(eth_chain)
    rows, _ = await read_rates(eth_chain, [CompoundV2Adapter(deployment), CompoundV3Adapter(deployment)])
    v2 = shares(rows, "compound-v2", YieldKind.BORROW)
    for market in V2_MARKETS:
        ctoken = eth_chain.contracts[f"CompoundV2cToken:{market.symbol}"]
        [share] = [s for (m, _), s in v2.items() if m == ctoken]
        assert known(share) == Fraction(market.reserve_factor)
        assert share.source.startswith(f"{ctoken}.reserveFactorMantissa() = ")
    comets = {a for k, a in eth_chain.contracts.items() if k.startswith("CompoundV3Comet:")}
    v3 = shares(rows, "compound-v3", YieldKind.BORROW)
    assert {m for m, _ in v3} == comets
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
        snapshot = await client.snapshot()
        for (comet, _), share in v3.items():
            totals = await snapshot.call_many(
                [
                    Call.of(comet, s)
                    for s in ("getUtilization()(uint256)", "totalSupply()(uint256)", "totalBorrow()(uint256)")
                ]
            )
            utilization, supplied, borrowed = (r.one() for r in totals)
            supply_rate, borrow_rate = (
                r.one()
                for r in await snapshot.call_many(
                    [Call.of(comet, f"get{s}Rate(uint256)(uint64)", utilization) for s in ("Supply", "Borrow")]
                )
            )
            assert borrowed > 0
            assert known(share) == 1 - Fraction(supply_rate * supplied, borrow_rate * borrowed)
            assert known(share) < 1  # below 0 where supply interest exceeds borrow interest: a loss, as read


async def test_a_new_compound_reserve_factor_changes_the_share_and_the_revenue(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    adapter = CompoundV2Adapter(devnet_deployment(eth_chain))
    market = V2_MARKETS[0]
    address = eth_chain.contracts[f"CompoundV2cToken:{market.symbol}"]
    ctoken = sender.contract(contract_artifact("CErc20"), address)
    sender.send(ctoken.functions._setReserveFactor(3 * 10**17), sender=_as(sender, ctoken.functions.admin().call()))
    rows, _ = await read_rates(eth_chain, [adapter])
    [row] = [r for r in rows if (r.market, r.kind) == (address, YieldKind.BORROW)]
    assert row.fee_share == FeeShare(Fraction(3, 10), f"{address}.reserveFactorMantissa() = {3 * 10**17} (of 1e18)")
    usd = Decimal(250_000)
    assert revenue_of(row, usd) == row.apr * 3 / 10 * usd
    assert Fraction(market.reserve_factor) != Fraction(3, 10)  # a change from the seeded factor


async def test_dex_fee_switches_are_read_with_the_lp_rates_and_follow_the_chain(eth_chain: DevnetChain) -> None:
    """Uniswap V2's feeTo (off, as on mainnet; then on: 1/6), each V3 pool's feeProtocol (0; then 1/4 on one pool,
    seen by the same adapter through the pool's SetFeeProtocol log), Curve's admin fees (half, as on mainnet)."""
    sender = Sender.connect(eth_chain.rpc_url)
    deployment = devnet_deployment(eth_chain)
    v2, v3 = V2Adapter(deployment, UNISWAP_V2), V3Adapter(deployment, UNISWAP_V3)
    curve = CurveAdapter(deployment)
    mine_later(eth_chain.rpc_url)
    rows, _ = await read_rates(eth_chain, [v2, v3, curve])
    for slug, expected in (("uniswap-v2", Fraction(0)), ("uniswap-v3", Fraction(0)), ("curve", Fraction(1, 2))):
        found = shares(rows, slug, YieldKind.LP_FEE)
        assert found, slug
        assert {s.share for s in found.values() if s is not None} == {expected}, slug
        assert all(s is not None for s in found.values())
    curve_sources = {
        s.source.split(".")[1].split(" ")[0] for s in shares(rows, "curve", YieldKind.LP_FEE).values() if s
    }
    assert curve_sources == {"admin_fee()", "ADMIN_FEE()"}  # classic pools' setting, the NG crypto pools' constant

    factory = sender.contract(npm_artifact("UniswapV2Factory"), eth_chain.contracts["UniswapV2Factory"])
    sender.send(factory.functions.setFeeTo(sender.owner), sender=_as(sender, factory.functions.feeToSetter().call()))
    pool = eth_chain.pools_of("uniswap-v3")[0].address
    v3_factory = sender.contract(npm_artifact("UniswapV3Factory"), eth_chain.contracts["UniswapV3Factory"])
    v3_pool = sender.contract(npm_artifact("UniswapV3Pool"), pool)
    sender.send(v3_pool.functions.setFeeProtocol(4, 5), sender=_as(sender, v3_factory.functions.owner().call()))
    mine_later(eth_chain.rpc_url)
    rows, _ = await read_rates(eth_chain, [v2, v3])
    assert {s.share for s in shares(rows, "uniswap-v2", YieldKind.LP_FEE).values() if s} == {Fraction(1, 6)}
    after = shares(rows, "uniswap-v3", YieldKind.LP_FEE)
    assert after[(pool, pool)] == FeeShare(
        Fraction(1, 4), f"slot0().feeProtocol = {4 | 5 << 4} (1/n of the fee, n in the low 4 bits (token0's), 0 off)"
    )
    assert {s.share for (m, _), s in after.items() if m != pool and s} == {Fraction(0)}


async def test_pancakeswap_fee_switches_are_mainnet_s(bnb_chain: DevnetChain) -> None:
    deployment = devnet_deployment(bnb_chain)
    mine_later(bnb_chain.rpc_url)
    rows, _ = await read_rates(
        bnb_chain, [V2Adapter(deployment, PANCAKESWAP_V2), V3Adapter(deployment, PANCAKESWAP_V3)]
    )
    v2 = shares(rows, "pancakeswap-v2", YieldKind.LP_FEE)
    assert v2
    assert {known(s) for s in v2.values()} == {Fraction(8, 25)}  # the fee switch is on, as on mainnet
    fees = {p.address: p.fee for p in bnb_chain.pools_of("pancakeswap-v3")}
    v3 = shares(rows, "pancakeswap-v3", YieldKind.LP_FEE)
    assert v3
    for (pool, _), share in v3.items():
        assert known(share) == Fraction(PROTOCOL_FEES[fees[pool]], 10_000)


def test_a_failed_knob_read_is_a_missing_share_with_its_reason() -> None:
    call = Call.of("0x" + "11" * 20, "admin_fee()(uint256)")
    failed = knob_share("curve", CallResult(call, False, error="execution reverted"))
    assert failed == FeeShare(None, f"{call.describe()} failed: execution reverted")
    fee_to = Call.of("0x" + "22" * 20, "feeTo()(address)")
    on = knob_share("uniswap-v2", CallResult(fee_to, True, ("0x" + "33" * 20,)))
    assert on.share == Fraction(1, 6)
    rate = Yield("curve", "0xPool", "0xLp", "A-B", YieldKind.LP_FEE, Decimal("0.01"), Decimal("0.01"), "test", failed)
    sample = MemberSample(
        Stamp(0, 1, 7),
        Decimal(100),
        Decimal(0),
        rates={YieldKind.LP_FEE: (Rate("0xPool", "0xLp", rate.apr, rate.apy, failed),)},
    )
    assert fee_rate("curve", sample).value == 1  # the fees stand: only the protocol's part of them is unknown
    assert revenue_rate("curve", sample, Fraction(1, 2)).missing == (
        f"curve: the revenue share of market 0xPool could not be read: {failed.source} (block 7 of chain 1)"
    )
