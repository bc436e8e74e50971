"""The shared settings store seen by two bot instances: two Telegram replicas with separate data
folders, each opening its own store from XINH_STORE_URL on one real redis-server, against the
fake Bot API (tests/fakes/telegram_api.py).

A language chosen through one replica is the language the other one answers in.
"""

from __future__ import annotations

import os
from pathlib import Path

from tests.fakes.telegram_api import FakeTelegram, running
from tests.test_chat_settings import redis_server, redis_url
from tests.test_telegram_bot import Bot, fake
from xinh.locales import Catalog

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

CHAT = 42
CATALOG = Catalog.load()

# Fixtures reused from the settings store's and the Telegram bot's tests.
__all__ = ["fake", "redis_server", "redis_url"]


async def test_language_chosen_on_one_replica_is_used_by_the_other(
    fake: FakeTelegram, engine, redis_url: str, tmp_path: Path
) -> None:
    replica_a = Bot(fake, engine, tmp_path / "a", store_url=redis_url)
    replica_b = Bot(fake, engine, tmp_path / "b", store_url=redis_url)
    async with running(replica_a.app, polling=False), running(replica_b.app, polling=False):
        await replica_b.send(fake.update(message=fake.text_message(CHAT, "/help")))
        assert fake.replies()[-1].text == CATALOG.text("en", "bot.help")

        await replica_a.send(fake.update(message=fake.text_message(CHAT, "/lang")))
        await replica_a.send(fake.callback_update(CHAT, "lang:vi"))
        assert fake.calls_to("editMessageText")[-1].text == CATALOG.text("vi", "bot.lang_set")

        await replica_b.send(fake.update(message=fake.text_message(CHAT, "/help", language="en")))
        assert fake.replies()[-1].text == CATALOG.text("vi", "bot.help")
    assert replica_a.errors == [] and replica_b.errors == []


async def test_two_replicas_enforce_one_photo_limit(
    fake: FakeTelegram, engine, redis_url: str, tmp_path: Path, astronaut_jpeg: bytes
) -> None:
    """One user sends 8 photos in a minute, alternately to two replicas: 5 are answered and
    3 are told to wait, as with one process."""
    replica_a = Bot(fake, engine, tmp_path / "a", store_url=redis_url)
    replica_b = Bot(fake, engine, tmp_path / "b", store_url=redis_url)
    async with running(replica_a.app, polling=False), running(replica_b.app, polling=False):
        updates = [fake.update(message=fake.photo_message(CHAT, astronaut_jpeg)) for _ in range(8)]
        for number, update in enumerate(updates):
            await (replica_a, replica_b)[number % 2].send(update)
        replies = [(await fake.reply_to(update)).text for update in updates]
    wait = CATALOG.text("en", "errors.rate_limited", limit=5)
    assert [text == wait for text in replies] == [False] * 5 + [True] * 3
    assert len(fake.downloads) == 5
    assert replica_a.count("rate_limited") + replica_b.count("rate_limited") == 3
    assert replica_a.errors == [] and replica_b.errors == []
