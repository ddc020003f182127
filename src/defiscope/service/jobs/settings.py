"""How the scale-out jobs run: the broker, queue names, the head-follower's lease, chunk retries.

    >>> s = JobSettings.from_env({"DEFISCOPE_BROKER_URL": "amqp://guest:guest@127.0.0.1:5672/%2F",
    ...                           "DEFISCOPE_JOBS_QUEUE_PREFIX": "t1", "DEFISCOPE_JOBS_LEASE_SECONDS": "6"})
    >>> s.queue("backfill"), s.lease_seconds, s.renew_every
    ('t1.backfill', 6.0, 2.0)

The broker URL is `DEFISCOPE_BROKER_URL`; every other field has `DEFISCOPE_JOBS_<FIELD>`. The queue prefix keeps
two deployments (or two test runs) on one RabbitMQ apart.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Final

from defiscope.config import env_value
from defiscope.errors import InputError

BROKER_URL_ENV: Final = "DEFISCOPE_BROKER_URL"
DEFAULT_BROKER_URL: Final = "amqp://guest:guest@127.0.0.1:5672/%2F"
_PREFIX: Final = "DEFISCOPE_JOBS_"
#: The queues a worker consumes by default; `defiscope worker --queues` picks among them.
QUEUES: Final = ("backfill", "follow", "discovery", "delivery", "analytics")


class InvalidJobSettings(InputError):
    """A job setting that cannot work (a lease shorter than its renewal, no tries)."""


@dataclass(frozen=True, slots=True)
class JobSettings:
    broker_url: str = DEFAULT_BROKER_URL
    queue_prefix: str = "defiscope"
    lease_seconds: float = 30.0  # a head-follower that stops renewing loses its chain after this long
    follow_slice_seconds: float = 300.0  # a follow job hands over to its continuation after this long
    chunk_retries: int = 5  # redeliveries of a failing chunk before it is left failed in the ledger
    chunk_concurrency: int = 1  # blocks of one chunk computed at once (workers and their threads add more)
    every: int = 1  # the head-follower stores blocks whose number is a multiple of this
    outbox_sweep_seconds: float = 30.0  # the scheduler looks for outbox rows no delivery job handles this often
    outbox_sweep_grace_seconds: float = 60.0  # ... rows due (and free) for longer than this
    outbox_sweep_resend_seconds: float = 600.0  # a row still stranded after its sweep's job is sent again after this

    def __post_init__(self) -> None:
        times = ("lease_seconds", "follow_slice_seconds", "outbox_sweep_seconds", "outbox_sweep_resend_seconds")
        if any(getattr(self, name) <= 0 for name in times) or self.outbox_sweep_grace_seconds < 0:
            raise InvalidJobSettings(f"job settings: {', '.join(times)} must be positive, the sweep's grace >= 0")
        if self.chunk_retries < 0 or self.chunk_concurrency < 1 or self.every < 1:
            raise InvalidJobSettings("job settings: chunk_retries >= 0, chunk_concurrency and every >= 1")
        if not self.queue_prefix or any(c in self.queue_prefix for c in " /"):
            raise InvalidJobSettings(f"job settings: queue_prefix {self.queue_prefix!r} must be a plain name")

    @property
    def outbox_sweep_lease_seconds(self) -> float:
        """How long the sweep's lease outlives its holder's last sweep: three sweeps may fail before another
        scheduler takes the sweep over."""
        return 3 * self.outbox_sweep_seconds

    @property
    def renew_every(self) -> float:
        """Seconds between renewals: a third of the lease, so two renewals may fail before it runs out."""
        return self.lease_seconds / 3

    def queue(self, name: str) -> str:
        return f"{self.queue_prefix}.{name}"

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> JobSettings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            variable = BROKER_URL_ENV if f.name == "broker_url" else _PREFIX + f.name.upper()
            raw = env.get(variable)
            if raw is not None:
                values[f.name] = env_value(variable, str(f.type), raw)
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
