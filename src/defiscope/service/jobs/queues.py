"""What is waiting on the broker: each job queue's ready messages and consumers, read from RabbitMQ itself.

    depths = queue_depths(JobSettings.from_env())   # {"backfill": QueueDepth(ready=12, consumers=2, dead=0), ...}

A passive declare per queue (AMQP 0-9-1 answers it with the counts), so this needs no management plugin. A
queue not declared yet (no worker or producer used it) holds nothing; an unreachable broker raises
`BrokerUnavailable`.
"""

from __future__ import annotations

from dataclasses import dataclass

import pika
from pika.adapters.blocking_connection import BlockingChannel
from pika.exceptions import AMQPError, ChannelClosedByBroker

from defiscope.service.jobs.errors import BrokerUnavailable
from defiscope.service.jobs.settings import QUEUES, JobSettings

#: Seconds to wait for the broker: a metrics scrape or `cluster status` must not hang on it.
CONNECT_TIMEOUT_S = 3.0


@dataclass(frozen=True, slots=True)
class QueueDepth:
    ready: int  # messages waiting for a worker
    consumers: int  # workers consuming the queue
    dead: int  # messages left in the dead-letter queue (`<queue>.XQ`) after their last retry


def queue_depths(settings: JobSettings) -> dict[str, QueueDepth]:
    """Each job queue's depth, by its short name (`backfill`, `follow`, `discovery`)."""
    params = pika.URLParameters(settings.broker_url)
    params.socket_timeout = params.blocked_connection_timeout = CONNECT_TIMEOUT_S
    try:
        connection = pika.BlockingConnection(params)
    except AMQPError as exc:
        raise BrokerUnavailable(f"message broker unreachable: {type(exc).__name__}") from exc
    try:
        depths = {}
        for name in QUEUES:
            ready, consumers = _counts(connection, settings.queue(name))
            dead, _ = _counts(connection, settings.queue(name) + ".XQ")
            depths[name] = QueueDepth(ready, consumers, dead)
        return depths
    finally:
        if connection.is_open:
            connection.close()


def _counts(connection: pika.BlockingConnection, queue: str) -> tuple[int, int]:
    channel: BlockingChannel = connection.channel()
    try:
        declared = channel.queue_declare(queue, passive=True)
    except ChannelClosedByBroker:  # 404: not declared yet, so nothing is in it
        return 0, 0
    channel.close()
    return int(declared.method.message_count), int(declared.method.consumer_count)
