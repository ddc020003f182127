"""Helpers for the tracked-state tests: compare a tracked adapter with a fresh one's full read at one block; make
a V3 pool hold a rebasing token."""

from __future__ import annotations

from collections.abc import MutableMapping, Sequence
from dataclasses import dataclass
from typing import Any

from eth_typing import ChecksumAddress
from eth_utils import keccak
from structlog.testing import capture_logs

from defiscope.chain.client import ChainClient
from defiscope.chain.reader import Batcher
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact, npm_artifact
from defiscope.devnet.tx import MAX_UINT256, Sender
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import Position, Uncounted
from defiscope.protocols.tracked import TrackedAdapter
from defiscope.protocols.uniswap.v2 import V2Adapter
from defiscope.protocols.uniswap.v3 import V3Adapter
from tests.protocols.uniswap_v3.kit import CALLER_MINT

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


#: sqrt(1) in Q64.96: one raw unit of token1 per raw unit of token0.
PRICE_ONE = 2**96
LIQUIDITY = 10**18


@dataclass(frozen=True, slots=True)
class Pool:
    address: ChecksumAddress
    token0: ChecksumAddress
    token1: ChecksumAddress


def create_pool(owner: Sender, chain: DevnetChain, held: str, plain: str, fee: int, amount: int) -> Pool:
    """A pool of the real factory, initialized at price 1, with the owner's liquidity in `plain` and `amount` of the
    rebasing `held` token sent to it.

    The liquidity sits just beside the price, all in the plain token: a stETH transfer credits a wei less than
    asked (shares round down), and a pool refuses a mint or swap paid that way ("M0", "IIA"), as on mainnet."""
    factory = owner.contract(npm_artifact("UniswapV3Factory"), chain.contracts["UniswapV3Factory"])
    owner.send(factory.functions.createPool(held, plain, fee))
    address = factory.functions.getPool(held, plain, fee).call()
    pool = owner.contract(npm_artifact("UniswapV3Pool"), address)
    owner.send(pool.functions.initialize(PRICE_ONE))
    spacing = pool.functions.tickSpacing().call()
    token0, token1 = pool.functions.token0().call(), pool.functions.token1().call()
    # Above the price a position is all token0, below it all token1.
    lower, upper = (spacing, 11 * spacing) if token0 == plain else (-11 * spacing, -spacing)
    transact(
        owner, chain.contracts["V3PoolCaller"], CALLER_MINT.calldata(address, owner.owner, lower, upper, LIQUIDITY)
    )
    send(owner, held, address, amount)
    return Pool(address, token0, token1)


def send(owner: Sender, token: str, to: str, amount: int) -> None:
    owner.send(owner.contract(contract_artifact("DevToken"), token).functions.transfer(to, amount))


def transact(owner: Sender, to: str, data: str) -> None:
    tx_hash = owner.w3.eth.send_transaction({"from": owner.owner, "to": to, "data": data})
    assert owner.w3.eth.wait_for_transaction_receipt(tx_hash, poll_latency=0.002)["status"] == 1
