"""Follow ~10,000 (holder, token) balances block by block: `HolderBalances.advance` vs re-reading every balanceOf.

On the devnet's chain 1: 5,000 holders of USDC and DAI (plain), the stETH of ten accounts (shares x rate) and the
aWETH of ten accounts and the Pool (scaled x normalized income). Each block has one USDC transfer to one of the
5,000 and one stETH transfer, with a day's time jump (aWETH accrues) and, every third block, a Lido oracle report
(every stETH balance moves, no log names the holders). Per block, the follower advances, then every pair's
balanceOf is read in one `call_many` at the same block: all must be equal. Prints calls, requests, bytes and ms
of both, per block (medians) and their ratios, measured in this run.

    .venv/bin/python benchmarks/holdings.py [--holders 5000] [--blocks 12]
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time

from eth_utils import keccak
from web3 import Web3

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.lido import LidoDevnet
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.holdings import HolderBalances
from defiscope.protocols.holdings_models import BALANCE_OF, balance_models

ETHER = 10**18


def cost(client: ChainClient) -> tuple[int, int]:
    stats = client.rpc.stats().values()
    return sum(s.requests for s in stats), sum(s.bytes_sent + s.bytes_received for s in stats)


def lido_of(chain: DevnetChain, sender: Sender) -> LidoDevnet:
    c = chain.contracts
    return LidoDevnet(
        steth=sender.contract(contract_artifact("Lido"), c["LidoStETH"]),
        wsteth=sender.contract(contract_artifact("WstETH"), c["LidoWstETH"]),
        queue=sender.contract(contract_artifact("WithdrawalQueue"), c["LidoWithdrawalQueue"]),
        oracle=sender.contract(contract_artifact("AccountingOracle"), c["LidoAccountingOracle"]),
    )


async def run(chain: DevnetChain, holders: int, blocks: int) -> None:
    deployment = devnet_deployment(chain)
    sender = Sender.connect(chain.rpc_url)
    lido = lido_of(chain, sender)
    usdc = sender.contract(contract_artifact("DevToken"), deployment.token("USDC").address)
    steth, a_weth = lido.steth.address, deployment.contract("AaveV3AToken:WETH")
    crowd = [Web3.to_checksum_address(keccak(text=f"bench holder {i}")[12:]) for i in range(holders)]
    accounts = list(sender.accounts[:10])
    pairs = [(h, t) for h in crowd for t in (usdc.address, deployment.token("DAI").address)]
    pairs += [(a, steth) for a in accounts] + [(a, a_weth) for a in [*accounts, deployment.contract("AaveV3Pool")]]

    async with ChainClient.connect(1, [chain.rpc_url]) as client:
        held = HolderBalances(await balance_models(deployment, Batcher(await client.snapshot()).reader("models")))
        held.track(pairs)
        started = time.perf_counter()
        await held.advance(Batcher(await client.snapshot()).reader("load"))
        load_ms = (time.perf_counter() - started) * 1000
        print(f"{len(held)} pairs; first read: {held.last_calls} calls, {load_ms:.0f} ms")
        follow: list[tuple[int, int, int, float]] = []
        full: list[tuple[int, int, int, float]] = []
        for block in range(blocks):
            sender.send(usdc.functions.transfer(crowd[(block * 7919) % holders], 1_000_000 + block))
            sender.send(lido.steth.functions.transfer(accounts[(block + 1) % 10], ETHER // 3), sender=accounts[0])
            sender.rpc("evm_increaseTime", [86_400])
            if block % 3 == 2:
                lido.report(sender, cl_balance_delta=10_000_000_000 * 10**9)
            sender.rpc("evm_mine", [])
            batcher = Batcher(await client.snapshot())
            before = cost(client)
            started = time.perf_counter()
            await held.advance(batcher.reader("follow"))
            ms = (time.perf_counter() - started) * 1000
            after = cost(client)
            follow.append((held.last_calls, after[0] - before[0], after[1] - before[1], ms))
            reader = batcher.reader("full")
            started = time.perf_counter()
            values = await reader.values([Call.of(t, BALANCE_OF, h) for h, t in pairs])
            ms = (time.perf_counter() - started) * 1000
            again = cost(client)
            full.append((len(pairs), again[0] - after[0], again[1] - after[1], ms))
            differ = [(h, t) for (h, t), v in zip(pairs, values, strict=True) if held.balance(h, t) != v]
            assert not differ, f"block {batcher.block.number}: {len(differ)} balances differ, e.g. {differ[0]}"
    print(f"{blocks} blocks, every tracked balance equal to balanceOf at every block")
    names = ("calls", "requests", "bytes", "ms")
    medians = [[statistics.median(row[i] for row in rows) for i in range(4)] for rows in (follow, full)]
    print(f"{'per block (median)':<20}" + "".join(f"{n:>12}" for n in names))
    for label, values_ in zip(("advance", "read every pair"), medians, strict=True):
        print(f"{label:<20}" + "".join(f"{v:>12.1f}" for v in values_))
    ratios = [b / a if a else float("inf") for a, b in zip(*medians, strict=True)]
    print(f"{'full / advance':<20}" + "".join(f"{r:>11.1f}x" for r in ratios))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--holders", type=int, default=5_000)
    parser.add_argument("--blocks", type=int, default=12)
    args = parser.parse_args()
    with start_devnet((1,), show_progress=False) as devnet:
        asyncio.run(run(devnet.chain(1), args.holders, args.blocks))


if __name__ == "__main__":
    main()
