"""Per-user rate limiting for photos, checked before anything is downloaded.

`open_rate_limiter` picks where the count lives: in this process, or in Redis when the settings
name a shared store, so that every replica and shard enforces one limit per user.
"""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Callable
from typing import Protocol

from xinh.settings import Settings

WINDOW_S = 60.0
REDIS_SCHEMES = ("redis://", "rediss://", "unix://")


class RateLimiter(Protocol):
    """At most `limit` photos per user in any sliding `window` seconds."""

    limit: int

    async def allow(self, key: object) -> bool:
        """Record one photo for `key` and say whether it is within the limit."""
        ...

    async def healthy(self) -> bool: ...

    async def close(self) -> None: ...


class LocalRateLimiter:
    """A `RateLimiter` counting in this process: a sliding window of event times per key."""

    def __init__(
        self, limit: int, window: float = WINDOW_S, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.limit = limit
        self.window = window
        self._clock = clock
        self._events: dict[object, deque[float]] = {}

    async def allow(self, key: object) -> bool:
        now = self._clock()
        events = self._events.setdefault(key, deque())
        while events and now - events[0] >= self.window:
            events.popleft()
        if len(events) >= self.limit:
            return False
        events.append(now)
        if len(self._events) > 10_000:
            self._forget_idle(now)
        return True

    async def healthy(self) -> bool:
        return True

    async def close(self) -> None:
        self._events.clear()

    def _forget_idle(self, now: float) -> None:
        """Drop keys with no recent events, so memory stays bounded."""
        for key in [k for k, ev in self._events.items() if not ev or now - ev[-1] >= self.window]:
            del self._events[key]


def open_rate_limiter(settings: Settings, scope: str) -> RateLimiter:
    """The photo limiter the settings ask for; `scope` (e.g. "telegram") keeps platforms apart.

    With a Redis `XINH_STORE_URL` the count is shared by every process using that Redis, and
    falls back to this process's count while Redis is unreachable; otherwise it is local.
    """
    local = LocalRateLimiter(settings.rate_limit_per_minute)
    if settings.store_url.startswith(REDIS_SCHEMES):
        from xinh.bots.redis_ratelimit import RedisRateLimiter

        return RedisRateLimiter(settings.store_url, scope, local)
    return local
