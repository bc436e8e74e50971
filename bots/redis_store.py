"""The shared per-chat settings store: one Redis server seen by every replica of every bot.

Keys are `xinh:lang:<chat key>` holding the language tag, so a choice made through one
process is read by all the others; nothing else about users is kept.
"""

from __future__ import annotations

from redis.asyncio import Redis

KEY_PREFIX = "xinh:lang:"


class RedisStore:
    """A `ChatSettingsStore` on Redis (`redis://`, `rediss://` or `unix://` URL)."""

    def __init__(self, url: str) -> None:
        self._redis = Redis.from_url(url, decode_responses=True)

    async def get_language(self, chat_key: str) -> str | None:
        return await self._redis.get(KEY_PREFIX + chat_key)

    async def set_language(self, chat_key: str, language: str) -> None:
        await self._redis.set(KEY_PREFIX + chat_key, language)

    async def close(self) -> None:
        await self._redis.aclose()
