"""The budgets a request counts against, counted in one step: one Redis round trip with Redis, `limits` in memory.

    limits = rate_limits("async+redis://127.0.0.1:6379/0", prefix="defiscope")   # or "async+memory://"
    verdict = await limits.count([Budget(parse("3000/minute"), "key:abc"), Budget(parse("60/minute"), "key:abc:quote")])
    verdict.allowed, verdict.remaining, verdict.reset_seconds      # of the budget that decided: for RateLimit-*

Budgets are taken in order and the first refused one stops the count (the ones after it are not counted), as
the gate asked `limits` before. A budget may be only checked (`counted=False`: the failed-key budget before a key
is looked up). The verdict is the refused budget's, else the last counted one's; None when none was counted.

The algorithm is `limits`' sliding-window counter (limits 5.x, `SlidingWindowCounterRateLimiter` over
`acquire_sliding_window.lua` and `sliding_window.lua`), kept to the key and the millisecond so that processes of
either kind share counters. Each budget has two counters, the current window `P:{K}` and the previous `P:{K}/-1`
(P the prefix, K `RateLimitItem.key_for(who)`); their TTLs are the clock. The current counter is made with
TTL 2·E (E the window in ms); once its TTL falls below E its window is over: it is renamed to the previous one
and a new current counter of 0 starts with TTL ttl + E. With p, c the two counts and t_p the previous counter's
TTL, the weight of the previous window is the part of it still inside the sliding window:

    weighted = floor(p · t_p / E) + c          allowed when weighted + 1 <= limit (then c += 1)
    remaining = max(0, limit - weighted)       after the hit
    reset in  = min(t_p mod (E / p) if p, t_c mod E if c)  ms: when the next unit of budget frees up

One difference in the reset only: Redis stops its clock inside a script, so a counter made by this very request
has t_c = 2·E exactly, and a remainder of 0 is read as a whole period (E, or E / p), where `limits` (reading the
window in a second call, a few ms later) gets just under E.

`RedisLimits` runs all budgets of a request in one Lua script (EVALSHA; redis-py loads it on a NOSCRIPT), so the
count, the window read for the headers and the quote budget are one round trip, and atomic. The counts are
exact doubles in Lua while p · t_p < 2^53 (a budget under 10^6 a window of under a day is far inside). A
Redis Cluster would need the budgets of one request in one hash slot: a single Redis (or a primary) is assumed.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final, Protocol

from limits import RateLimitItem
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string
from redis.asyncio import Redis

#: KEYS: per budget its previous and current counter; ARGV: per budget its limit, window (ms) and 1 to count it or
#: 0 to check it only. Returns {budget index (1-based, 0: none counted), allowed 1/0, remaining, reset in ms}.
SLIDING_WINDOWS_LUA: Final = """
-- ttl mod period; a whole period, not 0, at the very start of one (Redis stops the clock inside a script)
local function frees_in(ttl, period)
  local left = ttl % period
  if left == 0 then return period end
  return left
end
local decided = {0, 1, 0, 0}
for i = 1, #ARGV / 3 do
  local previous_key, current_key = KEYS[2 * i - 1], KEYS[2 * i]
  local limit, expiry = tonumber(ARGV[3 * i - 2]), tonumber(ARGV[3 * i - 1])
  local counted = ARGV[3 * i] == '1'
  local current_ttl = tonumber(redis.call('pttl', current_key))
  if current_ttl > 0 and current_ttl < expiry then
    -- the current window is over: it becomes the previous one
    redis.call('rename', current_key, previous_key)
    redis.call('set', current_key, 0, 'PX', current_ttl + expiry)
  end
  local previous_count = tonumber(redis.call('get', previous_key)) or 0
  local previous_ttl = math.max(0, tonumber(redis.call('pttl', previous_key)))
  local current_count = tonumber(redis.call('get', current_key)) or 0
  local weighted = math.floor(previous_count * previous_ttl / expiry) + current_count
  local allowed = weighted + 1 <= limit
  if allowed and counted then
    if redis.call('exists', current_key) == 1 then
      redis.call('incrby', current_key, 1)
    else
      redis.call('set', current_key, 1, 'PX', expiry * 2)
    end
    current_count = current_count + 1
    weighted = weighted + 1
  end
  if counted or not allowed then
    local reset = 0
    if previous_count > 0 or current_count > 0 then
      reset = math.huge
      if previous_count > 0 then reset = frees_in(previous_ttl, expiry / previous_count) end
      if current_count > 0 then
        reset = math.min(reset, frees_in(math.max(0, tonumber(redis.call('pttl', current_key))), expiry))
      end
    end
    decided = {i, allowed and 1 or 0, math.max(0, limit - weighted), math.ceil(reset)}
  end
  if not allowed then break end
end
return decided
"""


@dataclass(frozen=True, slots=True)
class Budget:
    """One budget a request counts against: the limit, whose count, and whether this request counts or only checks."""

    limit: RateLimitItem
    who: str
    counted: bool = True


@dataclass(frozen=True, slots=True)
class Verdict:
    """The budget that decided a request, with what its RateLimit-* headers say."""

    budget: Budget
    allowed: bool
    remaining: int
    reset_seconds: int  # at least 1: `Retry-After` and `RateLimit-Reset`


class RateLimits(Protocol):
    async def count(self, budgets: Sequence[Budget]) -> Verdict | None:
        """Count `budgets` in order up to the first refused one; its verdict, else the last counted one's."""
        ...


def rate_limits(storage: str, *, prefix: str) -> RateLimits:
    """Redis (`async+redis://`, `rediss://`, `redis+unix://`): one script per request; any other `limits` storage URI
    (`async+memory://`): `limits` itself."""
    url = storage.removeprefix("async+")
    if url.startswith(("redis://", "rediss://", "redis+unix://")):
        return RedisLimits(Redis.from_url(url.replace("redis+unix://", "unix://", 1)), prefix)
    return LibraryLimits(storage)


class RedisLimits:
    """All budgets of a request in one EVALSHA of `SLIDING_WINDOWS_LUA`."""

    __slots__ = ("_prefix", "_script")

    def __init__(self, client: Redis, prefix: str) -> None:
        self._prefix = prefix
        self._script = client.register_script(SLIDING_WINDOWS_LUA)

    def counters(self, budget: Budget) -> tuple[str, str]:
        """The previous and current window counters of `budget`: `limits`' Redis storage's names."""
        current = f"{self._prefix}:{{{budget.limit.key_for(budget.who)}}}"
        return f"{current}/-1", current

    async def count(self, budgets: Sequence[Budget]) -> Verdict | None:
        keys = [name for budget in budgets for name in self.counters(budget)]
        args = [v for b in budgets for v in (b.limit.amount, b.limit.get_expiry() * 1000, int(b.counted))]
        index, allowed, remaining, reset_ms = await self._script(keys=keys, args=args)
        if index == 0:
            return None
        return Verdict(budgets[index - 1], allowed == 1, int(remaining), max(1, math.ceil(int(reset_ms) / 1000)))


class LibraryLimits:
    """`limits`' own sliding-window counter over any of its storages (the embedded server's memory): a check, a hit
    and a window read per budget, which cost nothing over a network here."""

    __slots__ = ("_limiter",)

    def __init__(self, storage: str) -> None:
        self._limiter = SlidingWindowCounterRateLimiter(storage_from_string(storage))

    async def count(self, budgets: Sequence[Budget]) -> Verdict | None:
        decided = None
        for budget in budgets:
            if budget.counted:
                allowed = await self._limiter.hit(budget.limit, budget.who)
            elif await self._limiter.test(budget.limit, budget.who):
                continue
            else:
                allowed = False
            stats = await self._limiter.get_window_stats(budget.limit, budget.who)
            reset = max(1, math.ceil(stats.reset_time - time.time()))
            decided = Verdict(budget, allowed, max(0, stats.remaining), reset)
            if not allowed:
                break
        return decided
