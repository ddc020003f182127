"""Artifact loading (waffle, hardhat, ours) and library linking, without a node."""

from __future__ import annotations

from pathlib import Path

import pytest

from defiscope.devnet.artifacts import (
    Artifact,
    LinkReference,
    contract_artifact,
    link_bytecode,
    load_npm_artifact,
    npm_artifact,
    parse_artifact,
    project_root,
)
from defiscope.devnet.errors import DevnetError

AAVE_POOL = "@aave/core-v3/artifacts/contracts/protocol/pool/Pool.sol/Pool.json"
POOL_LIBRARIES = {
    "SupplyLogic": "0x1111111111111111111111111111111111111111",
    "BorrowLogic": "0x2222222222222222222222222222222222222222",
    "LiquidationLogic": "0x3333333333333333333333333333333333333333",
    "EModeLogic": "0x4444444444444444444444444444444444444444",
    "BridgeLogic": "0x5555555555555555555555555555555555555555",
    "FlashLoanLogic": "0x6666666666666666666666666666666666666666",
    "PoolLogic": "0x7777777777777777777777777777777777777777",
}


def test_waffle_format_gets_0x_prefix_and_runtime_code() -> None:
    pair = npm_artifact("UniswapV2Pair")
    assert pair.bytecode.startswith("0x6080")
    assert pair.deployed_bytecode.startswith("0x6080")
    assert len(pair.deployed_bytecode) < len(pair.bytecode)
    assert pair.is_linked
    assert {item.get("name") for item in pair.abi} >= {"getReserves", "swap", "token0"}


def test_hardhat_format_reads_link_references() -> None:
    pool = load_npm_artifact(AAVE_POOL)
    assert pool.libraries == frozenset(POOL_LIBRARIES)
    assert not pool.is_linked
    supply = [ref for ref in pool.link_references if ref.library == "SupplyLogic"]
    assert [ref.start for ref in supply] == [3696, 5870, 6512, 6724, 12382]
    assert all(ref.length == 20 for ref in pool.link_references)


def test_linking_splices_each_address_at_its_offsets() -> None:
    pool = load_npm_artifact(AAVE_POOL)
    linked = pool.link(POOL_LIBRARIES)
    assert linked.is_linked
    code = bytes.fromhex(linked.bytecode[2:])
    runtime = bytes.fromhex(linked.deployed_bytecode[2:])
    for ref in pool.link_references:
        assert code[ref.start : ref.start + 20] == bytes.fromhex(POOL_LIBRARIES[ref.library][2:])
    for ref in pool.deployed_link_references:
        assert runtime[ref.start : ref.start + 20] == bytes.fromhex(POOL_LIBRARIES[ref.library][2:])
    # Only the placeholders changed: same length, and the bytes outside the references are untouched.
    assert len(linked.bytecode) == len(pool.bytecode)
    assert linked.bytecode[:100] == pool.bytecode[:100]


def test_linking_with_a_qualified_name_and_extra_libraries() -> None:
    placeholder = "__$" + "ab" * 17 + "$__"
    code = "0x60aa" + placeholder + "60bb"
    refs = (LinkReference(source="contracts/L.sol", library="L", start=2, length=20),)
    linked = link_bytecode(code, refs, {"contracts/L.sol:L": "0x" + "cd" * 20, "Other": "0x" + "00" * 20})
    assert linked == "0x60aa" + "cd" * 20 + "60bb"


def test_linking_fails_on_a_missing_library() -> None:
    pool = load_npm_artifact(AAVE_POOL)
    partial = {name: address for name, address in POOL_LIBRARIES.items() if name != "PoolLogic"}
    with pytest.raises(DevnetError, match="library PoolLogic"):
        pool.link(partial)


def test_linking_refuses_a_non_address() -> None:
    refs = (LinkReference(source="L.sol", library="L", start=0, length=20),)
    with pytest.raises(DevnetError, match="not an address"):
        link_bytecode("0x" + "__$" + "00" * 17 + "$__", refs, {"L": "0x1234"})


def test_parse_artifact_of_our_format() -> None:
    artifact = parse_artifact("X", {"abi": [], "bytecode": "0x00", "deployedBytecode": "0x01"})
    assert artifact == Artifact(name="X", abi=[], bytecode="0x00", deployed_bytecode="0x01")


def test_our_contracts_are_compiled() -> None:
    multicall = contract_artifact("Multicall3")
    names = {item.get("name") for item in multicall.abi if item["type"] == "function"}
    assert names >= {
        "aggregate",
        "aggregate3",
        "tryAggregate",
        "getBlockNumber",
        "getBlockHash",
        "getCurrentBlockTimestamp",
        "getEthBalance",
        "getBasefee",
        "getChainId",
    }
    feed = contract_artifact("PriceFeed")
    feed_names = {item.get("name") for item in feed.abi}
    assert feed_names >= {"latestRoundData", "getRoundData", "updateAnswer", "updateRoundData", "AnswerUpdated"}


def test_project_root_without_node_modules_says_npm_ci(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "package.json").write_text("{}")
    monkeypatch.setenv("DEFISCOPE_PROJECT_ROOT", str(tmp_path))
    with pytest.raises(DevnetError, match="run `npm ci`") as info:
        project_root()
    assert "\n" not in str(info.value)
