"""Parsing of the parameters FastAPI cannot check by type alone; failures name the parameter.

>>> parse_token("ethereum:0xc02aaa39b223fe8d0a0e5c4f27ead9083c756cc2", "tokens")
(1, '0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2')
>>> parse_token("ethereum:0x12", "tokens")
Traceback (most recent call last):
defiscope.api.errors.ApiError: 'ethereum:0x12': malformed address '0x12' (expected 0x and 40 hex digits)
>>> digits("²", "chain", 0, 10)
Traceback (most recent call last):
defiscope.api.errors.ApiError: '²': expected ASCII digits 0-9
"""

from __future__ import annotations

import re
import time
from typing import Final

from eth_utils import to_checksum_address

from defiscope.api.errors import ApiError
from defiscope.chain.errors import InvalidInput
from defiscope.chain.registry import ChainInfo, get_chain

_ADDRESS: Final = re.compile(r"^0x[0-9a-fA-F]{40}$")
#: ASCII digits only: `str.isdigit()` also takes "²" and other digits `int()` refuses.
_DIGITS: Final = re.compile(r"^[0-9]+$")
#: A chain given by name or alias: what any chain name could be, nothing a lookup would choke on.
_CHAIN_NAME: Final = re.compile(r"^[A-Za-z][A-Za-z0-9 ._-]{0,39}$")
#: The largest integer the store holds (SQLite and Postgres BIGINT): larger blocks and times are never stored.
MAX_STORED_INT: Final = 2**63 - 1
#: Chain ids are at most this long in digits (EIP-2294 bounds them far below 2^63).
_CHAIN_ID_DIGITS: Final = 19
#: DefiLlama's chain names that are not ours (their coins use "bsc", their chain lists "BSC").
_ALIASES: Final = {"binance": "bsc", "op mainnet": "optimism", "bnb chain": "bsc"}
#: Allowed clock skew before a timestamp counts as "in the future".
FUTURE_SLACK: Final = 300


def digits(value: str, field: str, low: int, high: int) -> int:
    """An integer written in ASCII digits, within [low, high]; anything else is a 422 naming `field`."""
    text = value.strip()
    if not _DIGITS.match(text):
        raise ApiError(422, field, f"{value[:40]!r}: expected ASCII digits 0-9")
    if len(text) > len(str(high)) + 1 or not low <= int(text) <= high:
        raise ApiError(422, field, f"{text[:40]} is out of range {low}..{high}")
    return int(text)


def chain(value: str, field: str) -> ChainInfo:
    """A chain by id ("1"), name or alias ("ethereum", "bnb"); 404 (path) or 422 (query) naming `field`."""
    text = value.strip()
    status = 404 if field == "chain" else 422
    if _DIGITS.match(text):
        key: int | str = digits(text, field, 0, 10**_CHAIN_ID_DIGITS - 1)
    elif _CHAIN_NAME.match(text):
        key = _ALIASES.get(text.lower(), text)
    else:
        raise ApiError(422, field, f"{value[:40]!r}: expected a chain name (ethereum) or id in ASCII digits (1)")
    try:
        return get_chain(key)
    except InvalidInput as exc:
        raise ApiError(status, field, str(exc)) from None


def address(value: str, field: str, context: str | None = None) -> str:
    if not _ADDRESS.match(value):
        where = f"{context!r}: " if context else ""
        raise ApiError(422, field, f"{where}malformed address {value!r} (expected 0x and 40 hex digits)")
    return to_checksum_address(value)


def parse_token(value: str, field: str) -> tuple[int, str]:
    """ "chain:address" -> (chain id, checksum address)."""
    name, sep, addr = value.strip().partition(":")
    if not sep:
        raise ApiError(422, field, f"{value!r}: expected chain:address, e.g. ethereum:0xC02a...")
    return chain(name, field).chain_id, address(addr.strip(), field, value.strip())


def split_list(value: str, field: str, limit: int) -> list[str]:
    items = [v.strip() for v in value.split(",") if v.strip()]
    if not items:
        raise ApiError(422, field, "is empty; give at least one item")
    if len(items) > limit:
        raise ApiError(422, field, f"has {len(items)} items; at most {limit} per request")
    return items


def time_range(
    start: int | None, end: int | None, start_field: str = "start", end_field: str = "end", *, now: int | None = None
) -> None:
    """Refuse timestamps in the future (of `now`: by default the clock) and a start after the end."""
    now = int(time.time()) if now is None else now
    for value, name in ((start, start_field), (end, end_field)):
        if value is not None and value > now + FUTURE_SLACK:
            raise ApiError(422, name, f"timestamp {value} is in the future (now {now})")
    if start is not None and end is not None and start > end:
        raise ApiError(422, start_field, f"start {start} is after end {end}")
