"""`ChainClient`: block-pinned reads of one chain, batched through Multicall3 and JSON-RPC batches.

    async with ChainClient.connect(1, ["http://127.0.0.1:8545"]) as client:
        snap = await client.snapshot()                  # pins number, hash and timestamp
        results = await snap.call_many([Call.of(token, "balanceOf(address)(uint256)", h) for h in holders])
        balances = [r.one() for r in results]           # each result succeeded or says why not

All calls of a snapshot go out in one HTTP request (aggregate3 chunks inside one JSON-RPC batch); a
failing call fails alone; an aggregate that fails as a whole is split until the culprit stands alone.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Final

import structlog

from defiscope.chain.block import BlockRef
from defiscope.chain.errors import (
    AllEndpointsFailed,
    BlockUnavailable,
    ChainError,
    InvalidInput,
    MalformedResponse,
    RpcError,
    StateUnavailable,
)
from defiscope.chain.multicall import (
    Call,
    CallResult,
    chunk_calls,
    decode_aggregate3,
    decode_call,
    encode_aggregate3,
)
from defiscope.chain.registry import CHAINS, ChainInfo
from defiscope.chain.rpc import RpcClient, RpcResponse

log = structlog.get_logger(__name__)

BlockId = BlockRef | int | str
#: Tries of eth_getBlockByNumber for a block at or below the head before giving up.
BLOCK_LOOKUPS: Final = 4
NAMED_BLOCKS = ("latest", "safe", "finalized", "earliest", "pending")


def block_param(at: BlockId) -> Any:
    """The JSON-RPC block parameter; a pinned block goes by hash (EIP-1898), so a reorg fails loudly."""
    if isinstance(at, BlockRef):
        return {"blockHash": at.hash}
    if isinstance(at, bool) or (isinstance(at, int) and at < 0):
        raise InvalidInput(f"invalid block {at!r}: expected a block number >= 0 or one of {', '.join(NAMED_BLOCKS)}")
    if isinstance(at, int):
        return hex(at)
    if at in NAMED_BLOCKS:
        return at
    raise InvalidInput(f"invalid block {at!r}: expected a block number >= 0 or one of {', '.join(NAMED_BLOCKS)}")


class ChainClient:
    """Reads one chain: blocks, view calls (batched), logs. Adapters get one of these."""

    def __init__(
        self,
        rpc: RpcClient,
        *,
        info: ChainInfo | None = None,
        multicall: str | None = None,
        max_calls_per_multicall: int = 500,
        max_calldata_bytes: int = 128_000,
    ) -> None:
        self.rpc = rpc
        self.chain_id = rpc.chain_id
        self.info = info or CHAINS.get(rpc.chain_id)
        self.multicall = multicall or (self.info.multicall3 if self.info else None)
        self.max_calls_per_multicall = max_calls_per_multicall
        self.max_calldata_bytes = max_calldata_bytes

    @classmethod
    def connect(cls, chain_id: int, urls: Sequence[str], **rpc_options: Any) -> ChainClient:
        return cls(RpcClient(chain_id, urls, **rpc_options))

    async def __aenter__(self) -> ChainClient:
        return self

    async def __aexit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        await self.rpc.aclose()

    async def aclose(self) -> None:
        await self.rpc.aclose()

    # ---------------------------------------------------------------- blocks

    async def block(self, at: int | str = "latest") -> BlockRef:
        """Number, hash and timestamp of a block; a block beyond the head raises `InvalidInput`."""
        for attempt in range(BLOCK_LOOKUPS):
            raw = await self.rpc.request("eth_getBlockByNumber", [block_param(at), False])
            if raw is not None:
                return block_ref(self.chain_id, raw)
            head = int(await self.rpc.request("eth_blockNumber", []), 16)
            if not isinstance(at, int) or at > head:
                raise InvalidInput(f"block {at} does not exist yet (chain head is {head})", chain_id=self.chain_id)
            # The node reports a head past the block but cannot serve it yet (a node behind a load balancer,
            # or one still writing the block): ask again shortly.
            await asyncio.sleep(0.05 * (attempt + 1))
        raise StateUnavailable(
            f"block {at} is below the head but the node did not return it", code=0, chain_id=self.chain_id
        )

    async def snapshot(self, at: int | str = "latest") -> Snapshot:
        """Pin a block; everything read through the snapshot is read at exactly that block."""
        return Snapshot(self, await self.block(at))

    # ---------------------------------------------------------------- calls

    async def call(self, call: Call, at: BlockId = "latest") -> CallResult:
        (result,) = await self.call_many([call], at)
        return result

    async def call_many(
        self, calls: Sequence[Call], at: BlockId = "latest", *, multicall: bool = True
    ) -> list[CallResult]:
        """Results in the order of `calls`; each succeeded or carries its decoded revert reason."""
        if not calls:
            return []
        block = block_param(at)
        if not multicall or self.multicall is None:
            return await self._plain_batch(calls, block)
        chunks = chunk_calls(calls, max_calls=self.max_calls_per_multicall, max_calldata_bytes=self.max_calldata_bytes)
        answers = await self.rpc.batch([self.aggregate_request(chunk, block) for chunk in chunks])
        parts = await asyncio.gather(
            *(self.settle_aggregate(chunk, answer, block) for chunk, answer in zip(chunks, answers, strict=True))
        )
        return [result for part in parts for result in part]

    def aggregate_request(self, chunk: Sequence[Call], block: Any) -> tuple[str, list[Any]]:
        return ("eth_call", [{"to": self.multicall, "data": "0x" + encode_aggregate3(chunk).hex()}, block])

    async def settle_aggregate(self, chunk: Sequence[Call], answer: RpcResponse, block: Any) -> list[CallResult]:
        """Decode one aggregate answer; split the chunk when the aggregate failed as a whole."""
        if answer.error is None:
            try:
                return decode_aggregate3(chunk, _hex_bytes(answer.result, self.chain_id))
            except ValueError as exc:
                # No Multicall3 at this address or block: read the calls one by one instead.
                log.warning("multicall.unavailable", chain_id=self.chain_id, address=self.multicall, reason=str(exc))
                return await self._plain_batch(chunk, block)
        if len(chunk) == 1:
            return [CallResult(chunk[0], False, error=_reason(answer.error))]
        half = len(chunk) // 2
        halves = [chunk[:half], chunk[half:]]
        answers = await self.rpc.batch([self.aggregate_request(h, block) for h in halves])
        parts = await asyncio.gather(
            *(self.settle_aggregate(h, a, block) for h, a in zip(halves, answers, strict=True))
        )
        return [r for part in parts for r in part]

    async def _plain_batch(self, calls: Sequence[Call], block: Any) -> list[CallResult]:
        answers = await self.rpc.batch(
            [("eth_call", [{"to": c.target, "data": "0x" + c.calldata.hex()}, block]) for c in calls]
        )
        results = []
        for call, answer in zip(calls, answers, strict=True):
            if answer.error is not None:
                results.append(CallResult(call, False, error=_reason(answer.error)))
            else:
                results.append(decode_call(call, True, _hex_bytes(answer.result, self.chain_id)))
        return results

    # ---------------------------------------------------------------- logs and state

    async def get_logs(
        self,
        *,
        address: str | Sequence[str] | None = None,
        topics: Sequence[Any] | None = None,
        from_block: int,
        to_block: int,
    ) -> list[Mapping[str, Any]]:
        params: dict[str, Any] = {}
        if address is not None:
            params["address"] = address
        if topics is not None:
            params["topics"] = list(topics)
        return await self.rpc.get_logs(params, from_block, to_block)

    async def code(self, address: str, at: BlockId = "latest") -> bytes:
        return _hex_bytes(await self.rpc.request("eth_getCode", [address, block_param(at)]), self.chain_id)


@dataclass(frozen=True, slots=True)
class Snapshot:
    """A chain client pinned to one block; if that block disappears (reorg), reads raise `BlockUnavailable`."""

    client: ChainClient
    block: BlockRef

    async def call_many(self, calls: Sequence[Call]) -> list[CallResult]:
        try:
            return await self.client.call_many(calls, self.block)
        except (StateUnavailable, AllEndpointsFailed) as exc:
            if isinstance(exc, AllEndpointsFailed) and not all(isinstance(e, StateUnavailable) for e in exc.errors):
                raise
            raise BlockUnavailable(
                f"block {self.block.number} ({self.block.hash}) is gone: reorged away or pruned; pin a new block",
                chain_id=self.client.chain_id,
                call=f"{len(calls)} call(s)",
            ) from exc

    async def call(self, call: Call) -> CallResult:
        (result,) = await self.call_many([call])
        return result


def block_ref(chain_id: int, raw: Any) -> BlockRef:
    """The `BlockRef` of a JSON-RPC block object; one that lacks a field is a `MalformedResponse`."""
    try:
        return BlockRef(chain_id, int(raw["number"], 16), str(raw["hash"]), int(raw["timestamp"], 16))
    except (KeyError, TypeError, ValueError) as exc:
        raise MalformedResponse(
            f"block object lacks number/hash/timestamp: {str(raw)[:80]}", chain_id=chain_id
        ) from exc


def _hex_bytes(value: Any, chain_id: int) -> bytes:
    if not isinstance(value, str) or not value.startswith("0x"):
        raise MalformedResponse(f"expected hex data, got {str(value)[:80]}", chain_id=chain_id)
    try:
        return bytes.fromhex(value[2:])
    except ValueError as exc:
        raise MalformedResponse(f"invalid hex data {value[:80]}", chain_id=chain_id) from exc


def _reason(error: ChainError) -> str:
    return getattr(error, "reason", None) or (error.message if isinstance(error, RpcError) else str(error))
