"""With CoinGecko configured, a token no on-chain source can price is valued from CoinGecko's answer."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from decimal import Decimal
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from defiscope.config import RpcSettings
from defiscope.deployments import Deployment
from defiscope.devnet.artifacts import contract_artifact
from defiscope.devnet.tx import Sender
from defiscope.devnet.world import DevnetChain
from defiscope.prices.coingecko import CoinGeckoClient
from defiscope.protocols.base import BalanceKind
from defiscope.service.context import ChainTarget, build_engine
from tests.tvl.conftest import TREASURY, with_treasury


class FakeCoinGecko:
    """Answers /simple/token_price/ethereum in CoinGecko's documented shape, for the listed addresses."""

    def __init__(self, prices: dict[str, str]) -> None:
        self.prices = prices
        self.paths: list[str] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                fake.paths.append(url.path)
                wanted = parse_qs(url.query)["contract_addresses"][0].split(",")
                now = int(time.time())
                # Written by hand so the price keeps every digit, as CoinGecko's JSON numbers do.
                items = [
                    f'"{a}": {{"usd": {fake.prices[a]}, "last_updated_at": {now}}}' for a in wanted if a in fake.prices
                ]
                data = ("{" + ", ".join(items) + "}").encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/api/v3"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()


@pytest.fixture
def fake_coingecko() -> Iterator[FakeCoinGecko]:
    fake = FakeCoinGecko({})
    yield fake
    fake.server.shutdown()
    fake.server.server_close()


async def test_coingecko_prices_what_the_chain_cannot(
    eth_chain: DevnetChain, deployment: Deployment, fake_coingecko: FakeCoinGecko
) -> None:
    sender = Sender.connect(eth_chain.rpc_url)
    sender.rpc("evm_setNextBlockTimestamp", [int(time.time())])  # CoinGecko prices are "now"
    token = sender.deploy(contract_artifact("DevToken"), "Listed Off-Chain", "LOC", 18)
    sender.send(token.functions.mint(TREASURY, 3 * 10**18))
    fake_coingecko.prices[token.address.lower()] = "1.2345678901234567"
    deployment = with_treasury(deployment, token.address)
    async with CoinGeckoClient(base_url=fake_coingecko.url, env={}) as coingecko:
        engine = build_engine(ChainTarget(1, (eth_chain.rpc_url,), deployment), RpcSettings(), coingecko=coingecko)
        try:
            result = await engine.snapshot()
        finally:
            await engine.client.aclose()
    treasury = next(s for s in result.snapshots if s.slug == "test-treasury")
    (held,) = treasury.tokens
    assert held.price is not None
    assert held.price.source == "coingecko"
    assert held.price.usd == Decimal("1.2345678901234567")  # parsed exactly, never through a float
    assert treasury.total(BalanceKind.TVL) == Decimal("3.7037036703703701")
    assert "/api/v3/simple/token_price/ethereum" in fake_coingecko.paths
