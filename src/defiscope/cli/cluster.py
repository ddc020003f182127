"""`defiscope cluster up|down|status`: a local scaled-out setup from the services of this machine.

defiscope cluster up --workers 2 --api 2 --port 8000   # workers, a scheduler, `serve --api-only`; returns at once
defiscope cluster status --json                          # processes alive, queue depths, leases
defiscope cluster down                                   # SIGTERM, then SIGKILL after a grace period

Needs PostgreSQL (DEFISCOPE_DATABASE_URL), Redis (DEFISCOPE_REDIS_URL) and RabbitMQ (DEFISCOPE_BROKER_URL); a
missing one is one line and exit 2. Pids and logs are in `<data dir>/cluster/`.
"""

from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from http import HTTPStatus
from typing import Annotated, Any

import httpx
import typer

from defiscope.cli.common import one_line_errors, out
from defiscope.config import data_dir
from defiscope.errors import DefiscopeError
from defiscope.service.cluster import (
    STOP_GRACE_S,
    Cluster,
    ClusterPlan,
    Needs,
    alive,
    check_services,
    cluster_dir,
    start_cluster,
    stop_cluster,
)
from defiscope.service.jobs.lease import LeaseStore
from defiscope.service.jobs.queues import queue_depths
from defiscope.service.jobs.settings import JobSettings
from defiscope.store import Repository
from defiscope.store.database import database_url

#: Seconds `status` waits for the API's health check.
API_TIMEOUT_S = 3.0
cluster_app = typer.Typer(help="A local cluster: workers, a scheduler and API processes.", no_args_is_help=True)


@cluster_app.command("up")
@one_line_errors
def up(
    workers: Annotated[int, typer.Option("--workers", help="`defiscope worker` processes.")] = 2,
    api: Annotated[int, typer.Option("--api", help="API processes behind the port (serve --api-only).")] = 2,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port of the API.")] = 8000,
    concurrency: Annotated[int, typer.Option("--concurrency", help="Jobs each worker runs at once.")] = 2,
) -> None:
    """Check the services answer, migrate the store, then start the processes (they keep running)."""
    plan = ClusterPlan(workers=workers, api=api, port=port, concurrency=concurrency)
    store = database_url()
    check_services(Needs(store, os.environ.get("DEFISCOPE_REDIS_URL"), JobSettings.from_env().broker_url))
    Repository.open(store).close()  # migrated once here, not by processes racing
    cluster = start_cluster(data_dir(), plan, os.environ)
    for member in cluster.members:
        out.print(f"{member.name}: pid {member.pid}, log {member.log}", highlight=False, soft_wrap=True)
    out.print(f"API on http://127.0.0.1:{port}; `defiscope cluster status` / `down`", highlight=False)


@cluster_app.command("status")
@one_line_errors
def status(as_json: Annotated[bool, typer.Option("--json", help="Print JSON on stdout.")] = False) -> None:
    """Processes alive, queue depths and leases; exit 1 when a process has stopped or the broker does not answer."""
    report = _status(Cluster.load(cluster_dir(data_dir())))
    if as_json:
        sys.stdout.write(json.dumps(report) + "\n")
    else:
        _print(report)
    if not report["healthy"]:
        raise typer.Exit(1)


@cluster_app.command("down")
@one_line_errors
def down(
    grace: Annotated[float, typer.Option("--grace", help="Seconds between SIGTERM and SIGKILL.")] = STOP_GRACE_S,
) -> None:
    """Stop every process of the cluster: SIGTERM, then SIGKILL for what still runs after --grace seconds."""
    cluster = Cluster.load(cluster_dir(data_dir()))
    killed = stop_cluster(cluster, grace)
    note = f" (killed after {grace:g} s: {', '.join(killed)})" if killed else ""
    out.print(f"cluster stopped: {len(cluster.members)} processes{note}", highlight=False)


def _status(cluster: Cluster) -> dict[str, Any]:
    processes = [{"name": m.name, "pid": m.pid, "alive": up} for m, up in alive(cluster).items()]
    report: dict[str, Any] = {"port": cluster.port, "processes": processes}
    try:
        depths = queue_depths(JobSettings.from_env())
        report["queues"] = {name: asdict(depth) for name, depth in depths.items()}
    except DefiscopeError as exc:
        report["queues"] = None
        report["broker_error"] = str(exc)
    repo = Repository.open(database_url())
    try:
        now = time.time()
        leases = LeaseStore(repo.engine, JobSettings.from_env().lease_seconds).all()
    finally:
        repo.close()
    report["leases"] = [
        {"name": x.name, "holder": x.holder, "token": x.token, "held": x.expires_at > now} for x in leases
    ]
    report["api_answers"] = _api_answers(cluster.port)
    report["healthy"] = all(p["alive"] for p in processes) and report["queues"] is not None and report["api_answers"]
    return report


def _api_answers(port: int) -> bool:
    """Whether the API answers its health check (its processes may be alive and still starting)."""
    try:
        return httpx.get(f"http://127.0.0.1:{port}/v1/health", timeout=API_TIMEOUT_S).status_code == HTTPStatus.OK
    except httpx.HTTPError:
        return False


def _print(report: dict[str, Any]) -> None:
    for process in report["processes"]:
        state = "[green]alive[/green]" if process["alive"] else "[red]stopped[/red]"
        out.print(f"{process['name']:<12} pid {process['pid']:<8} {state}")
    if report["queues"] is None:
        out.print(f"[red]queues unknown:[/red] {report['broker_error']}", highlight=False)
    else:
        for name, depth in report["queues"].items():
            out.print(
                f"queue {name:<10} {depth['ready']} waiting, {depth['consumers']} consumers, {depth['dead']} dead",
                highlight=False,
            )
    for lease in report["leases"]:
        held = "held" if lease["held"] else "expired"
        out.print(f"lease {lease['name']:<10} {held} by {lease['holder']} (token {lease['token']})", highlight=False)
    if not report["api_answers"]:
        out.print(f"[red]the API on port {report['port']} does not answer[/red]")
    out.print("healthy" if report["healthy"] else "[red]not healthy[/red]")
