"""`defiscope cluster up|status|down` as a user runs them: a small cluster on the devnet over the machine's
PostgreSQL, Redis and RabbitMQ comes up, is healthy (workers consuming, the head-follower's lease held, the API
answering with queue metrics), and `down` leaves no process; a service that does not answer is one line, exit 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from defiscope.devnet.anvil import free_port
from defiscope.service.jobs.settings import JobSettings
from tests.api.conftest import REDIS_URL, require_redis
from tests.service.conftest import clean_env


def _cli(env: dict[str, str], *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "defiscope.cli", "cluster", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def _env(devnet_home: Path, pg_url: str, settings: JobSettings, **extra: str) -> dict[str, str]:
    return clean_env(
        devnet_home,
        DEFISCOPE_DATABASE_URL=pg_url,
        DEFISCOPE_REDIS_URL=REDIS_URL,
        DEFISCOPE_NETWORK="devnet",
        DEFISCOPE_BROKER_URL=settings.broker_url,
        DEFISCOPE_JOBS_QUEUE_PREFIX=settings.queue_prefix,
        DEFISCOPE_JOBS_LEASE_SECONDS="6",
        **extra,
    )


def _in_groups(pids: list[int]) -> list[int]:
    """Live processes whose process group is one of `pids` (a member or a child it started)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (FileNotFoundError, ProcessLookupError):
            continue
        if fields[0] != "Z" and int(fields[2]) in pids:
            found.append(int(entry.name))
    return found


def test_a_cluster_comes_up_healthy_and_down_leaves_no_process(
    devnet_home: Path, pg_url: str, job_settings: JobSettings
) -> None:
    require_redis()
    port = free_port()
    env = _env(devnet_home, pg_url, job_settings)
    started = _cli(env, "up", "--workers", "2", "--api", "1", "--port", str(port), "--concurrency", "1")
    assert started.returncode == 0, started.stderr
    state = json.loads((devnet_home / "cluster" / "cluster.json").read_text())
    pids = [m["pid"] for m in state["members"]]
    assert sorted(m["name"] for m in state["members"]) == ["api", "scheduler", "worker-1", "worker-2"]
    try:
        deadline = time.monotonic() + 120
        while True:
            shown = _cli(env, "status", "--json")
            assert shown.stdout, shown.stderr
            report = json.loads(shown.stdout)
            consuming = report["queues"] and all(q["consumers"] == 2 for q in report["queues"].values())
            held = [lease for lease in report["leases"] if lease["name"] == "head:1" and lease["held"]]
            if shown.returncode == 0 and consuming and held:
                break
            logs = "\n".join(p.read_text()[-2000:] for p in (devnet_home / "cluster").glob("*.log"))
            assert time.monotonic() < deadline, f"cluster not healthy: {report}\n{logs}"
            time.sleep(1)
        assert report["healthy"] is True
        assert all(p["alive"] for p in report["processes"])
        metrics = httpx.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
        assert 'defiscope_queue_consumers{queue="backfill"} 2.0' in metrics
        table = _cli(env, "status")
        assert table.returncode == 0
        assert "healthy" in table.stdout
        assert "worker-1" in table.stdout
        again = _cli(env, "up")
        assert again.returncode == 2
        assert "a cluster runs already" in again.stderr
    finally:
        stopped = _cli(env, "down", "--grace", "30")
    assert stopped.returncode == 0, stopped.stderr
    assert "cluster stopped: 4 processes" in stopped.stdout
    assert _in_groups(pids) == []
    gone = _cli(env, "status")
    assert gone.returncode == 2
    assert "cluster up" in gone.stderr


@pytest.mark.parametrize(
    ("override", "named"),
    [
        ({"DEFISCOPE_BROKER_URL": "amqp://guest:guest@127.0.0.1:1/%2F"}, "RabbitMQ at amqp://guest:***@127.0.0.1:1"),
        ({"DEFISCOPE_REDIS_URL": "redis://127.0.0.1:1/0"}, "Redis at redis://127.0.0.1:1/0 does not answer"),
        ({"DEFISCOPE_DATABASE_URL": "sqlite:///x.db"}, "PostgreSQL: DEFISCOPE_DATABASE_URL is not a postgresql URL"),
    ],
)
def test_a_missing_service_is_one_line_and_exit_2(
    devnet_home: Path, pg_url: str, job_settings: JobSettings, override: dict[str, str], named: str
) -> None:
    env = _env(devnet_home, pg_url, job_settings) | override
    refused = _cli(env, "up", "--workers", "1", "--api", "1")
    assert refused.returncode == 2
    assert named in refused.stderr
    assert len(refused.stderr.strip().splitlines()) == 1
    assert not (devnet_home / "cluster" / "cluster.json").exists()
    assert os.path.exists(devnet_home)
