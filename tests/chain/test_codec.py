"""The hand-written hot paths equal eth-abi exactly: aggregate3 encoding/decoding and one-word outputs."""

from __future__ import annotations

import eth_abi
import pytest
from eth_utils import to_checksum_address
from hypothesis import given
from hypothesis import strategies as st

from defiscope.chain.abi import Function
from defiscope.chain.errors import InvalidInput
from defiscope.chain.multicall import AGGREGATE3, Call, decode_aggregate3, encode_aggregate3

addresses = st.binary(min_size=20, max_size=20).map(lambda b: "0x" + b.hex())
signatures = st.sampled_from(
    ["balanceOf(address)(uint256)", "getReserves()(uint112,uint112,uint32)", "symbol()(string)", "f(bytes)(bytes)"]
)


@st.composite
def calls(draw: st.DrawFn) -> Call:
    fn = Function.parse(draw(signatures))
    args: tuple[object, ...] = ()
    if fn.inputs == ("address",):
        args = (draw(addresses),)
    elif fn.inputs == ("bytes",):
        args = (draw(st.binary(max_size=100)),)
    return Call.of(draw(addresses), fn.name + "(" + ",".join(fn.inputs) + ")(" + ",".join(fn.outputs) + ")", *args)


@given(st.lists(calls(), max_size=12), st.booleans())
def test_encode_aggregate3_equals_eth_abi(batch: list[Call], allow_failure: bool) -> None:
    expected = AGGREGATE3.encode([[(c.target, allow_failure, c.calldata) for c in batch]])
    assert encode_aggregate3(batch, allow_failure=allow_failure) == expected


@given(st.lists(st.tuples(st.booleans(), st.binary(max_size=130)), max_size=12))
def test_decode_aggregate3_equals_eth_abi(items: list[tuple[bool, bytes]]) -> None:
    # A successful call returns ABI-encoded `bytes`; a failed one returns raw revert data.
    answers = [(ok, eth_abi.encode(["bytes"], [payload]) if ok else payload) for ok, payload in items]
    data = eth_abi.encode(["(bool,bytes)[]"], [answers])
    batch = [Call.of("0x" + "11" * 20, "f()(bytes)")] * len(items)
    results = decode_aggregate3(batch, data)
    assert [r.success for r in results] == [ok for ok, _ in items]
    assert [r.value for r in results if r.success] == [(payload,) for ok, payload in items if ok]


def test_success_without_data_is_a_failure() -> None:
    data = eth_abi.encode(["(bool,bytes)[]"], [[(True, b"")]])
    (result,) = decode_aggregate3([Call.of("0x" + "11" * 20, "f()(uint256)")], data)
    assert not result.success
    assert result.error == "empty return data (is there a contract at the target?)"


def test_truncated_aggregate3_answer_is_refused() -> None:
    data = eth_abi.encode(["(bool,bytes)[]"], [[(True, b"\x01" * 32)]])
    with pytest.raises(ValueError, match=r"too short|runs past the end"):
        decode_aggregate3([Call.of("0x" + "11" * 20, "f()(uint256)")], data[:-32])


@given(st.integers(0, 2**256 - 1), st.integers(-(2**255), 2**255 - 1), addresses, st.booleans())
def test_word_decoders_equal_eth_abi(u: int, i: int, address: str, flag: bool) -> None:
    fn = Function.parse("f()(uint256,int256,address,bool,bytes32)")
    raw = eth_abi.encode(["uint256", "int256", "address", "bool", "bytes32"], [u, i, address, flag, b"\x07" * 32])
    assert fn.decode_output(raw) == (u, i, to_checksum_address(address), flag, b"\x07" * 32)
    assert (
        fn.decode_output(raw)[2]
        == Function.parse("g()(address[])").decode_output(eth_abi.encode(["address[]"], [[address]]))[0][0]
    )


@pytest.mark.parametrize(
    ("signature", "word", "problem"),
    [
        ("f()(uint8)", (256).to_bytes(32, "big"), "out of range for uint8"),
        ("f()(bool)", (2).to_bytes(32, "big"), "is not a bool"),
        ("f()(address)", b"\x01" * 32, "is not an address"),
        ("f()(int8)", (128).to_bytes(32, "big"), "out of range for int8"),
    ],
)
def test_dirty_words_are_refused_like_eth_abi(signature: str, word: bytes, problem: str) -> None:
    fn = Function.parse(signature)
    with pytest.raises(ValueError, match=problem):
        fn.decode_output(word)
    with pytest.raises(Exception):  # noqa: B017, PT011 - eth-abi refuses it too, with its own types
        eth_abi.decode(list(fn.outputs), word)


@given(addresses, st.integers(0, 2**256 - 1), st.integers(-(2**23), 2**23 - 1), st.booleans())
def test_word_encoders_equal_eth_abi(address: str, u: int, i: int, flag: bool) -> None:
    fn = Function.parse("f(address,uint256,int24,bool)")
    expected = fn.selector + eth_abi.encode(["address", "uint256", "int24", "bool"], [address, u, i, flag])
    assert fn.encode((address, u, i, flag)) == expected
    assert fn.encode((to_checksum_address(address), u, i, flag)) == expected


@pytest.mark.parametrize(
    ("signature", "args", "problem"),
    [
        ("f(uint8)", (256,), "out of range for uint8"),
        ("f(int24)", (2**23,), "out of range for int24"),
        ("f(uint256)", (-1,), "out of range for uint256"),
        ("f(address)", ("0x1234",), "is not an address"),
        ("f(bool)", (1,), "is not a bool"),
        ("f(uint256)", ("7",), "is not an integer"),
    ],
)
def test_bad_arguments_are_refused_like_eth_abi(signature: str, args: tuple[object, ...], problem: str) -> None:
    fn = Function.parse(signature)
    with pytest.raises(InvalidInput, match=problem):
        fn.encode(args)
    with pytest.raises(Exception):  # noqa: B017, PT011 - eth-abi refuses it too, with its own types
        eth_abi.encode(list(fn.inputs), list(args))
