"""`Reader.at(block)`: another (older) block of the same chain, read into the same provenance and kept pinned.

The devnet moves on between the reads (transfers mined after the blocks are pinned): every answer stays the
pinned block's, each call is recorded with the block it was read at, and readers asking at the same block share
its batches.
"""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest
from web3 import Web3

from defiscope.chain.client import ChainClient
from defiscope.chain.errors import InvalidInput
from defiscope.chain.multicall import Call
from defiscope.chain.reader import Batcher
from defiscope.devnet.world import DevnetChain
from defiscope.protocols.base import CallRecord
from tests.chain.test_block_pinning import BALANCE_OF, _transfer

TRANSFER_TOPIC = Web3.keccak(text="Transfer(address,address,uint256)").to_0x_hex()


def _send_and_mine(w3: Web3, token: str, holders: list[str], amount: int) -> None:
    _transfer(w3, token, holders[0], holders[1], amount)
    w3.provider.make_request("evm_mine", [])


async def test_at_reads_an_older_block_recorded_with_it_and_pinned_while_the_chain_moves(
    client: ChainClient, eth_chain: DevnetChain, holders: list[str]
) -> None:
    w3 = Web3(Web3.HTTPProvider(eth_chain.rpc_url))
    usdc = eth_chain.tokens["USDC"]
    balance = Call.of(usdc, BALANCE_OF, holders[1])
    _send_and_mine(w3, usdc, holders, 1_000_000)
    older = await client.block()
    _send_and_mine(w3, usdc, holders, 2_000_000)
    reader = Batcher(await client.snapshot()).reader("test")
    assert reader.block.number > older.number

    found = await reader.header(older.number)
    assert found == older  # number, hash and timestamp of the block by number
    then = reader.at(found)
    (now_result, then_result) = await asyncio.gather(reader.call(balance), then.call(balance))
    assert now_result.one() - then_result.one() == 2_000_000
    # One provenance holding both (read together: either may be answered, and recorded, first).
    assert sorted(reader.records, key=lambda r: r.block is not None) == [now_result, then_result]
    assert (now_result.block, then_result.block) == (None, older)  # the older read says which block it was
    assert CallRecord.of(then_result).block == older.number
    assert CallRecord.of(now_result).block is None  # the snapshot's own block
    code = await then.code(usdc)
    transfers = await then.logs(address=usdc, topics=[TRANSFER_TOPIC], from_block=older.number - 1)

    for _ in range(2):  # the chain moves on: every answer stays the pinned block's
        _send_and_mine(w3, usdc, holders, 3_000_000)
    assert (await then.call(balance)).value == then_result.value
    assert (await reader.call(balance)).value == now_result.value
    assert await reader.header(older.number) == older
    assert await then.code(usdc) == code != b""
    later = await then.logs(address=usdc, topics=[TRANSFER_TOPIC], from_block=older.number - 1)
    # The first transfer (mined just before the empty block `older`), not the later ones: capped at its block.
    assert later == transfers
    assert [int(e["blockNumber"], 16) for e in later] == [older.number - 1]
    assert then.log_queries[-1].to_block == older.number
    assert then.log_queries is reader.log_queries

    # What was read besides calls is in the same provenance, at its block.
    reads = [(r.method, r.block, r.success) for r in reader.node_reads]
    assert reads == [
        ("eth_getBlockByNumber", older.number, True),
        ("eth_getCode", older.number, True),
        ("eth_getBlockByNumber", older.number, True),
        ("eth_getCode", older.number, True),
    ]
    assert reader.node_reads[0].answer == older.hash


async def test_at_refuses_a_later_block_another_fork_and_another_chain(client: ChainClient) -> None:
    pinned = await client.block()
    older = await client.block(pinned.number - 1)
    reader = Batcher(await client.snapshot(older.number)).reader("test")
    then = reader.at(await reader.header(older.number - 1))
    with pytest.raises(InvalidInput, match="not at or before the pinned block"):
        reader.at(pinned)
    with pytest.raises(InvalidInput, match="not at or before the pinned block"):
        then.at(pinned)  # the bound is the block the provenance is pinned to, not the older block
    assert then.at(older).block == older  # back to the pinned block itself
    with pytest.raises(InvalidInput, match="not at or before the pinned block"):
        reader.at(replace(older, hash="0x" + "00" * 32))
    with pytest.raises(InvalidInput, match="cannot read block"):
        reader.at(replace(older, chain_id=56))
    with pytest.raises(InvalidInput, match=f"is not in 0..{older.number}"):
        await reader.header(pinned.number)


async def test_readers_at_one_block_share_its_batches_and_node_reads_go_out_together(
    client: ChainClient, eth_chain: DevnetChain, holders: list[str]
) -> None:
    w3 = Web3(Web3.HTTPProvider(eth_chain.rpc_url))
    usdc, weth = eth_chain.tokens["USDC"], eth_chain.tokens["WETH"]
    _send_and_mine(w3, usdc, holders, 1_000_000)
    older = await client.block()
    _send_and_mine(w3, usdc, holders, 1_000_000)
    batcher = Batcher(await client.snapshot())
    first, second = batcher.reader("first"), batcher.reader("second")
    header = await first.header(older.number)

    sent = client.rpc.total_requests()
    a, b = await asyncio.gather(
        first.at(header).call(Call.of(usdc, BALANCE_OF, holders[1])),
        second.at(header).call(Call.of(weth, BALANCE_OF, holders[1])),
    )
    assert client.rpc.total_requests() - sent == 1  # both readers' calls at the older block: one multicall
    assert batcher.at(header).flushes == 1
    assert (first.records, second.records) == ([a], [b])  # each reader keeps its own provenance

    sent = client.rpc.total_requests()
    headers, code, served = await asyncio.gather(
        first.headers([older.number - 1, older.number]), second.at(header).code(usdc), first.at(header).has_state()
    )
    assert client.rpc.total_requests() - sent == 1  # headers, code and a state probe at any block: one batch
    assert headers[1] == older
    assert headers[0].number == older.number - 1
    assert code
    assert served
