"""API keys (CLI and HTTP), anonymous access, rate limits on memory and on the real Redis, CORS, body size."""

from __future__ import annotations

import re
import secrets
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from defiscope.api import keys
from defiscope.cli import app as cli_app
from defiscope.store import Repository
from defiscope.store.keys import KeyStore
from tests.api.conftest import REDIS_URL, FilledStore, make_app, require_redis


def _create_key(store: FilledStore) -> str:
    key, stored = keys.new_key(f"test-{secrets.token_hex(4)}")
    repo = Repository.open(store.url)
    try:
        KeyStore(repo.engine).add(stored)
    finally:
        repo.close()
    return key


def test_keys_cli_creates_lists_and_revokes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, cli: CliRunner) -> None:
    monkeypatch.delenv("DEFISCOPE_DATABASE_URL", raising=False)
    monkeypatch.setenv("DEFISCOPE_DATA_DIR", str(tmp_path))
    runner = cli
    created = runner.invoke(cli_app, ["keys", "create", "--name", "ci"])
    assert created.exit_code == 0, created.output
    key = created.output.strip()
    assert re.fullmatch(r"ds_live_[0-9a-f]{12}_[A-Za-z0-9_-]{43}", key)
    repo = Repository.open(f"sqlite:///{tmp_path / 'defiscope.db'}")
    try:
        (stored,) = KeyStore(repo.engine).all()
    finally:
        repo.close()
    assert stored.sha256 == keys.digest(key)
    assert key not in stored.sha256
    assert stored.name == "ci"
    listed = runner.invoke(cli_app, ["keys", "list"])
    assert f"{stored.key_id}  ci" in listed.output
    assert key not in listed.output
    duplicate = runner.invoke(cli_app, ["keys", "create", "--name", "ci"])
    assert duplicate.exit_code == 2
    assert "exists already" in duplicate.output
    assert runner.invoke(cli_app, ["keys", "revoke", "ci"]).exit_code == 0
    again = runner.invoke(cli_app, ["keys", "revoke", "ci"])
    assert again.exit_code == 2
    assert "no active API key" in again.output


def test_keys_check_in_constant_time_shape() -> None:
    key, stored = keys.new_key("x", now=1)
    assert keys.check(key, stored)
    assert not keys.check(key, None)
    assert not keys.check(key, stored.__class__(stored.key_id, "x", stored.sha256, 1, revoked_at=2))
    assert keys.key_id_of("ds_live_short") is None


def test_anonymous_off_requires_a_valid_key(api_store: FilledStore) -> None:
    key = _create_key(api_store)
    with TestClient(make_app(api_store, anonymous=False)) as client:
        refused = client.get("/v1/protocols")
        assert refused.status_code == 401
        assert refused.json()["error"]["field"] == "X-API-Key"
        assert client.get("/v1/protocols", headers={"X-API-Key": key}).status_code == 200
        assert client.get("/v1/chains", headers={"Authorization": f"Bearer {key}"}).status_code == 200
        wrong = client.get("/v1/protocols", headers={"X-API-Key": key[:-2] + "xx"})
        assert wrong.status_code == 401
        assert client.get("/v1/health").status_code == 200  # public: monitoring needs no key


def test_revoked_key_is_refused_after_the_cache_ttl(api_store: FilledStore) -> None:
    key = _create_key(api_store)
    with TestClient(make_app(api_store, anonymous=False, key_cache_ttl=0.0)) as client:
        assert client.get("/v1/chains", headers={"X-API-Key": key}).status_code == 200
        repo = Repository.open(api_store.url)
        try:
            assert KeyStore(repo.engine).revoke(key.split("_")[2])
        finally:
            repo.close()
        assert client.get("/v1/chains", headers={"X-API-Key": key}).status_code == 401


def _exhaust(client: TestClient, headers: dict[str, str] | None = None) -> None:
    for _ in range(3):
        assert client.get("/v1/chains", headers=headers).status_code == 200
    limited = client.get("/v1/chains", headers=headers)
    assert limited.status_code == 429
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert limited.json()["error"]["problem"].startswith("rate limit 3 per 1 minute exceeded")


def test_rate_limits_per_ip_and_per_key_in_memory(api_store: FilledStore) -> None:
    key = _create_key(api_store)
    with TestClient(make_app(api_store, rate_per_ip="3/minute", rate_per_key="3/minute")) as client:
        _exhaust(client)
        _exhaust(client, {"X-API-Key": key})  # a key has its own budget


def test_rate_limits_shared_through_redis(api_store: FilledStore) -> None:
    require_redis()
    settings = {"rate_per_ip": "3/minute", "rate_storage": f"async+{REDIS_URL}", "rate_prefix": secrets.token_hex(6)}
    with TestClient(make_app(api_store, **settings)) as first, TestClient(make_app(api_store, **settings)) as second:
        for _ in range(2):
            assert first.get("/v1/chains").status_code == 200
        assert second.get("/v1/chains").status_code == 200
        # Two app instances (two server processes in production) share one counter.
        assert first.get("/v1/chains").status_code == 429
        assert second.get("/v1/chains").status_code == 429


def test_cors_and_body_limit(api_store: FilledStore) -> None:
    with TestClient(make_app(api_store, cors_origins=("https://app.example",), max_body_bytes=10)) as client:
        answer = client.get("/v1/chains", headers={"Origin": "https://app.example"})
        assert answer.headers["access-control-allow-origin"] == "https://app.example"
        assert "access-control-allow-origin" not in client.get("/v1/chains", headers={"Origin": "https://evil"}).headers
        streamed = client.request("GET", "/v1/chains", content=iter([b"x"]))  # chunked: no Content-Length
        assert streamed.status_code == 413
        big = client.request("GET", "/v1/chains", content=b"x" * 11)
        assert big.status_code == 413
        assert big.json()["error"]["field"] == "body"
