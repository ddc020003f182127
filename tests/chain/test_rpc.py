"""The JSON-RPC layer against a real anvil, with misbehaving endpoints in front of it."""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

import pytest
from web3 import Web3

from defiscope.chain.client import ChainClient
from defiscope.chain.errors import (
    AllEndpointsFailed,
    EndpointUnreachable,
    InvalidInput,
    MalformedResponse,
    RequestTimeout,
    RpcError,
    WrongChain,
)
from defiscope.chain.rpc import RpcClient, split_batch
from defiscope.devnet.world import DevnetChain
from tests.chain.fakes import ProxyServer, SilentServer, closed_port_url, rpc_error

TRANSFER_TOPIC = "0x" + Web3.keccak(text="Transfer(address,address,uint256)").hex().removeprefix("0x")


async def test_batch_returns_each_answer_and_each_error(eth_chain: DevnetChain, holders: list[str]) -> None:
    async with RpcClient(1, [eth_chain.rpc_url]) as rpc:
        answers = await rpc.batch(
            [
                ("eth_blockNumber", []),
                ("eth_getBalance", [holders[0], "latest"]),
                (
                    "eth_getBalance",
                    ["0x1234", "latest"],
                ),  # malformed address: the node refuses this item only
                ("eth_chainId", []),
            ]
        )
        assert int(answers[0].unwrap(), 16) >= 1
        assert int(answers[1].unwrap(), 16) > 0
        assert isinstance(answers[2].error, RpcError)
        assert answers[3].unwrap() == "0x1"
        assert rpc.total_requests() == 2  # the chain-id check, then the one batch


async def test_failover_to_the_next_endpoint(eth_chain: DevnetChain) -> None:
    dead = closed_port_url()
    async with RpcClient(1, [dead, eth_chain.rpc_url], backoff_base=0.01) as rpc:
        assert int(await rpc.request("eth_blockNumber", []), 16) >= 1
        stats = rpc.stats()
        assert stats[dead].errors == 1
        assert stats[eth_chain.rpc_url].errors == 0
        ranked = [ep.url for ep in rpc._ranked()]
        assert ranked == [eth_chain.rpc_url, dead]  # the dead one cools down; the next read goes straight on
        await rpc.request("eth_blockNumber", [])
        assert rpc.stats()[dead].requests == 1


async def test_timeout_against_a_silent_socket() -> None:
    with SilentServer() as silent:
        async with RpcClient(1, [silent.url], timeout=0.3, max_attempts=1) as rpc:
            started = time.perf_counter()
            with pytest.raises(RequestTimeout) as raised:
                await rpc.request("eth_blockNumber", [])
            # The silent socket never answers: only the timeout ends the call, and without one it would hang
            # for ever. The bound is wide (a busy machine stretches 0.3 s) yet proves the cut.
            assert time.perf_counter() - started < 10.0
        message = str(raised.value)
        assert f"endpoint {silent.url}" in message
        assert "call eth_chainId" in message or "call eth_blockNumber" in message
        assert "no answer within 0.3 s" in message
        assert "\n" not in message


async def test_retries_with_backoff_then_gives_up(eth_chain: DevnetChain) -> None:
    dead = closed_port_url()
    async with RpcClient(1, [dead], max_attempts=3, backoff_base=0.05) as rpc:
        with pytest.raises(AllEndpointsFailed) as raised:
            await rpc.request("eth_blockNumber", [])
        assert len(raised.value.errors) == 3
        assert all(isinstance(e, EndpointUnreachable) for e in raised.value.errors)
        assert f"endpoint {dead}" in str(raised.value)


async def test_rate_limit_is_retried_after_retry_after(eth_chain: DevnetChain) -> None:
    refused: list[int] = []

    def limit_once(payload: Any) -> tuple[int, dict[str, str], bytes] | None:
        if not refused:
            refused.append(1)
            return 429, {"Retry-After": "0.2"}, b'{"error": "slow down"}'
        return None

    with ProxyServer(eth_chain.rpc_url, limit_once) as proxy:
        async with RpcClient(1, [proxy.url], backoff_base=0.01) as rpc:
            started = time.perf_counter()
            assert await rpc.request("eth_chainId", []) == "0x1"
            assert time.perf_counter() - started >= 0.2
            assert rpc.stats()[proxy.url].errors == 1


async def test_malformed_response_is_typed(eth_chain: DevnetChain) -> None:
    with ProxyServer(eth_chain.rpc_url, lambda payload: (200, {}, b"<html>gateway</html>")) as proxy:
        async with RpcClient(1, [proxy.url], max_attempts=1) as rpc:
            with pytest.raises(MalformedResponse, match="response is not JSON"):
                await rpc.request("eth_blockNumber", [])


async def test_get_logs_splits_refused_ranges(eth_chain: DevnetChain, holders: list[str]) -> None:
    w3 = Web3(Web3.HTTPProvider(eth_chain.rpc_url))
    usdc = eth_chain.tokens["USDC"]
    abi = [
        {
            "name": "transfer",
            "type": "function",
            "stateMutability": "nonpayable",
            "inputs": [{"name": "to", "type": "address"}, {"name": "v", "type": "uint256"}],
            "outputs": [{"name": "", "type": "bool"}],
        }
    ]
    first = w3.eth.block_number + 1
    for i in range(24):
        sent = (
            w3.eth.contract(address=usdc, abi=abi)
            .functions.transfer(holders[1 + i % 9], 1 + i)
            .transact({"from": holders[0]})
        )
        # anvil may answer before it mines; waiting keeps one transfer per block, so the range spans 24 blocks
        w3.eth.wait_for_transaction_receipt(sent, poll_latency=0.002)
    last = w3.eth.block_number
    assert last - first + 1 == 24

    def refuse_wide(payload: Any) -> tuple[int, dict[str, str], bytes] | None:
        if isinstance(payload, dict) and payload["method"] == "eth_getLogs":
            query = payload["params"][0]
            if int(query["toBlock"], 16) - int(query["fromBlock"], 16) + 1 > 5:
                return 200, {}, rpc_error(payload, -32005, "query returned more than 10000 results")
        return None

    topics = [TRANSFER_TOPIC]
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as direct:
        expected = await direct.get_logs(address=usdc, topics=topics, from_block=first, to_block=last)
    with ProxyServer(eth_chain.rpc_url, refuse_wide) as proxy:
        async with ChainClient.connect(1, [proxy.url]) as split:
            logs = await split.get_logs(address=usdc, topics=topics, from_block=first, to_block=last)
            # The span learnt stays near the cap: it grows back after successes, and shrinks on the next refusal.
            assert split.rpc.log_span is not None
            assert split.rpc.log_span <= 2 * 5
    assert len(expected) == 24
    assert [(x["blockNumber"], x["logIndex"], x["data"]) for x in logs] == [
        (x["blockNumber"], x["logIndex"], x["data"]) for x in expected
    ]
    ranges = [
        (int(p["params"][0]["fromBlock"], 16), int(p["params"][0]["toBlock"], 16))
        for p in proxy.requests
        if isinstance(p, dict) and p["method"] == "eth_getLogs"
    ]
    accepted = [r for r in ranges if r[1] - r[0] + 1 <= 5]
    assert accepted[0][0] == first
    assert accepted[-1][1] == last
    assert all(b[0] == a[1] + 1 for a, b in itertools.pairwise(accepted))  # no gap, no overlap


async def test_wrong_chain_behind_a_url_names_it(eth_chain: DevnetChain) -> None:
    async with RpcClient(56, [eth_chain.rpc_url]) as rpc:
        with pytest.raises(WrongChain) as raised:
            await rpc.request("eth_blockNumber", [])
    assert str(raised.value) == (
        f"endpoint serves chain 1, but it is configured for chain 56 "
        f"[chain 56, endpoint {eth_chain.rpc_url}, call eth_chainId]"
    )


async def test_verify_tolerates_one_dead_endpoint_but_not_a_wrong_chain(
    eth_chain: DevnetChain, bnb_chain: DevnetChain
) -> None:
    async with RpcClient(1, [closed_port_url(), eth_chain.rpc_url], max_attempts=1) as rpc:
        await rpc.verify()
    async with RpcClient(1, [eth_chain.rpc_url, bnb_chain.rpc_url]) as rpc:
        with pytest.raises(WrongChain, match="serves chain 56"):
            await rpc.verify()


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("localhost:8545", "invalid RPC URL 'localhost:8545'"),
        ("ftp://x.org", "invalid RPC URL 'ftp://x.org'"),
    ],
)
def test_invalid_urls_are_named(url: str, problem: str) -> None:
    with pytest.raises(InvalidInput, match=problem):
        RpcClient(1, [url])


def test_no_urls_says_which_variable_to_set() -> None:
    with pytest.raises(InvalidInput, match="set DEFISCOPE_RPC_56"):
        RpcClient(56, [])


async def test_request_accounting(eth_chain: DevnetChain) -> None:
    async with RpcClient(1, [eth_chain.rpc_url]) as rpc:
        await rpc.batch([("eth_blockNumber", [])] * 5)
        stats = rpc.stats()[eth_chain.rpc_url]
        assert (stats.requests, stats.calls, stats.errors) == (2, 6, 0)
        compact = {"separators": (",", ":")}
        chain_id_check = json.dumps({"jsonrpc": "2.0", "id": 1, "method": "eth_chainId", "params": []}, **compact)
        batch = json.dumps(
            [{"jsonrpc": "2.0", "id": i, "method": "eth_blockNumber", "params": []} for i in range(2, 7)],
            **compact,
        )
        assert stats.bytes_sent == len(chain_id_check) + len(batch)
        assert stats.bytes_received > 0
        assert sum(stats.latency_buckets) == 2
        assert 0 < stats.latency_mean <= stats.latency_max


def test_batches_are_split_by_count_and_size() -> None:
    calls = [("eth_call", [{"to": "0x" + "11" * 20, "data": "0x" + "ab" * 500}, "latest"])] * 10
    by_count = split_batch(calls, max_items=4, max_bytes=10**9)
    assert [len(c) for c in by_count] == [4, 4, 2]
    one = len("eth_call") + len(json.dumps(calls[0][1], separators=(",", ":"))) + 48
    by_size = split_batch(calls, max_items=1000, max_bytes=3 * one)
    assert [len(c) for c in by_size] == [3, 3, 3, 1]
    assert [c for chunk in by_size for c in chunk] == calls
    assert split_batch(calls[:1], max_items=1, max_bytes=1) == [calls[:1]]  # one oversized call still goes out


async def test_a_large_batch_goes_out_in_requests_under_the_size_cap(
    eth_chain: DevnetChain, holders: list[str]
) -> None:
    async with RpcClient(1, [eth_chain.rpc_url], max_request_bytes=20_000) as rpc:
        answers = await rpc.batch([("eth_getBalance", [h, "latest"]) for h in holders * 50])
        assert len(answers) == 500
        assert answers[0].unwrap() == answers[10].unwrap()
        stats = rpc.stats()[eth_chain.rpc_url]
        assert stats.requests > 2  # the chain-id check, then several batches
        assert stats.bytes_sent <= stats.requests * 20_000
