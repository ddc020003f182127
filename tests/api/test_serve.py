"""`defiscope serve` end to end: devnet, indexer and API in one process; SIGTERM stops everything."""

from __future__ import annotations

import json
import signal
import subprocess
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx

from defiscope.devnet import Devnet
from defiscope.devnet.anvil import free_port
from defiscope.protocols.base import BalanceKind
from defiscope.store import Repository
from defiscope.tvl.model import exact_sum
from tests.devnet.helpers import all_dead, cli, seeded_data_dir, wait_until
from tests.service.conftest import clean_env


def _health(base: str) -> dict[str, Any] | None:
    try:
        answer = httpx.get(f"{base}/v1/health", timeout=2)
    except httpx.TransportError:
        return None
    doc: dict[str, Any] = answer.json()
    # Chains are listed from the start (syncing, nothing stored): indexed once every one has a last block.
    return doc if doc["chains"] and all(c["last_block"] is not None for c in doc["chains"]) else None


def _lido_items(base: str) -> list[object]:
    items: list[object] = httpx.get(f"{base}/v1/yields", params={"protocol": "lido", "kind": "staking"}).json()["items"]
    return items


def test_serve_indexes_serves_and_stops_cleanly(devnet: Devnet, tmp_path: Path) -> None:
    home = seeded_data_dir(devnet, tmp_path / "home")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    child = subprocess.Popen(
        cli("serve", "--port", str(port), "--no-simulate"),
        env=clean_env(home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pids: list[int] = []
    try:
        wait_until(lambda: _health(base) is not None or child.poll() is not None, 60, "the API to show indexed chains")
        assert child.poll() is None, child.stderr.read() if child.stderr else ""
        run = json.loads((home / "devnet" / "run.json").read_text())
        pids = [n["pid"] for n in run["nodes"]]
        health = httpx.get(f"{base}/v1/health").json()
        assert {c["chain_id"] for c in health["chains"]} == {1, 56}
        assert all(c["head_block"] is not None and c["head_block"] >= c["last_block"] for c in health["chains"])
        items = httpx.get(f"{base}/v1/protocols").json()["items"]
        repo = Repository.open(f"sqlite:///{home / 'defiscope.db'}")
        try:
            stored = repo.latest_snapshots()
        finally:
            repo.close()
        by_slug = {i["slug"]: Decimal(i["tvl_usd"]) for i in items}
        assert by_slug == {
            slug: exact_sum(s.total(BalanceKind.TVL) for s in stored if s.slug == slug)
            for slug in {s.slug for s in stored}
        }
        # /v1/quote on serve's own chain clients, at an indexed block; Lido's APR from reports the indexer kept.
        # A first quote reads every V3 tick word (seconds on the devnet, see routing.load): a generous timeout.
        query = {"chain": "1", "sell": "USDC", "buy": "WETH", "amount": "1000"}
        quote = httpx.get(f"{base}/v1/quote", params=query, timeout=60)
        assert quote.status_code == 200, quote.text
        assert int(quote.json()["amount_out"]["raw"]) > 0
        assert quote.json()["block"]["chain_id"] == 1
        wait_until(lambda: _lido_items(base) != [], 30, "the indexer to collect Lido's oracle reports")
        metrics = httpx.get(f"{base}/metrics").text
        assert 'defiscope_rpc_requests_total{chain="1",endpoint=' in metrics
        # Throttling is exported beside the request counts (0 on the devnet: loopback endpoints are unlimited).
        for counter in ("rate_limited_total", "throttled_seconds_total", "stalls_total"):
            assert f'defiscope_rpc_{counter}{{chain="1",endpoint=' in metrics
        # The indices are tracked as blocks are stored; a devnet's short history builds none of the shipped ones,
        # and each says why (not an error).
        wait_until(lambda: _index_states(base) == {"not built"}, 60, "serve to track the indices")
        for item in httpx.get(f"{base}/v1/indices").json()["items"]:
            assert "the eligibility rules leave none" in item["reason"], item
        # Risk scores: the hook scores every protocol with facts at the first block of each chain.
        wait_until(lambda: _risk_status(base, "aave-v3", "ethereum") == 200, 60, "serve to score aave-v3")
        wait_until(lambda: _risk_status(base, "pancakeswap-v3", "bsc") == 200, 60, "serve to score pancakeswap-v3")
        profile = httpx.get(f"{base}/v1/risk/aave-v3").json()
        assert profile["changes"][0]["input"] == "first score"
        assert 0 <= profile["composite"] <= 100
        assert profile["block"] >= profile["changes"][0]["block"]
        child.send_signal(signal.SIGTERM)
        assert child.wait(30) == 0
        assert child.stdout is not None
        assert "stopped" in child.stdout.read()
        wait_until(lambda: all_dead(pids), 10, "the devnet's anvils to stop")
        assert not (home / "devnet" / "run.json").exists()
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


def _risk_status(base: str, slug: str, chain: str) -> int:
    return httpx.get(f"{base}/v1/risk/{slug}", params={"chain": chain}).status_code


def _index_states(base: str) -> set[str]:
    return {item["status"] for item in httpx.get(f"{base}/v1/indices").json()["items"]}
