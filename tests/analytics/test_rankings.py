"""Rankings and aggregate totals on hand-made snapshots (pure: no chain, no store)."""

from __future__ import annotations

from decimal import Decimal

from defiscope.analytics.rankings import percent_change, rank
from defiscope.chain.block import BlockRef
from defiscope.prices.quote import PriceQuote
from defiscope.protocols.base import BalanceKind, ProtocolInfo
from defiscope.tvl.model import ProtocolSnapshot, TokenValue
from defiscope.tvl.totals import aggregate

NOW = 1_700_000_000
WETH = "0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2"
STETH = "0xae7ab96520DE3A18E5e111B5EaAb095312D7fE84"
INFOS = {
    "lido": ProtocolInfo("lido", "Lido", "Liquid Staking", "pooled ether"),
    "aave": ProtocolInfo("aave", "Aave", "Lending", "supplied minus borrowed"),
}


def value(token: str, usd: str, kind: BalanceKind = BalanceKind.TVL, receipt_of: str | None = None) -> TokenValue:
    quote = PriceQuote(1, token, Decimal(1), "test", NOW, 1.0)
    return TokenValue(token, "T", 18, kind, 10**18, quote, Decimal(usd), None, receipt_of)


def snap(slug: str, chain_id: int, ts: int, *values: TokenValue) -> ProtocolSnapshot:
    return ProtocolSnapshot(slug, chain_id, BlockRef(chain_id, ts // 12, "0x" + "ab" * 32, ts), values)


def test_rank_sorts_sums_chains_and_computes_changes() -> None:
    now = [
        snap("aave", 1, NOW, value(WETH, "300"), value(WETH, "50", BalanceKind.BORROWED)),
        snap("aave", 56, NOW, value(WETH, "100")),
        snap("lido", 1, NOW, value(WETH, "1000")),
    ]
    history = {  # the stored TVL of each (protocol, chain) a day before
        ("lido", 1, NOW - 86_400): Decimal(800),
        ("aave", 1, NOW - 86_400): Decimal(200),
        ("aave", 56, NOW - 86_400): Decimal(200),
    }
    rows = rank(now, INFOS, lambda slug, chain, ts: history.get((slug, chain, ts)))
    assert [r.slug for r in rows] == ["lido", "aave"]
    lido, aave = rows
    assert lido.change == {"1h": None, "1d": Decimal(25), "7d": None}  # 800 -> 1000
    assert aave.tvl_usd == Decimal(400)
    assert aave.borrowed_usd == Decimal(50)
    assert aave.chains == {"ethereum": Decimal(300), "bsc": Decimal(100)}
    assert aave.change["1d"] == Decimal(0)  # 400 both days, summed over chains
    assert aave.category == "Lending"


def test_change_needs_every_chain_in_the_past() -> None:
    now = [snap("aave", 1, NOW, value(WETH, "300")), snap("aave", 56, NOW, value(WETH, "100"))]
    only_one = {("aave", 1, NOW - 3600): Decimal(300)}
    (row,) = rank(now, INFOS, lambda slug, chain, ts: only_one.get((slug, chain, ts)))
    assert row.change["1h"] is None  # a chain without history would fake a jump


def test_percent_change_edges() -> None:
    assert percent_change(Decimal(150), Decimal(100)) == Decimal(50)
    assert percent_change(Decimal(150), None) is None
    assert percent_change(Decimal(150), Decimal(0)) is None


def test_aggregate_counts_receipts_once() -> None:
    lido = snap("lido", 1, NOW, value(WETH, "1000"))
    aave = snap("aave", 1, NOW, value(STETH, "400", receipt_of="lido"), value(WETH, "100"))
    total = aggregate([lido, aave])
    assert total.sum_of_protocols_usd == Decimal(1500)
    assert total.double_counted_usd == Decimal(400)
    assert total.tvl_usd == Decimal(1100)
    alone = aggregate([aave])  # without Lido in the total, stETH is the only count of that ETH
    assert alone.tvl_usd == Decimal(500)
    assert alone.double_counted_usd == Decimal(0)


def test_aggregate_is_exact_beyond_28_digits() -> None:
    big = snap("lido", 1, NOW, value(WETH, "12345678901234567890.123456789012345678901"))
    small = snap("aave", 1, NOW, value(WETH, "0.000000000000000000001"))
    assert aggregate([big, small]).tvl_usd == Decimal("12345678901234567890.123456789012345678902")
