"""Contract functions from human-readable signatures, encoded and decoded with eth-abi.

>>> fn = Function.parse("balanceOf(address)(uint256)")
>>> fn.selector.hex()
'70a08231'
>>> fn.decode_output(bytes.fromhex("00" * 31 + "2a"))
(42,)
>>> Function.parse("getReserves()(uint112,uint112,uint32)").outputs
('uint112', 'uint112', 'uint32')
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any, Final

import eth_abi
from eth_abi.exceptions import EncodingError
from eth_utils import function_signature_to_4byte_selector, is_address, to_checksum_address

from defiscope.chain.errors import InvalidInput

#: Why a successful call has no result: the target had no code at that block (or no such function).
EMPTY_RETURN_DATA: Final = "empty return data (is there a contract at the target?)"

ERROR_SELECTOR: Final = bytes.fromhex("08c379a0")  # Error(string)
PANIC_SELECTOR: Final = bytes.fromhex("4e487b71")  # Panic(uint256)

#: Solidity's panic codes, as documented for `Panic(uint256)`.
PANIC_CODES: Final = {
    0x01: "assertion failed",
    0x11: "arithmetic overflow or underflow",
    0x12: "division or modulo by zero",
    0x21: "invalid enum value",
    0x22: "invalid storage byte array",
    0x31: "pop on empty array",
    0x32: "array index out of bounds",
    0x41: "out of memory",
    0x51: "call to uninitialised function",
}


def split_types(types: str) -> tuple[str, ...]:
    """Split "uint256,(address,bool)[],bytes" at top-level commas only."""
    parts: list[str] = []
    depth = 0
    start = 0
    for i, ch in enumerate(types):
        if ch == "(":
            depth += 1
        elif ch == ")":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(types[start:i].strip())
            start = i + 1
    tail = types[start:].strip()
    if tail:
        parts.append(tail)
    return tuple(parts)


def _abi_type(param: Mapping[str, Any]) -> str:
    """The canonical type of one ABI JSON parameter, tuples expanded."""
    kind = str(param["type"])
    if kind.startswith("tuple"):
        inner = ",".join(_abi_type(c) for c in param["components"])
        return f"({inner}){kind[len('tuple') :]}"
    return kind


@dataclass(frozen=True, slots=True)
class Function:
    """One contract function: name, input and output types, and its 4-byte selector."""

    name: str
    inputs: tuple[str, ...]
    outputs: tuple[str, ...]
    selector: bytes = field(repr=False)
    #: Fast decoders when every output is one static word (uint, int, address, bool, bytes32): the hot path
    #: of balance and reserve reads. Other shapes go through eth-abi.
    _word_decoders: tuple[Callable[[bytes], Any], ...] | None = field(default=None, repr=False, compare=False)

    #: Likewise for inputs: balanceOf(address), allPairs(uint256), getPool(address,address,uint24)...
    _word_encoders: tuple[Callable[[Any], bytes], ...] | None = field(default=None, repr=False, compare=False)

    def __post_init__(self) -> None:
        decoders = tuple(_word_decoder(t) for t in self.outputs)
        if self.outputs and all(d is not None for d in decoders):
            object.__setattr__(self, "_word_decoders", decoders)
        encoders = tuple(_word_encoder(t) for t in self.inputs)
        if all(e is not None for e in encoders):
            object.__setattr__(self, "_word_encoders", encoders)

    @property
    def signature(self) -> str:
        return f"{self.name}({','.join(self.inputs)})"

    @staticmethod
    @lru_cache(maxsize=4096)
    def parse(text: str) -> Function:
        """Parse "name(inputs)(outputs)"; the output part may be omitted for calls with no result."""
        text = text.replace(" ", "")
        open_at = text.find("(")
        if open_at <= 0:
            raise InvalidInput(f"not a function signature: {text!r} (expected e.g. 'balanceOf(address)(uint256)')")
        depth = 0
        for i in range(open_at, len(text)):
            depth += {"(": 1, ")": -1}.get(text[i], 0)
            if depth == 0:
                close_at = i
                break
        else:
            raise InvalidInput(f"unbalanced parentheses in signature {text!r}")
        inputs = split_types(text[open_at + 1 : close_at])
        rest = text[close_at + 1 :]
        if rest and not (rest.startswith("(") and rest.endswith(")")):
            raise InvalidInput(f"bad output list in signature {text!r}")
        outputs = split_types(rest[1:-1]) if rest else ()
        name = text[:open_at]
        selector = function_signature_to_4byte_selector(f"{name}({','.join(inputs)})")
        return Function(name, inputs, outputs, selector)

    @staticmethod
    def from_abi(entry: Mapping[str, Any]) -> Function:
        """Build from one entry of a JSON ABI."""
        inputs = tuple(_abi_type(p) for p in entry.get("inputs", ()))
        outputs = tuple(_abi_type(p) for p in entry.get("outputs", ()))
        name = str(entry["name"])
        selector = function_signature_to_4byte_selector(f"{name}({','.join(inputs)})")
        return Function(name, inputs, outputs, selector)

    def encode(self, args: Sequence[Any] = ()) -> bytes:
        """Calldata: selector + ABI-encoded arguments."""
        if len(args) != len(self.inputs):
            raise InvalidInput(f"{self.signature} takes {len(self.inputs)} argument(s), got {len(args)}")
        if self._word_encoders is not None:
            try:
                return self.selector + b"".join(encode(a) for encode, a in zip(self._word_encoders, args, strict=True))
            except (TypeError, ValueError) as exc:
                raise InvalidInput(f"cannot encode arguments {list(args)!r} for {self.signature}: {exc}") from exc
        try:
            return self.selector + eth_abi.encode(self.inputs, list(args))
        except (TypeError, ValueError, OverflowError, EncodingError) as exc:
            raise InvalidInput(f"cannot encode arguments {list(args)!r} for {self.signature}: {exc}") from exc

    def decode_output(self, data: bytes) -> tuple[Any, ...]:
        """Decode return data; raises `ValueError` (with the reason) when it does not fit the output types."""
        if not self.outputs:
            return ()
        if not data:
            raise ValueError(EMPTY_RETURN_DATA)
        if self._word_decoders is not None and len(data) == 32 * len(self.outputs):
            return tuple(decode(data[32 * i : 32 * i + 32]) for i, decode in enumerate(self._word_decoders))
        try:
            decoded = eth_abi.decode(self.outputs, data)
        except Exception as exc:  # eth-abi raises several unrelated types for bad data
            raise ValueError(f"return data does not decode as ({','.join(self.outputs)}): {exc}") from exc
        return tuple(_checksum_addresses(v) for v in decoded)


def _word_encoder(abi_type: str) -> Callable[[Any], bytes] | None:
    """A strict encoder of one static value into its 32-byte word (same checks as eth-abi), or None."""
    if abi_type == "address":
        return _encode_address
    if abi_type == "bool":
        return _encode_bool
    for prefix, signed in (("uint", False), ("int", True)):
        bits_text = abi_type[len(prefix) :]
        if abi_type.startswith(prefix) and (bits_text == "" or bits_text.isdigit()):
            return _int_encoder(int(bits_text or 256), signed)
    return None


@lru_cache(maxsize=65536)
def _encode_address(value: str) -> bytes:
    # Cached: the same tokens and holders come back snapshot after snapshot.
    if not isinstance(value, str) or not is_address(value):
        raise ValueError(f"{value!r} is not an address")
    return bytes(12) + bytes.fromhex(value[2:])


def _encode_bool(value: object) -> bytes:
    if not isinstance(value, bool):
        raise TypeError(f"{value!r} is not a bool")
    return (1 if value else 0).to_bytes(32, "big")


def _int_encoder(bits: int, signed: bool) -> Callable[[Any], bytes]:
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def encode(value: Any) -> bytes:
        if not isinstance(value, int) or isinstance(value, bool):
            raise TypeError(f"{value!r} is not an integer")
        if not low <= value <= high:
            raise ValueError(f"{value} is out of range for {'int' if signed else 'uint'}{bits}")
        return value.to_bytes(32, "big", signed=signed)

    return encode


def _word_decoder(abi_type: str) -> Callable[[bytes], Any] | None:
    """A strict decoder of one 32-byte word of `abi_type` (rejecting dirty padding, like eth-abi), or None."""
    if abi_type == "bool":
        return _decode_bool
    if abi_type == "address":
        return _decode_address
    if abi_type == "bytes32":
        return bytes
    for prefix, signed in (("uint", False), ("int", True)):
        bits_text = abi_type[len(prefix) :]
        if abi_type.startswith(prefix) and (bits_text == "" or bits_text.isdigit()):
            bits = int(bits_text or 256)
            return _int_decoder(bits, signed)
    return None


def _int_decoder(bits: int, signed: bool) -> Callable[[bytes], int]:
    low, high = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)

    def decode(word: bytes) -> int:
        value = int.from_bytes(word, "big", signed=signed)
        if not low <= value <= high:
            raise ValueError(f"return word 0x{word.hex()} is out of range for {'int' if signed else 'uint'}{bits}")
        return value

    return decode


def _decode_bool(word: bytes) -> bool:
    value = int.from_bytes(word, "big")
    if value > 1:
        raise ValueError(f"return word 0x{word.hex()} is not a bool")
    return value == 1


def _decode_address(word: bytes) -> str:
    if any(word[:12]):
        raise ValueError(f"return word 0x{word.hex()} is not an address")
    return str(to_checksum_address(word[12:]))


def _checksum_addresses(value: Any) -> Any:
    """eth-abi returns lowercase addresses; defiscope uses checksum addresses everywhere."""
    if isinstance(value, str) and len(value) == 42 and value.startswith("0x"):
        return to_checksum_address(value)
    if isinstance(value, tuple | list):
        return type(value)(_checksum_addresses(v) for v in value)
    return value


def decode_revert(data: bytes) -> str:
    """A readable reason from revert data: Error(string), Panic(uint256), or the custom error selector."""
    if not data:
        return "reverted without a reason"
    if data[:4] == ERROR_SELECTOR:
        try:
            (reason,) = eth_abi.decode(["string"], data[4:])
        except Exception:
            return f"Error(string) with undecodable data 0x{data.hex()}"
        return str(reason)
    if data[:4] == PANIC_SELECTOR and len(data) >= 36:
        code = int.from_bytes(data[4:36], "big")
        return f"panic 0x{code:02x}: {PANIC_CODES.get(code, 'unknown panic code')}"
    return f"custom error 0x{data[:4].hex()} (data 0x{data.hex()})"


def checksum(address: str) -> str:
    """Validate and checksum an address; a malformed one raises `InvalidInput` naming it."""
    if not isinstance(address, str):
        raise InvalidInput(f"invalid address {address!r}: expected 0x followed by 40 hex digits")
    return _checksum_text(address)


# Hot and pure: every call built on a pool names its address (a V3 state read makes thousands), and
# keccak-checksumming the same few addresses dominated such reads. Raising calls are not cached.
@lru_cache(maxsize=2**16)
def _checksum_text(address: str) -> str:
    if not is_address(address):
        raise InvalidInput(f"invalid address {address!r}: expected 0x followed by 40 hex digits")
    checksummed = str(to_checksum_address(address))
    digits = address[2:]
    if digits != digits.lower() and digits != digits.upper() and address != checksummed:
        raise InvalidInput(
            f"invalid address {address!r}: mixed case with a wrong checksum (did you mean {checksummed}?)"
        )
    return checksummed
