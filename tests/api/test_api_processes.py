"""`defiscope serve --api-only` as real processes over one PostgreSQL store and one Redis.

Two API processes (two ports, or two uvicorn workers behind one port) share a per-key rate limit, and an
answer built by one is served by the other from the shared cache (counted in /metrics), until a new block
is stored (then the previous answer, marked stale, until one process's background build lands). Each test has
its own database and its own Redis prefix.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from defiscope.api.keys import new_key
from defiscope.chain.block import BlockRef
from defiscope.devnet.anvil import free_port
from defiscope.store import Repository
from defiscope.store.keys import KeyStore
from tests.api.conftest import REDIS_URL, require_redis
from tests.store.conftest import emptied, pg_database  # noqa: F401  (the session's PostgreSQL database)

PER_KEY = 6
VERSION_TTL = 0.2
#: Two workers importing the app on 2 cores that other work loads (load average 8-12) took 60-86 s to answer.
START_SECONDS = 180


def _block(number: int) -> BlockRef:
    return BlockRef(chain_id=1, number=number, hash=f"0x{number:064x}", timestamp=1_700_000_000 + 12 * number)


@dataclass(frozen=True, slots=True)
class Store:
    url: str
    key: str  # an API key stored in it
    env: dict[str, str]  # what every API process of the test runs with


@pytest.fixture
def store(pg_database: str, tmp_path: Path) -> Store:  # noqa: F811
    require_redis()
    repo = Repository.open(emptied(pg_database))
    try:
        repo.save_blocks([_block(100)])
        key, stored = new_key("processes")
        KeyStore(repo.engine).add(stored)
    finally:
        repo.close()
    env = {
        **os.environ,
        "DEFISCOPE_DATA_DIR": str(tmp_path),
        "DEFISCOPE_DATABASE_URL": pg_database,
        "DEFISCOPE_REDIS_URL": REDIS_URL,
        "DEFISCOPE_API_RATE_PREFIX": f"test-{secrets.token_hex(6)}",
        "DEFISCOPE_API_RATE_PER_KEY": f"{PER_KEY}/minute",
        "DEFISCOPE_API_RATE_PER_IP": "10000/minute",  # readiness polls go without a key
        "DEFISCOPE_API_VERSION_TTL": str(VERSION_TTL),
    }
    return Store(pg_database, key, env)


def _start(store: Store, port: int, workers: int = 1) -> subprocess.Popen[str]:
    command = [str(Path(sys.executable).with_name("defiscope")), "serve", "--api-only", "--port", str(port)]
    command += ["--workers", str(workers)]
    process = subprocess.Popen(
        command, env=store.env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, start_new_session=True
    )
    deadline = time.monotonic() + START_SECONDS
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"serve --api-only exited {process.returncode}: {process.stdout.read()}")  # type: ignore[union-attr]
        try:
            if httpx.get(f"http://127.0.0.1:{port}/openapi.json", timeout=2).status_code == 200:
                return process
        except httpx.TransportError:
            pass
        time.sleep(0.2)
    _stop(process)
    raise AssertionError(f"serve --api-only did not answer within {START_SECONDS} s")


def _stop(process: subprocess.Popen[str]) -> None:
    process.send_signal(signal.SIGTERM)
    try:
        process.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait()


def _counter(base: str, name: str, labels: str = "") -> float:
    """A counter's value in the /metrics text of the process at `base`."""
    body = httpx.get(f"{base}/metrics", timeout=5).text
    pattern = rf"^{re.escape(name)}_total{re.escape(labels)} (\S+)$"
    found = re.search(pattern, body, re.MULTILINE)
    assert found is not None, f"{name}_total{labels} not in /metrics"
    return float(found.group(1))


@pytest.fixture
def two_ports(store: Store) -> Iterator[tuple[str, str]]:
    """Two `serve --api-only` processes on two ports over the one store; their base URLs."""
    ports = (free_port(), free_port())
    first = _start(store, ports[0])
    try:
        second = _start(store, ports[1])
        try:
            yield f"http://127.0.0.1:{ports[0]}", f"http://127.0.0.1:{ports[1]}"
        finally:
            _stop(second)
    finally:
        _stop(first)


def test_a_key_limit_is_counted_across_processes(store: Store, two_ports: tuple[str, str]) -> None:
    headers = {"X-API-Key": store.key}
    statuses = [
        httpx.get(f"{two_ports[i % 2]}/v1/protocols", headers=headers, timeout=10).status_code for i in range(PER_KEY)
    ]
    assert statuses == [200] * PER_KEY
    refused = httpx.get(f"{two_ports[PER_KEY % 2]}/v1/protocols", headers=headers, timeout=10)
    assert refused.status_code == 429
    assert int(refused.headers["Retry-After"]) >= 1
    assert refused.headers["RateLimit-Remaining"] == "0"


def test_an_answer_built_by_one_process_is_served_by_the_other_until_a_new_block(
    store: Store, two_ports: tuple[str, str]
) -> None:
    first, second = two_ports
    path = "/v1/protocols?limit=7"
    built = httpx.get(first + path, timeout=10)
    assert built.status_code == 200
    assert _counter(first, "defiscope_cache_builds") == 1
    shared = httpx.get(second + path, timeout=10)
    assert shared.status_code == 200
    assert shared.content == built.content
    assert shared.headers["ETag"] == built.headers["ETag"]
    assert _counter(second, "defiscope_cache_hits", '{level="shared"}') == 1
    assert _counter(second, "defiscope_cache_builds") == 0

    repo = Repository.open(store.url)
    try:
        repo.save_blocks([_block(101)])  # a new version: the shared entry of block 100 no longer answers
    finally:
        repo.close()
    time.sleep(VERSION_TTL * 3)
    stale = httpx.get(second + path, timeout=10)  # block 100's answer at once; block 101's builds behind it
    assert (stale.status_code, stale.headers["ETag"], stale.headers["X-Defiscope-Blocks"]) == (
        200,
        built.headers["ETag"],
        "1=100",
    )
    assert float(stale.headers["X-Defiscope-Stale"]) >= 0
    rebuilt = _fresh(second + path)
    assert rebuilt.headers["X-Defiscope-Blocks"] == "1=101"
    assert _counter(second, "defiscope_cache_builds") == 1
    assert _counter(second, "defiscope_cache_background_builds") == 1
    assert _counter(second, "defiscope_cache_hits", '{level="shared"}') == 1
    again = httpx.get(first + path, timeout=10)  # the first process now reads the second's build: not stale
    assert (again.status_code, again.content, again.headers.get("X-Defiscope-Stale")) == (200, rebuilt.content, None)
    assert _counter(first, "defiscope_cache_hits", '{level="shared"}') == 1
    assert _counter(first, "defiscope_cache_builds") == 1


def _fresh(url: str) -> httpx.Response:
    """The answer at `url` once it is not the previous block's (stale) any more: within 10 s."""
    deadline = time.monotonic() + 10
    while (answer := httpx.get(url, timeout=10)).headers.get("X-Defiscope-Stale") is not None:
        assert time.monotonic() < deadline, "the new block's answer did not replace the stale one within 10 s"
        time.sleep(0.05)
    assert answer.status_code == 200
    return answer


def test_two_workers_behind_one_port_share_the_limit(store: Store) -> None:
    port = free_port()
    process = _start(store, port, workers=2)
    try:
        base = f"http://127.0.0.1:{port}"
        headers = {"X-API-Key": store.key, "Connection": "close"}  # a new connection each: either worker may take it
        statuses = [httpx.get(f"{base}/v1/protocols", headers=headers, timeout=10).status_code for _ in range(PER_KEY)]
        assert statuses == [200] * PER_KEY
        assert httpx.get(f"{base}/v1/protocols", headers=headers, timeout=10).status_code == 429
        children = Path(f"/proc/{process.pid}/task/{process.pid}/children").read_text().split()
        commands = [Path(f"/proc/{child}/cmdline").read_bytes() for child in children]
        # uvicorn's supervisor runs the two workers (multiprocessing's spawn), beside its resource tracker.
        assert sum(b"spawn_main" in command for command in commands) == 2
    finally:
        _stop(process)


def test_each_api_process_exports_its_request_spans(store: Store) -> None:
    port = free_port()
    traced = Store(store.url, store.key, store.env | {"DEFISCOPE_TRACE_EXPORTER": "console"})
    process = _start(traced, port)
    try:
        headers = {"X-API-Key": store.key, "traceparent": f"00-{'ab' * 16}-{'cd' * 8}-01"}
        assert httpx.get(f"http://127.0.0.1:{port}/v1/protocols", headers=headers, timeout=10).status_code == 200
    finally:
        _stop(process)  # a clean stop flushes the batch of spans
    assert process.stdout is not None
    printed = process.stdout.read()
    spans = [json.loads(block) for block in re.findall(r"^\{\n.*?^\}$", printed, re.MULTILINE | re.DOTALL)]
    request = next(s for s in spans if s["name"] == "GET /v1/protocols")
    assert request["kind"] == "SpanKind.SERVER"
    assert request["context"]["trace_id"] == "0x" + "ab" * 16  # joined to the caller's trace
    assert request["parent_id"] == "0x" + "cd" * 8
    assert request["attributes"]["http.response.status_code"] == 200
    assert request["resource"]["attributes"]["service.name"] == "defiscope-api"


@pytest.mark.parametrize(
    ("args", "extra", "named"),
    [
        (["--api-only", "--workers", "2"], {}, "DEFISCOPE_REDIS_URL"),
        (["--api-only", "--workers", "2"], {"DEFISCOPE_REDIS_URL": REDIS_URL}, "PostgreSQL"),
        (["--api-only"], {"DEFISCOPE_REDIS_URL": "redis://127.0.0.1:1/0"}, "Redis at redis://127.0.0.1:1/0"),
        (["--api-only"], {"DEFISCOPE_DATABASE_URL": "sqlite://"}, "in-memory"),
        (["--api-only"], {"DEFISCOPE_TRACE_EXPORTER": "jaeger"}, "DEFISCOPE_TRACE_EXPORTER"),
        (["--api-only", "--reset"], {}, "--api-only runs none"),
        (["--workers", "2"], {}, "--workers is for --api-only"),
    ],
)
def test_a_configuration_that_cannot_work_is_one_line_and_exit_2(
    tmp_path: Path, args: list[str], extra: dict[str, str], named: str
) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("DEFISCOPE_")}
    env |= {"DEFISCOPE_DATA_DIR": str(tmp_path), "COLUMNS": "400"} | extra
    command = [str(Path(sys.executable).with_name("defiscope")), "serve", "--port", str(free_port()), *args]
    done = subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 2, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("error: ")
    assert named in lines[0]
    assert not list(tmp_path.glob("*.db"))  # refused before the store was touched
