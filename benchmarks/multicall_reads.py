"""Read 1,000 ERC20 `balanceOf` at one block: naive web3.py, one call at a time, vs the defiscope chain layer.

Both run in this process against the same devnet anvil and the same block, and must return the same
numbers. Prints wall time, HTTP requests and the ratio.

    .venv/bin/python benchmarks/multicall_reads.py [--calls 1000] [--repeat 3]
"""

from __future__ import annotations

import argparse
import asyncio
import time

from web3 import Web3

from counting import CountingSession  # benchmarks/ is the script's folder
from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.world import DevnetChain

BALANCE_OF_ABI = [
    {
        "name": "balanceOf",
        "type": "function",
        "stateMutability": "view",
        "inputs": [{"name": "owner", "type": "address"}],
        "outputs": [{"name": "", "type": "uint256"}],
    }
]


def holders(chain: DevnetChain, n: int) -> list[str]:
    """Pools and the devnet's funded accounts (non-zero balances) first, then fresh addresses (zero)."""
    funded = [pool.address for pool in chain.pools] + [
        Web3.to_checksum_address(Web3.keccak(text=f"holder-{i}")[-20:]) for i in range(n)
    ]
    return funded[:n]


def naive(rpc_url: str, pairs: list[tuple[str, str]], block: int) -> tuple[list[int], float, int]:
    session = CountingSession()
    w3 = Web3(Web3.HTTPProvider(rpc_url, session=session))
    contracts = {token: w3.eth.contract(address=token, abi=BALANCE_OF_ABI) for token, _ in pairs}
    session.count = 0
    started = time.perf_counter()
    values = [contracts[token].functions.balanceOf(holder).call(block_identifier=block) for token, holder in pairs]
    return values, time.perf_counter() - started, session.count


async def batched(
    chain_id: int, rpc_url: str, pairs: list[tuple[str, str]], block: int
) -> tuple[list[int], float, int]:
    async with ChainClient.connect(chain_id, [rpc_url]) as client:
        await client.rpc.verify()  # the one-off chain-id check is set-up, not part of the read
        before = client.rpc.total_requests()
        started = time.perf_counter()
        results = await client.call_many([Call.of(t, "balanceOf(address)(uint256)", h) for t, h in pairs], block)
        elapsed = time.perf_counter() - started
        return [r.one() for r in results], elapsed, client.rpc.total_requests() - before


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=1000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best time counts")
    args = parser.parse_args()

    with start_devnet((1,), show_progress=False) as devnet:
        chain = devnet.chain(1)
        tokens = list(chain.tokens.values())
        people = holders(chain, args.calls // len(tokens) + 1)
        pairs = [(tokens[i % len(tokens)], people[i // len(tokens)]) for i in range(args.calls)]
        block = Web3(Web3.HTTPProvider(chain.rpc_url)).eth.block_number

        naive_runs = [naive(chain.rpc_url, pairs, block) for _ in range(args.repeat)]
        fast_runs = [asyncio.run(batched(chain.chain_id, chain.rpc_url, pairs, block)) for _ in range(args.repeat)]

    expected = naive_runs[0][0]
    assert all(run[0] == expected for run in naive_runs + fast_runs), "the two readers disagree"
    nonzero = sum(1 for v in expected if v)
    naive_time = min(run[1] for run in naive_runs)
    fast_time = min(run[1] for run in fast_runs)
    print(f"{args.calls} balanceOf calls at block {block}, best of {args.repeat} ({nonzero} non-zero)")
    print(f"  naive web3.py, one call at a time: {naive_time * 1000:9.1f} ms  {naive_runs[0][2]:5d} HTTP req")
    print(f"  defiscope chain layer (multicall): {fast_time * 1000:9.1f} ms  {fast_runs[0][2]:5d} HTTP requests")
    print(
        f"  speed-up: {naive_time / fast_time:.1f}x (target >= 50x); "
        f"requests per 1,000 calls: {fast_runs[0][2] * 1000 / args.calls:.1f} (target <= 2)"
    )


if __name__ == "__main__":
    main()
