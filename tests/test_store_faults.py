"""Redis outages: the bot degrades instead of dropping updates.

A real redis-server is stopped, or frozen with SIGSTOP (connections are accepted, nothing
answers), under the real Telegram bot against the fake Bot API. Every update still gets its
reply, in the user's own language, within a loose time bound; the outage is logged once per
component, without tracebacks; /healthz says degraded.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.fakes.telegram_api import FakeTelegram, running
from tests.redis_process import RedisProcess
from tests.test_telegram_bot import Bot, fake
from xinh.bots.observability import Metrics, serve_health
from xinh.bots.outage import Outage
from xinh.bots.redis_store import RedisStore
from xinh.locales import Catalog

CHAT = 42
CATALOG = Catalog.load()
REPLY_BOUND_S = 2.0  # per update, while Redis is stopped or frozen (timeouts are 0.5 s)

__all__ = ["fake"]


@pytest.fixture
def server(tmp_path: Path) -> Iterator[RedisProcess]:
    server = RedisProcess(tmp_path / "redis")
    (tmp_path / "redis").mkdir()
    server.start()
    try:
        yield server
    finally:
        server.stop()


def test_an_outage_is_logged_once_and_paused(caplog: pytest.LogCaptureFixture) -> None:
    now = [0.0]
    outage = Outage("thing", "doing without", retry_after=5, clock=lambda: now[0])
    caplog.set_level(logging.INFO, "xinh.bots.outage")
    assert outage.should_try() and not outage.down
    for _ in range(3):
        outage.failed(ConnectionError("refused"))
    assert outage.down and not outage.should_try()
    now[0] = 5.0
    assert outage.should_try()
    outage.succeeded()
    outage.succeeded()
    assert [r.getMessage() for r in caplog.records] == [
        "thing unreachable (ConnectionError): doing without; retrying every 5 s",
        "thing reachable again after 5 s",
    ]


async def test_store_answers_none_fast_and_recovers(server: RedisProcess) -> None:
    store = RedisStore(server.url)
    store.outage.retry_after = 0.5
    await store.set_language("telegram:1", "vi")
    server.freeze()
    started = time.monotonic()
    assert await store.get_language("telegram:1") is None
    assert await store.get_language("telegram:1") is None, "paused: no second wait"
    assert time.monotonic() - started < REPLY_BOUND_S
    assert not await store.healthy()
    server.thaw()
    await asyncio.sleep(store.outage.retry_after)
    assert await store.healthy()
    assert await store.get_language("telegram:1") == "vi"
    await store.close()


async def test_healthz_says_degraded_with_200(server: RedisProcess) -> None:
    store = RedisStore(server.url)
    health = await serve_health(Metrics(), lambda: True, "127.0.0.1", 0, {"store": store.healthy})
    url = f"http://127.0.0.1:{health.port}/healthz"
    async with httpx.AsyncClient() as client:
        assert (await client.get(url)).text == "ok\n"
        server.stop()
        await store.get_language("telegram:1")
        answer = await client.get(url)
    assert (answer.status_code, answer.text) == (200, "degraded: store\n")
    await health.close()
    await store.close()


@pytest.mark.parametrize("fault", ["stopped", "frozen"])
async def test_bot_answers_every_update_while_redis_is_down(
    fault: str,
    fake: FakeTelegram,
    engine,
    server: RedisProcess,
    tmp_path: Path,
    astronaut_jpeg: bytes,
    caplog: pytest.LogCaptureFixture,
) -> None:
    """Commands and photos each answered within the bound, in the user's Telegram language
    (Vietnamese here), though the chat chose English while Redis was up; one log line per
    component; no tracebacks."""
    bot = Bot(fake, engine, tmp_path, store_url=server.url)
    async with running(bot.app, polling=False):
        await bot.send(fake.callback_update(CHAT, "lang:en"))
        server.stop() if fault == "stopped" else server.freeze()
        caplog.set_level(logging.INFO)
        updates = [
            fake.update(message=fake.photo_message(CHAT, astronaut_jpeg, language="vi")),
            fake.update(message=fake.text_message(CHAT, "/help", language="vi")),
            fake.update(message=fake.photo_message(CHAT, astronaut_jpeg, language="vi")),
            fake.update(message=fake.text_message(CHAT, "/privacy", language="vi")),
        ]
        seconds = []
        for update in updates:
            started = time.monotonic()
            await bot.send(update)
            seconds.append(time.monotonic() - started)
        replies = [c.text for c in fake.replies()]
    print(f"Redis {fault}: seconds per update {[round(s, 2) for s in seconds]}")
    assert len(replies) == len(updates)
    assert replies[1] == CATALOG.text("vi", "bot.help")
    assert replies[3] == CATALOG.text("vi", "bot.privacy")
    assert all(s < REPLY_BOUND_S for s in seconds), seconds
    outage_lines = [r for r in caplog.records if r.name == "xinh.bots.outage"]
    assert len(outage_lines) <= 2, [r.getMessage() for r in outage_lines]
    assert all(r.exc_info is None for r in caplog.records)
    assert all(r.levelno < logging.ERROR for r in caplog.records)
    assert bot.errors == []


async def test_choosing_a_language_while_redis_is_down_says_it_failed(
    fake: FakeTelegram, engine, server: RedisProcess, tmp_path: Path, caplog
) -> None:
    """The error handler answers in the user's language without asking Redis again."""
    bot = Bot(fake, engine, tmp_path, store_url=server.url)
    async with running(bot.app, polling=False):
        server.stop()
        caplog.set_level(logging.INFO)
        update = fake.callback_update(CHAT, "lang:vi")
        update["callback_query"]["from"]["language_code"] = "vi"
        started = time.monotonic()
        await bot.send(update)
        elapsed = time.monotonic() - started
    assert elapsed < REPLY_BOUND_S
    assert fake.replies()[-1].text == CATALOG.text("vi", "errors.failed")
    assert [type(e).__name__ for e in bot.errors] == ["StoreUnavailable"]
    assert all(r.exc_info is None for r in caplog.records)
