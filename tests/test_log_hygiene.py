"""Whatever fails, logs carry no user content: `xinh telegram` and `xinh discord` run as child
processes at DEBUG level, with the shared store down, and are driven through failures
(unparseable updates, malformed JSON, failing Bot API calls, a vanished attachment). Their
whole output is then searched for the message texts, names, tokens and the webhook secret.
"""

from __future__ import annotations

import asyncio
import signal
from pathlib import Path

import httpx
import pytest

from tests.child_process import free_port, reaped
from tests.fakes.discord_api import FakeDiscord, running_fake, start_discord_cli
from tests.fakes.telegram_api import TOKEN, FakeTelegram, webhook_cli

TEXT = "my secret diary entry"
NAME = "Zuzana"
SECRET = "hygiene-secret_0123456789"
HEADER = "X-Telegram-Bot-Api-Secret-Token"
DISCORD_TOKEN = "fake-discord-token-for-hygiene"


async def test_telegram_failures_log_no_user_content(tmp_path: Path, astronaut_jpeg: bytes):
    dead_redis = f"redis://127.0.0.1:{free_port()}/0"
    async with FakeTelegram() as fake:
        async with webhook_cli(
            fake,
            tmp_path,
            "https://bot.example/hook",
            SECRET,
            XINH_STORE_URL=dead_redis,
            XINH_LOG_LEVEL="DEBUG",
        ) as (bot, port):
            async with httpx.AsyncClient() as client:
                url, headers = f"http://127.0.0.1:{port}/hook", {HEADER: SECRET}
                unreadable = fake.update(message=fake.text_message(42, TEXT, first_name=NAME))
                del unreadable["message"]["from"]["id"]
                fake.fail("sendMessage", 400, f"Bad Request: {TEXT}", times=2)
                fake.fail("getFile", 500, f"Internal: {NAME}")
                posts = [
                    unreadable,
                    fake.update(message=fake.text_message(42, f"{TEXT} /help", first_name=NAME)),
                    fake.update(
                        message=fake.photo_message(43, astronaut_jpeg, TEXT, first_name=NAME)
                    ),
                    fake.update(message=fake.text_message(44, "/lang", first_name=NAME)),
                    fake.callback_update(45, "lang:vi"),
                ]
                statuses = [
                    (await client.post(url, json=p, headers=headers)).status_code for p in posts
                ]
                bad = await client.post(url, content=f'{{"text": "{TEXT}'.encode(), headers=headers)
                assert statuses == [400, 200, 200, 200, 200] and bad.status_code == 400
                while len(fake.calls_to("sendMessage")) < 4:
                    await asyncio.sleep(0.05)
            assert await asyncio.wait_for(bot.sigterm(), 30) == 0
        output = await bot.output()
    assert "could not be read" in output and "unreachable" in output, output
    for private in (TEXT, "diary", NAME, TOKEN, TOKEN.split(":")[1], SECRET):
        assert private not in output, f"{private!r} in the logs:\n{output}"


@pytest.fixture
async def fake_discord(monkeypatch: pytest.MonkeyPatch):
    async with running_fake(monkeypatch, guild_locale="vi") as fake:
        yield fake


async def test_discord_failures_log_no_user_content(
    fake_discord: FakeDiscord, astronaut_jpeg: bytes
) -> None:
    fake = fake_discord
    started = start_discord_cli(
        fake,
        DISCORD_TOKEN,
        XINH_LOG_LEVEL="DEBUG",
        XINH_STORE_URL=f"redis://127.0.0.1:{free_port()}/0",
    )
    async with reaped(await started) as process:
        await fake.wait_for(lambda: fake.identifies, timeout=60)
        vanished = fake.attachment(astronaut_jpeg)
        vanished["url"] += "-gone"
        author = {**fake.message()["author"], "username": NAME, "global_name": NAME}
        failing = fake.message(TEXT, [vanished], mentions_bot=True, author=author)
        await fake.dispatch("MESSAGE_CREATE", failing)
        await fake.wait_for(
            lambda: fake.replies(failing["channel_id"] and int(failing["channel_id"]))
        )
        process.send_signal(signal.SIGTERM)
        stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    output = (stdout + stderr).decode()
    assert process.returncode == 0, output
    assert "ClientResponseError" in output and "unreachable" in output, output
    for private in (TEXT, "diary", NAME, DISCORD_TOKEN):
        assert private not in output, f"{private!r} in the logs:\n{output}"
