"""The gate in front of every route: every path rate-limited (public ones too), wrong keys limited per
address, IPv6 by /64, X-Forwarded-For only from trusted proxies, RateLimit-* and security headers (CSP) on
every answer including 401, 429 and 500, CORS preflights before authentication, keys for /docs and /metrics
on request."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi import FastAPI
from fastapi.testclient import TestClient

from defiscope.api import ApiSettings, create_app
from defiscope.api.gate import CSP, DOCS_CSP
from defiscope.chain.errors import InvalidInput
from defiscope.store import Repository

WRONG_KEY = "ds_live_000000000000_" + "x" * 43


@pytest.fixture
def repo(tmp_path: Path) -> Iterator[Repository]:
    store = Repository.open(f"sqlite:///{tmp_path / 'gate.db'}")
    yield store
    store.close()


def _app(repo: Repository, **settings: object) -> FastAPI:
    return create_app(ApiSettings(**settings), repo=repo, deployments=[])  # type: ignore[arg-type]


def test_public_paths_are_rate_limited_too(repo: Repository) -> None:
    with TestClient(_app(repo, rate_per_ip="3/minute")) as client:
        answers = [client.get("/v1/health") for _ in range(4)]
    assert [a.status_code for a in answers] == [200, 200, 200, 429]
    assert [a.headers["ratelimit-remaining"] for a in answers] == ["2", "1", "0", "0"]
    assert all(a.headers["ratelimit-limit"] == "3" for a in answers)


def test_wrong_keys_are_limited_per_address_before_any_lookup(repo: Repository) -> None:
    with TestClient(_app(repo, anonymous=False, rate_failed_keys="2/minute")) as client:
        answers = [client.get("/v1/chains", headers={"X-API-Key": WRONG_KEY}) for _ in range(3)]
        assert [a.status_code for a in answers] == [401, 401, 429]
        assert int(answers[2].headers["Retry-After"]) >= 1
    with TestClient(_app(repo, anonymous=False, rate_failed_keys="2/minute"), client=("192.0.2.9", 1)) as other:
        assert other.get("/v1/chains", headers={"X-API-Key": WRONG_KEY}).status_code == 401  # its own budget


def test_ipv6_clients_are_counted_per_64(repo: Repository) -> None:
    app = _app(repo, rate_per_ip="2/minute")
    same_64 = [TestClient(app, client=(f"2001:db8:1:2::{i}", 1)) for i in (1, 2, 3)]
    other_64 = TestClient(app, client=("2001:db8:1:3::1", 1))
    with same_64[0], same_64[1], same_64[2], other_64:
        assert [c.get("/v1/chains").status_code for c in same_64] == [200, 200, 429]
        assert other_64.get("/v1/chains").status_code == 200


def test_forwarded_for_counts_only_from_trusted_proxies(repo: Repository) -> None:
    app = _app(repo, rate_per_ip="1/minute", trusted_proxies=("10.0.0.0/8",))
    with TestClient(app, client=("10.0.0.5", 1)) as proxy, TestClient(app, client=("192.0.2.1", 1)) as direct:
        for client_ip in ("198.51.100.1", "198.51.100.2"):  # two clients behind the proxy: two budgets
            assert proxy.get("/v1/chains", headers={"X-Forwarded-For": f"{client_ip}, 10.0.0.7"}).status_code == 200
        assert proxy.get("/v1/chains", headers={"X-Forwarded-For": "198.51.100.1"}).status_code == 429
        # A client talking directly cannot pick its identity with the header.
        assert direct.get("/v1/chains", headers={"X-Forwarded-For": "203.0.113.1"}).status_code == 200
        assert direct.get("/v1/chains", headers={"X-Forwarded-For": "203.0.113.2"}).status_code == 429
    with pytest.raises(InvalidInput, match="trusted_proxies"):
        ApiSettings(trusted_proxies=("not-a-network",))


def test_security_headers_on_every_answer_including_errors(repo: Repository) -> None:
    async def boom() -> None:
        raise RuntimeError("a bug")

    crashing = _app(repo, anonymous=False, public_paths=("/v1/health", "/docs", "/v1/boom"))
    crashing.add_api_route("/v1/boom", boom)
    with TestClient(crashing, raise_server_exceptions=False) as client:
        unauthorized = client.get("/v1/chains")
        failed = client.get("/v1/health")  # public
        bug = client.get("/v1/boom")
        dashboard = client.get("/docs")
    assert unauthorized.status_code == 401
    assert bug.status_code == 500
    assert bug.json()["error"]["id"] in bug.json()["error"]["problem"]
    for answer in (unauthorized, failed, bug):
        assert answer.headers["content-security-policy"] == CSP.decode()
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["x-frame-options"] == "DENY"
    assert dashboard.headers["content-security-policy"] == DOCS_CSP.decode()
    assert "ratelimit-limit" in unauthorized.headers


def test_preflight_before_auth_and_cors_on_refusals(repo: Repository) -> None:
    app = _app(repo, anonymous=False, cors_origins=("https://app.example",))
    with TestClient(app) as client:
        preflight = client.options(
            "/v1/chains",
            headers={"Origin": "https://app.example", "Access-Control-Request-Method": "GET",
                     "Access-Control-Request-Headers": "X-API-Key"},
        )  # fmt: skip
        assert preflight.status_code == 200
        assert preflight.headers["access-control-allow-origin"] == "https://app.example"
        refused = client.get("/v1/chains", headers={"Origin": "https://app.example"})
        assert refused.status_code == 401
        assert refused.headers["access-control-allow-origin"] == "https://app.example"  # the browser can read it


def test_docs_and_metrics_can_require_a_key(repo: Repository) -> None:
    with TestClient(_app(repo, anonymous=False, public_paths=("/v1/health",))) as client:
        assert client.get("/v1/health").status_code == 200
        assert client.get("/metrics").status_code == 401
        assert client.get("/docs").status_code == 401
        assert client.get("/openapi.json").status_code == 401
    with TestClient(_app(repo, anonymous=False)) as client:  # the default: monitoring and docs are open
        assert client.get("/metrics").status_code == 200
        assert client.get("/docs").status_code == 200
