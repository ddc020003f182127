"""How delivery behaves: tries and backoff, time and size caps, the SMTP server, hosts exempt from the SSRF policy.

    >>> s = DeliverySettings.from_env({"DEFISCOPE_ALERTS_MAX_ATTEMPTS": "3",
    ...                                "DEFISCOPE_WEBHOOK_ALLOW_HOSTS": "127.0.0.1, localhost"})
    >>> s.max_attempts, s.webhook_allow_hosts, s.smtp_host
    (3, ('127.0.0.1', 'localhost'), None)

Every field has an environment variable `DEFISCOPE_ALERTS_<FIELD>`, except the allow-list, which is
`DEFISCOPE_WEBHOOK_ALLOW_HOSTS` (host names, addresses or networks such as `127.0.0.0/8` a webhook may reach
although they are loopback or private: for local use and tests; nothing is exempt by default).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from typing import Final

from defiscope.config import env_value
from defiscope.errors import InputError

ALLOW_HOSTS_ENV: Final = "DEFISCOPE_WEBHOOK_ALLOW_HOSTS"
_PREFIX: Final = "DEFISCOPE_ALERTS_"


class InvalidDeliverySettings(InputError):
    """A delivery setting that cannot work (no tries, a negative time)."""


@dataclass(frozen=True, slots=True)
class DeliverySettings:
    max_attempts: int = 10  # tries of one message before it is dead-lettered
    retry_base: float = 2.0  # seconds: the backoff window doubles from here (full jitter) ...
    retry_max: float = 3600.0  # ... up to this
    lease: float = 30.0  # seconds a claimed message is the worker's; longer than one attempt can take
    poll: float = 0.5  # seconds between looks at the outbox when nothing rang
    concurrency: int = 8  # messages in flight at once
    webhook_timeout: float = 10.0  # seconds for a whole webhook attempt (connect, send, answer)
    webhook_max_response_bytes: int = 65_536  # of a receiver's answer read; the rest is not waited for
    webhook_allow_hosts: tuple[str, ...] = ()
    smtp_host: str | None = None  # e-mail channel: the SMTP server (none: e-mail messages fail with that reason)
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_from: str = "defiscope@localhost"
    smtp_timeout: float = 10.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1 or self.concurrency < 1 or self.webhook_max_response_bytes < 0:
            raise InvalidDeliverySettings(
                "delivery settings: max_attempts and concurrency must be >= 1, webhook_max_response_bytes >= 0"
            )
        times = ("retry_base", "retry_max", "lease", "poll", "webhook_timeout", "smtp_timeout")
        if any(getattr(self, name) <= 0 for name in times):
            raise InvalidDeliverySettings(f"delivery settings: {', '.join(times)} must be positive")
        if self.lease <= self.webhook_timeout:
            raise InvalidDeliverySettings(
                f"delivery settings: lease ({self.lease} s) must exceed webhook_timeout ({self.webhook_timeout} s), "
                "or a message still being sent would be claimed again"
            )

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **overrides: object) -> DeliverySettings:
        env = os.environ if env is None else env
        values: dict[str, object] = {}
        for f in fields(cls):
            variable = ALLOW_HOSTS_ENV if f.name == "webhook_allow_hosts" else _PREFIX + f.name.upper()
            raw = env.get(variable)
            if raw is not None:
                kind = str(f.type).removesuffix(" | None")
                values[f.name] = env_value(variable, kind, raw)
        values.update(overrides)
        return cls(**values)  # type: ignore[arg-type]
