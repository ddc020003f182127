"""ERC20 metadata (symbol, decimals), read once per token and cached: they never change.

book = TokenBook(chain_id=1, known=[TokenRef(1, usdc, "USDC", 6)])
refs = await book.resolve(reader, [usdc, some_new_token])   # one batch for the unknown ones
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from defiscope.chain.abi import checksum
from defiscope.chain.multicall import Call, CallResult

DECIMALS: Final = "decimals()(uint8)"
SYMBOL: Final = "symbol()(string)"
SYMBOL_BYTES32: Final = "symbol()(bytes32)"  # DSToken (MKR) and other early tokens


@dataclass(frozen=True, slots=True)
class TokenRef:
    """A token: address plus the metadata valuation needs."""

    chain_id: int
    address: str  # checksum
    symbol: str
    decimals: int


class CallReader(Protocol):
    async def call_many(self, calls: Sequence[Call]) -> list[CallResult]: ...


class TokenBook:
    """Per-chain cache of token metadata; unknown tokens are read in one batch."""

    def __init__(self, chain_id: int, known: Iterable[TokenRef] = ()) -> None:
        self.chain_id = chain_id
        self._tokens = {t.address: t for t in known}

    def get(self, address: str) -> TokenRef | None:
        return self._tokens.get(address)

    def known(self) -> list[TokenRef]:
        """Every token resolved so far (in the order first seen)."""
        return list(self._tokens.values())

    async def resolve(self, reader: CallReader, addresses: Iterable[str]) -> dict[str, TokenRef | str]:
        """Metadata of each address, or the reason it could not be read (decimals() failed)."""
        wanted = list(dict.fromkeys(checksum(a) for a in addresses))
        missing = [a for a in wanted if a not in self._tokens]
        errors: dict[str, str] = {}
        if missing:
            calls = [
                call for a in missing for call in (Call.of(a, DECIMALS), Call.of(a, SYMBOL), Call.of(a, SYMBOL_BYTES32))
            ]
            results = await reader.call_many(calls)
            for i, address in enumerate(missing):
                decimals, text_symbol, word_symbol = results[3 * i : 3 * i + 3]
                if decimals.success:
                    symbol = _symbol(text_symbol, word_symbol, address)
                    self._tokens[address] = TokenRef(self.chain_id, address, symbol, decimals.one())
                else:
                    errors[address] = f"cannot read decimals() of token {address}: {decimals.error}"
        return {a: self._tokens.get(a) or errors[a] for a in wanted}


def _symbol(text: CallResult, word: CallResult, address: str) -> str:
    """symbol() as a string, or as bytes32 (old tokens such as MKR), or a short address if neither."""
    if text.success:
        return str(text.one())
    if word.success:
        return bytes(word.one()).rstrip(b"\x00").decode("utf-8", "replace")
    return f"{address[:6]}…{address[-4:]}"
