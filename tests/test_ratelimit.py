"""The photo rate limiters: the local sliding window on a fake clock, and the shared one on a
real redis-server, counted once across replicas and falling back to the local count."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterator

import pytest
import redis

from tests.redis_process import RedisProcess
from xinh.bots.ratelimit import LocalRateLimiter, open_rate_limiter
from xinh.bots.redis_ratelimit import KEY_PREFIX, RedisRateLimiter
from xinh.settings import Settings


@pytest.fixture
def server(tmp_path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path)
    server.start()
    try:
        yield server
    finally:
        server.stop()


async def test_allows_limit_per_window_per_key() -> None:
    now = [0.0]
    limiter = LocalRateLimiter(limit=2, window=60, clock=lambda: now[0])
    assert await limiter.allow("a") and await limiter.allow("a")
    assert not await limiter.allow("a")
    assert await limiter.allow("b")
    now[0] = 59.9
    assert not await limiter.allow("a")
    now[0] = 60.0
    assert await limiter.allow("a")


async def test_open_rate_limiter_picks_the_backend(server: RedisProcess) -> None:
    local = open_rate_limiter(Settings(rate_limit_per_minute=3), "telegram")
    assert isinstance(local, LocalRateLimiter) and local.limit == 3
    shared = open_rate_limiter(Settings(store_url=server.url), "telegram")
    assert isinstance(shared, RedisRateLimiter) and shared.limit == 5
    await shared.close()


async def test_two_replicas_share_one_limit(server: RedisProcess) -> None:
    """One user, 8 photos through two replicas in turn: 5 allowed, 3 refused."""
    settings = Settings(store_url=server.url, rate_limit_per_minute=5)
    replicas = [open_rate_limiter(settings, "telegram") for _ in range(2)]
    answers = [await replicas[i % 2].allow(42) for i in range(8)]
    assert answers == [True] * 5 + [False] * 3
    assert await replicas[0].allow(43), "another user has their own count"
    assert await open_rate_limiter(settings, "discord").allow(42), "platforms are apart"
    with redis.Redis.from_url(server.url, decode_responses=True) as client:
        key = f"{KEY_PREFIX}telegram:42"
        assert client.zcard(key) == 5
        assert 0 < client.pttl(key) <= 60_000
    for replica in replicas:
        assert await replica.healthy()
        await replica.close()


async def test_concurrent_photos_are_counted_atomically(server: RedisProcess) -> None:
    settings = Settings(store_url=server.url, rate_limit_per_minute=5)
    replicas = [open_rate_limiter(settings, "telegram") for _ in range(4)]
    answers = await asyncio.gather(*(replicas[i % 4].allow("u") for i in range(40)))
    assert sum(answers) == 5
    for replica in replicas:
        await replica.close()


async def test_the_window_slides(server: RedisProcess) -> None:
    limiter = RedisRateLimiter(server.url, "t", LocalRateLimiter(limit=2, window=0.3))
    assert await limiter.allow(1) and await limiter.allow(1)
    assert not await limiter.allow(1)
    await asyncio.sleep(0.35)
    assert await limiter.allow(1)
    await limiter.close()


async def test_redis_down_falls_back_to_the_local_count_with_one_log_line(
    server: RedisProcess, caplog: pytest.LogCaptureFixture
) -> None:
    limiter = open_rate_limiter(Settings(store_url=server.url, rate_limit_per_minute=3), "t")
    assert await limiter.allow(7)
    server.stop()
    caplog.set_level(logging.INFO)
    answers = [await limiter.allow(7) for _ in range(5)]
    assert answers == [True] * 3 + [False] * 2, "the local count starts afresh"
    assert not await limiter.healthy()
    lines = [r for r in caplog.records if r.name == "xinh.bots.outage"]
    assert len(lines) == 1 and "counting in this process" in lines[0].getMessage()
    assert all(r.exc_info is None for r in caplog.records)
    await limiter.close()
