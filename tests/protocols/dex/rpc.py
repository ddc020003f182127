"""Synchronous JSON-RPC batches for differential tests: hundreds of eth_calls in one HTTP request."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import httpx
from eth_abi import decode, encode
from eth_utils import function_signature_to_4byte_selector, keccak


@dataclass(frozen=True, slots=True)
class EthCall:
    to: str
    signature: str  # "getAmountsOut(uint256,address[])"
    args: tuple[Any, ...] = ()
    overrides: Mapping[str, Any] | None = None  # eth_call state override set

    def calldata(self) -> str:
        types = self.signature[self.signature.index("(") + 1 : -1]
        arg_types = [t for t in _split(types)] if types else []
        return "0x" + (function_signature_to_4byte_selector(self.signature) + encode(arg_types, self.args)).hex()


def _split(types: str) -> list[str]:
    out, depth, cur = [], 0, ""
    for ch in types:
        if ch == "," and depth == 0:
            out.append(cur)
            cur = ""
            continue
        depth += ch == "("
        depth -= ch == ")"
        cur += ch
    out.append(cur)
    return out


@dataclass(frozen=True, slots=True)
class Answer:
    data: bytes | None  # None: reverted
    error: str = ""

    def decode(self, *types: str) -> tuple[Any, ...]:
        assert self.data is not None, f"call reverted: {self.error}"
        return tuple(decode(list(types), self.data))


def batch(rpc_url: str, calls: Sequence[EthCall], block: str = "latest") -> list[Answer]:
    """Every call in one JSON-RPC batch; a revert is an Answer with data None and the node's message."""
    payload = []
    for i, call in enumerate(calls):
        params: list[Any] = [{"to": call.to, "data": call.calldata()}, block]
        if call.overrides is not None:
            params.append(call.overrides)
        payload.append({"jsonrpc": "2.0", "id": i, "method": "eth_call", "params": params})
    response = httpx.post(rpc_url, json=payload, timeout=60)
    response.raise_for_status()
    by_id = {item["id"]: item for item in response.json()}
    answers = []
    for i in range(len(calls)):
        item = by_id[i]
        if "error" in item:
            answers.append(Answer(None, str(item["error"].get("message", ""))))
        else:
            answers.append(Answer(bytes.fromhex(item["result"][2:])))
    return answers


def mapping_slot(key: str, slot: int) -> str:
    """Storage slot of ``mapping(address => ...)`` at ``slot`` for ``key`` (Solidity layout)."""
    return "0x" + keccak(encode(["address", "uint256"], [key, slot])).hex()


def balance_slot(rpc_url: str, token: str, holder: str) -> int:
    """Which storage slot holds the token's balances mapping (0 for OpenZeppelin ERC20, 3 for WETH9)."""
    magic = 0x1234567890ABCDEF
    probes = [
        EthCall(
            token,
            "balanceOf(address)",
            (holder,),
            {token: {"stateDiff": {mapping_slot(holder, s): "0x" + magic.to_bytes(32, "big").hex()}}},
        )
        for s in range(8)
    ]
    for slot, answer in enumerate(batch(rpc_url, probes)):
        if answer.data is not None and answer.decode("uint256")[0] == magic:
            return slot
    raise AssertionError(f"no balances slot found for {token}")


def with_balance(token: str, holder: str, slot: int, amount: int) -> dict[str, Any]:
    return {token: {"stateDiff": {mapping_slot(holder, slot): "0x" + amount.to_bytes(32, "big").hex()}}}
