"""Fixtures of the job tests: the store fixtures of `tests/store`, and a real RabbitMQ with a queue prefix of its
own per test (its queues deleted after). RabbitMQ unreachable: the test is skipped with the reason, except under
CI (env `CI` set), where that is a failure."""

from __future__ import annotations

import os
import secrets
from collections.abc import Iterator

import pika
import pytest
from sqlalchemy import Engine

from defiscope.service.jobs.actors import Jobs, open_broker
from defiscope.service.jobs.settings import DEFAULT_BROKER_URL, QUEUES, JobSettings
from defiscope.store import create_engine, migrate
from tests.store.conftest import db_url, emptied, pg_database  # noqa: F401  (fixtures reused, not redefined)

BROKER_ENV = "DEFISCOPE_TEST_BROKER_URL"


@pytest.fixture
def broker_url() -> str:
    url = os.environ.get(BROKER_ENV, DEFAULT_BROKER_URL)
    try:
        pika.BlockingConnection(pika.URLParameters(url)).close()
    except pika.exceptions.AMQPError as exc:
        reason = f"RabbitMQ at {url} unreachable ({type(exc).__name__}); set {BROKER_ENV}"
        if os.environ.get("CI"):
            pytest.fail(f"CI requires RabbitMQ: {reason}")
        pytest.skip(reason)
    return url


@pytest.fixture
def job_settings(broker_url: str) -> Iterator[JobSettings]:
    """Settings on a queue prefix of this test's own; its queues (with delay and dead-letter ones) deleted after."""
    settings = JobSettings(broker_url=broker_url, queue_prefix=f"test{secrets.token_hex(4)}")
    yield settings
    connection = pika.BlockingConnection(pika.URLParameters(broker_url))
    try:
        channel = connection.channel()
        for queue in QUEUES:
            for suffix in ("", ".DQ", ".XQ"):
                channel.queue_delete(settings.queue(queue) + suffix)
    finally:
        connection.close()


@pytest.fixture
def store_engine(db_url: str) -> Iterator[Engine]:  # noqa: F811  (db_url is the imported fixture)
    """A migrated store's engine, on SQLite and on PostgreSQL."""
    migrated = create_engine(db_url)
    migrate(migrated)
    yield migrated
    migrated.dispose()


@pytest.fixture
def pg_url(pg_database: str) -> str:  # noqa: F811  (pg_database is the imported fixture)
    """An empty, migrated PostgreSQL database (the store that several worker processes share)."""
    fresh: Engine = create_engine(emptied(pg_database))
    try:
        migrate(fresh)
    finally:
        fresh.dispose()
    return pg_database


@pytest.fixture
def pg_engine(pg_url: str) -> Iterator[Engine]:
    """The engine of `pg_url`, the store the test's worker processes share."""
    store = create_engine(pg_url)
    yield store
    store.dispose()


@pytest.fixture
def jobs(job_settings: JobSettings) -> Iterator[Jobs]:
    """The producer's side: what the follow job and the signal pass send through."""
    producer = Jobs(open_broker(job_settings), job_settings)
    yield producer
    producer.broker.close()
