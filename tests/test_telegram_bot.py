"""The Telegram bot end to end: the real python-telegram-bot Application, the real engine and
models on real photos, against a fake Bot API server on 127.0.0.1 (tests/fakes/telegram_api.py).

Most tests hand updates to `process_update` (fast); the polling tests go through `getUpdates`,
and the last one runs `xinh telegram` itself in a child process and stops it with SIGTERM.
"""

from __future__ import annotations

import asyncio
import csv
import io
import os
import signal
from pathlib import Path

import httpx
import numpy as np
import pytest
from PIL import Image
from telegram import Update
from telegram.error import BadRequest

from tests.child_process import free_port, stderr_until_sigterm
from tests.fakes.telegram_api import TOKEN, FakeTelegram, healthy_cli, running, start_cli
from xinh.bots.chat_settings import open_store
from xinh.bots.observability import Metrics
from xinh.bots.telegram_bot import build_application, finish_photos_within
from xinh.cli import main as cli_main
from xinh.inference.types import Outcome
from xinh.locales import Catalog
from xinh.settings import Settings

os.environ.setdefault("NO_PROXY", "127.0.0.1,localhost")

GROUP = -100123
CATALOG = Catalog.load()


def jpeg(pixels: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def two_women(woman_jpeg: bytes) -> bytes:
    """A woman's portrait twice, side by side: a photo with two faces."""
    pixels = np.asarray(Image.open(io.BytesIO(woman_jpeg)).convert("RGB"))
    return jpeg(np.hstack([pixels, pixels]))


@pytest.fixture(scope="module")
def no_face(photos: Path) -> bytes:
    return (photos / "coffee.jpg").read_bytes()


@pytest.fixture(scope="module")
def man(shared_data: Path, engine) -> bytes:
    """A MEBeauty photo of a man that the model, too, takes for a man."""
    with open(shared_data / "mebeauty" / "scores.csv") as rows:
        men = [row["image"] for row in csv.DictReader(rows) if row["gender"] == "male"]
    for name in men[:30]:
        data = (shared_data / "mebeauty" / name).read_bytes()
        if engine.analyze_now(data).outcome is Outcome.MALE:
            return data
    pytest.skip("the model took none of the first 30 MEBeauty men for a man")


@pytest.fixture
async def fake():
    async with FakeTelegram() as server:
        yield server
        assert server.unknown == []


class Bot:
    """A built Application plus what the tests look at: handler errors and metrics."""

    def __init__(self, fake: FakeTelegram, engine, data_dir: Path, **settings) -> None:
        settings = {"health_port": 0, **fake.urls(), **settings}
        self.settings = Settings(telegram_token=TOKEN, data_dir=str(data_dir), **settings)
        self.metrics = Metrics(queue_depth=lambda: engine.queue_depth)
        store = open_store(self.settings.store_url, self.settings.data_dir)
        self.app = build_application(self.settings, engine, CATALOG, store, self.metrics)
        self.errors: list[BaseException] = []
        self.app.add_error_handler(self._collect)

    async def _collect(self, _update: object, context) -> None:
        self.errors.append(context.error)

    async def send(self, raw: dict) -> None:
        await self.app.process_update(Update.de_json(raw, self.app.bot))

    def count(self, outcome: str) -> float:
        sample = self.metrics.registry.get_sample_value(
            "xinh_photos_total", {"platform": "telegram", "outcome": outcome}
        )
        return sample or 0.0


@pytest.fixture
async def bot(fake: FakeTelegram, engine, tmp_path: Path):
    bot = Bot(fake, engine, tmp_path)
    async with running(bot.app, polling=False):
        yield bot
    assert bot.errors == []


def en(key: str, **values) -> str:
    return CATALOG.text("en", key, **values)


async def test_private_photo_gets_verdict_quoting_it(fake, bot, woman_jpeg):
    update = fake.update(message=fake.photo_message(42, woman_jpeg))
    await bot.send(update)
    reply = await fake.reply_to(update)
    assert reply.method == "sendMessage"
    assert reply.reply_to == update["message"]["message_id"]
    assert en("verdict.disclaimer") in reply.text and "/10" in reply.text
    methods = [c.method for c in fake.calls if c.method != "setMyCommands"]
    assert methods == ["getMe", "sendChatAction", "getFile", "sendMessage"]
    assert fake.calls_to("sendChatAction")[0].params["action"] == "typing"
    assert len(fake.downloads) == 1  # the largest size only, never the thumbnail
    assert bot.count("rated") == 1


async def test_image_document_is_rated(fake, bot, woman_jpeg):
    png = io.BytesIO()
    Image.open(io.BytesIO(woman_jpeg)).save(png, "PNG")
    message = fake.document_message(42, png.getvalue(), "image/png", "me.png")
    update = fake.update(message=message)
    await bot.send(update)
    assert en("verdict.disclaimer") in (await fake.reply_to(update)).text


async def test_several_faces_get_the_numbered_photo(fake, bot, two_women):
    update = fake.update(message=fake.photo_message(42, two_women))
    await bot.send(update)
    reply = await fake.reply_to(update)
    assert reply.method == "sendPhoto"
    assert reply.files["photo"].startswith(b"\xff\xd8")
    assert "1. " in reply.text and "2. " in reply.text
    assert fake.calls_to("sendMessage") == []


async def test_group_photo_nobody_asked_about_is_ignored(fake, bot, woman_jpeg):
    for caption in (None, "look at us", "/rate@some_other_bot"):
        await bot.send(fake.update(message=fake.photo_message(GROUP, woman_jpeg, caption)))
    assert [c.method for c in fake.calls if c.method not in ("getMe", "setMyCommands")] == []
    assert fake.downloads == []


async def test_group_rate_replying_to_a_photo(fake, bot, woman_jpeg):
    photo = fake.photo_message(GROUP, woman_jpeg, user_id=7)
    command = fake.text_message(GROUP, "/rate", reply_to=photo, user_id=8)
    await bot.send(fake.update(message=command))
    reply = await fake.reply_to({"message": photo})
    assert en("verdict.disclaimer") in reply.text


@pytest.mark.parametrize("caption", ["/rate", "/rate@xinh_test_bot", "so? @xinh_test_bot"])
async def test_group_photo_captioned_for_the_bot(fake, bot, woman_jpeg, caption):
    update = fake.update(message=fake.photo_message(GROUP, woman_jpeg, caption))
    await bot.send(update)
    assert en("verdict.disclaimer") in (await fake.reply_to(update)).text


async def test_group_rate_without_a_photo_says_how(fake, bot):
    command = fake.text_message(GROUP, "/rate")
    await bot.send(fake.update(message=command))
    assert fake.replies()[0].text == en("bot.group_hint")


async def test_non_image_document_is_not_downloaded(fake, bot):
    message = fake.document_message(42, b"%PDF-1.4", "application/pdf", "cv.pdf")
    update = fake.update(message=message)
    await bot.send(update)
    assert (await fake.reply_to(update)).text == en("errors.not_image")
    assert fake.calls_to("getFile") == [] and fake.downloads == []


async def test_over_20_mb_is_refused_without_downloading(fake, bot, woman_jpeg):
    message = fake.photo_message(42, woman_jpeg, size=21 * 1024 * 1024)
    update = fake.update(message=message)
    await bot.send(update)
    assert (await fake.reply_to(update)).text == en("errors.telegram.too_large", max_mb=20)
    assert fake.calls_to("getFile") == [] and fake.downloads == []
    assert bot.count("too_large") == 1


async def test_photo_without_a_face(fake, bot, no_face):
    update = fake.update(message=fake.photo_message(42, no_face))
    await bot.send(update)
    assert (await fake.reply_to(update)).text == en("errors.no_face")


async def test_unreadable_image_file(fake, bot):
    broken = b"\xff\xd8\xff\xe0" + bytes(range(256)) * 8
    update = fake.update(message=fake.document_message(42, broken, "image/jpeg", "x.jpg"))
    await bot.send(update)
    assert (await fake.reply_to(update)).text in (en("errors.unreadable"), en("errors.unsupported"))


async def test_a_man_gets_the_mock_refusal(fake, bot, man):
    update = fake.update(message=fake.photo_message(42, man))
    await bot.send(update)
    assert (await fake.reply_to(update)).text.startswith(en("male.title"))


async def test_rate_limit_is_checked_before_downloading(fake, engine, tmp_path, no_face):
    bot = Bot(fake, engine, tmp_path, rate_limit_per_minute=2)
    async with running(bot.app, polling=False):
        updates = [fake.update(message=fake.photo_message(42, no_face)) for _ in range(3)]
        for update in updates:
            await bot.send(update)
        assert (await fake.reply_to(updates[2])).text == en("errors.rate_limited", limit=2)
    assert len(fake.calls_to("getFile")) == 2
    assert bot.count("rate_limited") == 1 and bot.errors == []


async def test_429_is_retried_after_retry_after(fake, bot, no_face):
    fake.fail("sendMessage", 429, "Too Many Requests: retry after 1", retry_after=1)
    update = fake.update(message=fake.photo_message(42, no_face))
    await bot.send(update)
    assert (await fake.reply_to(update)).text == en("errors.no_face")
    assert len(fake.calls_to("sendMessage")) == 2


async def test_failing_get_file_answers_kindly_and_counts_the_error(
    fake, engine, tmp_path, woman_jpeg
):
    bot = Bot(fake, engine, tmp_path)
    fake.fail("getFile", 400, "Bad Request: file is temporarily unavailable")
    async with running(bot.app, polling=False):
        await bot.send(fake.update(message=fake.photo_message(42, woman_jpeg)))
    assert [type(e) for e in bot.errors] == [BadRequest]
    assert fake.replies()[-1].text == en("errors.failed")
    assert (
        bot.metrics.registry.get_sample_value(
            "xinh_errors_total", {"platform": "telegram", "kind": "BadRequest"}
        )
        == 1
    )


async def test_start_help_and_privacy(fake, bot):
    for command, expected in (
        ("/start", en("page.title")),
        ("/help", en("bot.help")),
        ("/privacy", en("bot.privacy")),
    ):
        await bot.send(fake.update(message=fake.text_message(42, command)))
        assert expected in fake.replies()[-1].text


async def test_commands_are_registered_in_each_language(fake, bot):
    registered = {
        c.params.get("language_code"): c.value("commands") for c in fake.calls_to("setMyCommands")
    }
    assert set(registered) == {None, "vi"}
    assert {"command": "rate", "description": en("commands.rate")} in registered[None]
    vi_rate = {"command": "rate", "description": CATALOG.text("vi", "commands.rate")}
    assert vi_rate in registered["vi"]


async def test_lang_switches_the_reply_language(fake, bot, tmp_path, no_face):
    await bot.send(fake.update(message=fake.text_message(42, "/lang")))
    buttons = fake.replies()[-1].value("reply_markup")["inline_keyboard"][0]
    assert {b["callback_data"] for b in buttons} == {"lang:en", "lang:vi"}
    await bot.send(fake.callback_update(42, "lang:vi"))
    assert fake.calls_to("editMessageText")[-1].text == CATALOG.text("vi", "bot.lang_set")
    update = fake.update(message=fake.photo_message(42, no_face, language="en"))
    await bot.send(update)
    assert (await fake.reply_to(update)).text == CATALOG.text("vi", "errors.no_face")
    reopened = open_store("", str(tmp_path))
    assert await reopened.get_language("telegram:42") == "vi"
    await reopened.close()


async def test_user_language_when_the_chat_chose_none(fake, bot, no_face):
    update = fake.update(message=fake.photo_message(43, no_face, language="vi-VN"))
    await bot.send(update)
    assert (await fake.reply_to(update)).text == CATALOG.text("vi", "errors.no_face")


async def test_polling_round_trip_with_health_and_metrics(fake, engine, tmp_path, woman_jpeg):
    port = free_port()
    bot = Bot(fake, engine, tmp_path, health_port=port)
    app = bot.app
    await app.initialize()
    await app.post_init(app)
    try:
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            assert (await client.get("/healthz")).status_code == 503  # models up, no updates yet
            await app.updater.start_polling(poll_interval=0, timeout=1)
            await app.start()
            assert (await client.get("/healthz")).status_code == 200
            update = fake.update(message=fake.photo_message(42, woman_jpeg))
            fake.push(update)
            assert en("verdict.disclaimer") in (await fake.reply_to(update)).text
            metrics = (await client.get("/metrics")).text
    finally:
        await app.updater.stop()
        await app.stop()
        await app.shutdown()
        await app.post_shutdown(app)
    assert 'xinh_photos_total{outcome="rated",platform="telegram"} 1.0' in metrics
    assert "xinh_time_to_verdict_seconds_count" in metrics
    assert fake.polling_stopped.is_set() and bot.errors == []


async def test_stopping_finishes_the_photo_in_flight(fake, engine, tmp_path, woman_jpeg):
    bot = Bot(fake, engine, tmp_path)
    fake.hold_downloads = asyncio.Event()
    async with running(bot.app):
        update = fake.update(message=fake.photo_message(42, woman_jpeg))
        fake.push(update)
        await fake.download_started.wait()
        stopping = asyncio.create_task(bot.app.updater.stop())
        await fake.polling_stopped.wait()
        fake.hold_downloads.set()
        await stopping
        await bot.app.stop()  # waits for handlers, like run_polling on SIGTERM
        assert en("verdict.disclaimer") in fake.replies()[-1].text
    assert bot.errors == []


async def test_photos_past_the_grace_period_answer_busy(fake, engine, tmp_path, woman_jpeg):
    bot = Bot(fake, engine, tmp_path)
    fake.hold_downloads = asyncio.Event()  # never released: the download hangs
    async with running(bot.app):
        update = fake.update(message=fake.photo_message(42, woman_jpeg))
        fake.push(update)
        await fake.download_started.wait()
        finish_photos_within(bot.app, 0)
        assert (await fake.reply_to(update)).text == en("errors.busy")
    assert bot.count("timeout") == 1 and bot.errors == []


@pytest.mark.parametrize("token", ["", "not-a-token", "123:short"])
def test_missing_or_malformed_token_is_one_line_and_exit_2(monkeypatch, capsys, token):
    monkeypatch.setenv("XINH_TELEGRAM_TOKEN", token)
    monkeypatch.delenv("XINH_CONFIG", raising=False)
    assert cli_main(["telegram"]) == 2
    error = capsys.readouterr().err
    assert error.count("\n") == 1 and "XINH_TELEGRAM_TOKEN" in error
    assert not token or token not in error


async def test_xinh_telegram_serves_then_stops_on_sigterm(fake, tmp_path, woman_jpeg):
    """The real `run`: polling, health, SIGTERM mid-photo; logs keep no token, text or name."""
    caption, name = "my secret caption 7f3a", "Ngọc Secretname"
    async with healthy_cli(fake, tmp_path, XINH_LOG_LEVEL="DEBUG") as bot:
        first = fake.photo_message(42, woman_jpeg, caption, first_name=name)
        first = fake.update(message=first)
        fake.push(first)
        assert en("verdict.disclaimer") in (await fake.reply_to(first)).text
        fake.hold_downloads = asyncio.Event()
        fake.download_started.clear()
        second = fake.update(message=fake.photo_message(42, woman_jpeg, caption))
        fake.push(second)
        await fake.download_started.wait()
        bot.process.send_signal(signal.SIGTERM)
        await fake.polling_stopped.wait()
        fake.hold_downloads.set()
        assert en("verdict.disclaimer") in (await fake.reply_to(second)).text
        assert await bot.process.wait() == 0, await bot.output()
    output = await bot.output()
    assert output.count("photo answered: rated") == 2
    for secret in (TOKEN, TOKEN.split(":")[1], caption, name):
        assert secret not in output


async def test_xinh_telegram_keeps_retrying_while_telegram_is_unreachable(fake, tmp_path):
    """Network down at start: one line per try, no traceback, and SIGTERM still exits 0."""
    offline = f"http://127.0.0.1:{free_port()}/bot"
    bot = await start_cli(
        fake, tmp_path, 0, XINH_TELEGRAM_API_URL=offline, XINH_TELEGRAM_FILE_URL=offline
    )
    output = await stderr_until_sigterm(bot, "Telegram unreachable")
    assert "Traceback" not in output
    assert "Telegram unreachable (NetworkError): retrying in 1 s" in output
    assert "Telegram unreachable (NetworkError): retrying in 2 s" in output
    assert TOKEN.split(":")[1] not in output


class _Quoted:
    """A photo message that records how the bot answers it."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str | None]] = []

    async def reply_photo(self, photo: bytes, caption: str | None, do_quote: bool) -> None:
        self.calls.append(("photo", caption))

    async def reply_text(self, text: str, do_quote: bool) -> None:
        self.calls.append(("text", text))


@pytest.mark.parametrize("faces", [3, 60])
async def test_a_long_group_list_goes_beside_the_numbered_photo(faces: int) -> None:
    """A caption holds 1024 characters: a longer list is sent as a message after the photo."""
    from xinh.bots.replies import Platform, compose, text_length
    from xinh.bots.telegram_photos import _send
    from xinh.inference.types import Analysis, Face, RatedFace

    face = Face(box=(10, 10, 50, 50), score=0.9, keypoints=((20, 30),) * 6)
    rated = tuple(RatedFace(face, 0.9, "female", 6.0, "average") for _ in range(faces))
    analysis = Analysis(Outcome.RATED, rated, pixels=np.zeros((64, 64, 3), np.uint8))
    reply = compose(analysis, "vi", CATALOG, platform=Platform.TELEGRAM)
    message = _Quoted()
    await _send(message, reply)
    if text_length(reply.text) <= 1024:
        assert message.calls == [("photo", reply.text)]
    else:
        assert faces == 60
        assert message.calls == [("photo", None), ("text", reply.text)]


async def test_a_token_telegram_refuses_is_one_line_and_exit_2(fake, tmp_path):
    fake.fail("getMe", 401, "Unauthorized", times=5)
    process = await start_cli(fake, tmp_path, free_port())
    stderr = (await asyncio.wait_for(process.stderr.read(), 60)).decode()
    assert await process.wait() == 2
    assert "Traceback" not in stderr
    errors = stderr.strip().splitlines()
    assert [line for line in errors if "XINH_TELEGRAM_TOKEN" in line] == errors[-1:]
