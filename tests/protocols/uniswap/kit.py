"""Helpers for the tracked-state tests: compare a tracked adapter with a fresh one's full read at one block."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from typing import Any

from eth_utils import keccak
from structlog.testing import capture_logs

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.protocols.base import Position, Uncounted
from defiscope.protocols.tracked import TrackedAdapter
from defiscope.protocols.uniswap.v2 import V2Adapter
from defiscope.protocols.uniswap.v3 import V3Adapter

Row = tuple[str, str, int | str, str]


def rows(positions: Sequence[Position | Uncounted]) -> list[Row]:
    """Positions as comparable rows: (token, kind, amount, label) or (holder, token, reason, "uncounted")."""
    return sorted(
        (p.token, p.kind.value, p.amount, p.label)
        if isinstance(p, Position)
        else (p.holder, p.token or "", p.reason, "uncounted")
        for p in positions
    )


def fresh(adapter: TrackedAdapter, deployment: Deployment) -> TrackedAdapter:
    """A new adapter of the same protocol: its first read is a full read."""
    if isinstance(adapter, V2Adapter | V3Adapter):
        return type(adapter)(deployment, adapter.spec)
    raise TypeError(type(adapter))


async def assert_tracked_equals_full(
    client: ChainClient,
    deployment: Deployment,
    adapters: Sequence[TrackedAdapter],
    at: int | str = "latest",
    *,
    reload: bool = False,
) -> tuple[int, list[MutableMapping[str, Any]]]:
    """Each tracked adapter's positions and per-pool holdings equal a full read at the same block; the block
    and the logged events. An adapter that had a state followed it from the logs (V2 with no `getReserves`),
    or, with `reload`, reloaded it."""
    batcher = Batcher(await client.snapshot(at))
    events: list[MutableMapping[str, Any]] = []
    for adapter in adapters:
        had_state = adapter.state is not None
        reader = batcher.reader("tracked")
        with capture_logs() as logged:
            tracked = await adapter.positions(reader)
        events += logged
        full_adapter = fresh(adapter, deployment)
        full = await full_adapter.positions(batcher.reader("full"))
        assert rows(tracked) == rows(full), adapter.info.slug
        assert adapter.state is not None
        assert full_adapter.state is not None
        assert adapter.state.listing() == full_adapter.state.listing(), adapter.info.slug
        assert adapter.state.block == batcher.block
        if had_state:
            reloaded = any(e["event"] == "state.reloaded" for e in logged)
            assert reloaded == reload, adapter.info.slug
            if isinstance(adapter, V2Adapter) and not reload:
                assert {r.call.function.signature for r in reader.records} <= {"getBlockHash(uint256)"}
    return batcher.block.number, events


def balance_slot(holder: str, mapping_slot: int = 0) -> str:
    """Storage slot of `balances[holder]` for a Solidity mapping at `mapping_slot` (OpenZeppelin ERC20: 0)."""
    key = bytes.fromhex(holder[2:]).rjust(32, b"\0") + mapping_slot.to_bytes(32, "big")
    return "0x" + keccak(key).hex()


def fund_and_approve(sender: Sender, token: str, spenders: Sequence[str], amount: int, *, wrapped: str) -> None:
    """Give account 0 `amount` of a devnet token (wrapping native for `wrapped`) and approve the spenders."""
    weth = sender.contract(npm_artifact("WETH9"), token)
    if token == wrapped:
        sender.send(weth.functions.deposit(), value=amount)
    else:
        sender.send(sender.contract(contract_artifact("DevToken"), token).functions.mint(sender.owner, amount))
    for spender in spenders:
        sender.send(weth.functions.approve(spender, MAX_UINT256))
