"""A local cluster: N `defiscope worker` processes, a scheduler and `serve --api-only`, over the services of this
machine (RabbitMQ, PostgreSQL, Redis), with their pids and logs in `<data dir>/cluster/`.

    check_services(needs_from_env())            # ClusterRefused naming what does not answer
    cluster = start_cluster(data_dir, ClusterPlan(workers=2, api=2, port=8000), env)
    alive(cluster)                              # {"worker-1": True, ...}
    stop_cluster(cluster)                       # SIGTERM, then SIGKILL after `grace` seconds

Each process leads its own process group (`serve --api-only` has uvicorn children): stopping signals the group.
A pid is signalled only while its command line is still a defiscope one (a pid the system reused is left alone).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Final

import pika
import redis
from pika.exceptions import AMQPError
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError

from defiscope.errors import DefiscopeError, InputError
from defiscope.service.jobs.actors import masked_url
from defiscope.store import create_engine
from defiscope.store.database import mask_url

STATE_FILE: Final = "cluster.json"
#: Seconds `down` waits after SIGTERM before SIGKILL (a worker finishes its job; a follow slice hands over).
STOP_GRACE_S: Final = 40.0
_CONNECT_TIMEOUT_S: Final = 3
_MARK: Final = "defiscope.cli"


class ClusterRefused(InputError):
    """`cluster up` cannot start: a service it needs does not answer, or a cluster runs already."""


class NoCluster(DefiscopeError):
    """No cluster was started from this data directory."""


@dataclass(frozen=True, slots=True)
class Needs:
    store_url: str
    redis_url: str | None
    broker_url: str


@dataclass(frozen=True, slots=True)
class ClusterPlan:
    workers: int = 2
    api: int = 2
    port: int = 8000
    concurrency: int = 2  # jobs each worker runs at once

    def __post_init__(self) -> None:
        if self.workers < 1 or self.api < 1 or self.concurrency < 1:
            raise ClusterRefused("cluster up: --workers, --api and --concurrency must be 1 or more", field="workers")

    def commands(self) -> dict[str, list[str]]:
        """Each process's name and its `defiscope` arguments."""
        worker = ["worker", "--concurrency", str(self.concurrency)]
        named = {f"worker-{n}": worker for n in range(1, self.workers + 1)}
        api = ["serve", "--api-only", "--workers", str(self.api), "--port", str(self.port)]
        return {**named, "scheduler": ["scheduler"], "api": api}


@dataclass(frozen=True, slots=True)
class Member:
    name: str
    pid: int
    log: str


@dataclass(frozen=True, slots=True)
class Cluster:
    directory: Path
    port: int
    members: tuple[Member, ...]

    def save(self) -> None:
        body = {"port": self.port, "members": [asdict(m) for m in self.members]}
        (self.directory / STATE_FILE).write_text(json.dumps(body, indent=2) + "\n")

    @classmethod
    def load(cls, directory: Path) -> Cluster:
        try:
            body = json.loads((directory / STATE_FILE).read_text())
        except FileNotFoundError:
            raise NoCluster(f"no cluster started from {directory.parent} (run `defiscope cluster up`)") from None
        return cls(directory, int(body["port"]), tuple(Member(**m) for m in body["members"]))


def cluster_dir(data_dir: Path) -> Path:
    return data_dir / "cluster"


def check_services(needs: Needs) -> None:
    """Every service a cluster needs answers; else one line naming each that does not."""
    found = [p for p in (_store(needs.store_url), _redis(needs.redis_url), _broker(needs.broker_url)) if p]
    if found:
        raise ClusterRefused("cluster up needs " + "; ".join(found), field="services")


def _store(url: str) -> str | None:
    if make_url(url).get_backend_name() != "postgresql":
        return "PostgreSQL: DEFISCOPE_DATABASE_URL is not a postgresql URL (workers on several processes share it)"
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT 1"))
    except SQLAlchemyError as exc:
        return f"PostgreSQL at {mask_url(url)} does not answer ({type(getattr(exc, 'orig', None) or exc).__name__})"
    finally:
        engine.dispose()
    return None


def _redis(url: str | None) -> str | None:
    if url is None:
        return "Redis: DEFISCOPE_REDIS_URL is not set (the API processes share limits and cache through it)"
    client = redis.Redis.from_url(url, socket_connect_timeout=_CONNECT_TIMEOUT_S, socket_timeout=_CONNECT_TIMEOUT_S)
    try:
        client.ping()
    except (redis.RedisError, OSError) as exc:
        return f"Redis at {mask_url(url)} does not answer ({type(exc).__name__})"
    finally:
        client.close()
    return None


def _broker(url: str) -> str | None:
    params = pika.URLParameters(url)
    params.socket_timeout = params.blocked_connection_timeout = _CONNECT_TIMEOUT_S
    try:
        pika.BlockingConnection(params).close()
    except AMQPError as exc:
        return f"RabbitMQ at {masked_url(url)} does not answer ({type(exc).__name__}; DEFISCOPE_BROKER_URL)"
    return None


def start_cluster(data_dir: Path, plan: ClusterPlan, env: Mapping[str, str]) -> Cluster:
    """Start every process of `plan`, each logging to `<name>.log`; refused while one started here still runs."""
    directory = cluster_dir(data_dir)
    directory.mkdir(parents=True, exist_ok=True)
    try:
        running = [m.name for m, up in alive(Cluster.load(directory)).items() if up]
    except NoCluster:
        running = []
    if running:
        raise ClusterRefused(f"a cluster runs already from {data_dir} ({', '.join(running)}): `cluster down` first")
    members = []
    for name, args in plan.commands().items():
        log = directory / f"{name}.log"
        with log.open("ab") as sink:
            child = subprocess.Popen(
                [sys.executable, "-m", _MARK, *args],
                env=dict(env),
                stdin=subprocess.DEVNULL,
                stdout=sink,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # its own process group: `down` stops it with its children
            )
        members.append(Member(name, child.pid, str(log)))
    cluster = Cluster(directory, plan.port, tuple(members))
    cluster.save()
    return cluster


def is_ours(pid: int) -> bool:
    """Whether `pid` runs and is still a defiscope process (not a pid the system has given to another)."""
    try:
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (FileNotFoundError, ProcessLookupError, IndexError):
        return False
    return state != "Z" and _MARK.encode() in cmdline


def alive(cluster: Cluster) -> dict[Member, bool]:
    return {member: is_ours(member.pid) for member in cluster.members}


def stop_cluster(cluster: Cluster, grace: float = STOP_GRACE_S) -> list[str]:
    """SIGTERM every member's process group, SIGKILL those still running after `grace`; the names killed."""
    running = [m for m, up in alive(cluster).items() if up]
    for member in running:
        _signal_group(member.pid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while any(is_ours(m.pid) for m in running) and time.monotonic() < deadline:
        time.sleep(0.2)
    killed = [m.name for m in running if is_ours(m.pid)]
    for member in running:  # the group too: a child (an API worker) may outlive its leader
        _signal_group(member.pid, signal.SIGKILL)
    (cluster.directory / STATE_FILE).unlink(missing_ok=True)
    return killed


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pid, sig)  # each member leads its group (start_new_session)
