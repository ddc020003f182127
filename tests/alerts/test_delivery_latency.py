"""The figure: a webhook reaches its receiver within 1 s of its outbox row being committed, woken by the sink's
bell (same process) and by polling alone (the row committed by another process)."""

from __future__ import annotations

import asyncio
import statistics
import time

import pytest
from sqlalchemy import Engine

from defiscope.alerts.message import Channel
from defiscope.alerts.outbox import OutboxSink
from tests.alerts.kit import SECRET, Receiver, message, put
from tests.alerts.test_delivery_worker import running, settled

MESSAGES = 15


@pytest.mark.parametrize("woken", ["bell", "poll"])
async def test_a_webhook_arrives_within_a_second_of_its_commit(
    sqlite_engine: Engine, receiver: Receiver, woken: str
) -> None:
    engine = sqlite_engine
    hook = Channel("webhook", receiver.url, SECRET)
    committed: dict[str, float] = {}
    async with running(engine, poll=0.5) as worker:  # 0.5 s: the default poll
        sink = OutboxSink(bells=(worker.bell,) if woken == "bell" else ())
        for n in range(MESSAGES):
            msg = message(n)
            await asyncio.to_thread(put, engine, sink, msg, (hook,))
            committed[msg.message_id] = time.time()
            await asyncio.sleep(0.13)  # spread over the poll cycle
        await settled(engine)
    latencies = sorted(r.at - committed[r.webhook_id] for r in receiver.requests)
    print(
        f"\ncommit -> webhook ({woken}, {MESSAGES} messages): median {statistics.median(latencies) * 1000:.0f} ms, "
        f"max {latencies[-1] * 1000:.0f} ms"
    )
    assert len(latencies) == MESSAGES
    assert latencies[-1] < 1.0
