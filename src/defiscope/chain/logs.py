"""Fields of raw `eth_getLogs` entries as plain values: hex text, integers, and the addresses that topics
and data words hold. Nodes answer hex strings, web3 hands bytes: each helper takes either.

    >>> topic_address("0x000000000000000000000000c02aaa39b223fe8d0a0e5c4f27ead9083c756cc2")
    '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2'
    >>> log_int("0x10"), log_hex(b"\\xab")
    (16, '0xab')
"""

from __future__ import annotations

from typing import Any

from defiscope.chain.abi import checksum


def log_hex(value: Any) -> str:
    """A topic, data field or hash as lower-case 0x-hex."""
    return value.lower() if isinstance(value, str) else "0x" + bytes(value).hex()


def log_int(value: Any) -> int:
    """A quantity (block number, log index) as an int."""
    return int(value, 16) if isinstance(value, str) else int(value)


def topic_address(topic: Any) -> str:
    """The address an indexed `address` argument's topic holds (its last 20 bytes), checksummed."""
    return checksum("0x" + log_hex(topic)[-40:])


def word_address(data: Any, index: int) -> str:
    """The address in 32-byte word ``index`` of a log's data, checksummed."""
    text = log_hex(data)[2:]
    return checksum("0x" + text[64 * index + 24 : 64 * index + 64])
