"""Retention of alert delivery's records: delivered outbox rows and the live stream's log are pruned once they are
older than `DEFISCOPE_ALERT_RETENTION_DAYS` (30), by the delivery worker every
`DEFISCOPE_ALERT_RETENTION_INTERVAL_SECONDS` (3600).

    >>> RetentionSettings.from_env({"DEFISCOPE_ALERT_RETENTION_DAYS": "2"}).days
    2.0
    >>> RetentionSettings.from_env({"DEFISCOPE_ALERT_RETENTION_DAYS": "0"})
    Traceback (most recent call last):
    defiscope.alerts.retention.InvalidRetention: DEFISCOPE_ALERT_RETENTION_DAYS: Input should be greater than 0

    pruned = prune(engine, settings, now=time.time())   # Pruned(outbox=..., stream=...)

The guarantee: a message stays in the stream for at least `days` after it was written, so a client that resumes
(`Last-Event-ID`) within that time misses nothing. A client resuming from an id that was pruned meanwhile gets a
`stream.gap` event first (see `api.alerts_stream`), naming the last pruned id: never a silent gap. Outbox rows that
are pending, dead-lettered or disabled are never pruned (the operator's record of what was not delivered), nor the
alerts themselves (`/v1/alerts/rules/{id}/alerts` keeps them).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Final

from pydantic import Field, ValidationError
from pydantic_settings import BaseSettings, SettingsConfigDict
from sqlalchemy import Engine, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, sessionmaker

from defiscope.errors import InputError
from defiscope.store.database import WRITE_OPTION
from defiscope.store.outbox import DELIVERED, OutboxRow, StreamPruned, StreamRow

ENV_PREFIX: Final = "DEFISCOPE_ALERT_RETENTION_"
DAY: Final = 86_400.0


class InvalidRetention(InputError):
    """A retention setting that cannot work; the message starts with the variable at fault."""


class RetentionSettings(BaseSettings):
    """How long delivery's records are kept, and how often they are pruned."""

    model_config = SettingsConfigDict(env_prefix=ENV_PREFIX, frozen=True, extra="ignore")

    days: float = Field(default=30.0, gt=0, le=36_500, description="delivered messages and stream events kept")
    interval_seconds: float = Field(default=3_600.0, gt=0, description="between two prunings by the worker")

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> RetentionSettings:
        """From the environment (or `env`), each variable `DEFISCOPE_ALERT_RETENTION_<FIELD>`."""
        try:
            if env is None:
                return cls()  # pydantic-settings reads the process environment
            given = {
                name: env[ENV_PREFIX + name.upper()] for name in cls.model_fields if ENV_PREFIX + name.upper() in env
            }
            return cls(**given)  # type: ignore[arg-type]  # strings, validated (and converted) by pydantic
        except ValidationError as exc:
            first = exc.errors()[0]
            variable = ENV_PREFIX + str(first["loc"][0]).upper()
            raise InvalidRetention(f"{variable}: {first['msg']}", field=variable) from None


@dataclass(frozen=True, slots=True)
class Pruned:
    outbox: int  # delivered outbox rows deleted
    stream: int  # stream rows deleted


def prune(engine: Engine, settings: RetentionSettings, now: float) -> Pruned:
    """Delete delivered outbox rows finished, and stream rows written, more than `settings.days` before `now`;
    record each owner's highest pruned stream id. One transaction."""
    cutoff = now - settings.days * DAY
    writes = sessionmaker(engine.execution_options(**{WRITE_OPTION: True}))
    with writes.begin() as session:
        outbox = session.execute(
            delete(OutboxRow).where(OutboxRow.state == DELIVERED, OutboxRow.finished_at < cutoff),
            execution_options={"synchronize_session": False},
        )
        oldest = select(StreamRow.owner, func.max(StreamRow.id)).where(StreamRow.created_at < cutoff)
        highest = {owner: int(top) for owner, top in session.execute(oldest.group_by(StreamRow.owner))}
        stream = session.execute(
            delete(StreamRow).where(StreamRow.created_at < cutoff), execution_options={"synchronize_session": False}
        )
        for owner, through in highest.items():
            _raise_watermark(session, owner, through, now)
    return Pruned(int(getattr(outbox, "rowcount", 0) or 0), int(getattr(stream, "rowcount", 0) or 0))


def _raise_watermark(session: Session, owner: str, through: int, now: float) -> None:
    """The owner's pruned-through id, never lowered (two workers may prune at once)."""
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    insert = dialect.insert(StreamPruned).values(owner=owner, pruned_through=through, pruned_at=now)
    session.execute(
        insert.on_conflict_do_update(
            index_elements=["owner"],
            set_={"pruned_through": insert.excluded.pruned_through, "pruned_at": insert.excluded.pruned_at},
            where=StreamPruned.pruned_through < insert.excluded.pruned_through,
        )
    )


class Pruner:
    """`prune` on a schedule: the delivery worker calls `maybe` on each pass; it prunes at the first call and then
    once every `settings.interval_seconds`."""

    __slots__ = ("_engine", "_next", "settings")

    def __init__(self, engine: Engine, settings: RetentionSettings) -> None:
        self._engine = engine
        self.settings = settings
        self._next = float("-inf")

    def maybe(self, now: float) -> Pruned | None:
        if now < self._next:
            return None
        self._next = now + self.settings.interval_seconds
        return prune(self._engine, self.settings, now)
