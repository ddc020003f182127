"""`backfill --chunk`, `worker` and `scheduler` at the command line: chunks sent, bad input refused in one line."""

from __future__ import annotations

import json
from pathlib import Path

import pika
import pytest
from typer.testing import CliRunner

from defiscope.cli import app
from defiscope.devnet import DevnetChain
from defiscope.service.jobs.settings import JobSettings
from defiscope.store import Repository
from tests.service.chainkit import head
from tests.service.conftest import clean_env
from tests.service.jobs.workers import Processes
from tests.service.test_backfill import TREASURY, grow


@pytest.fixture
def job_env(devnet_home: Path, pg_url: str, job_settings: JobSettings, monkeypatch: pytest.MonkeyPatch) -> JobSettings:
    monkeypatch.setenv("DEFISCOPE_DATABASE_URL", pg_url)
    monkeypatch.setenv("DEFISCOPE_BROKER_URL", job_settings.broker_url)
    monkeypatch.setenv("DEFISCOPE_JOBS_QUEUE_PREFIX", job_settings.queue_prefix)
    return job_settings


def queued(settings: JobSettings, queue: str) -> int:
    connection = pika.BlockingConnection(pika.URLParameters(settings.broker_url))
    try:
        return int(connection.channel().queue_declare(settings.queue(queue), passive=True).method.message_count)
    finally:
        connection.close()


def test_backfill_chunk_sends_one_message_per_chunk(
    cli: CliRunner, eth_chain: DevnetChain, job_env: JobSettings
) -> None:
    top = head(eth_chain)
    args = ["backfill", "uniswap-v2", "-c", "1", "--from-block", str(top - 24), "--to-block", str(top)]
    result = cli.invoke(app, [*args, "--chunk", "10", "--json"])
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout) == {"chunks": 3, "sent": 3, "already_done": 0}
    assert queued(job_env, "backfill") == 3


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--chunk", "0"], "chunk must be 1 or more, got 0"),
        (["--wait"], "--wait needs --chunk (without it the backfill runs here and is waited for)"),
        (["--chunk", "5", "--step", "0"], "step must be 1 or more, got 0"),
    ],
)
def test_bad_chunked_backfill_input_exits_2_in_one_line(
    cli: CliRunner, eth_chain: DevnetChain, job_env: JobSettings, extra: list[str], message: str
) -> None:
    top = head(eth_chain)
    result = cli.invoke(
        app, ["backfill", "uniswap-v2", "-c", "1", "--from-block", str(top - 5), "--to-block", str(top), *extra]
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [f"error: {message}"]


def test_an_unreachable_broker_exits_1_naming_it(
    cli: CliRunner, eth_chain: DevnetChain, job_env: JobSettings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("DEFISCOPE_BROKER_URL", "amqp://guest:secret@127.0.0.1:1/%2F")
    top = head(eth_chain)
    args = ["backfill", "uniswap-v2", "-c", "1", "--from-block", str(top - 5), "--to-block", str(top), "--chunk", "2"]
    result = cli.invoke(app, args)
    assert result.exit_code == 1
    (line,) = result.stderr.strip().splitlines()
    assert line.startswith("error: message broker at amqp://guest:***@127.0.0.1:1/%2F unreachable")
    assert "secret" not in line


def test_worker_refuses_an_unknown_queue(cli: CliRunner) -> None:
    result = cli.invoke(app, ["worker", "--queues", "backfill,nope"])
    assert result.exit_code == 2
    queues = "backfill, follow, discovery, delivery, analytics"
    assert result.stderr.strip() == f"error: unknown queue nope: choose among {queues}"


def test_backfill_chunk_wait_returns_once_a_worker_did_every_chunk(
    cli: CliRunner, eth_chain: DevnetChain, devnet_home: Path, pg_url: str, job_env: JobSettings, tmp_path: Path
) -> None:
    first, last = grow(eth_chain, 12)
    env = clean_env(
        devnet_home,
        DEFISCOPE_DATABASE_URL=pg_url,
        DEFISCOPE_NETWORK="devnet",
        DEFISCOPE_BROKER_URL=job_env.broker_url,
        DEFISCOPE_JOBS_QUEUE_PREFIX=job_env.queue_prefix,
    )
    processes = Processes(env, tmp_path)
    try:
        processes.worker("worker", "backfill")
        args = ["backfill", TREASURY, "-c", "1", "--from-block", str(first), "--to-block", str(last), "--step", "2"]
        result = cli.invoke(app, [*args, "--chunk", "2", "--wait", "--json"])
        assert result.exit_code == 0, result.output + processes.tails()
        summary = json.loads(result.stdout)
        assert (summary["chunks"], summary["sent"], summary["done"], summary["failed"]) == (3, 3, 3, {})
        again = cli.invoke(app, [*args, "--chunk", "2", "--wait", "--json"])
        assert json.loads(again.stdout) | {"seconds": 0} == {
            "chunks": 3,
            "sent": 0,
            "already_done": 3,
            "done": 3,
            "failed": {},
            "seconds": 0,
        }
    finally:
        processes.stop_all()
    repo = Repository.open(pg_url)
    try:
        assert repo.stored_blocks(TREASURY, 1, first, last) == set(range(first, last + 1, 2))
    finally:
        repo.close()
