"""Webhook mode: the secret_token check on real HTTP requests, and `xinh telegram --webhook-url`.

python-telegram-bot's own webhook server runs on 127.0.0.1 and talks to the fake Bot API
(tests/fakes/telegram_api.py); requests are real HTTP, with and without Telegram's
`X-Telegram-Bot-Api-Secret-Token` header.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
from pathlib import Path

import httpx
import pytest

from bots.chat_settings import open_store
from bots.observability import Metrics
from bots.telegram_bot import build_application
from bots.telegram_config import Webhook, webhook_config
from bots.telegram_webhook import serve_webhook
from locales import Catalog
from tests.fakes.telegram_api import TOKEN, FakeTelegram, free_port, running, start_cli
from xinh.settings import ConfigError, Settings

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

CATALOG = Catalog.load()
SECRET = "s3cret-token_for-tests"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def cli_args(**values) -> argparse.Namespace:
    return argparse.Namespace(**({"webhook_url": None, "listen": None, "port": None} | values))


def test_no_webhook_url_means_polling():
    assert webhook_config(Settings(), cli_args()) is None


def test_arguments_override_settings_and_a_secret_is_generated():
    settings = Settings(
        webhook_url="https://a.example/x", webhook_listen="10.0.0.1", webhook_port=88
    )
    webhook = webhook_config(
        settings, cli_args(webhook_url="https://b.example/hook/xinh", port=8443)
    )
    assert (webhook.url, webhook.listen, webhook.port) == (
        "https://b.example/hook/xinh",
        "10.0.0.1",
        8443,
    )
    assert webhook.url_path == "hook/xinh"
    assert len(webhook.secret_token) >= 32
    assert webhook_config(settings, cli_args()).secret_token != webhook.secret_token


def test_a_configured_secret_is_used():
    settings = Settings(webhook_url="https://a.example/x", webhook_secret=SECRET)
    assert webhook_config(settings, cli_args()).secret_token == SECRET


@pytest.mark.parametrize(
    "settings",
    [
        Settings(webhook_url="http://a.example/x"),
        Settings(webhook_url="https://a.example/x", webhook_secret="no spaces allowed"),
    ],
)
def test_unusable_webhook_settings_are_config_errors(settings):
    with pytest.raises(ConfigError):
        webhook_config(settings, cli_args())


@pytest.fixture
async def fake():
    async with FakeTelegram() as server:
        yield server
        assert server.unknown == []


async def test_only_requests_with_the_secret_are_processed(fake, engine, tmp_path: Path):
    settings = Settings(telegram_token=TOKEN, data_dir=str(tmp_path), health_port=0, **fake.urls())
    store = open_store("", settings.data_dir)
    app = build_application(settings, engine, CATALOG, store, Metrics())
    errors = []

    async def collect(_update, context):
        errors.append(context.error)

    app.add_error_handler(collect)
    webhook = Webhook("https://bot.example/xinh", "127.0.0.1", 0, SECRET)
    async with running(app, polling=False):
        server = await serve_webhook(app, webhook)
        port = server.port
        async with httpx.AsyncClient() as client:

            async def post(update: dict, headers: dict) -> int:
                url = f"http://127.0.0.1:{port}/xinh"
                return (await client.post(url, json=update, headers=headers)).status_code

            refused = [
                fake.update(message=fake.text_message(42, "/help")),
                fake.update(message=fake.text_message(42, "/help")),
            ]
            assert await post(refused[0], {}) == 403
            assert await post(refused[1], {HEADER: "wrong"}) == 403
            accepted = fake.update(message=fake.text_message(42, "/privacy"))
            assert await post(accepted, {HEADER: SECRET}) == 200
            while not fake.replies():
                await asyncio.sleep(0.01)
        await server.close()
    assert [r.text for r in fake.replies()] == [CATALOG.text("en", "bot.privacy")]
    assert errors == []


async def test_xinh_telegram_webhook_mode_end_to_end(fake, tmp_path: Path):
    """The real `run` with --webhook-url: setWebhook with the secret, 403 without it, SIGTERM."""
    health, port = free_port(), free_port()
    bot = await start_cli(
        fake,
        tmp_path,
        health,
        "--webhook-url",
        "https://bot.example/hooks/xinh",
        "--listen",
        "127.0.0.1",
        "--port",
        str(port),
        XINH_WEBHOOK_SECRET=SECRET,
    )
    logs = asyncio.create_task(bot.stderr.read())
    try:
        async with httpx.AsyncClient() as client:
            while not await _healthy(client, health):
                assert not logs.done(), (await logs).decode()
                await asyncio.sleep(0.05)
            url = f"http://127.0.0.1:{port}/hooks/xinh"
            update = fake.update(message=fake.text_message(42, "/start"))
            assert (await client.post(url, json=update)).status_code == 403
            assert (
                await client.post(url, json=update, headers={HEADER: SECRET})
            ).status_code == 200
            while not fake.replies():
                await asyncio.sleep(0.01)
        bot.send_signal(signal.SIGTERM)
        assert await bot.wait() == 0, (await logs).decode()
    finally:
        if bot.returncode is None:
            bot.kill()
            await bot.wait()
    set_webhook = fake.calls_to("setWebhook")[0]
    assert set_webhook.params["url"] == "https://bot.example/hooks/xinh"
    assert set_webhook.params["secret_token"] == SECRET
    assert set_webhook.value("allowed_updates") == ["message", "callback_query"]
    assert len(fake.replies()) == 1
    assert CATALOG.text("en", "page.title") in fake.replies()[0].text
    assert SECRET not in (await logs).decode()


async def _healthy(client: httpx.AsyncClient, port: int) -> bool:
    try:
        return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    except httpx.TransportError:
        return False
