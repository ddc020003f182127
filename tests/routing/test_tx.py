"""Ready-to-sign swaps for whole quotes: splits and mixed V2/V3 legs through SwapRouter02 on chain 1, and
PancakeSwap V3 routes and splits through its SwapRouter on chain 56.

Each case quotes with `plan_swap` (slippage 0, so min-out is the quote itself) from a user account that
approved the routers, then sends the returned transaction: the recipient's balance grows by exactly the
quoted amount, which is also what the ``eth_call`` simulation returned. One wei more than the quote as
min-out makes the same transaction revert.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from fractions import Fraction
from typing import Any

import pytest
from eth_typing import ChecksumAddress
from web3.contract import Contract

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.errors import DevnetError
from defiscope.devnet.pancake_v3 import seed_pancake_v3_pool
from defiscope.devnet.spec import BNB, PoolSpec
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain, DevnetPool
from defiscope.errors import DefiscopeError
from defiscope.routing.load import PoolRef, load_pools
from defiscope.routing.plan import plan_swap
from defiscope.routing.pools import Pool
from defiscope.routing.search import Quote, best_route
from defiscope.routing.tx import ROUTERS, BadSwapInput, NoRouterTx, build_route_tx

USER = 3  # one of the funded accounts 1..9
Pick = Callable[[DevnetChain, DevnetPool], bool]


def _dex(*dexes: str) -> Pick:
    return lambda chain, p: p.dex in dexes


def _pairs(*wanted: tuple[str, str, str] | tuple[str, str, str, int]) -> Pick:
    """Pools of (dex, token, token), of any fee or of the fee given fourth."""

    def pick(chain: DevnetChain, p: DevnetPool) -> bool:
        return any(
            p.dex == w[0]
            and {p.token0, p.token1} == {chain.tokens[w[1]], chain.tokens[w[2]]}
            and w[3:] in ((), (p.fee,))
            for w in wanted
        )

    return pick


def _second_pancake_wbnb_usdt(sender: Sender, chain: DevnetChain) -> list[PoolRef]:
    """A 0.01 % PancakeSwap V3 WBNB/USDT pool beside the seeded 0.05 % one: a large sale splits over both."""
    contracts = chain.contracts
    factory = sender.contract(npm_artifact("PancakeV3Factory"), contracts["PancakeV3Factory"])
    caller = sender.contract(contract_artifact("V3PoolCaller"), contracts["V3PoolCaller"])
    tokens = {s: sender.contract(contract_artifact("DevToken"), a) for s, a in chain.tokens.items()}
    pool = seed_pancake_v3_pool(sender, factory, caller, BNB, tokens, PoolSpec("WBNB", "USDT", 2_000_000, fee=100))
    return [PoolRef(pool.dex, pool.address, pool.token0, pool.token1)]


@dataclass(frozen=True)
class Case:
    chain_id: int
    pick: Pick
    sell: str
    buy: str
    whole: int  # tokens to sell
    routes: int
    router: str  # the router the transaction must go through
    shape: Callable[[list[list[str]]], bool]  # dexes per leg: the route is the kind this case is about
    extra: Callable[[Sender, DevnetChain], list[PoolRef]] = field(default=lambda sender, chain: [])


def _split_over_v2_and_v3(legs: list[list[str]]) -> bool:
    return len(legs) >= 2 and {"uniswap-v2", "uniswap-v3"} <= {d for leg in legs for d in leg}


CASES = {
    # The V2 pair and the 0.3 % V3 pool are of a size: a large sale splits over both.
    "split-v2-v3": Case(
        1,
        _pairs(("uniswap-v2", "USDC", "WETH"), ("uniswap-v3", "USDC", "WETH", 3000)),
        "USDC",
        "WETH",
        1_000_000,
        2,
        "SwapRouter02",
        _split_over_v2_and_v3,
    ),
    # V3 pools alone: Uniswap's first SwapRouter runs the split (multicall, legs paid to itself, then a sweep).
    "split-v3-tiers": Case(
        1,
        _pairs(("uniswap-v3", "USDC", "WETH")),
        "USDC",
        "WETH",
        4_000_000,
        2,
        "SwapRouter",
        lambda legs: legs == [["uniswap-v3"], ["uniswap-v3"]],
    ),
    "v2-then-v3": Case(
        1,
        _pairs(("uniswap-v2", "WBTC", "WETH"), ("uniswap-v3", "WETH", "USDC")),
        "WBTC",
        "USDC",
        3,
        1,
        "SwapRouter02",
        lambda legs: legs == [["uniswap-v2", "uniswap-v3"]],
    ),
    "v3-then-v2": Case(
        1,
        _pairs(("uniswap-v2", "WBTC", "WETH"), ("uniswap-v3", "WETH", "USDC")),
        "USDC",
        "WBTC",
        250_000,
        1,
        "SwapRouter02",
        lambda legs: legs == [["uniswap-v3", "uniswap-v2"]],
    ),
    # Paths of two and three hops mixing V2 and V3: a split whose legs chain runs through the router.
    "split-mixed-legs": Case(
        1,
        _pairs(
            ("uniswap-v2", "WBTC", "WETH"),
            ("uniswap-v3", "WBTC", "WETH"),
            ("uniswap-v2", "WETH", "DAI"),
            ("uniswap-v3", "DAI", "USDC"),
            ("uniswap-v2", "USDC", "WETH"),
        ),
        "WBTC",
        "DAI",
        20,
        3,
        "SwapRouter02",
        lambda legs: len(legs) >= 2 and any(len(set(leg)) == 2 for leg in legs),
    ),
    "pancake-v3-two-hops": Case(
        56,
        _dex("pancakeswap-v3"),
        "USDC",
        "WBNB",
        200_000,
        1,
        "PancakeV3SwapRouter",
        lambda legs: legs == [["pancakeswap-v3", "pancakeswap-v3"]],
    ),
    "pancake-v3-split": Case(
        56,
        _dex("pancakeswap-v3"),
        "USDT",
        "WBNB",
        1_500_000,
        2,
        "PancakeV3SwapRouter",
        lambda legs: len(legs) == 2 and all(leg == ["pancakeswap-v3"] for leg in legs),
        _second_pancake_wbnb_usdt,
    ),
}


@dataclass(frozen=True)
class World:
    chain: DevnetChain
    sender: Sender
    user: ChecksumAddress
    refs: list[PoolRef]
    token_in: Contract
    token_out: Contract
    amount: int  # raw units sold


def _world(case: Case, chain: DevnetChain) -> World:
    """The case's pools, and a user holding the amount who approved every router for the input token."""
    sender = Sender.connect(chain.rpc_url)
    sender.rpc("evm_setAutomine", [True])  # other tests may leave the node mining on an interval
    user = sender.accounts[USER]
    refs = [PoolRef(p.dex, p.address, p.token0, p.token1) for p in chain.pools if case.pick(chain, p)]
    refs += case.extra(sender, chain)
    token_in = sender.contract(contract_artifact("DevToken"), chain.tokens[case.sell])
    token_out = sender.contract(contract_artifact("DevToken"), chain.tokens[case.buy])
    amount = case.whole * 10 ** token_in.functions.decimals().call()
    held = token_in.functions.balanceOf(user).call()
    if held < amount:  # some cases sell more than the account's seeded balance
        sender.send(token_in.functions.mint(user, amount - held))
    for router in ROUTERS:
        if router.name in chain.contracts:
            sender.send(token_in.functions.approve(chain.contracts[router.name], MAX_UINT256), sender=user)
    return World(chain, sender, user, refs, token_in, token_out, amount)


def _plan(world: World, case: Case, slippage: Fraction = Fraction(0)) -> dict[str, Any]:
    decimals = world.token_in.functions.decimals().call()

    async def run() -> dict[str, Any]:
        async with ChainClient.connect(world.chain.chain_id, [world.chain.rpc_url]) as client:
            return await plan_swap(
                client,
                devnet_deployment(world.chain),
                world.refs,
                case.sell,
                case.buy,
                str(Decimal(world.amount).scaleb(-decimals)),
                max_routes=case.routes,
                slippage=slippage,
                recipient=world.user,
            )

    return asyncio.run(run())


def _send(world: World, tx: dict[str, Any], block: int) -> tuple[int, int]:
    """Send the unsigned transaction as its sender would; (receipt status, the recipient's output delta)."""
    w3 = world.sender.w3
    # The next block 12 s after the quoted one, as on mainnet (the devnet's clock may be far from its blocks').
    world.sender.rpc("evm_setNextBlockTimestamp", [int(w3.eth.get_block(block)["timestamp"]) + 12])
    before = world.token_out.functions.balanceOf(world.user).call()
    fields = {k: tx[k] for k in ("from", "to", "data", "value")}
    sent = world.sender.rpc("eth_sendTransaction", [{**fields, "gas": hex(5_000_000)}])
    # anvil may answer before it has mined: read the balance only after the receipt
    status = int(w3.eth.wait_for_transaction_receipt(sent, timeout=10, poll_latency=0.002)["status"])
    return status, world.token_out.functions.balanceOf(world.user).call() - before


def _legs(result: dict[str, Any]) -> list[list[str]]:
    return [[h["dex"] for h in route["hops"]] for route in result["routes"]]


@pytest.fixture
def chains(eth_chain: DevnetChain, bnb_chain: DevnetChain) -> dict[int, DevnetChain]:
    return {1: eth_chain, 56: bnb_chain}


@pytest.mark.parametrize("name", sorted(CASES))
def test_route_tx_executes_the_quote_exactly(chains: dict[int, DevnetChain], name: str) -> None:
    case = CASES[name]
    world = _world(case, chains[case.chain_id])
    result = _plan(world, case)
    assert case.shape(_legs(result)), _legs(result)
    tx = result["transaction"]
    assert tx is not None, result.get("transaction_note")
    assert tx["router"] == case.router
    assert tx["to"] == world.chain.contracts[case.router]
    quoted = int(result["amount_out"]["raw"])
    assert quoted > 0
    assert sum(int(route["amount_out"]) for route in result["routes"]) == quoted
    assert int(tx["min_out"]) == quoted  # slippage 0: the quote itself is the floor
    assert result["simulation"] == {"ok": True, "amount_out": str(quoted)}
    assert _send(world, tx, result["block"]) == (1, quoted)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        # One leg: its last call checks amountOutMinimum. Several: the closing sweepToken checks the total.
        ("v2-then-v3", "Too little received"),
        ("pancake-v3-two-hops", "Too little received"),
        ("split-v2-v3", "Insufficient token"),
        ("split-mixed-legs", "Insufficient token"),
        ("pancake-v3-split", "Insufficient token"),
    ],
)
def test_min_out_above_the_quote_reverts(chains: dict[int, DevnetChain], name: str, reason: str) -> None:
    """Min-out one wei above the quote: the simulation and the sent transaction both revert, nothing moves."""
    case = CASES[name]
    world = _world(case, chains[case.chain_id])
    quote, pools, block = _quote(world, case)
    tx = build_route_tx(
        quote.legs,
        {p.address: p for p in pools},
        world.chain.contracts,
        world.user,
        quote.amount_out + 1,
        2**40,
    )
    with pytest.raises(DevnetError, match=reason):
        world.sender.rpc("eth_call", [tx.to_json(), hex(block)])
    status, delta = _send(world, tx.to_json(), block)
    assert (status, delta) == (0, 0)
    exact = build_route_tx(
        quote.legs, {p.address: p for p in pools}, world.chain.contracts, world.user, quote.amount_out, 2**40
    )
    assert exact.amount_out(world.sender.rpc("eth_call", [exact.to_json(), hex(block)])) == quote.amount_out


def _quote(world: World, case: Case) -> tuple[Quote, list[Pool], int]:
    async def run() -> tuple[list[Pool], int]:
        async with ChainClient.connect(world.chain.chain_id, [world.chain.rpc_url]) as client:
            snapshot = await client.snapshot()
            return await load_pools(Batcher(snapshot).reader("test"), world.refs), snapshot.block.number

    pools, block = asyncio.run(run())
    tokens = world.chain.tokens
    return best_route(pools, tokens[case.sell], tokens[case.buy], world.amount, max_routes=case.routes), pools, block


@pytest.mark.parametrize(
    ("chain_id", "pick", "sell", "buy", "message"),
    [
        # Curve's USDT -> USDC then Uniswap V3's USDC -> WETH: the pool and the router are two contracts.
        (1, _pairs(("curve", "USDT", "USDC"), ("uniswap-v3", "USDC", "WETH")), "USDT", "WETH", "curve and uniswap-v3"),
        # PancakeSwap V2's WBNB pair and V3's USDT/USDC pool: its V3 router has no V2 side.
        (
            56,
            _pairs(("pancakeswap-v2", "WBNB", "USDT"), ("pancakeswap-v3", "USDT", "USDC")),
            "WBNB",
            "USDC",
            "pancakeswap-v2 and pancakeswap-v3",
        ),
    ],
)
def test_routes_no_single_router_executes(
    chains: dict[int, DevnetChain], chain_id: int, pick: Pick, sell: str, buy: str, message: str
) -> None:
    case = Case(chain_id, pick, sell, buy, 1, 1, "", lambda legs: True)
    world = _world(case, chains[chain_id])
    result = _plan(world, case)
    assert len(_legs(result)[0]) == 2
    assert result["transaction"] is None
    assert f"no single router swaps on {message} together" in result["transaction_note"]


@pytest.mark.parametrize("slippage", [Fraction(-1), Fraction(100), Fraction(250)])
def test_slippage_out_of_range(eth_chain: DevnetChain, slippage: Fraction) -> None:
    case = CASES["split-v2-v3"]
    world = _world(case, eth_chain)
    with pytest.raises(DefiscopeError, match="slippage must be at least 0 and below 100 %"):
        _plan(world, case, slippage)


def test_route_over_unknown_pools_or_tokens(eth_chain: DevnetChain) -> None:
    case = CASES["split-v2-v3"]
    world = _world(case, eth_chain)
    quote, pools, _ = _quote(world, case)
    by_address = {p.address: p for p in pools}
    contracts = eth_chain.contracts
    missing = quote.legs[0].hops[0].pool
    with pytest.raises(BadSwapInput, match=f"pool {missing} is not among the loaded pools"):
        build_route_tx(
            quote.legs, {a: p for a, p in by_address.items() if a != missing}, contracts, world.user, 1, 2**40
        )
    tokens = eth_chain.tokens
    other = best_route(pools, tokens["WETH"], tokens["USDC"], 10**18)  # the other way round
    with pytest.raises(BadSwapInput, match="do not all swap the same tokens"):
        build_route_tx((*quote.legs, *other.legs), by_address, contracts, world.user, 1, 2**40)
    with pytest.raises(BadSwapInput, match="at least one leg"):
        build_route_tx((), by_address, contracts, world.user, 1, 2**40)
    # Without SwapRouter02 in the registry, no router runs V2 and V3 legs together.
    without = {k: v for k, v in contracts.items() if k != "SwapRouter02"}
    with pytest.raises(NoRouterTx, match="SwapRouter02 is not in this chain's registry"):
        build_route_tx(quote.legs, by_address, without, world.user, 1, 2**40)
