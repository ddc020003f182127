"""A backfill as chunk jobs: send the chunks not done yet, then (optionally) wait for the workers to do them.

chunks = backfill_chunks(1, "uniswap-v2", 19_000_000, 19_099_999, step=1, chunk=1000)
sent = enqueue_backfill(jobs.backfill_chunk.send, ledger, chunks)      # sent.sent, sent.already_done
outcome = wait_for_chunks(ledger, chunks, retries=5, timeout=3600)    # outcome.done, outcome.failed
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from defiscope.service.jobs.errors import ChunksTimedOut
from defiscope.service.jobs.ledger import JobLedger
from defiscope.service.jobs.specs import BackfillChunk
from defiscope.store.jobs import DEAD, DONE, FAILED

#: Seconds between looks at the ledger while waiting.
POLL_SECONDS = 0.25

#: Told (blocks of the chunks done, blocks of all chunks) at each look at the ledger.
ChunkProgress = Callable[[int, int], None]


@dataclass(frozen=True, slots=True)
class Enqueued:
    chunks: int
    sent: int
    already_done: int
    keys: tuple[str, ...]

    def to_json(self) -> dict[str, object]:
        return {"chunks": self.chunks, "sent": self.sent, "already_done": self.already_done}


@dataclass(frozen=True, slots=True)
class ChunkOutcome:
    done: int
    failed: dict[str, str] = field(default_factory=dict)  # key -> last error, for chunks dead or out of tries
    seconds: float = 0.0

    def to_json(self) -> dict[str, object]:
        return {"done": self.done, "failed": self.failed, "seconds": round(self.seconds, 3)}


def enqueue_backfill(
    send: Callable[[dict[str, object]], object], ledger: JobLedger, chunks: Sequence[BackfillChunk]
) -> Enqueued:
    """Send every chunk the ledger does not have done (sending one twice is harmless, only wasted)."""
    states = ledger.states([c.key for c in chunks])
    todo = [c for c in chunks if states.get(c.key, ("", 0))[0] != DONE]
    for chunk in todo:
        send(chunk.to_message())
    return Enqueued(len(chunks), len(todo), len(chunks) - len(todo), tuple(c.key for c in chunks))


def wait_for_chunks(
    ledger: JobLedger,
    chunks: Sequence[BackfillChunk],
    *,
    retries: int,
    timeout: float,
    on_progress: ChunkProgress | None = None,
) -> ChunkOutcome:
    """Wait until every chunk is done, dead, or has failed its last try (1 + `retries`); `ChunksTimedOut` after
    `timeout` seconds."""
    keys = [c.key for c in chunks]
    blocks = {c.key: len(c.blocks) for c in chunks}
    started = time.monotonic()
    while True:
        states = ledger.states(keys)
        done = sum(1 for state, _ in states.values() if state == DONE)
        given_up = [k for k, (state, tries) in states.items() if state == DEAD or (state == FAILED and tries > retries)]
        if on_progress is not None:
            done_blocks = sum(blocks[k] for k, (state, _) in states.items() if state == DONE)
            on_progress(done_blocks, sum(blocks.values()))
        if done + len(given_up) == len(keys):
            return ChunkOutcome(done, ledger.errors(given_up) if given_up else {}, time.monotonic() - started)
        if time.monotonic() - started > timeout:
            raise ChunksTimedOut(
                f"{len(keys) - done} of {len(keys)} chunks not done after {timeout:.0f} s: is a `defiscope worker` "
                "consuming the backfill queue?"
            )
        time.sleep(POLL_SECONDS)
