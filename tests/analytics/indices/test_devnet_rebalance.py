"""One rebalance planned with block-pinned router quotes (`venue.ChainVenue`) and then executed on the devnet:
each trade, sent through the router in order, moves exactly the quoted amounts, and the account ends holding
exactly the planned holdings (plus the gas the plan charged to WETH, which the chain took in ETH instead)."""

from __future__ import annotations

from collections.abc import Sequence
from decimal import Decimal
from fractions import Fraction

from defiscope.analytics.indices.backtest import PricePoint
from defiscope.analytics.indices.quoting import BASE_GAS, GAS_PER_HOP, RouterQuoter
from defiscope.analytics.indices.rebalance import Market, plan_rebalance
from defiscope.analytics.indices.venue import ChainVenue, decimals_of
from defiscope.chain.client import ChainClient
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.spec import ETHEREUM
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.routing.load import PoolRef
from defiscope.routing.tx import ROUTERS, build_route_tx

USER = 5  # one of the funded accounts 1..9
MEMBERS = ("WETH", "WBTC", "DAI", "USDC")
#: Uniswap pools only: every route the router finds then runs through one router transaction.
DEXES = ("uniswap-v2", "uniswap-v3")


def test_one_rebalance_executes_on_the_devnet_exactly_as_quoted(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    sender.rpc("evm_setAutomine", [True])
    user = sender.accounts[USER]
    tokens = {s: sender.contract(contract_artifact("DevToken"), eth_chain.tokens[s]) for s in MEMBERS}
    sender.send(tokens["WBTC"].functions.mint(user, 30 * 10**8))  # overweight WBTC: sold, then bought with
    for token in tokens.values():
        for router in ROUTERS:
            if router.name in eth_chain.contracts:
                sender.send(token.functions.approve(eth_chain.contracts[router.name], MAX_UINT256), sender=user)
    held = {s: int(t.functions.balanceOf(user).call()) for s, t in tokens.items()}
    prices = {s: Decimal(ETHEREUM.token(s).usd.numerator) / ETHEREUM.token(s).usd.denominator for s in MEMBERS}
    targets = dict.fromkeys(MEMBERS, Fraction(1, 4))

    deployment = devnet_deployment(eth_chain)
    refs = [PoolRef(p.dex, p.address, p.token0, p.token1) for p in eth_chain.pools if p.dex in DEXES]

    async def seeded_pools(client: ChainClient) -> Sequence[PoolRef]:
        return refs

    head = sender.w3.eth.get_block("latest")
    with ChainVenue(deployment, [eth_chain.rpc_url], seeded_pools) as venue:
        point = PricePoint(int(head["number"]), int(head["timestamp"]), prices)
        market = Market(point.block, prices, decimals_of(deployment), venue.base_fee(point), "WETH")
        quoter = venue.quoter(market)
        result = plan_rebalance(held, targets, market, quoter)
    assert isinstance(quoter, RouterQuoter)
    assert market.base_fee_wei > 0
    pairs = [(t.sell, t.buy) for t in result.trades]
    assert pairs == [("WBTC", "WETH"), ("WETH", "DAI"), ("WETH", "USDC")], pairs
    assert result.shortfalls == ()

    measured = []
    for trade, route in zip(result.trades, quoter.committed, strict=True):
        tx = build_route_tx(route.legs, quoter.pools, deployment.contracts, user, trade.amount_out, 2**40)
        sold, bought = tokens[trade.sell], tokens[trade.buy]
        before = (int(sold.functions.balanceOf(user).call()), int(bought.functions.balanceOf(user).call()))
        fields = tx.to_json()
        sent = sender.rpc("eth_sendTransaction", [{**fields, "gas": hex(3_000_000)}])
        receipt = sender.w3.eth.wait_for_transaction_receipt(sent, timeout=10, poll_latency=0.002)
        assert receipt["status"] == 1
        after = (int(sold.functions.balanceOf(user).call()), int(bought.functions.balanceOf(user).call()))
        assert before[0] - after[0] == trade.amount_in
        assert after[1] - before[1] == trade.amount_out  # the quote, to the wei
        hops = [h.dex for leg in route.legs for h in leg.hops]
        measured.append((hops, int(receipt["gasUsed"]), trade.fill.gas_units))

    gas_in_weth = sum(market.gas_in_hub(t.fill.gas_units) for t in result.trades)
    final = {s: int(t.functions.balanceOf(user).call()) for s, t in tokens.items()}
    assert final == {**result.holdings, "WETH": result.holdings["WETH"] + gas_in_weth}
    for symbol, target in targets.items():  # on target up to the trades' slippage and gas
        lost = (result.slippage_usd + result.gas_usd) / result.value_before_usd
        assert abs(result.weights_after[symbol] - target) <= lost
    # The gas table is an upper estimate of what the router transactions used here (printed: -s shows them).
    for hops, used, estimated in measured:
        print(f"gas: {'+'.join(hops)} used {used}, estimated {estimated}")
    for hops, used, estimated in measured:
        assert used <= estimated <= 2 * used, (hops, used, estimated)
    assert BASE_GAS + GAS_PER_HOP["uniswap-v2"] > 21_000
