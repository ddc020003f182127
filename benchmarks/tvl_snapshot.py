"""TVL of every registered protocol on a devnet chain at one block: defiscope's engine vs a naive script.

The naive script does what a straightforward web3.py adapter does: one `eth_call` per contract read
(pairs, tokens, reserves, balances, decimals, feeds), then the same arithmetic. Both run in this process
against the same anvil and block and must agree to the unit. Printed: wall time and HTTP requests of each,
the ratio, and the engine's requests for a snapshot after discovery; then backfill blocks per second.

    .venv/bin/python benchmarks/tvl_snapshot.py [--pairs 40] [--repeat 3] [--backfill 60]
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from decimal import Decimal
from typing import Any

from web3 import Web3

from counting import CountingSession  # benchmarks/ is the script's folder
from defiscope.chain.client import ChainClient
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.tx import Sender
from defiscope.prices.aggregator import PriceAggregator
from defiscope.protocols.base import BalanceKind
from defiscope.protocols.registry import adapters_for
from defiscope.service.backfill import BackfillResult, backfill
from defiscope.store import Repository
from defiscope.tvl.engine import TvlEngine

VIEW = "view"
NAIVE_SLUGS = frozenset({"uniswap-v2", "devnet-treasury"})


def fn(name: str, inputs: list[str], outputs: list[str]) -> dict[str, Any]:
    return {
        "name": name,
        "type": "function",
        "stateMutability": VIEW,
        "inputs": [{"name": f"a{i}", "type": t} for i, t in enumerate(inputs)],
        "outputs": [{"name": f"r{i}", "type": t} for i, t in enumerate(outputs)],
    }


FACTORY_ABI = [fn("allPairsLength", [], ["uint256"]), fn("allPairs", ["uint256"], ["address"])]
PAIR_ABI = [
    fn("token0", [], ["address"]),
    fn("token1", [], ["address"]),
    fn("getReserves", [], ["uint112", "uint112", "uint32"]),
]
ERC20_ABI = [fn("decimals", [], ["uint8"]), fn("balanceOf", ["address"], ["uint256"])]
FEED_ABI = [
    fn("latestRoundData", [], ["uint80", "int256", "uint256", "uint256", "uint80"]),
    fn("decimals", [], ["uint8"]),
]


def naive_tvl(rpc_url: str, deployment: Deployment, block: int) -> tuple[dict[str, Decimal], int]:
    """Every protocol's TVL with one HTTP call per read, as a plain web3.py script would."""
    session = CountingSession()
    w3 = Web3(Web3.HTTPProvider(rpc_url, session=session))
    at = {"block_identifier": block}
    by_address = {t.address: t for t in deployment.tokens.values()}

    def usd(token: str) -> Decimal:
        symbol = by_address[token].symbol
        price = Decimal(1)
        for pair in deployment.price_routes[symbol]:
            feed = w3.eth.contract(address=deployment.feeds[pair].address, abi=FEED_ABI)
            answer = feed.functions.latestRoundData().call(**at)[1]
            price *= Decimal(answer) / Decimal(10) ** feed.functions.decimals().call(**at)
        return price

    def value(token: str, amount: int) -> Decimal:
        if token not in by_address:
            return Decimal(0)  # no feed: the engine lists it as unpriced (its pools are below the depth floor)
        decimals = w3.eth.contract(address=token, abi=ERC20_ABI).functions.decimals().call(**at)
        return Decimal(amount) / Decimal(10) ** decimals * usd(token)

    tvl: dict[str, Decimal] = {}
    factory = w3.eth.contract(address=deployment.contracts["UniswapV2Factory"], abi=FACTORY_ABI)
    total = Decimal(0)
    for i in range(factory.functions.allPairsLength().call(**at)):
        pair = w3.eth.contract(address=factory.functions.allPairs(i).call(**at), abi=PAIR_ABI)
        r0, r1, _ = pair.functions.getReserves().call(**at)
        total += value(pair.functions.token0().call(**at), r0) + value(pair.functions.token1().call(**at), r1)
    tvl["uniswap-v2"] = total
    for spec in deployment.treasuries:
        total = Decimal(0)
        for holder in spec.holders:
            for symbol in spec.tokens:
                token = deployment.tokens[symbol].address
                amount = w3.eth.contract(address=token, abi=ERC20_ABI).functions.balanceOf(holder).call(**at)
                total += value(token, amount) if amount else Decimal(0)
        tvl[spec.slug] = total
    return tvl, session.count


async def engine_tvl(engine: TvlEngine, block: int) -> tuple[dict[str, Decimal], int]:
    before = engine.client.rpc.total_requests()
    result = await engine.snapshot(block)
    assert not result.failures, result.failures
    return {s.slug: s.total(BalanceKind.TVL) for s in result.snapshots}, engine.client.rpc.total_requests() - before


def add_pairs(rpc_url: str, deployment: Deployment, count: int) -> None:
    """More V2 pairs (new tokens against WETH and USDC) so the snapshot has real work to do."""
    sender = Sender.connect(rpc_url)
    router = sender.contract(npm_artifact("UniswapV2Router02"), deployment.contracts["UniswapV2Router02"])
    usdc = sender.contract(contract_artifact("DevToken"), deployment.tokens["USDC"].address)
    sender.send(usdc.functions.approve(router.address, 2**256 - 1))
    for i in range(count):
        token = sender.deploy(contract_artifact("DevToken"), f"Bench {i}", f"B{i}", 18)
        sender.send(token.functions.mint(sender.owner, 10**30))
        sender.send(token.functions.approve(router.address, 2**256 - 1))
        sender.send(
            router.functions.addLiquidity(token.address, usdc.address, 10**24, 10**11, 0, 0, sender.owner, 2**40)
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=40, help="extra V2 pairs to create first")
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--backfill", type=int, default=100, help="blocks to backfill")
    args = parser.parse_args()

    with start_devnet((1,), show_progress=False) as devnet:
        chain = devnet.chain(1)
        deployment = devnet_deployment(chain)
        add_pairs(chain.rpc_url, deployment, args.pairs)
        block = Web3(Web3.HTTPProvider(chain.rpc_url)).eth.block_number

        naive_runs = []
        for _ in range(args.repeat):
            started = time.perf_counter()
            tvl, requests_used = naive_tvl(chain.rpc_url, deployment, block)
            naive_runs.append((tvl, requests_used, time.perf_counter() - started))

        async def engine_runs() -> tuple[
            list[tuple[dict[str, Decimal], int, float]], int, BackfillResult, tuple[int, int, float]
        ]:
            async with ChainClient.connect(1, [chain.rpc_url]) as client:
                await client.rpc.verify()
                # The naive script implements Uniswap V2 and the treasuries: compare the engine on the same ones.
                same = [a for a in adapters_for(deployment) if a.info.slug in NAIVE_SLUGS]
                engine = TvlEngine(client, deployment, same, PriceAggregator(deployment))
                started = time.perf_counter()
                first, first_requests = await engine_tvl(engine, block)
                cold = time.perf_counter() - started
                runs = [(first, first_requests, cold)]
                for _ in range(args.repeat):
                    started = time.perf_counter()
                    tvl, requests_used = await engine_tvl(engine, block)
                    runs.append((tvl, requests_used, time.perf_counter() - started))
                every = TvlEngine(client, deployment, adapters_for(deployment), PriceAggregator(deployment))
                await every.snapshot(block)  # discovery
                before = client.rpc.total_requests()
                started = time.perf_counter()
                await every.snapshot(block)
                all_protocols = (
                    len(every.adapters),
                    client.rpc.total_requests() - before,
                    time.perf_counter() - started,
                )
                with tempfile.TemporaryDirectory() as tmp:
                    repo = Repository.open(f"sqlite:///{tmp}/bench.db")
                    filled = await backfill(engine, repo, "uniswap-v2", block - args.backfill + 1, block)
                    repo.close()
                return runs, first_requests, filled, all_protocols

        runs, cold_requests, filled, all_protocols = asyncio.run(engine_runs())

    expected = naive_runs[0][0]
    for tvl, _, _ in runs:
        assert tvl == expected, f"engine {tvl} != naive {expected}"
    naive_time = min(t for _, _, t in naive_runs)
    warm = runs[1:]
    engine_time = min(t for _, _, t in warm)
    print(f"TVL of {len(expected)} protocols ({args.pairs + 5} V2 pairs) on devnet chain 1 at block {block}")
    print(f"  naive web3.py, one call per read: {naive_time * 1000:9.1f} ms  {naive_runs[0][1]:6d} HTTP req")
    print(f"  defiscope engine, first snapshot: {runs[0][2] * 1000:9.1f} ms  {cold_requests:6d} HTTP req (discovery)")
    print(f"  defiscope engine, after discovery: {engine_time * 1000:8.1f} ms  {warm[0][1]:6d} HTTP req (target <= 3)")
    print(f"  speed-up after discovery: {naive_time / engine_time:.1f}x (target >= 20x)")
    count, requests_all, seconds_all = all_protocols
    print(
        f"  all {count} protocols of the chain, after discovery: {seconds_all * 1000:.1f} ms, "
        f"{requests_all} HTTP req (target <= 3)"
    )
    print(
        f"  backfill uniswap-v2, {filled.stored} blocks into SQLite: {filled.blocks_per_second:.0f} blocks/s "
        f"(the naive script would manage {1 / naive_time:.1f} snapshots/s)"
    )


if __name__ == "__main__":
    main()
