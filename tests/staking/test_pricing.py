"""LST prices: stETH by its feed, wstETH through stEthPerToken, rETH and cbETH through their exchange rates."""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction

from defiscope.chain.client import ChainClient
from defiscope.deployments import Deployment
from defiscope.devnet.lido import LidoDevnet
from defiscope.prices.aggregator import PriceAggregator
from defiscope.prices.dex import to_decimal
from tests.prices.kit import Kit
from tests.staking.conftest import pinned_reader


async def test_lst_prices(client: ChainClient, deployment: Deployment, kit: Kit, lido: LidoDevnet) -> None:
    reader = await pinned_reader(client)
    refs = [kit.ref(s) for s in ("stETH", "wstETH", "rETH", "cbETH")]
    decisions = await PriceAggregator(deployment).prices(reader.batcher, refs)
    quotes = {d.token.symbol: d.quote for d in decisions.values()}
    assert all(q is not None for q in quotes.values())
    rate = lido.wsteth.functions.stEthPerToken().call()
    assert {s: (q.usd, q.source) for s, q in quotes.items() if q is not None} == {
        "stETH": (Decimal(2995), "chainlink:STETH/USD"),
        "wstETH": (to_decimal(Fraction(rate, 10**18) * 2995), "derived:wstETH->stETH"),
        "rETH": (Decimal(3390), "derived:rETH->WETH"),
        "cbETH": (Decimal(3270), "derived:cbETH->WETH"),
    }
