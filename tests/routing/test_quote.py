"""Quotes against the devnet: the quoted amount is, to the wei, what executing the route returns.

Each case quotes at the head block, then sends each leg's router transaction (built by `build_swap_tx`
with min-out = the leg's quote) from account 0 and compares the output token's balance delta.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from fractions import Fraction

import pytest

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.spec import ETHEREUM
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain, DevnetPool
from defiscope.errors import DefiscopeError
from defiscope.routing.load import PoolRef, load_pools
from defiscope.routing.plan import plan_swap
from defiscope.routing.pools import Pool
from defiscope.routing.search import Quote, best_route
from defiscope.routing.tx import build_swap_tx

Pick = Callable[[DevnetPool], bool]


def refs(chain: DevnetChain, pick: Pick) -> list[PoolRef]:
    return [PoolRef(p.dex, p.address, p.token0, p.token1) for p in chain.pools if pick(p)]


async def _load(chain: DevnetChain, pick: Pick) -> list[Pool]:
    async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
        return await load_pools(Batcher(await client.snapshot()).reader("test"), refs(chain, pick))


def quote(
    chain: DevnetChain, pick: Pick, sell: str, buy: str, amount: int, routes: int = 1
) -> tuple[Quote, list[Pool]]:
    pools = asyncio.run(_load(chain, pick))
    return best_route(pools, chain.tokens[sell], chain.tokens[buy], amount, max_routes=routes), pools


def execute(chain: DevnetChain, q: Quote, pools: list[Pool]) -> list[int]:
    """Send every leg as its router transaction from account 0; the output-token delta of each."""
    sender = Sender.connect(chain.rpc_url)
    sender.rpc("evm_setAutomine", [True])  # other tests may leave the node mining on an interval
    me = sender.owner
    token_in = sender.contract(contract_artifact("DevToken"), q.token_in)
    token_out = sender.contract(contract_artifact("DevToken"), q.token_out)
    sender.send(token_in.functions.mint(me, q.amount_in))
    contracts = devnet_deployment(chain).contracts
    by_address = {p.address: p for p in pools}
    deltas = []
    for leg in q.legs:
        tx = build_swap_tx(leg, by_address, contracts, me, leg.amount_out, 2**40)
        sender.send(token_in.functions.approve(tx.to, MAX_UINT256))
        before = token_out.functions.balanceOf(me).call()
        sent = sender.rpc("eth_sendTransaction", [{**tx.to_json(), "gas": hex(3_000_000)}])
        # anvil may answer before it has mined: read the balance only after the receipt
        assert sender.w3.eth.wait_for_transaction_receipt(sent, timeout=10, poll_latency=0.002)["status"] == 1
        deltas.append(token_out.functions.balanceOf(me).call() - before)
    return deltas


CASES = {
    "v2": (lambda p: p.dex == "uniswap-v2", "USDC", "WETH", 25_000 * 10**6, 1, 1),
    "v3": (lambda p: p.dex == "uniswap-v3", "USDC", "WETH", 40_000 * 10**6, 1, 1),
    "curve": (lambda p: p.dex == "curve", "DAI", "USDT", 3_000_000 * 10**18, 1, 1),
    "v2-two-hops": (lambda p: p.dex == "uniswap-v2", "WBTC", "USDC", 3 * 10**8, 1, 2),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_quote_equals_execution(eth_chain: DevnetChain, case: str) -> None:
    pick, sell, buy, amount, routes, hops = CASES[case]
    q, pools = quote(eth_chain, pick, sell, buy, amount, routes)
    assert len(q.legs) == 1
    assert len(q.legs[0].hops) == hops
    assert execute(eth_chain, q, pools) == [q.amount_out]
    assert q.amount_out > 0
    assert 0 < q.price_impact < 1


def test_split_route_leg_by_leg(eth_chain: DevnetChain) -> None:
    pick: Pick = lambda p: p.dex in ("uniswap-v2", "uniswap-v3")  # noqa: E731
    # 40 % of the deepest WETH/USDC pool's USDC side: deep into its curve, where other pools pay more.
    deepest = max(p.usd_per_side for p in ETHEREUM.v3_pools if {p.token_a, p.token_b} == {"WETH", "USDC"})
    amount = ETHEREUM.token("USDC").amount_for_usd(deepest * 4 // 10)
    q, pools = quote(eth_chain, pick, "USDC", "WETH", amount, routes=3)
    single, _ = quote(eth_chain, pick, "USDC", "WETH", amount, routes=1)
    assert len(q.legs) >= 2
    assert q.amount_out > single.amount_out
    assert sum(leg.amount_in for leg in q.legs) == q.amount_in
    assert execute(eth_chain, q, pools) == [leg.amount_out for leg in q.legs]


def test_unsigned_tx_simulates_and_executes_exactly(eth_chain: DevnetChain) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    sender.rpc("evm_setAutomine", [True])  # other tests may leave the node mining on an interval
    me = sender.owner
    usdc = sender.contract(contract_artifact("DevToken"), eth_chain.tokens["USDC"])
    weth = sender.contract(contract_artifact("DevToken"), eth_chain.tokens["WETH"])
    sender.send(usdc.functions.mint(me, 1000 * 10**6))
    for name in ("UniswapV2Router02", "SwapRouter"):
        sender.send(usdc.functions.approve(eth_chain.contracts[name], MAX_UINT256))

    async def run() -> dict[str, object]:
        async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
            return await plan_swap(
                client,
                devnet_deployment(eth_chain),
                refs(eth_chain, lambda p: p.dex != "curve"),
                "usdc",
                "WETH",
                "1000",
                slippage=Fraction(1, 2),
                recipient=me,
            )

    result = asyncio.run(run())
    tx = result["transaction"]
    assert isinstance(tx, dict)
    quoted = int(result["amount_out"]["raw"])  # type: ignore[index]
    assert result["simulation"] == {"ok": True, "amount_out": str(quoted)}
    assert int(tx["min_out"]) == quoted * 995 // 1000
    before = weth.functions.balanceOf(me).call()
    # The next block 12 s after the quoted one, as on mainnet (the devnet's clock may be far from its blocks').
    sender.rpc("evm_setNextBlockTimestamp", [int(sender.w3.eth.get_block(result["block"])["timestamp"]) + 12])
    receipt = sender.rpc(
        "eth_sendTransaction", [{**{k: tx[k] for k in ("from", "to", "data", "value")}, "gas": hex(3_000_000)}]
    )
    assert sender.w3.eth.wait_for_transaction_receipt(receipt, timeout=60)["status"] == 1
    assert weth.functions.balanceOf(me).call() - before == quoted


@pytest.mark.parametrize(
    ("sell", "buy", "amount", "message"),
    [
        ("NOPE", "WETH", "1", "unknown token 'NOPE'"),
        ("WETH", "weth", "1", "cannot sell WETH for itself"),
        ("USDC", "WETH", "0", "amount must be positive"),
        ("USDC", "WETH", "-5", "amount must be positive"),
        ("USDC", "WETH", "1.0000001", "more than 6 decimals"),
        # V2 pairs pay ever less but never run dry; V3 pools do: only they are offered here.
        ("USDC", "WETH", "1e40", "beyond the pools' liquidity"),
    ],
)
def test_bad_input(eth_chain: DevnetChain, sell: str, buy: str, amount: str, message: str) -> None:
    async def run() -> object:
        async with ChainClient.connect(1, [eth_chain.rpc_url]) as client:
            pools = refs(eth_chain, lambda p: p.dex == "uniswap-v3")
            return await plan_swap(client, devnet_deployment(eth_chain), pools, sell, buy, amount)

    with pytest.raises(DefiscopeError, match=message.replace("(", r"\(").replace(".", r"\.")):
        asyncio.run(run())
