"""Answers parsed defensively: each kind of garbage is a typed error naming the (redacted) endpoint, and a
refusal sent with HTTP 4xx is still read as the node's JSON-RPC answer."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import httpx
import pytest

from defiscope.chain.errors import ChainError, HttpError, MalformedResponse, RangeTooLarge, RateLimited, redact_url
from defiscope.chain.rpc import RpcClient
from defiscope.devnet.world import DevnetChain
from tests.chain.conftest import StartProxy
from tests.chain.fakes import ProxyServer, rpc_error

Answer = tuple[int, dict[str, str], bytes]


def answer_with(result: Any) -> Callable[[Any], Answer | None]:
    """A hook answering every eth_getBalance / eth_getBlockByNumber with `result` verbatim."""

    def hook(payload: Any) -> Answer | None:
        if isinstance(payload, dict) and payload["method"] in ("eth_getBalance", "eth_getBlockByNumber"):
            return 200, {}, json.dumps({"jsonrpc": "2.0", "id": payload["id"], "result": result}).encode()
        return None

    return hook


def raw(status: int, body: bytes, headers: dict[str, str] | None = None) -> Callable[[Any], Answer | None]:
    def hook(payload: Any) -> Answer | None:
        if isinstance(payload, dict) and payload["method"] != "eth_chainId":
            return status, headers or {}, body
        return None

    return hook


@pytest.mark.parametrize(
    ("method", "hook", "error", "text"),
    [
        ("eth_getBalance", answer_with("0xzz"), MalformedResponse, "eth_getBalance answer is not a hex quantity"),
        ("eth_getBalance", answer_with(None), MalformedResponse, "is not a hex quantity"),
        ("eth_getBlockByNumber", answer_with({"number": "0x1"}), MalformedResponse, "lacks a valid hash"),
        ("eth_getBalance", raw(200, b'{"jsonrpc": "2.0", "id": '), MalformedResponse, "response is not JSON"),
        ("eth_getBalance", raw(200, b'"just a string"'), MalformedResponse, "not a JSON-RPC response"),
        ("eth_getBalance", raw(200, b"x" * 5000), MalformedResponse, "exceeds the 4,000-byte cap"),
        ("eth_getBalance", raw(502, b"<html>bad gateway</html>"), HttpError, "HTTP 502"),
        ("eth_getBalance", raw(401, b"unauthorized"), HttpError, "HTTP 401 (check the URL and API key)"),
    ],
)
async def test_garbage_is_a_typed_error_naming_the_endpoint(
    eth_chain: DevnetChain,
    holders: list[str],
    method: str,
    hook: Callable[[Any], Answer | None],
    error: type[ChainError],
    text: str,
) -> None:
    params = [holders[0], "latest"] if method == "eth_getBalance" else ["latest", False]
    with ProxyServer(eth_chain.rpc_url, hook) as proxy:
        url = f"{proxy.url}/v2/SECRET?key=hidden"
        async with RpcClient(1, [url], max_attempts=2, backoff_base=0.001, max_response_bytes=4000) as rpc:
            with pytest.raises(ChainError) as raised:
                await rpc.request(method, params)
    failure = raised.value
    causes = getattr(failure, "errors", (failure,))
    assert all(isinstance(cause, error) for cause in causes), causes
    assert text in str(failure)
    assert redact_url(url) in str(failure)  # named, redacted to scheme and host
    assert "SECRET" not in str(failure)
    assert "hidden" not in str(failure)
    assert "hidden" not in str(failure)


async def test_a_range_refusal_with_http_400_is_the_nodes_answer(eth_chain: DevnetChain) -> None:
    def refuse(payload: Any) -> Answer | None:
        if isinstance(payload, dict) and payload["method"] == "eth_getLogs":
            return 400, {}, rpc_error(payload, -32005, "query returned more than 10000 results")
        return None

    with ProxyServer(eth_chain.rpc_url, refuse) as proxy:
        async with RpcClient(1, [proxy.url]) as rpc:
            with pytest.raises(RangeTooLarge):
                await rpc.request("eth_getLogs", [{"fromBlock": "0x1", "toBlock": "0x1"}])


async def test_infura_backoff_hint_is_a_retry_after(eth_chain: DevnetChain) -> None:
    sent: list[Any] = []

    def limit_once(payload: Any) -> Answer | None:
        if isinstance(payload, dict) and payload["method"] == "eth_blockNumber" and not sent:
            sent.append(payload)
            body = {
                "jsonrpc": "2.0",
                "id": payload["id"],
                "error": {
                    "code": -32005,
                    "message": "project ID request rate exceeded",
                    "data": {"backoff_seconds": 1.5},
                },
            }
            return 200, {}, json.dumps(body).encode()
        return None

    with ProxyServer(eth_chain.rpc_url, limit_once) as proxy:
        async with RpcClient(1, [proxy.url], max_attempts=1) as rpc:
            assert int(await rpc.request("eth_blockNumber", []), 16) > 0
            stats = rpc.stats()[proxy.url]
    assert stats.rate_limited == 1
    assert stats.throttled_seconds >= 1.4


async def test_too_many_rate_refusals_end_in_a_typed_error(eth_chain: DevnetChain) -> None:
    always = raw(429, b"slow down", {"Retry-After": "0"})
    with ProxyServer(eth_chain.rpc_url, always) as proxy:
        # The bound's size is not the point: at the default 30, each refusal halving the rate, the wait took 29 s.
        async with RpcClient(1, [proxy.url], max_throttled_retries=4) as rpc:
            with pytest.raises(ChainError) as raised:
                await rpc.request("eth_blockNumber", [])
    errors = getattr(raised.value, "errors", ())
    assert len(errors) == 5  # the bound plus the refusal that passed it
    assert all(isinstance(e, RateLimited) for e in errors)
    assert "HTTP 429" in str(raised.value)


def test_the_simulator_serves_any_path(provider_proxy: StartProxy) -> None:
    proxy = provider_proxy("none")
    base = proxy.url.removesuffix("/v2/devnet-key")
    for path in ("/", "/v3/0123456789abcdef", "/rpc/eth/mainnet/KEY"):
        answer = httpx.post(base + path, json={"jsonrpc": "2.0", "id": 7, "method": "eth_chainId", "params": []})
        assert answer.json() == {"jsonrpc": "2.0", "id": 7, "result": "0x1"}
