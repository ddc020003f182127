"""Health of 10,000 Aave V3 accounts: defiscope's batched scan vs naive per-account `getUserAccountData`.

Both run in this process against the same devnet anvil and the same block, and must agree on every
account. The accounts are real Aave positions made by `AaveBorrowerFactory` (contracts/src/AaveBorrowers.sol):
each supplies 1 WETH and borrows 1,000..2,400 USDC; ETH is then set to $2,700, so health factors
spread from 0.93 to 2.2 and about a tenth of the accounts are liquidatable.

    .venv/bin/python benchmarks/positions_scan.py [--accounts 10000] [--naive 10000]

`--naive N` times the naive loop on the first N accounts only and scales it (a full naive run of 10,000
takes tens of seconds); the default runs it on all of them.
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time
from typing import Any

from web3 import Web3
from web3.logs import DISCARD
from web3.types import TxParams, Wei

from counting import CountingSession  # benchmarks/ is the script's folder
from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.aave import aave_artifact
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.aave.market import AaveMarket
from defiscope.protocols.aave.positions import AccountData, scan_accounts

PER_TX = 500  # positions per factory transaction (about 600k gas each)
GAS_PER_POSITION = 700_000


def create_positions(chain: DevnetChain, count: int, seed: int = 5) -> list[str]:
    sender = Sender.connect(chain.rpc_url)
    sender.rpc("evm_setBlockGasLimit", [hex(GAS_PER_POSITION * PER_TX + 1_000_000)])
    factory = sender.deploy(contract_artifact("AaveBorrowerFactory"))
    weth = sender.contract(npm_artifact("WETH9"), chain.tokens["WETH"])
    sender.send(weth.functions.deposit(), value=count * 10**18)
    sender.send(weth.functions.approve(factory.address, MAX_UINT256))
    rng = random.Random(seed)
    borrowers: list[str] = []
    for start in range(0, count, PER_TX):
        debts = [rng.randint(1_000, 2_400) * 10**6 for _ in range(min(PER_TX, count - start))]
        call = factory.functions.create(
            chain.contracts["AaveV3Pool"], weth.address, 10**18, chain.tokens["USDC"], debts
        )
        params: TxParams = {"from": sender.owner, "gas": GAS_PER_POSITION * len(debts), "value": Wei(0)}
        receipt = sender.w3.eth.wait_for_transaction_receipt(call.transact(params), timeout=120, poll_latency=0.01)
        if receipt["status"] != 1:
            raise SystemExit(f"factory.create reverted at {start}")
        events = factory.events.Created().process_receipt(receipt, errors=DISCARD)  # skip the Pool's own events
        borrowers += [e["args"]["borrower"] for e in events]
    return borrowers


def naive(rpc_url: str, pool: str, accounts: list[str], block: int) -> tuple[list[AccountData], float, int]:
    session = CountingSession()
    w3 = Web3(Web3.HTTPProvider(rpc_url, session=session))
    contract = w3.eth.contract(address=Web3.to_checksum_address(pool), abi=aave_artifact("protocol/pool/Pool").abi)
    session.count = 0
    started = time.perf_counter()
    values = [AccountData(*contract.functions.getUserAccountData(a).call(block_identifier=block)) for a in accounts]
    return values, time.perf_counter() - started, session.count


async def batched(chain: DevnetChain, accounts: list[str], block: int) -> tuple[list[AccountData], float, int]:
    market = AaveMarket(chain.contracts["AaveV3Pool"], chain.contracts["AaveV3Oracle"])
    # anvil refuses HTTP bodies over 2 MB: at most 6 Multicall3 chunks (<= 128 kB calldata each) per request.
    async with ChainClient.connect(1, [chain.rpc_url], max_batch_items=6) as client:
        snapshot = await client.snapshot(block)
        started = time.perf_counter()
        reader = Batcher(snapshot).reader("bench")
        positions = await scan_accounts(reader, market, accounts)
        elapsed = time.perf_counter() - started
        return [p.data for p in positions], elapsed, reader.batcher.flushes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=10_000)
    parser.add_argument("--naive", type=int, default=None, help="time the naive loop on this many accounts")
    args = parser.parse_args()
    with start_devnet((1, 56), show_progress=False) as devnet:  # the cached world: loads in < 1 s
        chain = devnet.chain(1)
        started = time.perf_counter()
        accounts = create_positions(chain, args.accounts)
        print(f"created {len(accounts):,} Aave positions in {time.perf_counter() - started:.1f} s")
        # ETH at $2,700: positions borrowing more than 2,241 USDC per WETH fall below health 1.
        sender = Sender.connect(chain.rpc_url)
        feed = sender.contract(contract_artifact("PriceFeed"), chain.contracts["feed:ETH/USD"])
        sender.send(feed.functions.updateAnswer(2_700 * 10**8))
        block = Web3(Web3.HTTPProvider(chain.rpc_url)).eth.block_number
        ours, batched_s, flushes = asyncio.run(batched(chain, accounts, block))
        sample = accounts[: args.naive or len(accounts)]
        theirs, naive_s, requests = naive(chain.rpc_url, chain.contracts["AaveV3Pool"], sample, block)
        if ours[: len(sample)] != theirs:
            raise SystemExit("the batched scan and getUserAccountData disagree")
        naive_full = naive_s * len(accounts) / len(sample)
        liquidatable = sum(1 for d in ours if d.liquidatable)
        summary: dict[str, Any] = {
            "accounts": len(accounts),
            "batched_s": round(batched_s, 3),
            "batched_batches": flushes,
            "naive_s": round(naive_full, 2),
            "naive_measured_on": len(sample),
            "naive_http_requests": requests,
            "ratio": round(naive_full / batched_s, 1),
            "liquidatable": liquidatable,
        }
        print(
            f"batched scan: {batched_s:.3f} s in {flushes} batches (our own health-factor math, exact)\n"
            f"naive getUserAccountData: {naive_full:.2f} s ({requests:,} HTTP requests for {len(sample):,} accounts)\n"
            f"ratio: {summary['ratio']}x; every health factor equal on {len(sample):,} accounts"
        )
        print(summary)


if __name__ == "__main__":
    main()
