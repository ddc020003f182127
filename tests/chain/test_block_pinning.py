"""A snapshot reads everything at the block it pinned, while new blocks are mined."""

from __future__ import annotations

import pytest
from web3 import Web3

from defiscope.chain.client import ChainClient
from defiscope.chain.errors import BlockUnavailable, InvalidInput
from defiscope.chain.multicall import Call
from defiscope.devnet.world import DevnetChain

BALANCE_OF = "balanceOf(address)(uint256)"


def _transfer(w3: Web3, token: str, sender: str, to: str, amount: int) -> None:
    abi = [
        {
            "name": "transfer",
            "type": "function",
            "stateMutability": "nonpayable",
            "inputs": [{"name": "to", "type": "address"}, {"name": "v", "type": "uint256"}],
            "outputs": [{"name": "", "type": "bool"}],
        }
    ]
    w3.eth.contract(address=token, abi=abi).functions.transfer(to, amount).transact({"from": sender})


async def test_snapshot_reads_the_pinned_block(client: ChainClient, eth_chain: DevnetChain, holders: list[str]) -> None:
    usdc = eth_chain.tokens["USDC"]
    snap = await client.snapshot()
    w3 = Web3(Web3.HTTPProvider(eth_chain.rpc_url))
    pinned = w3.eth.get_block(snap.block.number)
    assert snap.block.hash == pinned["hash"].to_0x_hex()
    assert snap.block.timestamp == pinned["timestamp"]

    call = Call.of(usdc, BALANCE_OF, holders[1])
    before = (await snap.call(call)).one()
    for _ in range(3):
        _transfer(w3, usdc, holders[0], holders[1], 1_000_000)
        w3.provider.make_request("evm_mine", [])
    assert w3.eth.block_number >= snap.block.number + 6

    assert (await snap.call(call)).one() == before
    assert (await client.call(call)).one() == before + 3_000_000
    assert (await client.call(call, snap.block.number)).one() == before


async def test_pinned_block_gone_after_reorg_fails_loudly(client: ChainClient, eth_chain: DevnetChain) -> None:
    w3 = Web3(Web3.HTTPProvider(eth_chain.rpc_url))
    checkpoint = w3.provider.make_request("evm_snapshot", [])["result"]
    w3.provider.make_request("evm_mine", [])
    snap = await client.snapshot()
    w3.provider.make_request("evm_revert", [checkpoint])
    w3.provider.make_request("evm_mine", [{"timestamp": snap.block.timestamp + 7}])  # another block, same number
    other = await client.block(snap.block.number)
    assert other.hash != snap.block.hash
    with pytest.raises(BlockUnavailable) as raised:
        await snap.call_many([Call.of(eth_chain.tokens["USDC"], "decimals()(uint8)")])
    assert str(raised.value) == (
        f"block {snap.block.number} ({snap.block.hash}) is gone: reorged away or pruned; pin a new block "
        "[chain 1, call 1 call(s)]"
    )


async def test_future_and_negative_blocks_are_rejected(client: ChainClient) -> None:
    head = await client.block()
    with pytest.raises(InvalidInput, match=f"does not exist yet \\(chain head is {head.number}\\)"):
        await client.block(head.number + 1000)
    with pytest.raises(InvalidInput, match="invalid block -1"):
        await client.block(-1)
    with pytest.raises(InvalidInput, match="invalid block 'soon'"):
        await client.block("soon")
