"""The shared settings store seen by two bot instances: two Telegram replicas, each with its
own `RedisStore` on one real redis-server, against the fake Bot API (tests/fakes/telegram_api.py).

A language chosen through one replica is the language the other one answers in.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from telegram import Update

from bots.observability import Metrics
from bots.redis_store import RedisStore
from bots.telegram_bot import build_application
from locales import Catalog
from tests.fakes.telegram_api import TOKEN, FakeTelegram, running
from tests.test_chat_settings import redis_server, redis_url
from xinh.settings import Settings

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

CHAT = 42
CATALOG = Catalog.load()

__all__ = ["redis_server", "redis_url"]  # fixtures reused from the settings store's tests


class Replica:
    """One bot process: its own Application and RedisStore, collecting handler errors."""

    def __init__(self, fake: FakeTelegram, engine, store_url: str, data_dir: Path) -> None:
        settings = Settings(
            telegram_token=TOKEN,
            store_url=store_url,
            data_dir=str(data_dir),
            health_port=0,
            **fake.urls(),
        )
        metrics = Metrics(queue_depth=lambda: engine.queue_depth)
        store = RedisStore(store_url)
        self.app = build_application(settings, engine, CATALOG, store, metrics)
        self.errors: list[BaseException] = []
        self.app.add_error_handler(self._collect)

    async def _collect(self, _update: object, context) -> None:
        self.errors.append(context.error)

    async def send(self, raw: dict) -> None:
        await self.app.process_update(Update.de_json(raw, self.app.bot))


@pytest.fixture
async def fake():
    async with FakeTelegram() as server:
        yield server
        assert server.unknown == []


async def test_language_chosen_on_one_replica_is_used_by_the_other(
    fake: FakeTelegram, engine, redis_url: str, tmp_path: Path
) -> None:
    replica_a = Replica(fake, engine, redis_url, tmp_path / "a")
    replica_b = Replica(fake, engine, redis_url, tmp_path / "b")
    async with running(replica_a.app, polling=False), running(replica_b.app, polling=False):
        await replica_b.send(fake.update(message=fake.text_message(CHAT, "/help")))
        assert fake.replies()[-1].text == CATALOG.text("en", "bot.help")

        await replica_a.send(fake.update(message=fake.text_message(CHAT, "/lang")))
        await replica_a.send(fake.callback_update(CHAT, "lang:vi"))
        assert fake.calls_to("editMessageText")[-1].text == CATALOG.text("vi", "bot.lang_set")

        await replica_b.send(fake.update(message=fake.text_message(CHAT, "/help", language="en")))
        assert fake.replies()[-1].text == CATALOG.text("vi", "bot.help")
    assert replica_a.errors == [] and replica_b.errors == []
