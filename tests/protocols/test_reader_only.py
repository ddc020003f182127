"""Protocols read the chain through their `Reader` only: no module under `protocols/` reaches through it (or
through anything else) to the raw client, where reads would escape the pinned block and the provenance.

The walk reads every module's syntax tree: an attribute named `client` or `rpc`, a batcher's `snapshot`, or an
import of the RPC layer is a reach-through. (Functions handed a `ChainClient` by the CLI — the risk commands —
pin a snapshot with `client.snapshot(...)` and read through a `Reader` from there; that is not reaching through.)
"""

from __future__ import annotations

import ast
from pathlib import Path

import defiscope.protocols

PROTOCOLS_DIR = Path(defiscope.protocols.__file__).parent
RAW_CLIENT_ATTRIBUTES = frozenset({"client", "rpc"})
RAW_CLIENT_MODULES = ("defiscope.chain.rpc",)
RAW_CLIENT_NAMES = frozenset({"block_param", "RpcClient", "RpcResponse"})  # what builds or sends raw requests


def reach_throughs(source: str) -> list[str]:
    """Each reach-through to the raw client in `source`, as "line N: what"."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Attribute) and node.attr in RAW_CLIENT_ATTRIBUTES:
            found.append(f"line {node.lineno}: .{node.attr}")
        elif (
            isinstance(node, ast.Attribute)
            and node.attr == "snapshot"
            and isinstance(node.value, ast.Attribute)
            and node.value.attr == "batcher"
        ):
            found.append(f"line {node.lineno}: .batcher.snapshot")
        elif isinstance(node, ast.Import):
            found += [
                f"line {node.lineno}: import {a.name}" for a in node.names if a.name.startswith(RAW_CLIENT_MODULES)
            ]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if module.startswith(RAW_CLIENT_MODULES):
                found.append(f"line {node.lineno}: from {module}")
            found += [f"line {node.lineno}: import {a.name}" for a in node.names if a.name in RAW_CLIENT_NAMES]
    return found


def test_the_walk_finds_each_kind_of_reach_through() -> None:
    source = """
from defiscope.chain.client import ChainClient, block_param
from defiscope.chain.rpc import RpcResponse
import defiscope.chain.rpc

async def rates(reader, client: ChainClient):
    raw = reader.batcher.snapshot
    await reader.batcher.snapshot.client.rpc.batch([])
    await client.rpc.request("eth_getCode", [])
    await client.snapshot()  # pinning a snapshot from a client handed in is not a reach-through
"""
    assert sorted(reach_throughs(source)) == sorted(
        [
            "line 2: import block_param",
            "line 3: from defiscope.chain.rpc",
            "line 3: import RpcResponse",
            "line 4: import defiscope.chain.rpc",
            "line 7: .batcher.snapshot",
            "line 8: .rpc",
            "line 8: .client",
            "line 8: .batcher.snapshot",
            "line 9: .rpc",
        ]
    )


def test_no_protocol_module_reaches_through_its_reader_to_the_raw_client() -> None:
    modules = sorted(PROTOCOLS_DIR.rglob("*.py"))
    assert len(modules) > 40  # the walk sees every protocol package
    found = {
        str(module.relative_to(PROTOCOLS_DIR)): hits
        for module in modules
        if (hits := reach_throughs(module.read_text()))
    }
    assert found == {}
