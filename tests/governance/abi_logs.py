"""Logs laid out by a real ABI (tests/fixtures/abi/aave): indexed arguments as topics, the rest ABI-encoded as
data, so parsers are tested against the mainnet contract's layout rather than against themselves.

    log = real_log("IGovernanceCore", "ProposalQueued", {"proposalId": 3, "votesFor": 9, "votesAgainst": 1})
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from eth_abi import encode
from eth_utils import keccak

ABI_DIR = Path(__file__).resolve().parents[1] / "fixtures" / "abi" / "aave"


def abi_type(param: dict[str, Any]) -> str:
    kind = str(param["type"])
    if kind.startswith("tuple"):
        return "(" + ",".join(abi_type(c) for c in param["components"]) + ")" + kind[len("tuple") :]
    return kind


def real_event(contract: str, name: str) -> dict[str, Any]:
    abi = json.loads((ABI_DIR / f"{contract}.json").read_text())
    return next(item for item in abi if item.get("type") == "event" and item["name"] == name)


def event_signature(event: dict[str, Any]) -> str:
    return f"{event['name']}({','.join(abi_type(i) for i in event['inputs'])})"


def real_log(
    contract: str, name: str, values: dict[str, Any], *, block: int = 0x10, address: str = "0x" + "00" * 20
) -> dict[str, Any]:
    event = real_event(contract, name)
    topics = ["0x" + keccak(text=event_signature(event)).hex()]
    data_types, data_values = [], []
    for arg in event["inputs"]:
        if arg["indexed"]:
            topics.append("0x" + encode([abi_type(arg)], [values[arg["name"]]]).hex())
        else:
            data_types.append(abi_type(arg))
            data_values.append(values[arg["name"]])
    return {
        "address": address,
        "blockNumber": hex(block),
        "logIndex": "0x1",
        "blockHash": "0x" + "ab" * 32,
        "transactionHash": "0x" + "cd" * 32,
        "topics": topics,
        "data": "0x" + encode(data_types, data_values).hex(),
    }
