"""What each job is, as data, with its idempotency key; a block range split into backfill chunks.

    >>> [c.key for c in backfill_chunks(1, "uniswap-v2", 100, 349, step=1, chunk=100)]
    ['backfill:1:uniswap-v2:100-199/1', 'backfill:1:uniswap-v2:200-299/1', 'backfill:1:uniswap-v2:300-349/1']
    >>> [list(c.blocks) for c in backfill_chunks(1, "aave", 0, 9, step=2, chunk=4)]
    [[0, 2, 4, 6], [8]]

A chunk covers `chunk` blocks of the range (whatever the step): every chunk's first block is on the step's grid
(from_block + k * step), so the chunks together ask exactly the blocks one backfill of the range would.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Final

from defiscope.errors import InputError


class JobInputError(InputError):
    """A job that cannot be described: a bad range, step or chunk size."""


@dataclass(frozen=True, slots=True)
class BackfillChunk:
    chain_id: int
    slug: str
    from_block: int
    to_block: int
    step: int

    @property
    def key(self) -> str:
        return f"backfill:{self.chain_id}:{self.slug}:{self.from_block}-{self.to_block}/{self.step}"

    @property
    def blocks(self) -> range:
        return range(self.from_block, self.to_block + 1, self.step)

    def to_message(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_message(cls, message: dict[str, Any]) -> BackfillChunk:
        return cls(
            int(message["chain_id"]),
            str(message["slug"]),
            int(message["from_block"]),
            int(message["to_block"]),
            int(message["step"]),
        )


def backfill_chunks(
    chain_id: int, slug: str, from_block: int, to_block: int, *, step: int, chunk: int
) -> list[BackfillChunk]:
    """[from_block, to_block] every `step`-th block, in chunks of `chunk` blocks (the last may be shorter)."""
    if step < 1:
        raise JobInputError(f"step must be 1 or more, got {step}")
    if chunk < 1:
        raise JobInputError(f"chunk must be 1 or more, got {chunk}")
    if from_block < 0 or from_block > to_block:
        raise JobInputError(f"block range {from_block}..{to_block} is empty or negative")
    span = chunk * step
    return [
        BackfillChunk(chain_id, slug, start, min(to_block, start + span - 1), step)
        for start in range(from_block, to_block + 1, span)
    ]


def head_lease(chain_id: int) -> str:
    """The lease name of a chain's head-follower."""
    return f"head:{chain_id}"


def discovery_key(chain_id: int, block: int) -> str:
    return f"discovery:{chain_id}:{block}"


def delivery_key(row_id: int, attempt: int) -> str:
    """One attempt at one outbox row (an alert message to one endpoint)."""
    return f"delivery:{row_id}:{attempt}"


def sweep_key(row_id: int, attempts: int) -> str:
    """The scheduler's sweep sent a delivery job for an outbox row no job was handling, after `attempts` tries."""
    return f"sweep:{row_id}:{attempts}"


#: The lease of the outbox sweep: one scheduler sweeps at a time.
SWEEP_LEASE: Final = "outbox-sweep"


def retention_key(period_start: int) -> str:
    """The outbox and stream retention of one period (`DEFISCOPE_ALERT_RETENTION_INTERVAL_SECONDS`): schedulers
    that each send it in the same period prune once."""
    return f"retention:{period_start}"


def retention_period(now: float, every: float) -> int:
    """The start (unix seconds) of the retention period `now` falls in.

    >>> retention_key(retention_period(7250.5, 3600))
    'retention:7200'
    """
    return int(now // every * every)


def grades_key(chain_id: int, block: int, formula_version: str) -> str:
    return f"grades:{chain_id}:{block}:{formula_version}"


def grades_lease(chain_id: int, formula_version: str) -> str:
    """The lease of the grades jobs of one chain and formula: one worker judges the chain's blocks at a time."""
    return f"grades:{chain_id}:{formula_version}"


def signals_key(chain_id: int, block: int, depth: int) -> str:
    """The signal rules' pass at a publication block, for the rules of one confirmation depth."""
    return f"signals:{chain_id}:{block}:{depth}"


def signals_lease(chain_id: int, depth: int) -> str:
    """The lease of the signal rules' pass of one chain and depth: one worker judges them at a time, in order."""
    return f"signals:{chain_id}:{depth}"


def index_key(chain_id: int, index_id: str, block: int) -> str:
    return f"index:{chain_id}:{index_id}:{block}"
