"""The chain's own answers at many blocks in a few JSON-RPC batches of `eth_call`s.

A web3 `.call()` costs three HTTP requests (the chain id is asked before and after); a test that compares the
view with the contracts at every block of a run asks thousands of them. The answers here are decoded as web3
decodes them (addresses checksummed, a single output unwrapped)."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from typing import Any, TypeVar

import eth_abi
from eth_utils import to_checksum_address
from eth_utils.abi import get_abi_output_types
from web3.contract.contract import ContractFunction, ContractFunctions

from defiscope.devnet.batch_tx import rpc_batch

K = TypeVar("K")

#: What `eth_call` answers where no contract is (yet): web3 would raise; here the answer is None.
NO_CODE = "0x"


def calls_at(url: str, calls: Sequence[tuple[ContractFunction, int]]) -> list[Any]:
    """Each (function bound to its arguments, block) answered as `.call(block_identifier=block)` would."""
    requests = [
        ("eth_call", [{"to": fn.address, "data": fn._encode_transaction_data()}, hex(block)]) for fn, block in calls
    ]
    return [_decoded(fn, raw) for (fn, _), raw in zip(calls, rpc_batch(url, requests), strict=True)]


def calls_at_blocks(url: str, blocks: Iterable[int], calls: Mapping[K, ContractFunction]) -> dict[tuple[int, K], Any]:
    """Every named call at every block: (block, name) -> answer."""
    asked = [(block, name, fn) for block in blocks for name, fn in calls.items()]
    answers = calls_at(url, [(fn, block) for block, _, fn in asked])
    return {(block, name): answer for (block, name, _), answer in zip(asked, answers, strict=True)}


def proposal_states(url: str, governance: ContractFunctions, blocks: range) -> dict[int, dict[int, int]]:
    """block -> proposal id -> `getProposalState` there, for every proposal created by then (ids 0 to the count;
    Aave's governance V2 and V3 both number them so)."""
    counts = calls_at(url, [(governance.getProposalsCount(), block) for block in blocks])
    asked = [(block, pid) for block, count in zip(blocks, counts, strict=True) for pid in range(count)]
    answers = calls_at(url, [(governance.getProposalState(pid), block) for block, pid in asked])
    states: dict[int, dict[int, int]] = {block: {} for block in blocks}
    for (block, pid), state in zip(asked, answers, strict=True):
        states[block][pid] = state
    return states


def _call_object(fn: ContractFunction) -> dict[str, str]:
    return {"to": fn.address, "data": fn._encode_transaction_data()}


def timestamps(url: str, blocks: Sequence[int]) -> list[int]:
    answers = rpc_batch(url, [("eth_getBlockByNumber", [hex(block), False]) for block in blocks])
    return [int(answer["timestamp"], 16) for answer in answers]


def _decoded(fn: ContractFunction, raw: str) -> Any:
    if raw == NO_CODE:
        return None
    types = get_abi_output_types(fn.abi)
    values = [
        to_checksum_address(value) if kind == "address" else value
        for kind, value in zip(types, eth_abi.decode(types, bytes.fromhex(raw[2:])), strict=True)
    ]
    return values[0] if len(values) == 1 else tuple(values)
