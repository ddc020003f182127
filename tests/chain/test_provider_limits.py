"""The chain layer behind a provider simulator: paced within the budget, refusals obeyed, reads complete and
equal to the node's own answers, faults never turned into values."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import time
from typing import Any

import pytest

from defiscope.chain.client import ChainClient
from defiscope.chain.errors import ChainError, redact_url
from defiscope.chain.limits import FREE_PLAN
from defiscope.chain.multicall import Call
from defiscope.chain.rpc import RpcClient
from defiscope.config import RpcSettings
from defiscope.devnet.deployment import devnet_deployment
from defiscope.devnet.provider_proxy import KEY_PATH, PROFILES, Faults, ProviderProfile
from defiscope.devnet.world import DevnetChain
from defiscope.service.context import ChainTarget, build_engine
from tests.chain.conftest import StartProxy
from tests.chain.fakes import ProxyServer

BALANCE_OF = "balanceOf(address)(uint256)"


async def test_limiter_keeps_within_25_requests_per_second(provider_proxy: StartProxy, holders: list[str]) -> None:
    proxy = provider_proxy("free")
    assert proxy.url.endswith(KEY_PATH)  # a provider-like URL with a key in its path
    reads = [("eth_getBalance", [holders[i % len(holders)], "latest"]) for i in range(90)]
    async with RpcClient(1, [proxy.url], limits=FREE_PLAN) as rpc:
        started = time.monotonic()
        answers = await asyncio.gather(*(rpc.request(m, p) for m, p in reads))
        elapsed = time.monotonic() - started
        assert rpc.stats()[redact_url(proxy.url)].rate_limited == 0
    assert all(int(a, 16) > 0 for a in answers)
    assert proxy.counters.rate_refusals == 0
    admitted = proxy.counters.admitted
    window = admitted[-1][0] - admitted[0][0]
    items = sum(n for _, n in admitted)
    # Measured: what the proxy let through, beyond the client's half-second burst, came at <= 25 per second.
    assert items >= 91  # the chain-id check and the 90 reads
    assert (items - 0.5 * 25) / window <= 25 * 1.02
    assert elapsed >= (91 - 0.5 * 25) / 25 * 0.95  # paced, not merely lucky


async def test_retry_after_is_honoured_and_the_read_completes(eth_chain: DevnetChain, holders: list[str]) -> None:
    refused: list[float] = []

    def refuse_first_read(payload: Any) -> tuple[int, dict[str, str], bytes] | None:
        if isinstance(payload, dict) and payload["method"] == "eth_getBalance" and not refused:
            refused.append(time.monotonic())
            return 429, {"Retry-After": "2"}, json.dumps({"jsonrpc": "2.0", "id": payload["id"]}).encode()
        return None

    async with RpcClient(1, [eth_chain.rpc_url]) as direct:
        expected = await direct.request("eth_getBalance", [holders[3], "latest"])
    with ProxyServer(eth_chain.rpc_url, refuse_first_read) as proxy:
        async with RpcClient(1, [proxy.url], max_attempts=1) as rpc:
            answer = await rpc.request("eth_getBalance", [holders[3], "latest"])
            retried_after = time.monotonic() - refused[0]
            stats = rpc.stats()[redact_url(proxy.url)]
    assert answer == expected
    assert retried_after >= 2.0  # the pause the provider asked for, though only one attempt was allowed
    assert stats.rate_limited == 1
    assert stats.throttled_seconds >= 1.9


async def test_rate_refusals_slow_an_unconfigured_client_until_reads_complete(
    provider_proxy: StartProxy, eth_chain: DevnetChain, holders: list[str]
) -> None:
    proxy = provider_proxy("free")
    reads = [("eth_getBalance", [holders[i % len(holders)], "latest"]) for i in range(120)]
    async with RpcClient(1, [eth_chain.rpc_url]) as direct:
        expected = await asyncio.gather(*(direct.request(m, p) for m, p in reads))
    async with RpcClient(1, [proxy.url]) as rpc:  # no limits known: only the 429s teach them
        answers = await asyncio.gather(*(rpc.request(m, p) for m, p in reads))
        learnt = rpc.endpoints[0].throttle.current_rate
    assert answers == expected
    assert proxy.counters.rate_refusals > 0
    assert learnt is not None
    assert learnt < 120


LOG_CAP = 40
RANGE_PROFILES = {
    "alchemy-200-suggested": ProviderProfile("t", max_log_blocks=LOG_CAP, refusal_style="alchemy"),
    "infura-32005-http-400": ProviderProfile("t", max_log_blocks=LOG_CAP, refusal_style="infura", refusal_status=400),
}


@pytest.mark.parametrize("profile_name", sorted(RANGE_PROFILES))
async def test_range_refusal_shrinks_then_grows_the_range(
    provider_proxy: StartProxy, eth_chain: DevnetChain, profile_name: str
) -> None:
    proxy = provider_proxy(RANGE_PROFILES[profile_name])
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as direct:
        head = (await direct.block("latest")).number
        expected = await direct.get_logs(from_block=0, to_block=head)
    async with ChainClient.connect(1, [proxy.url]) as client:
        logs = await client.get_logs(from_block=0, to_block=head)
        spans = list(proxy.counters.log_spans)
        # Once the span is known, the pieces of a query go out several at a time, still complete and in order.
        again = await client.get_logs(from_block=0, to_block=head)
    assert len(expected) > 100
    assert logs == expected  # complete: no block skipped or read twice
    assert again == expected
    assert spans[0] == (head + 1, True)  # the whole range, refused
    assert spans[1] == (LOG_CAP, False)  # shrunk to the range the refusal named
    assert all(span <= LOG_CAP for span, refused in spans if not refused)
    first_success = spans.index((LOG_CAP, False))
    grown = [span for span, _ in spans[first_success:] if span > LOG_CAP]
    assert grown  # after successes the range grew back, and was refused again, not fixed forever


async def test_result_cap_refusal_follows_the_suggested_range(
    provider_proxy: StartProxy, eth_chain: DevnetChain
) -> None:
    proxy = provider_proxy(ProviderProfile("t", max_log_results=50, refusal_style="infura"))
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as direct:
        head = (await direct.block("latest")).number
        expected = await direct.get_logs(from_block=0, to_block=head)
    async with ChainClient.connect(1, [proxy.url]) as client:
        logs = await client.get_logs(from_block=0, to_block=head)
    assert logs == expected
    assert proxy.counters.range_refusals > 0
    assert len([s for s in proxy.counters.log_spans if not s[1]]) >= len(expected) // 50


async def test_batches_are_cut_to_the_cap_a_refusal_names(provider_proxy: StartProxy, holders: list[str]) -> None:
    proxy = provider_proxy(ProviderProfile("t", max_batch_items=7))
    calls = [("eth_getBalance", [holders[i % len(holders)], "latest"]) for i in range(30)]
    async with RpcClient(1, [proxy.url]) as rpc:  # its own cap (1000) is above the provider's
        answers = [a.unwrap() for a in await rpc.batch(calls)]
        assert rpc.batch_items() <= 7
    assert all(int(a, 16) > 0 for a in answers)
    assert proxy.counters.batch_refusals >= 1


async def test_faults_never_become_values(
    provider_proxy: StartProxy, eth_chain: DevnetChain, holders: list[str]
) -> None:
    proxy = provider_proxy(PROFILES["none"], faults=Faults(rate=0.3, seed=11, hang_seconds=2.0))
    deployment = devnet_deployment(eth_chain)
    tokens = [t.address for t in deployment.tokens.values()][:8]
    calls = [Call.of(token, BALANCE_OF, holder) for token in tokens for holder in holders]
    async with ChainClient.connect(1, [eth_chain.rpc_url]) as direct:
        block = await direct.block("latest")
        expected = [r.one() for r in await direct.call_many(calls, block)]
        expected_logs = await direct.get_logs(from_block=block.number - 50, to_block=block.number)
    reads: list[tuple[Any, ...]] = []
    errors: list[ChainError] = []
    async with ChainClient.connect(1, [proxy.url], timeout=0.5, max_attempts=10, backoff_base=0.01) as faulty:
        for _ in range(12):
            try:
                reads.append(
                    (
                        [r.one() for r in await faulty.call_many(calls, block)],
                        await faulty.get_logs(from_block=block.number - 50, to_block=block.number),
                        await faulty.block(block.number),
                    )
                )
            except ChainError as exc:  # a typed error naming the endpoint is allowed; a wrong value is not
                errors.append(exc)
    assert all(read == (expected, expected_logs, block) for read in reads)
    assert all(proxy.url in str(e) for e in errors), errors
    assert len(reads) >= 10
    assert set(proxy.counters.faults) == {"http-5xx", "timeout", "truncated-json", "bad-hex", "missing-field"}


async def test_tvl_behind_the_free_profile_equals_the_direct_figures(
    provider_proxy: StartProxy, eth_chain: DevnetChain
) -> None:
    proxy = provider_proxy("free")
    deployment = devnet_deployment(eth_chain)
    direct_engine = build_engine(ChainTarget(1, (eth_chain.rpc_url,), deployment), RpcSettings())
    limited_settings = RpcSettings(endpoints={proxy.url: dataclasses.replace(FREE_PLAN)})
    limited_engine = build_engine(ChainTarget(1, (proxy.url,), deployment), limited_settings)
    async with direct_engine.client, limited_engine.client:
        head = (await direct_engine.client.block("latest")).number
        direct = await direct_engine.snapshot(head)
        limited = await limited_engine.snapshot(head)
    assert direct.snapshots
    assert not direct.failures
    assert [(s.slug, s.tokens) for s in limited.snapshots] == [(s.slug, s.tokens) for s in direct.snapshots]
    assert limited.failures == ()
    assert limited.prices == direct.prices
    assert proxy.counters.requests > 20  # the figures did come through the simulator
