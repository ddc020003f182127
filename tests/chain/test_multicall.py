"""Multicall3 batching on the devnet: results equal plain eth_calls; one failing call fails alone."""

from __future__ import annotations

from web3 import Web3

from defiscope.chain.client import ChainClient
from defiscope.chain.multicall import Call
from defiscope.devnet.world import DevnetChain

BALANCE_OF = "balanceOf(address)(uint256)"


async def test_balances_equal_web3_reads(client: ChainClient, eth_chain: DevnetChain, holders: list[str]) -> None:
    calls = [Call.of(token, BALANCE_OF, h) for token in eth_chain.tokens.values() for h in holders]
    results = await client.call_many(calls)
    w3 = Web3(Web3.HTTPProvider(eth_chain.rpc_url))
    abi = [
        {
            "name": "balanceOf",
            "type": "function",
            "stateMutability": "view",
            "inputs": [{"name": "a", "type": "address"}],
            "outputs": [{"name": "", "type": "uint256"}],
        }
    ]
    for call, result in zip(calls, results, strict=True):
        expected = w3.eth.contract(address=call.target, abi=abi).functions.balanceOf(call.args[0]).call()
        assert result.one() == expected
    assert any(r.one() > 0 for r in results)


async def test_failing_calls_fail_alone(client: ChainClient, eth_chain: DevnetChain, holders: list[str]) -> None:
    reverter = eth_chain.contracts["Reverter"]
    usdc = eth_chain.tokens["USDC"]
    calls = [
        Call.of(usdc, "decimals()(uint8)"),
        Call.of(reverter, "fail()(uint256)"),
        Call.of(reverter, "ok()(uint256)"),
        Call.of(reverter, "failCustom()(uint256)"),
        Call.of(holders[3], "decimals()(uint8)"),  # an account without code
        Call.of(usdc, "symbol()(string)"),
    ]
    for multicall in (True, False):
        results = await client.call_many(calls, multicall=multicall)
        assert [r.success for r in results] == [True, False, True, False, False, True]
        assert results[0].one() == 6
        assert results[1].error == "always fails"
        assert results[2].one() == 42
        assert results[3].error is not None
        assert results[3].error.startswith("custom error 0x")
        assert results[4].error == "empty return data (is there a contract at the target?)"
        assert results[5].one() == "USDC"


async def test_thousand_calls_in_one_http_request(eth_chain: DevnetChain, holders: list[str]) -> None:
    usdc = eth_chain.tokens["USDC"]
    async with ChainClient.connect(1, [eth_chain.rpc_url], verify_chain_id=False) as small_chunks:
        small_chunks.max_calls_per_multicall = 7  # 143 aggregate3 calls, still one JSON-RPC batch
        calls = [Call.of(usdc, BALANCE_OF, holders[i % 10]) for i in range(1000)]
        results = await small_chunks.call_many(calls)
        assert small_chunks.rpc.total_requests() == 1
        stats = next(iter(small_chunks.rpc.stats().values()))
        assert stats.calls == 143
        assert stats.bytes_sent > 1000 * 36
        assert [r.one() for r in results[:10]] == [r.one() for r in results[10:20]]


async def test_chunks_split_by_calldata_size(client: ChainClient, eth_chain: DevnetChain, holders: list[str]) -> None:
    usdc = eth_chain.tokens["USDC"]
    client.max_calldata_bytes = 2_000  # about 10 balanceOf calls per aggregate
    calls = [Call.of(usdc, BALANCE_OF, holders[i % 10]) for i in range(95)]
    results = await client.call_many(calls)
    assert len(results) == 95
    assert next(iter(client.rpc.stats().values())).calls >= 10
    assert [r.one() for r in results[:10]] == [r.one() for r in results[10:20]]


async def test_aggregate_failing_as_a_whole_is_split(client: ChainClient, eth_chain: DevnetChain) -> None:
    # Point "Multicall3" at a contract whose aggregate3 reverts: every chunk fails as a whole, is split down
    # to single calls, and each call reports the aggregate's reason instead of a crash or a silent zero.
    client.multicall = eth_chain.contracts["Reverter"]
    calls = [Call.of(eth_chain.tokens["USDC"], "decimals()(uint8)")] * 4
    results = await client.call_many(calls)
    assert [r.success for r in results] == [False] * 4
    assert all(r.error for r in results)
