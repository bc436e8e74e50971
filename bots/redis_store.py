"""The shared per-chat settings store: one Redis server seen by every replica of every bot.

Keys are `xinh:lang:<chat key>` holding the language tag, so a choice made through one
process is read by all the others; nothing else about users is kept. Redis is never allowed
to hold an update up: every call has short explicit timeouts, and while Redis fails or stalls
`get_language` answers None (the user's own language is used) after one log line.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import TypeVar

from redis.asyncio import Redis
from redis.asyncio.retry import Retry
from redis.backoff import NoBackoff
from redis.exceptions import RedisError

from xinh.bots.outage import Outage

KEY_PREFIX = "xinh:lang:"
CONNECT_TIMEOUT_S = 0.5
SOCKET_TIMEOUT_S = 0.5
CALL_DEADLINE_S = 1.0

T = TypeVar("T")


class StoreUnavailable(RuntimeError):
    """Redis failed or stalled, or is paused after doing so: the operation did not happen."""


def connect(url: str) -> Redis:
    """A client that gives up fast: 0.5 s to connect, 0.5 s per reply, no retries."""
    return Redis.from_url(
        url,
        decode_responses=True,
        socket_connect_timeout=CONNECT_TIMEOUT_S,
        socket_timeout=SOCKET_TIMEOUT_S,
        retry=Retry(NoBackoff(), 0),
    )


async def guarded(outage: Outage, call: Callable[[], Awaitable[T]]) -> T:
    """Run one Redis call within CALL_DEADLINE_S, recording the outcome on `outage`.

    Raises StoreUnavailable at once while the outage pauses Redis, and when the call fails.
    """
    if not outage.should_try():
        raise StoreUnavailable(outage.name)
    try:
        async with asyncio.timeout(CALL_DEADLINE_S):
            result = await call()
    except (RedisError, OSError, TimeoutError) as exc:
        outage.failed(exc)
        raise StoreUnavailable(outage.name) from exc
    outage.succeeded()
    return result


async def reachable(outage: Outage, redis: Redis) -> bool:
    """False while `outage` is down; once its pause is over, asks Redis again (PING)."""
    if outage.down and outage.should_try():
        try:
            await guarded(outage, redis.ping)
        except StoreUnavailable:
            return False
    return not outage.down


class RedisStore:
    """A `ChatSettingsStore` on Redis (`redis://`, `rediss://` or `unix://` URL)."""

    def __init__(self, url: str) -> None:
        self._redis = connect(url)
        self.outage = Outage("chat settings store (Redis)", "answering in each user's own language")

    async def get_language(self, chat_key: str) -> str | None:
        """The chat's choice; None when there is none or Redis cannot say so in time."""
        try:
            return await guarded(self.outage, lambda: self._redis.get(KEY_PREFIX + chat_key))
        except StoreUnavailable:
            return None

    async def set_language(self, chat_key: str, language: str) -> None:
        """Remember the choice; raises StoreUnavailable when Redis cannot."""
        await guarded(self.outage, lambda: self._redis.set(KEY_PREFIX + chat_key, language))

    async def healthy(self) -> bool:
        return await reachable(self.outage, self._redis)

    async def close(self) -> None:
        await self._redis.aclose()
