"""Signatures, encoding and revert decoding (pure, no chain)."""

from __future__ import annotations

import eth_abi
import pytest
from hypothesis import given
from hypothesis import strategies as st

from defiscope.chain.abi import Function, checksum, decode_revert, split_types
from defiscope.chain.errors import InvalidInput


def test_split_types_respects_tuples() -> None:
    assert split_types("uint256,(address,bool)[],bytes") == ("uint256", "(address,bool)[]", "bytes")
    assert split_types("") == ()


def test_parse_and_selector() -> None:
    fn = Function.parse("transfer(address, uint256)(bool)")
    assert fn.signature == "transfer(address,uint256)"
    assert fn.selector.hex() == "a9059cbb"
    assert fn.outputs == ("bool",)


def test_from_abi_expands_tuples() -> None:
    entry = {
        "name": "aggregate3",
        "inputs": [{"type": "tuple[]", "components": [{"type": "address"}, {"type": "bool"}, {"type": "bytes"}]}],
        "outputs": [{"type": "tuple[]", "components": [{"type": "bool"}, {"type": "bytes"}]}],
    }
    fn = Function.from_abi(entry)
    assert fn == Function.parse("aggregate3((address,bool,bytes)[])((bool,bytes)[])")
    assert fn.selector.hex() == "82ad56cb"


@given(st.integers(min_value=0, max_value=2**256 - 1), st.integers(min_value=-(2**127), max_value=2**127 - 1))
def test_encode_decode_round_trip(a: int, b: int) -> None:
    fn = Function.parse("f(uint256,int128)(uint256,int128)")
    calldata = fn.encode((a, b))
    assert calldata[:4] == fn.selector
    assert fn.decode_output(calldata[4:]) == (a, b)


def test_decoded_addresses_are_checksummed() -> None:
    fn = Function.parse("token0()(address)")
    raw = eth_abi.encode(["address"], ["0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48"])
    assert fn.decode_output(raw) == ("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48",)


def test_bad_arguments_and_signatures_are_named() -> None:
    with pytest.raises(InvalidInput, match="takes 1 argument"):
        Function.parse("balanceOf(address)(uint256)").encode(())
    with pytest.raises(InvalidInput, match="cannot encode arguments"):
        Function.parse("f(uint8)").encode((300,))
    with pytest.raises(InvalidInput, match="not a function signature"):
        Function.parse("balanceOf")
    with pytest.raises(ValueError, match="empty return data"):
        Function.parse("f()(uint256)").decode_output(b"")
    with pytest.raises(ValueError, match=r"does not decode as \(uint256\)"):
        Function.parse("f()(uint256)").decode_output(b"\x01")


def test_decode_revert_kinds() -> None:
    assert decode_revert(bytes.fromhex("08c379a0") + eth_abi.encode(["string"], ["no liquidity"])) == "no liquidity"
    assert decode_revert(bytes.fromhex("4e487b71") + (0x11).to_bytes(32, "big")) == (
        "panic 0x11: arithmetic overflow or underflow"
    )
    assert decode_revert(bytes.fromhex("deadbeef01")) == "custom error 0xdeadbeef (data 0xdeadbeef01)"
    assert decode_revert(b"") == "reverted without a reason"


def test_checksum_rejects_bad_addresses() -> None:
    assert checksum("0xa0b86991c6218b36c1d19d4a2e9eb0ce3606eb48") == "0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48"
    with pytest.raises(InvalidInput, match="invalid address '0x1234'"):
        checksum("0x1234")
    with pytest.raises(InvalidInput, match="invalid address"):
        checksum("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB4B")  # checksum typo
