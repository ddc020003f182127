"""When to try a message again: exponential backoff with full jitter (tenacity's `wait_random_exponential`).

    >>> from defiscope.alerts.delivery.settings import DeliverySettings
    >>> s = DeliverySettings(retry_base=2.0, retry_max=60.0)
    >>> all(0 <= retry_delay(1, s) <= 2 and 0 <= retry_delay(3, s) <= 8 for _ in range(100))
    True
    >>> retry_delay(30, s) <= 60, retry_delay(1, s, retry_after=30.0) >= 30
    (True, True)

The schedule lives in the database (a row's `next_attempt_at`), not in a sleeping coroutine, so it survives a
restart; tenacity only computes each wait. Full jitter spreads the retries of many messages that failed together
(a receiver that was down) over the whole window instead of stampeding it at the same instant. A receiver's
Retry-After is honoured when longer, up to `retry_max`.
"""

from __future__ import annotations

from tenacity import RetryCallState, Retrying, wait_random_exponential

from defiscope.alerts.delivery.settings import DeliverySettings


def retry_delay(attempts: int, settings: DeliverySettings, retry_after: float | None = None) -> float:
    """Seconds to wait after the `attempts`-th failed try (1 for the first)."""
    wait = wait_random_exponential(multiplier=settings.retry_base / 2, max=settings.retry_max)
    state = RetryCallState(Retrying(), None, (), {})
    state.attempt_number = attempts  # tenacity's window after attempt n: multiplier * 2**n
    delay = float(wait(state))
    if retry_after is not None:
        delay = max(delay, min(retry_after, settings.retry_max))
    return delay
