"""The per-chat settings store: embedded SQLite, and Redis shared by several bot replicas.

The Redis tests run a real `redis-server` on a free 127.0.0.1 port, without persistence.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import redis

from tests.redis_process import RedisProcess
from xinh.bots.chat_settings import SqliteStore, open_store
from xinh.bots.redis_store import KEY_PREFIX, RedisStore


@pytest.fixture(scope="module")
def redis_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A throwaway redis-server; yields its URL once it answers PING."""
    server = RedisProcess(tmp_path_factory.mktemp("redis"))
    server.start()
    try:
        yield server.url
    finally:
        server.stop()


@pytest.fixture
def redis_url(redis_server: str) -> str:
    """The server's URL with an empty database."""
    with redis.Redis.from_url(redis_server) as client:
        client.flushall()
    return redis_server


async def test_sqlite_round_trip(tmp_path: Path) -> None:
    store = SqliteStore(tmp_path / "chat-settings.sqlite3")
    assert await store.get_language("telegram:1") is None
    await store.set_language("telegram:1", "vi")
    await store.set_language("discord:1", "en")
    assert await store.get_language("telegram:1") == "vi"
    await store.set_language("telegram:1", "en")
    assert await store.get_language("telegram:1") == "en"
    assert await store.get_language("discord:1") == "en"
    await store.close()


async def test_sqlite_keeps_choices_across_restarts(tmp_path: Path) -> None:
    path = tmp_path / "nested" / "chat-settings.sqlite3"
    first = SqliteStore(path)
    await first.set_language("telegram:42", "vi")
    await first.close()
    reopened = SqliteStore(path)
    assert await reopened.get_language("telegram:42") == "vi"
    await reopened.close()


async def test_redis_round_trip(redis_url: str) -> None:
    store = RedisStore(redis_url)
    assert await store.get_language("telegram:1") is None
    await store.set_language("telegram:1", "vi")
    assert await store.get_language("telegram:1") == "vi"
    await store.set_language("telegram:1", "en")
    assert await store.get_language("telegram:1") == "en"
    assert await store.get_language("discord:1") is None
    await store.close()
    with redis.Redis.from_url(redis_url, decode_responses=True) as client:
        assert client.keys("*") == [f"{KEY_PREFIX}telegram:1"]


async def test_shared_store_seen_by_two_bot_instances(redis_url: str) -> None:
    replica_a, replica_b = open_store(redis_url, "unused"), open_store(redis_url, "unused")
    await replica_a.set_language("telegram:-100123", "vi")
    assert await replica_b.get_language("telegram:-100123") == "vi"
    await replica_b.set_language("telegram:-100123", "en")
    assert await replica_a.get_language("telegram:-100123") == "en"
    await replica_a.close()
    await replica_b.close()


async def test_open_store_picks_the_backend(tmp_path: Path, redis_url: str) -> None:
    embedded = open_store("", str(tmp_path))
    assert isinstance(embedded, SqliteStore)
    assert (tmp_path / "chat-settings.sqlite3").exists()
    await embedded.close()
    shared = open_store(redis_url, str(tmp_path / "unused"))
    assert isinstance(shared, RedisStore)
    assert not (tmp_path / "unused").exists()
    await shared.close()
