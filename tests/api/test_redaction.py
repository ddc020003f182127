"""No RPC secret leaks: endpoint names are scheme and host (plus a label) in answers, metrics, health and logs.

The endpoint URL carries the secret in its user-info, path and query; every route is driven (quotes fail on
that dead endpoint, the indexer's last error names it) and the secret must appear nowhere a client can read,
nor in the log lines the failures write.
"""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import structlog
from fastapi.testclient import TestClient
from structlog.testing import capture_logs

from defiscope.api import ApiSettings, Live, create_app
from defiscope.api.context import ChainProgress, QuoteChain
from defiscope.api.quotes import _public_simulation
from defiscope.chain.client import ChainClient
from defiscope.chain.errors import AllEndpointsFailed, RequestTimeout, redact_url, redact_urls_in
from defiscope.devnet import Devnet
from defiscope.devnet.deployment import devnet_deployment
from defiscope.logs import configure
from defiscope.routing.load import PoolRef
from defiscope.store import Repository
from tests.api.conftest import FilledStore, index_heads

SECRET = "s3cretTOKEN42"
WETH_ISH = "0x" + "ab" * 20


def _dead_port() -> int:
    with socket.socket() as sock:  # bound then closed: nothing listens there, connections are refused
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port


@pytest.mark.parametrize(
    ("url", "name"),
    [
        (f"https://user:{SECRET}@eth.example/v2/{SECRET}?key={SECRET}", "https://eth.example"),
        (f"https://eth.example:8443/{SECRET}#alchemy", "https://eth.example:8443#alchemy"),
        (f"https://{SECRET}@eth.example/", "https://eth.example"),
        (f"HTTPS://eth.example/?{SECRET}", "https://eth.example"),
        (f"https://eth.example/x#{SECRET}/not-a-label", "https://eth.example"),
        (f"http://[::1]:8545/{SECRET}", "http://[::1]:8545"),
        (f"http://eth.example:notaport/{SECRET}", "<unparsable endpoint>"),
        (f"{SECRET}", "<unparsable endpoint>"),
    ],
)
def test_redact_url_keeps_scheme_host_and_label_only(url: str, name: str) -> None:
    assert redact_url(url) == name


def test_chain_errors_and_free_text_are_redacted() -> None:
    url = f"https://u:{SECRET}@eth.example/v2/{SECRET}?k={SECRET}#main"
    single = RequestTimeout("no answer", endpoint=url, chain_id=1, call="eth_call")
    both = AllEndpointsFailed(
        [single, RequestTimeout("late", endpoint="https://b.example/" + SECRET)], chain_id=1, call="x"
    )
    for text in (str(single), str(both), redact_urls_in(f"ConnectError: {url} refused ({url})")):
        assert SECRET not in text
    assert "https://eth.example#main" in str(single)


def test_simulation_errors_keep_the_revert_reason_only() -> None:
    reverted = {
        "simulation": {"ok": False, "error": "execution reverted: STF [chain 1, endpoint https://e.x, call eth_call]"}
    }
    assert _public_simulation(reverted)["simulation"]["error"] == "execution reverted: STF"
    broken = {
        "simulation": {"ok": False, "error": f"3 attempts failed: refused [chain 1, endpoint https://{SECRET}.x]"}
    }
    with capture_logs() as logs:
        public = _public_simulation(broken)["simulation"]["error"]
    assert public.startswith("the simulation could not be run (error id ")
    assert SECRET not in public
    assert logs[0]["detail"] == broken["simulation"]["error"]  # the detail is for the operator, in the log


#: Values for every path and query parameter of the schema, so each route runs its handler.
def _samples(now: int) -> dict[str, Any]:
    return {
        "slug": "uniswap-v2",
        "chain": "ethereum",
        "coins": f"ethereum:{WETH_ISH}",
        "timestamp": now - 600,
        "id": "weth",
        "platform": "ethereum",
        "tokens": f"ethereum:{WETH_ISH}",
        "token": f"ethereum:{WETH_ISH}",
        "ids": "weth",
        "vs_currencies": "usd",
        "vs_currency": "usd",
        "contract_addresses": WETH_ISH,
        "days": "1",
        "sell": "USDC",
        "buy": "WETH",
        "amount": "1000",
        "rule_id": "7",
        "from_block": 1,
        "to_block": 2,
        "index_id": "defi-pulse",
    }


def test_secret_in_no_answer_metric_or_log(api_store: FilledStore) -> None:
    now = int(time.time())
    url = f"http://user:{SECRET}@127.0.0.1:{_dead_port()}/v2/{SECRET}?apikey={SECRET}"
    client = ChainClient.connect(1, [url], timeout=1.0, max_attempts=2)
    deployment = next(d for d in api_store.deployments if d.chain_id == 1)
    live = Live(
        heads=lambda: {1: None},
        rpc=lambda: {1: client.rpc.stats()},
        progress=lambda: {
            1: ChainProgress(
                head_time=None,
                last_indexed=None,
                last_error=f"EndpointUnreachable: cannot reach {url} ({url})",
                failing_since=now - 3600,
            )
        },
    )
    app = create_app(
        ApiSettings(database_url=api_store.url, rate_per_ip="1000000/minute"),
        deployments=api_store.deployments,
        infos=api_store.infos,
        live=live,
        quoting={1: QuoteChain(client, deployment, ())},
    )
    samples = _samples(now)
    answers: list[str] = []
    with capture_logs() as logs, TestClient(app) as http:
        schema = http.get("/openapi.json").json()
        for template, operations in schema["paths"].items():
            if "get" not in operations:
                continue  # a POST-only route (a channel test) takes a key and a body: no secret to show
            parameters = operations["get"].get("parameters", [])
            path = template.format(**{p["name"]: samples[p["name"]] for p in parameters if p["in"] == "path"})
            query = {p["name"]: samples[p["name"]] for p in parameters if p["in"] == "query" and p.get("required")}
            answer = http.get(path, params=query)
            if answer.status_code >= 500 and path != "/v1/health":  # health: 503 with its document, below
                assert answer.json()["error"]["id"], (path, answer.text)
            answers.append(f"{answer.headers} {answer.text}")
        quotes = [
            http.get("/v1/quote", params={"chain": "1", "sell": "USDC", "buy": "WETH", "amount": "5"}),
            http.get("/v1/quote", params={"chain": "1", "sell": WETH_ISH, "buy": "WETH", "amount": "5"}),
            http.get(
                "/v1/quote", params={"chain": "1", "sell": "DAI", "buy": "USDT", "amount": "7", "recipient": WETH_ISH}
            ),
        ]
        assert any(q.status_code == 503 for q in quotes), [q.text for q in quotes]  # the dead endpoint failed
        failed = next(q for q in quotes if q.status_code == 503)
        assert failed.json()["error"]["problem"].startswith("reading chain 1 failed; try again later (error id ")
        health = http.get("/v1/health")
        metrics = http.get("/metrics").text
        http.portal.call(client.aclose)
    answers += [f"{q.headers} {q.text}" for q in quotes]
    assert len(answers) >= 25
    for text in [*answers, health.text, metrics]:
        assert SECRET not in text
    assert "http://127.0.0.1:" in metrics  # the endpoint is still named, by scheme, host and port
    assert health.status_code == 503
    chain = next(c for c in health.json()["chains"] if c["chain_id"] == 1)
    assert chain["state"] == "stale"
    assert chain["last_error"].startswith("EndpointUnreachable: cannot reach http://127.0.0.1:")
    assert any(entry.get("error_id") for entry in logs)  # the quote failure's detail went to the log
    assert SECRET not in repr(logs)


def test_log_lines_carry_no_endpoint_secret(capsys: pytest.CaptureFixture[str]) -> None:
    """The log processor redacts every HTTP(S) URL in a line's strings, tracebacks included."""
    saved = structlog.get_config()
    configure(logging.INFO)
    try:
        log = structlog.get_logger("redaction-test")
        log.warning("rpc.failed", detail=f"posting to https://u:{SECRET}@eth.example/v2/{SECRET}?k={SECRET} failed")
        try:
            raise ConnectionError(f"cannot reach https://eth.example/{SECRET}")
        except ConnectionError as exc:
            log.error("rpc.crashed", exc_info=exc)
    finally:
        structlog.configure(**saved)
    written = capsys.readouterr().err
    assert "https://eth.example" in written
    assert "ConnectionError" in written
    assert SECRET not in written


class _PathProxy:
    """Forwards JSON-RPC POSTs on any path to a node that serves only `/`: a provider URL with a key in it."""

    def __init__(self, target: str) -> None:
        class Forward(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                request = urllib.request.Request(target, body, {"Content-Type": "application/json"})
                with urllib.request.urlopen(request, timeout=30) as answer:
                    payload = answer.read()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *_args: object) -> None:
                return

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Forward)
        self.port = self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def test_a_reverting_simulation_on_a_secret_endpoint(devnet: Devnet, tmp_path: Path) -> None:
    """A quote with a recipient that holds nothing: the simulation reverts on an endpoint whose URL carries
    the secret; the answer gives the revert reason, never the endpoint's path, query or user-info."""
    url = f"sqlite:///{tmp_path / 'sim.db'}"
    repo = Repository.open(url)
    chain = next(c for c in devnet.chains if c.chain_id == 1)
    proxy = _PathProxy(chain.rpc_url)
    try:
        asyncio.run(index_heads(devnet, repo))
        secret_url = f"http://user:{SECRET}@127.0.0.1:{proxy.port}/v2/{SECRET}?key={SECRET}"
        client = ChainClient.connect(1, [secret_url])
        pools = tuple(PoolRef(p.dex, p.address, p.token0, p.token1) for p in chain.pools)
        app = create_app(
            ApiSettings(database_url=url, rate_per_ip="1000000/minute", rate_per_quote="1000000/minute"),
            repo=repo,
            deployments=[devnet_deployment(chain)],
            quoting={1: QuoteChain(client, devnet_deployment(chain), pools)},
        )
        with TestClient(app) as http:
            quote = http.get(
                "/v1/quote",
                params={"chain": "1", "sell": "DAI", "buy": "USDT", "amount": "50000", "recipient": WETH_ISH},
            )
            metrics = http.get("/metrics").text
            http.portal.call(client.aclose)
    finally:
        proxy.close()
        repo.close()
    assert quote.status_code == 200, quote.text
    simulation = quote.json()["simulation"]
    assert simulation["ok"] is False
    assert simulation["error"].startswith("execution reverted")
    assert SECRET not in quote.text
    assert SECRET not in metrics
