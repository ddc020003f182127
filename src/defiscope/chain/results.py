"""Shape checks of JSON-RPC results, so a garbled answer is an error and never a value.

A node or a proxy that truncates, mangles hex or drops a field must not turn into a zero balance or a wrong
block: each check names what is wrong, and the RPC layer raises `MalformedResponse` with the endpoint.

    >>> result_problem("eth_call", "0x00ff"), result_problem("eth_call", "0xzz")
    (None, 'is not hex data')
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from typing import Any, Final

#: "0x" and hex digits only. A regular expression: a block's answers hold megabytes of hex, and a check in Python
#: character by character was most of a block's CPU time at 50,000 pools.
_HEX: Final = re.compile(r"0x[0-9a-fA-F]*")


def _is_hex(value: Any) -> bool:
    return isinstance(value, str) and _HEX.fullmatch(value) is not None


def _quantity(value: Any) -> str | None:
    return None if _is_hex(value) and len(value) > 2 else "is not a hex quantity"


def _data(value: Any) -> str | None:
    return None if _is_hex(value) and len(value) % 2 == 0 else "is not hex data"


def _block(value: Any) -> str | None:
    if value is None:
        return None  # the node does not have the block: the caller decides what that means
    if not isinstance(value, dict):
        return "is not a block object"
    for key, check in (("number", _quantity), ("hash", _data), ("timestamp", _quantity)):
        if key not in value or check(value[key]) is not None:
            return f"lacks a valid {key}"
    return None


_LOG_FIELDS: Final = (("address", _data), ("data", _data), ("blockNumber", _quantity), ("logIndex", _quantity))


def _logs(value: Any) -> str | None:
    if not isinstance(value, list):
        return "is not a list of logs"
    for entry in value:
        if not isinstance(entry, dict) or not isinstance(entry.get("topics"), list):
            return "holds a log without topics"
        if any(_data(topic) is not None for topic in entry["topics"]):
            return "holds a log with a malformed topic"
        for key, check in _LOG_FIELDS:
            if key not in entry or check(entry[key]) is not None:
                return f"holds a log without a valid {key}"
    return None


#: What each read's result must look like; methods not listed are passed through unchecked.
RESULT_CHECKS: Final[Mapping[str, Callable[[Any], str | None]]] = {
    "eth_blockNumber": _quantity,
    "eth_chainId": _quantity,
    "eth_gasPrice": _quantity,
    "eth_getBalance": _quantity,
    "eth_getTransactionCount": _quantity,
    "eth_call": _data,
    "eth_getCode": _data,
    "eth_getStorageAt": _data,
    "eth_getBlockByNumber": _block,
    "eth_getBlockByHash": _block,
    "eth_getLogs": _logs,
}


def result_problem(method: str, result: Any) -> str | None:
    """What is wrong with `result` as an answer to `method`, or None if it has the right shape."""
    check = RESULT_CHECKS.get(method)
    return None if check is None else check(result)
