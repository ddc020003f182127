"""Builders shared by the store tests (a plain module: conftest.py is for fixtures)."""

from __future__ import annotations

from decimal import Decimal, localcontext

from sqlalchemy import Engine, func, select

from defiscope.chain.block import BlockRef
from defiscope.store.models import Base
from defiscope.tvl.model import BalanceKind, CallRecord, PriceQuote, ProtocolSnapshot, TokenValue

WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
USDC = "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
STETH = "0xae7ab96520DE3A18E5e111B5EaAb095312D7fE84"
POOL = "0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc"


def count_rows(engine: Engine, model: type[Base]) -> int:
    with engine.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(model)).scalar_one())


def block(number: int, *, chain_id: int = 1, fork: str = "a") -> BlockRef:
    """A block whose hash is derived from (chain, number, fork), so forks differ and replays agree."""
    digest = f"{chain_id:08x}{number:016x}{fork.encode().hex():0>8}"
    return BlockRef(
        chain_id=chain_id, number=number, hash="0x" + digest.rjust(64, "0"), timestamp=1_700_000_000 + 12 * number
    )


def quote(
    token: str,
    usd: str,
    *,
    chain_id: int = 1,
    ts: int = 1_700_000_000,
    source: str = "chainlink",
    block_number: int | None = None,
    liquidity_usd: Decimal | None = None,
) -> PriceQuote:
    return PriceQuote(
        chain_id=chain_id,
        token=token,
        usd=Decimal(usd),
        source=source,
        timestamp=ts,
        confidence=0.95,
        block_number=block_number,
        liquidity_usd=liquidity_usd,
    )


#: A DEX quote's pool depth, with more digits than a float or a 28-digit Decimal context keeps.
DEX_DEPTH = Decimal("12345678.000000000000000000000000000000000001")


def scaled(value: str, factor: int) -> Decimal:
    """`value * factor` exactly (the default 28-digit context would round our 40-digit values)."""
    with localcontext() as ctx:
        ctx.prec = 200
        return Decimal(value) * factor


def make_snapshot(
    slug: str = "uniswap-v2",
    ref: BlockRef | None = None,
    *,
    scale: int = 1,
) -> ProtocolSnapshot:
    """A realistic snapshot: priced tokens of every kind, an unpriced one, a receipt token, calls.

    `scale` multiplies amounts and values so successive blocks carry different figures.
    """
    ref = ref or block(100)
    weth_price = PriceQuote(
        chain_id=ref.chain_id,
        token=WETH,
        usd=Decimal("3141.592653589793238462643383279502884197"),
        source="chainlink:ETH/USD",
        timestamp=ref.timestamp - 30,
        confidence=0.99,
        block_number=ref.number,
    )
    weth_amount = 2**255 + 12345 + scale  # far beyond float and int64
    tokens = (
        TokenValue(
            WETH,
            "WETH",
            18,
            BalanceKind.TVL,
            weth_amount,
            weth_price,
            scaled("181898940354585647692.99532741355133212", scale),
        ),
        TokenValue(
            USDC,
            "USDC",
            6,
            BalanceKind.TVL,
            10**15 * scale,
            quote(USDC, "0.99987", chain_id=ref.chain_id, liquidity_usd=DEX_DEPTH),
            scaled("999870000.000000000000000000000000000001", scale),
        ),
        TokenValue(
            USDC,
            "USDC",
            6,
            BalanceKind.BORROWED,
            7 * scale,
            quote(USDC, "1", chain_id=ref.chain_id),
            scaled("0.000007", scale),
        ),
        TokenValue(
            STETH,
            "stETH",
            18,
            BalanceKind.STAKING,
            2**256 - 1,
            None,
            None,
            unpriced_reason="no price source for stETH",
            receipt_of="lido",
        ),
        TokenValue(
            POOL, "UNI-V2", 18, BalanceKind.POOL2, 0, quote(POOL, "1E-40", chain_id=ref.chain_id), Decimal("0E-40")
        ),
    )
    calls = (
        CallRecord(POOL, "getReserves()", (), (2**200, 2**112 - 1, 1_700_000_000)),
        CallRecord(WETH, "balanceOf(address)", (POOL,), 2**255 + 12345),
        CallRecord(STETH, "getPooledEthByShares(uint256)", (10**18,), None, success=False),
        CallRecord(USDC, "meta()", ({"nested": (1, 2)}, True, "x", 1.5), {"k": ("v", 2)}),
    )
    return ProtocolSnapshot(slug=slug, chain_id=ref.chain_id, block=ref, tokens=tokens, calls=calls)
