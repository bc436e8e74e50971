"""The per-user photo limit counted in Redis, so every replica and shard enforces one limit.

Each user has one sorted set `xinh:rate:<scope>:<user>` of the times of their recent photos
(Redis' own clock), trimmed to the window and expiring with it; one Lua script trims, counts
and adds atomically. While Redis fails or stalls, the process counts on its own (one log line).
"""

from __future__ import annotations

import secrets

from xinh.bots.outage import Outage
from xinh.bots.ratelimit import LocalRateLimiter
from xinh.bots.redis_store import StoreUnavailable, connect, guarded, reachable

KEY_PREFIX = "xinh:rate:"

# KEYS[1]: the user's set; ARGV: limit, window (ms), a unique suffix for this event.
SLIDING_WINDOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
    return 0
end
redis.call('ZADD', KEYS[1], now, now .. ':' .. ARGV[3])
redis.call('PEXPIRE', KEYS[1], window)
return 1
"""


class RedisRateLimiter:
    """A `RateLimiter` shared through Redis, with `fallback` counting locally during outages."""

    def __init__(self, url: str, scope: str, fallback: LocalRateLimiter) -> None:
        self.limit = fallback.limit
        self._fallback = fallback
        self._prefix = f"{KEY_PREFIX}{scope}:"
        self._window_ms = int(fallback.window * 1000)
        self._redis = connect(url)
        self._script = self._redis.register_script(SLIDING_WINDOW)
        self.outage = Outage("photo rate limit (Redis)", "counting in this process only")

    async def allow(self, key: object) -> bool:
        try:
            allowed = await guarded(
                self.outage,
                lambda: self._script(
                    keys=[f"{self._prefix}{key}"],
                    args=[self.limit, self._window_ms, secrets.token_hex(8)],
                ),
            )
        except StoreUnavailable:
            return await self._fallback.allow(key)
        return bool(allowed)

    async def healthy(self) -> bool:
        return await reachable(self.outage, self._redis)

    async def close(self) -> None:
        await self._redis.aclose()
        await self._fallback.close()
