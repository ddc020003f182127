"""Helpers for the V3 differential tests: batched eth_calls, ABI round trips, pool states, funding.

Every comparison sends its cases as one JSON-RPC batch of eth_calls (hundreds of calls, one request).
"""

from __future__ import annotations

import asyncio
import json
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, keccak

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.devnet.artifacts import Artifact, contract_artifact, parse_artifact, project_root
from defiscope.devnet.spec import CHAIN_SPECS
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.uniswap.math.pool_state import V3PoolState
from defiscope.protocols.uniswap.v3_spec import SLOT0_BY_DEX
from defiscope.protocols.uniswap.v3_state import read_pool_states

HERE = Path(__file__).parent
#: Enough of every token for any swap the tests try, pool-draining ones included.
HUGE = 2**160
#: QuoterV2 counts crossed ticks word by word: draining a spacing-1 pool takes far more than a block of gas.
CALL_GAS = 1_000_000_000
WETH9_BALANCE_SLOT = 3


@dataclass(frozen=True, slots=True)
class Fn:
    """A function by its Solidity signature and output types: encodes calls, decodes answers."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]

    def calldata(self, *args: Any) -> str:
        signature = f"{self.name}({','.join(self.inputs)})"
        return "0x" + (function_signature_to_4byte_selector(signature) + encode(list(self.inputs), list(args))).hex()

    def decode(self, data: str) -> tuple[Any, ...]:
        return tuple(decode(list(self.outputs), bytes.fromhex(data[2:])))


def eth_call_batch(rpc_url: str, calls: Sequence[tuple[str, str]], sender: str | None = None) -> list[str | None]:
    """eth_call every (to, data) in one JSON-RPC batch at the latest block; None where the call reverted."""
    if not calls:
        return []
    body = [
        {
            "jsonrpc": "2.0",
            "id": i,
            "method": "eth_call",
            "params": [
                {"to": to, "data": data, **({"from": sender} if sender else {}), "gas": hex(CALL_GAS)},
                "latest",
            ],
        }
        for i, (to, data) in enumerate(calls)
    ]
    answers = sorted(httpx.post(rpc_url, json=body, timeout=120).json(), key=lambda a: a["id"])
    return [a.get("result") if "error" not in a else None for a in answers]


def harness_artifact() -> Artifact:
    """v3-core's TickMath/SqrtPriceMath/SwapMath behind external functions, compiled now with solc 0.7.6."""
    out = subprocess.run(
        ["node", str(HERE / "compile_harness.mjs"), str(project_root())],
        check=True,
        capture_output=True,
        text=True,
        timeout=120,
    ).stdout
    data = json.loads(out)
    return parse_artifact("V3MathHarness", {"abi": data["abi"], "bytecode": data["bytecode"], "deployedBytecode": "0x"})


def pool_state(chain: DevnetChain, pool: str) -> V3PoolState:
    return pool_states(chain, [pool])[0]


def pool_states(chain: DevnetChain, pools: Sequence[str]) -> list[V3PoolState]:
    async def read() -> list[V3PoolState]:
        async with ChainClient.connect(chain.chain_id, [chain.rpc_url]) as client:
            reader = Batcher(await client.snapshot()).reader("test")
            dex = {p.address: p.dex for p in chain.pools}
            return await read_pool_states(reader, pools, [SLOT0_BY_DEX[dex[p]] for p in pools])

    return asyncio.run(read())


def hugely_fundable(chain: DevnetChain) -> set[str]:
    """Addresses of the tokens `fund_owner_hugely` gives account 0 HUGE of: DevTokens and the wrapped native."""
    return {
        chain.tokens[t.symbol]
        for t in CHAIN_SPECS[chain.chain_id].tokens
        if t.wrapped_native or t.contract == "DevToken"
    }


def fund_owner_hugely(sender: Sender, chain: DevnetChain) -> None:
    """Give account 0 HUGE of every DevToken (minted, or wrapped from native) and approve the pool caller. The
    governance tokens (ERC20Votes, AAVE, MKR) have no open mint: account 0 already holds the market's share of
    their circulating supply."""
    for token in CHAIN_SPECS[chain.chain_id].tokens:
        address = chain.tokens[token.symbol]
        erc20 = sender.contract(contract_artifact("DevToken"), address)
        if token.wrapped_native:
            # anvil caps a transaction's value at 2^128: write WETH9's balanceOf (slot 3) directly; the pools
            # only move the token, never unwrap it.
            slot = keccak(encode(["address", "uint256"], [sender.owner, WETH9_BALANCE_SLOT]))
            sender.rpc("anvil_setStorageAt", [address, "0x" + slot.hex(), "0x" + HUGE.to_bytes(32, "big").hex()])
        elif token.contract == "DevToken":
            sender.send(erc20.functions.mint(sender.owner, HUGE))
        sender.send(erc20.functions.approve(chain.contracts["V3PoolCaller"], MAX_UINT256))


CALLER_SWAP = Fn("swap", ("address", "address", "bool", "int256", "uint160"), ("int256", "int256"))
QUOTE_EXACT_INPUT = Fn(
    "quoteExactInputSingle",
    ("(address,address,uint256,uint24,uint160)",),
    ("uint256", "uint160", "uint32", "uint256"),
)
QUOTE_EXACT_OUTPUT = Fn(
    "quoteExactOutputSingle",
    ("(address,address,uint256,uint24,uint160)",),
    ("uint256", "uint160", "uint32", "uint256"),
)

CALLER_MINT = Fn("mint", ("address", "address", "int24", "int24", "uint128"), ("uint256", "uint256"))


def add_positions(sender: Sender, chain: DevnetChain, state: V3PoolState, pool: str, count: int, seed: int) -> None:
    """Mint ``count`` narrow positions around the price (deterministic), so swaps cross many initialized ticks.

    The owner must hold the tokens (`fund_owner_hugely`)."""
    caller = chain.contracts["V3PoolCaller"]
    spacing, base = state.tick_spacing, state.tick // state.tick_spacing
    liquidity = max(state.liquidity // 20, 10**6)
    for i in range(count):
        offset = (seed * 7919 + i * 104729) % 97 - 48
        lower, upper = (base + offset - 1 - i % 5) * spacing, (base + offset + 1 + i % 3) * spacing
        data = CALLER_MINT.calldata(pool, sender.owner, lower, upper, liquidity)
        tx_hash = sender.w3.eth.send_transaction({"from": sender.owner, "to": caller, "data": data})
        receipt = sender.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.002)
        assert receipt["status"] == 1, (lower, upper)
