"""`defiscope worker`, `defiscope scheduler`, and `defiscope backfill --chunk`: the jobs of a scaled-out setup.

defiscope worker --queues backfill,follow,discovery --concurrency 4   # until Ctrl-C / SIGTERM
defiscope scheduler --chain 1          # keeps a head-follower per chain alive, sweeps the outbox, sends retention
defiscope backfill uniswap-v2 --from-block A --to-block B --chunk 100 --wait

Workers and producers meet on the broker (`DEFISCOPE_BROKER_URL`, RabbitMQ on 127.0.0.1:5672 by default) and the
store (`DEFISCOPE_DATABASE_URL`: PostgreSQL when there are several hosts). `defiscope serve` needs none of this:
it runs everything in one process. See docs/scale-out.md.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Annotated, Final

import typer

from defiscope import tracing
from defiscope.alerts.retention import RetentionSettings
from defiscope.cli.common import block_progress, err, one_line_errors, out
from defiscope.config import load_settings
from defiscope.service.context import resolve_targets
from defiscope.service.jobs.actors import Jobs, broker_errors, open_broker
from defiscope.service.jobs.backfill import enqueue_backfill, wait_for_chunks
from defiscope.service.jobs.context import holder_id, network_from_env
from defiscope.service.jobs.lease import LeaseStore
from defiscope.service.jobs.ledger import JobLedger
from defiscope.service.jobs.scheduler import HeadWatch, follow_duty, retention_duty, run_scheduler, sweep_duty
from defiscope.service.jobs.settings import QUEUES, JobSettings
from defiscope.service.jobs.specs import BackfillChunk
from defiscope.service.jobs.sweep import OutboxSweep
from defiscope.service.jobs.worker import run_worker, stop_on_signals, traced
from defiscope.store import Repository

#: The top-level commands of this module; the root group imports it only to run one of them.
commands = typer.Typer()
#: Seconds `backfill --chunk --wait` waits for the workers by default.
DEFAULT_WAIT_SECONDS: Final = 24 * 3600.0


@commands.command("worker")
@one_line_errors
def worker(
    queues: Annotated[
        str, typer.Option("--queues", help=f"Comma-separated queues to consume, among {', '.join(QUEUES)}.")
    ] = ",".join(QUEUES),
    concurrency: Annotated[int, typer.Option("--concurrency", help="Jobs run at once (worker threads).")] = 4,
) -> None:
    """Run broker jobs (backfill, head-following, discovery, alert delivery, grades, indices) until Ctrl-C/SIGTERM."""
    names = [q.strip() for q in queues.split(",") if q.strip()]
    run_worker(JobSettings.from_env(), names, concurrency)


@commands.command("scheduler")
@one_line_errors
def scheduler(
    chain: Annotated[list[str] | None, typer.Option("--chain", "-c", help="Chain id or name (repeatable).")] = None,
) -> None:
    """Send the periodic jobs: a head-follower per chain (a lease), outbox sweeps and retention, until Ctrl-C.

    One head-follower job stays alive per chain (a lease in the store); delivery jobs go out for outbox rows no job
    handles, and the outbox's retention job once a period; Ctrl-C or SIGTERM stops it."""
    settings = JobSettings.from_env()
    retention = RetentionSettings.from_env()
    chain_ids = [t.chain_id for t in resolve_targets(load_settings(), chain, network=network_from_env())]
    repo = Repository.open()
    broker = open_broker(settings)
    stop = stop_on_signals(threading.Event())
    sweep = OutboxSweep(repo.engine, settings, holder_id())
    try:
        with traced("defiscope-scheduler"), broker_errors(settings):
            jobs = Jobs(broker, settings)
            watch = HeadWatch(LeaseStore(repo.engine, settings.lease_seconds), chain_ids, settings.lease_seconds)
            duties = [
                follow_duty(watch, jobs.follow_head.send),
                sweep_duty(sweep, jobs.deliver_alert.send),
                retention_duty(jobs.prune_outbox.send, retention.interval_seconds),
            ]
            run_scheduler(duties, stop)
    finally:
        sweep.release()
        broker.close()
        repo.close()


def enqueue_chunks(chunks: list[BackfillChunk], *, wait: bool, quiet: bool) -> None:
    """`backfill --chunk`: send the chunks not done yet; with `wait`, follow the ledger until they are done."""
    settings = JobSettings.from_env()
    repo = Repository.open()
    broker = open_broker(settings)
    try:
        ledger = JobLedger(repo.engine)
        # The chunks' job spans are children of this command's (with DEFISCOPE_TRACE_EXPORTER set).
        with traced("defiscope-cli"), tracing.span("cli backfill --chunk"), broker_errors(settings):
            sent = enqueue_backfill(Jobs(broker, settings).backfill_chunk.send, ledger, chunks)
        outcome = None
        if wait:
            with block_progress("backfill jobs", disable=quiet) as report:
                outcome = wait_for_chunks(
                    ledger, chunks, retries=settings.chunk_retries, timeout=DEFAULT_WAIT_SECONDS, on_progress=report
                )
    finally:
        broker.close()
        repo.close()
    if quiet:
        sys.stdout.write(json.dumps(sent.to_json() | (outcome.to_json() if outcome else {})) + "\n")
    else:
        done = "" if outcome is None else f"; done {outcome.done}, failed {len(outcome.failed)}"
        out.print(f"{sent.chunks} chunks: sent {sent.sent}, {sent.already_done} already done{done}", highlight=False)
        for key, error in sorted((outcome.failed if outcome else {}).items()):
            err.print(f"[yellow]failed:[/yellow] {key}: {error}", highlight=False, soft_wrap=True)
    if outcome is not None and outcome.failed:
        raise typer.Exit(1)
