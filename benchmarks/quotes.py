"""A Uniswap V3 exact-input quote crossing >= 10 initialized ticks: ours vs QuoterV2 (eth_call) vs degenbot.

All three quote the same pool at the same block on a devnet anvil and must agree to the wei:

* ours: `defiscope.protocols.uniswap.math.swap.swap` on a `V3PoolState` read once (pure Python, no I/O);
* QuoterV2 `quoteExactInputSingle` by eth_call, one request per quote (what most Python tools do);
* degenbot 0.5 (Python 3.12 only): a throwaway virtual environment under the system temp folder (kept
  between runs, keyed by version; ``--fresh-degenbot`` rebuilds it), fed the same state as JSON; its
  HOME points to a temp folder because it writes a config and a SQLite file there on import. Its swap
  cache is cleared before every quote, so it computes each quote as we do (the cached figure is printed
  too).

    .venv/bin/python benchmarks/quotes.py [--quotes 2000] [--eth-calls 200] [--fresh-degenbot]

Targets: >= 3x degenbot, >= 100x eth_call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.manager import start_devnet
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain, DevnetPool
from defiscope.protocols.uniswap.math.pool_state import V3PoolState
from defiscope.protocols.uniswap.math.swap import swap
from defiscope.protocols.uniswap.v3_state import read_pool_states, word_range

DEGENBOT = "degenbot==0.5.0"
PYTHON312 = Path("/root/.pyenv/versions/3.12.1/bin/python")
EXTRA_POSITIONS = 24
MIN_TICKS_CROSSED = 10

DEGENBOT_SETUP = (
    "import degenbot",
    "import pathlib, sqlite3; sqlite3.connect(pathlib.Path.home() / '.config/degenbot/degenbot.db')"
    ".execute('PRAGMA journal_mode=WAL')",
    "import degenbot; from degenbot.config import settings; from degenbot.database.models import Base; "
    "from sqlalchemy import create_engine; Base.metadata.create_all(create_engine(f'sqlite:///{settings.database.path}'))",
)

DEGENBOT_SCRIPT = r"""
import json, sys, time
from web3 import Web3
import degenbot
from degenbot.uniswap.v3_liquidity_pool import UniswapV3Pool

job = json.load(sys.stdin)
w3 = Web3(Web3.HTTPProvider(job["rpc_url"]))
degenbot.set_web3(w3)
block = job["block"]
pool = UniswapV3Pool(
    job["pool"],
    tick_bitmap={int(w): {"bitmap": int(b), "block": block} for w, b in job["words"].items()},
    tick_data={
        int(t): {"liquidity_net": int(n), "liquidity_gross": abs(int(n)), "block": block}
        for t, n in job["liquidity_net"].items()
    },
    state_block=block,
    verify_address=False,
    silent=True,
)
token_in = pool.token0 if job["zero_for_one"] else pool.token1
amount = int(job["amount"])
out = pool.calculate_tokens_out_from_tokens_in(token_in, amount)
n = job["iterations"] // job["repeats"]


def best(clear):
    result = float("inf")
    for _ in range(job["repeats"]):
        start = time.perf_counter()
        for _ in range(n):
            if clear:
                pool.clear_swap_step_cache()
            pool.calculate_tokens_out_from_tokens_in(token_in, amount)
        result = min(result, (time.perf_counter() - start) / n)
    return result


uncached, cached = best(True), best(False)
print(json.dumps({"amount_out": str(out), "seconds": uncached, "cached_seconds": cached}))
"""


def _selector_call(signature: str, types: list[str], args: list[Any]) -> str:
    return "0x" + (function_signature_to_4byte_selector(signature) + encode(types, args)).hex()


def add_positions(chain: DevnetChain, pool: DevnetPool, state: V3PoolState) -> None:
    """Narrow positions around the price through V3PoolCaller, so a modest swap crosses many ticks."""
    sender = Sender.connect(chain.rpc_url)
    spacing, base = state.tick_spacing, state.tick // state.tick_spacing
    for i in range(EXTRA_POSITIONS):
        offset = (i // 2 + 1) * (1 if i % 2 else -1)
        lower, upper = sorted(((base + offset) * spacing, (base + offset + (2 if offset > 0 else -2)) * spacing))
        data = _selector_call(
            "mint(address,address,int24,int24,uint128)",
            ["address", "address", "int24", "int24", "uint128"],
            [pool.address, sender.owner, lower, upper, state.liquidity // 50],
        )
        tx = sender.w3.eth.send_transaction({"from": sender.owner, "to": chain.contracts["V3PoolCaller"], "data": data})
        if sender.w3.eth.wait_for_transaction_receipt(tx, poll_latency=0.002)["status"] != 1:
            raise SystemExit(f"mint {lower}..{upper} failed")


async def read_state(chain: DevnetChain, pool: DevnetPool) -> tuple[V3PoolState, int]:
    async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
        snapshot = await client.snapshot()
        (state,) = await read_pool_states(Batcher(snapshot).reader("bench"), [pool.address])
        return state, snapshot.block.number


def pick_amount(state: V3PoolState, zero_for_one: bool) -> int:
    """The smallest power of two (of the input token) whose swap crosses >= MIN_TICKS_CROSSED ticks."""
    for bits in range(1, 200):
        if swap(state, zero_for_one, 2**bits).ticks_crossed >= MIN_TICKS_CROSSED:
            return 2**bits
    raise SystemExit("no amount crosses enough ticks")


REPEATS = 5  # each figure is the best of 5 rounds (timeit's habit): the machine may be busy with others


def time_ours(state: V3PoolState, zero_for_one: bool, amount: int, n: int) -> float:
    best = float("inf")
    for _ in range(REPEATS):
        start = time.perf_counter()
        for _ in range(n // REPEATS):
            swap(state, zero_for_one, amount)
        best = min(best, (time.perf_counter() - start) / (n // REPEATS))
    return best


def time_eth_call(chain: DevnetChain, pool: DevnetPool, zero_for_one: bool, amount: int, n: int) -> tuple[float, int]:
    token_in, token_out = (pool.token0, pool.token1) if zero_for_one else (pool.token1, pool.token0)
    data = _selector_call(
        "quoteExactInputSingle((address,address,uint256,uint24,uint160))",
        ["(address,address,uint256,uint24,uint160)"],
        [(token_in, token_out, amount, pool.fee, 0)],
    )
    body = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "eth_call",
        "params": [{"to": chain.contracts["QuoterV2"], "data": data}, "latest"],
    }
    with httpx.Client() as http:
        answer = http.post(chain.rpc_url, json=body).json()["result"]
        seconds = float("inf")
        for _ in range(REPEATS):
            start = time.perf_counter()
            for _ in range(n // REPEATS):
                http.post(chain.rpc_url, json=body).json()
            seconds = min(seconds, (time.perf_counter() - start) / (n // REPEATS))
    (amount_out, *_) = decode(["uint256", "uint160", "uint32", "uint256"], bytes.fromhex(answer[2:]))
    return seconds, int(amount_out)


def degenbot_python(fresh: bool) -> tuple[Path | None, str]:
    """The Python of a venv with degenbot 0.5 (created on first use), or None and why not."""
    if not PYTHON312.exists():
        return None, f"{PYTHON312} not found (degenbot 0.5 needs Python 3.12)"
    venv = Path(tempfile.gettempdir()) / f"defiscope-bench-{DEGENBOT.replace('==', '-')}"
    python = venv / "bin" / "python"
    if fresh and venv.exists():
        shutil.rmtree(venv)
    if not python.exists():
        print(f"creating {venv} and installing {DEGENBOT} (about 1.5 min the first time) ...", flush=True)
        subprocess.run([str(PYTHON312), "-m", "venv", str(venv)], check=True)
        pip = subprocess.run([str(python), "-m", "pip", "install", "-q", DEGENBOT], capture_output=True, text=True)
        if pip.returncode != 0:
            shutil.rmtree(venv, ignore_errors=True)
            return None, f"pip install {DEGENBOT} failed: {pip.stderr.strip().splitlines()[-1:]}"
    return python, ""


def run_degenbot(python: Path, job: dict[str, Any]) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="degenbot-home-") as home:
        env = {**os.environ, "HOME": home}
        # degenbot 0.5's first import in a fresh HOME writes its config, then fails creating its SQLite file
        # ("database is locked": the import itself holds the file open). So: let it fail, switch the empty
        # file to WAL (readers then never block the schema writer), and create the schema after import.
        for script in DEGENBOT_SETUP:
            subprocess.run([str(python), "-c", script], capture_output=True, env=env, check=False)
        done = subprocess.run(
            [str(python), "-c", DEGENBOT_SCRIPT], input=json.dumps(job), capture_output=True, text=True, env=env
        )
    if done.returncode != 0:
        raise RuntimeError(done.stderr.strip()[-2000:])
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--quotes", type=int, default=2000, help="quotes timed for ours and degenbot")
    parser.add_argument("--eth-calls", type=int, default=200, help="QuoterV2 eth_calls timed")
    parser.add_argument("--fresh-degenbot", action="store_true", help="rebuild degenbot's virtual environment")
    args = parser.parse_args()

    with start_devnet((1,), show_progress=False) as devnet:
        chain = devnet.chain(1)
        pool = next(p for p in chain.pools_of("uniswap-v3") if p.fee == 500)
        state, _ = asyncio.run(read_state(chain, pool))
        add_positions(chain, pool, state)
        state, block = asyncio.run(read_state(chain, pool))
        zero_for_one = True
        amount = pick_amount(state, zero_for_one)
        result = swap(state, zero_for_one, amount)
        ours_out = -result.amount1
        print(f"pool {pool.address} (fee {pool.fee}), block {block}: {len(state.liquidity_net)} initialized ticks")
        print(f"quote: {amount} of token0 in -> {ours_out} of token1 out, {result.ticks_crossed} ticks crossed\n")

        ours = time_ours(state, zero_for_one, amount, args.quotes)
        eth_call, quoter_out = time_eth_call(chain, pool, zero_for_one, amount, args.eth_calls)
        if quoter_out != ours_out:
            raise SystemExit(f"MISMATCH: QuoterV2 says {quoter_out}, we say {ours_out}")
        print(f"ours (defiscope)         {ours * 1e6:10.1f} µs/quote")
        print(f"QuoterV2 eth_call        {eth_call * 1e6:10.1f} µs/quote   ours is {eth_call / ours:6.1f}x faster")

        python, why = degenbot_python(args.fresh_degenbot)
        if python is None:
            print(f"degenbot                 skipped: {why}")
            return
        words = {str(w): str(state.words.get(w, 0)) for w in word_range(state.tick_spacing)}
        job = {
            "rpc_url": chain.rpc_url,
            "pool": pool.address,
            "block": block,
            "words": words,
            "liquidity_net": {str(t): str(n) for t, n in state.liquidity_net.items()},
            "zero_for_one": zero_for_one,
            "amount": str(amount),
            "iterations": args.quotes,
            "repeats": REPEATS,
        }
        try:
            degen = run_degenbot(python, job)
        except RuntimeError as exc:
            print(f"degenbot                 failed: {exc}")
            return
        if int(degen["amount_out"]) != ours_out:
            raise SystemExit(f"MISMATCH: degenbot says {degen['amount_out']}, we say {ours_out}")
        seconds, cached = float(degen["seconds"]), float(degen["cached_seconds"])
        print(f"degenbot 0.5             {seconds * 1e6:10.1f} µs/quote   ours is {seconds / ours:6.1f}x faster")
        print(f"degenbot 0.5 (its cache) {cached * 1e6:10.1f} µs/quote   ours is {cached / ours:6.1f}x faster")
        print("\nall three agree to the wei; targets: >= 3x degenbot, >= 100x eth_call")


if __name__ == "__main__":
    sys.exit(main())
