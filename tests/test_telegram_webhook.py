"""Webhook mode: the secret_token check on real HTTP requests, and `xinh telegram --webhook-url`.

python-telegram-bot's own webhook server runs on 127.0.0.1 and talks to the fake Bot API
(tests/fakes/telegram_api.py); requests are real HTTP, with and without Telegram's
`X-Telegram-Bot-Api-Secret-Token` header.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
from pathlib import Path

import httpx
import pytest

from tests.fakes.telegram_api import TOKEN, FakeTelegram, running, webhook_cli
from xinh.bots.chat_settings import open_store
from xinh.bots.observability import Metrics
from xinh.bots.telegram_bot import build_application
from xinh.bots.telegram_config import Webhook, webhook_config
from xinh.bots.telegram_webhook import MAX_UPDATE_BYTES, serve_webhook
from xinh.locales import Catalog
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
    async with webhook_cli(fake, tmp_path, "https://bot.example/hooks/xinh", SECRET) as (bot, port):
        async with httpx.AsyncClient() as client:
            url = f"http://127.0.0.1:{port}/hooks/xinh"
            update = fake.update(message=fake.text_message(42, "/start"))
            assert (await client.post(url, json=update)).status_code == 403
            assert (
                await client.post(url, json=update, headers={HEADER: SECRET})
            ).status_code == 200
            while not fake.replies():
                await asyncio.sleep(0.01)
        assert await bot.sigterm() == 0, await bot.output()
    set_webhook = fake.calls_to("setWebhook")[0]
    assert set_webhook.params["url"] == "https://bot.example/hooks/xinh"
    assert set_webhook.params["secret_token"] == SECRET
    assert set_webhook.value("allowed_updates") == ["message", "callback_query"]
    assert len(fake.replies()) == 1
    assert CATALOG.text("en", "page.title") in fake.replies()[0].text
    assert SECRET not in await bot.output()


@pytest.fixture
async def webhook_url(fake, engine, tmp_path: Path):
    """The bot behind its webhook server on a free port; yields the URL Telegram posts to."""
    settings = Settings(telegram_token=TOKEN, data_dir=str(tmp_path), health_port=0, **fake.urls())
    app = build_application(settings, engine, CATALOG, open_store("", settings.data_dir), Metrics())
    async with running(app, polling=False):
        server = await serve_webhook(app, Webhook("https://bot.example/x", "127.0.0.1", 0, SECRET))
        try:
            yield f"http://127.0.0.1:{server.port}/x"
        finally:
            await server.close()


async def test_bodies_over_the_limit_are_refused(webhook_url: str) -> None:
    """413 from the declared size alone, and after 1 MB of a body that declares none."""
    too_big = b"x" * (MAX_UPDATE_BYTES + 1)

    async def chunks():
        for start in range(0, len(too_big), 65536):
            yield too_big[start : start + 65536]

    async with httpx.AsyncClient() as client:
        declared = await client.post(webhook_url, content=too_big, headers={HEADER: SECRET})
        streamed = await client.post(webhook_url, content=chunks(), headers={HEADER: SECRET})
    assert declared.status_code == 413
    assert streamed.status_code == 413
    assert "content-length" not in streamed.request.headers


async def test_what_is_not_an_update_is_a_bad_request(
    fake, webhook_url: str, caplog: pytest.LogCaptureFixture
) -> None:
    """Malformed JSON and an update python-telegram-bot cannot read get 400, and the log
    names the update id only: never its text or the sender's name."""
    caplog.set_level(logging.DEBUG)
    unreadable = fake.update(message=fake.text_message(42, "my secret diary", first_name="Zuzana"))
    del unreadable["message"]["from"]["id"]
    async with httpx.AsyncClient() as client:
        headers = {HEADER: SECRET, "Content-Type": "application/json"}
        bad_json = await client.post(
            webhook_url, content=b'{"update_id": 1, "mess', headers=headers
        )
        not_an_object = await client.post(webhook_url, json=["Zuzana"], headers={HEADER: SECRET})
        not_an_update = await client.post(webhook_url, json=unreadable, headers={HEADER: SECRET})
    assert bad_json.status_code == not_an_object.status_code == not_an_update.status_code == 400
    logged = "\n".join(caplog.messages) + caplog.text
    assert f"update {unreadable['update_id']} could not be read" in logged
    assert "diary" not in logged and "Zuzana" not in logged
    assert fake.replies() == []


BIG_BODY_BYTES = 95 * 1024 * 1024
RSS_GROWTH_LIMIT_KB = 50 * 1024


def rss_kb(pid: int) -> int:
    """The process's resident memory (VmRSS), in KB."""
    status = Path(f"/proc/{pid}/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))


async def post_big(port: int, path: str, headers: dict[str, str], chunked: bool) -> str:
    """POST 95 MB of junk over a raw connection; the status line, or how the server cut it."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    framing = "Transfer-Encoding: chunked" if chunked else f"Content-Length: {BIG_BODY_BYTES}"
    head = [f"POST {path} HTTP/1.1", "Host: bot", "Content-Type: application/json", framing]
    head += [f"{name}: {value}" for name, value in headers.items()]
    chunk = b"[" * (1024 * 1024)
    try:
        writer.write(("\r\n".join(head) + "\r\n\r\n").encode())
        for _ in range(BIG_BODY_BYTES // len(chunk)):
            writer.write(b"%x\r\n%b\r\n" % (len(chunk), chunk) if chunked else chunk)
            await writer.drain()
        if chunked:
            writer.write(b"0\r\n\r\n")
        status = await asyncio.wait_for(reader.readline(), 30)
        return status.decode().strip() or "closed"
    except (ConnectionError, TimeoutError) as exc:
        return type(exc).__name__
    finally:
        writer.close()


@pytest.mark.skipif(not Path("/proc/self/status").exists(), reason="needs /proc")
async def test_big_posts_do_not_raise_the_bots_memory(fake, tmp_path: Path):
    """Eight 95 MB POSTs at once (no secret, a wrong one, the right one with a declared size
    and without one) leave the running bot's RSS within 50 MB, and it still answers."""
    async with webhook_cli(fake, tmp_path, "https://bot.example/hook", SECRET) as (bot, port):
        before = rss_kb(bot.process.pid)
        kinds = [({}, False), ({HEADER: "wrong"}, True), ({HEADER: SECRET}, False)]
        kinds += [({HEADER: SECRET}, True)]
        answers = await asyncio.gather(*(post_big(port, "/hook", *kinds[i % 4]) for i in range(8)))
        after = rss_kb(bot.process.pid)
        update = fake.update(message=fake.text_message(42, "/start"))
        async with httpx.AsyncClient() as client:
            answered = await client.post(
                f"http://127.0.0.1:{port}/hook", json=update, headers={HEADER: SECRET}
            )
        assert answered.status_code == 200
        while not fake.replies():
            await asyncio.sleep(0.01)
        assert await bot.sigterm() == 0, await bot.output()
    print(f"RSS {before / 1024:.0f} MB before, {after / 1024:.0f} MB after: {answers}")
    assert all(" 200 " not in answer for answer in answers), answers
    assert after - before < RSS_GROWTH_LIMIT_KB, (before, after)
