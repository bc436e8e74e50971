"""Per-chat settings (today: the reply language), behind a small interface.

The embedded default is a SQLite file under the data directory; replicas share a Redis
server instead (`XINH_STORE_URL=redis://...`). Nothing else about users is kept.
"""

from __future__ import annotations

import asyncio
import sqlite3
from pathlib import Path
from typing import Protocol


class ChatSettingsStore(Protocol):
    """Where each chat's language choice lives.

    `get_language` never raises for an unreachable store (it answers None); `set_language`
    may (`bots.redis_store.StoreUnavailable`); `healthy` feeds /healthz.
    """

    async def get_language(self, chat_key: str) -> str | None: ...

    async def set_language(self, chat_key: str, language: str) -> None: ...

    async def healthy(self) -> bool: ...

    async def close(self) -> None: ...


class SqliteStore:
    """An embedded store: one small SQLite file, used from a single event loop."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(path, check_same_thread=False)
        self._db.execute(
            "CREATE TABLE IF NOT EXISTS chat_language (chat TEXT PRIMARY KEY, language TEXT)"
        )
        self._db.commit()
        self._lock = asyncio.Lock()

    async def get_language(self, chat_key: str) -> str | None:
        async with self._lock:
            row = self._db.execute(
                "SELECT language FROM chat_language WHERE chat = ?", (chat_key,)
            ).fetchone()
        return row[0] if row else None

    async def set_language(self, chat_key: str, language: str) -> None:
        async with self._lock:
            self._db.execute(
                "INSERT INTO chat_language (chat, language) VALUES (?, ?) "
                "ON CONFLICT(chat) DO UPDATE SET language = excluded.language",
                (chat_key, language),
            )
            self._db.commit()

    async def healthy(self) -> bool:
        """A local file: always reachable."""
        return True

    async def close(self) -> None:
        self._db.close()


def open_store(store_url: str, data_dir: str) -> ChatSettingsStore:
    """The store the settings ask for: Redis for a `redis://` URL, else SQLite in data_dir."""
    if store_url.startswith(("redis://", "rediss://", "unix://")):
        from xinh.bots.redis_store import RedisStore

        return RedisStore(store_url)
    return SqliteStore(Path(data_dir) / "chat-settings.sqlite3")
