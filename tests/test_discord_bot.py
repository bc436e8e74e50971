"""The Discord bot end to end: real discord.py against a local fake Discord (tests/fakes),
with the real engine and models on real photos. Every test also checks that no command or
event failed, unless it provokes a failure on purpose.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import io
import os
import signal
import sys
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import aiohttp
import discord
import numpy as np
import pytest
from PIL import Image

from tests.child_process import free_port, stderr_until_sigterm
from tests.fakes.discord_api import (
    APP_ID,
    CHANNEL_ID,
    DM_CHANNEL_ID,
    EPHEMERAL,
    GUILD_ID,
    FakeDiscord,
    running_fake,
    start_discord_cli,
    user,
)
from xinh import cli
from xinh.bots.discord_bot import XinhClient, apply_args, build_client, run, serve, shards
from xinh.bots.flow import REPLY_MARGIN_S
from xinh.bots.observability import Metrics
from xinh.inference.engine import Engine
from xinh.inference.types import Outcome
from xinh.locales import Catalog
from xinh.settings import ConfigError, Settings

TOKEN = "fake-discord-token"
MESSAGE_CONTENT_INTENT = 1 << 15
DEFERRED = 5
MESSAGE = 4


class Bot:
    """An XinhClient under test, its metrics, and the failures it reported."""

    def __init__(self, client: XinhClient, metrics: Metrics) -> None:
        self.client = client
        self.metrics = metrics
        self.errors: list[BaseException] = []
        self._task: asyncio.Task[None] | None = None
        self._entered = False
        self._collect_errors()

    def _collect_errors(self) -> None:
        command_failed = self.client.tree.on_error
        event_failed = self.client.on_error

        async def on_command_error(interaction: discord.Interaction, error: Exception) -> None:
            self.errors.append(error)
            await command_failed(interaction, error)

        async def on_event_error(event: str, /, *args: Any, **kwargs: Any) -> None:
            self.errors.append(sys.exc_info()[1])
            await event_failed(event, *args, **kwargs)

        self.client.tree.on_error = on_command_error
        self.client.on_error = on_event_error

    async def login(self) -> None:
        await self.client.__aenter__()
        self._entered = True
        await self.client.login(TOKEN)

    async def connect(self) -> None:
        self._task = asyncio.create_task(self.client.connect())
        await asyncio.wait_for(self.client.wait_until_ready(), 15)

    async def stop(self) -> None:
        if self._entered:
            await self.client.close()
        if self._task is not None:
            await self._task


async def interact(fake: FakeDiscord, interaction: dict[str, Any]) -> None:
    """Send an interaction and wait for its answer (a message, or a deferral's follow-up)."""
    await fake.dispatch("INTERACTION_CREATE", interaction)
    await fake.wait_for(
        lambda: (
            fake.followups(interaction)
            or any(c.body["type"] == MESSAGE for c in fake.callbacks(interaction))
        )
    )


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture
async def fake(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeDiscord]:
    """The fake Discord; discord.py's REST base and gateway are put back afterwards."""
    async with running_fake(monkeypatch, guild_locale="vi") as fake:
        yield fake


BotFactory = Callable[..., Awaitable[Bot]]


@pytest.fixture
async def make_bot(
    fake: FakeDiscord, engine: Engine, catalog: Catalog
) -> AsyncIterator[BotFactory]:
    """Build (and by default log in and connect) a bot with settings overrides."""
    bots: list[Bot] = []

    async def make(launch: bool = True, **overrides: Any) -> Bot:
        values = {
            "discord_token": TOKEN,
            "discord_api_url": fake.api_url,
            "discord_gateway_url": fake.gateway_url,
            "health_port": 0,
            "rate_limit_per_minute": 100,
            **overrides,
        }
        metrics = Metrics(queue_depth=lambda: engine.queue_depth)
        client = build_client(
            Settings(**values), engine, catalog, metrics, guild_ready_timeout=0.01
        )
        bot = Bot(client, metrics)
        bots.append(bot)
        if launch:
            await bot.login()
            await bot.connect()
        return bot

    yield make
    for bot in bots:
        await bot.stop()
        assert bot.errors == []


@pytest.fixture
async def bot(make_bot: BotFactory) -> Bot:
    return await make_bot()


@pytest.fixture(scope="module")
def two_faces(photos: Path) -> bytes:
    """The astronaut twice, side by side: a real photo with two faces."""
    pixels = np.asarray(Image.open(photos / "astronaut.jpg").convert("RGB"))
    buffer = io.BytesIO()
    Image.fromarray(np.hstack([pixels, pixels])).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


@pytest.fixture(scope="module")
def man_jpeg(shared_data: Path, engine: Engine) -> bytes:
    """A MEBeauty photo of a man that the engine sees as one man."""
    with open(shared_data / "mebeauty" / "scores.csv", newline="") as rows:
        men = [row["image"] for row in csv.DictReader(rows) if row["gender"] == "male"]
    for name in men[:30]:
        data = (shared_data / "mebeauty" / name).read_bytes()
        analysis = engine.analyze_now(data)
        if analysis.outcome is Outcome.MALE and len(analysis.faces) == 1:
            return data
    pytest.skip("no MEBeauty man among the first 30 is seen as one man")


def embed_of(call: Any) -> dict[str, Any]:
    (embed,) = call.body["embeds"]
    return embed


# Commands and their translations


async def test_commands_are_synced_in_english_with_vietnamese_translations(
    make_bot: BotFactory, fake: FakeDiscord, catalog: Catalog
) -> None:
    await make_bot(discord_guild_id=GUILD_ID)
    (sync,) = fake.calls_to("PUT", f"/applications/{APP_ID}/guilds/{GUILD_ID}/commands")
    commands = {command["name"]: command for command in sync.body}
    rate = commands["rate"]
    assert rate["description"] == catalog.text("en", "commands.rate_image")
    assert rate["description_localizations"]["vi"] == catalog.text("vi", "commands.rate_image")
    (option,) = rate["options"]
    assert option["name"] == "image"
    assert option["description_localizations"]["vi"] == catalog.text("vi", "commands.rate_option")
    menu = commands[catalog.text("en", "commands.context_menu")]
    assert menu["type"] == 3
    assert menu["name_localizations"]["vi"] == catalog.text("vi", "commands.context_menu")


async def test_global_sync_without_a_guild(bot: Bot, fake: FakeDiscord) -> None:
    assert len(fake.calls_to("PUT", f"/applications/{APP_ID}/commands")) == 1
    assert not fake.calls_to("PUT", f"/applications/{APP_ID}/guilds")


# /rate


@pytest.mark.parametrize(
    ("locale", "language"), [("en-US", "en"), ("en-GB", "en"), ("vi", "vi"), ("fr", "en")]
)
async def test_rate_defers_then_follows_up_with_the_verdict(
    bot: Bot, fake: FakeDiscord, catalog: Catalog, woman_jpeg: bytes, locale: str, language: str
) -> None:
    interaction = fake.slash(fake.attachment(woman_jpeg), locale=locale)
    await interact(fake, interaction)
    (callback,) = fake.callbacks(interaction)
    assert callback.body["type"] == DEFERRED
    assert callback.flags & EPHEMERAL == 0
    (followup,) = fake.followups(interaction)
    embed = embed_of(followup)
    assert embed["title"].endswith("/10")
    assert catalog.text(language, "verdict.disclaimer") in embed["description"]
    assert followup.files == {}
    assert "image" not in embed


async def test_several_faces_bring_the_numbered_photo(
    bot: Bot, fake: FakeDiscord, two_faces: bytes
) -> None:
    interaction = fake.slash(fake.attachment(two_faces))
    await interact(fake, interaction)
    (followup,) = fake.followups(interaction)
    embed = embed_of(followup)
    assert embed["description"].startswith("1. ")
    assert "\n2. " in embed["description"]
    assert embed["image"]["url"] == "attachment://xinh.jpg"
    numbered = Image.open(io.BytesIO(followup.files["xinh.jpg"]))
    assert numbered.format == "JPEG"
    assert numbered.size == (1024, 512)


async def test_a_man_gets_the_apology(
    bot: Bot, fake: FakeDiscord, catalog: Catalog, man_jpeg: bytes
) -> None:
    interaction = fake.slash(fake.attachment(man_jpeg))
    await interact(fake, interaction)
    (followup,) = fake.followups(interaction)
    assert embed_of(followup)["title"] == catalog.text("en", "male.title")
    assert embed_of(followup)["description"] in catalog.variants("en", "male.lines")


async def test_no_face_is_answered_only_to_the_user(
    bot: Bot, fake: FakeDiscord, catalog: Catalog, photos: Path
) -> None:
    interaction = fake.slash(fake.attachment((photos / "coffee.jpg").read_bytes()), locale="vi")
    await interact(fake, interaction)
    assert fake.callbacks(interaction)[0].body["type"] == DEFERRED
    assert len(fake.deletions(interaction)) == 1
    (followup,) = fake.followups(interaction)
    assert followup.flags & EPHEMERAL
    assert followup.body["content"] == catalog.text("vi", "errors.no_face")


async def test_not_an_image_is_refused_at_once_without_download(
    bot: Bot, fake: FakeDiscord, catalog: Catalog
) -> None:
    document = fake.attachment(b"%PDF-1.7 not a photo", "notes.pdf", "application/pdf")
    interaction = fake.slash(document, locale="vi")
    await interact(fake, interaction)
    (callback,) = fake.callbacks(interaction)
    assert callback.body["type"] == MESSAGE
    assert callback.flags & EPHEMERAL
    assert callback.body["data"]["content"] == catalog.text("vi", "errors.not_image")
    assert fake.downloads == []


async def test_oversize_attachment_is_refused_without_download(
    bot: Bot, fake: FakeDiscord, catalog: Catalog, woman_jpeg: bytes
) -> None:
    interaction = fake.slash(fake.attachment(woman_jpeg, size=21 * 1024 * 1024))
    await interact(fake, interaction)
    (callback,) = fake.callbacks(interaction)
    assert callback.flags & EPHEMERAL
    assert callback.body["data"]["content"] == catalog.text("en", "errors.too_large", max_mb=20)
    assert fake.downloads == []


async def test_cooldown_per_user_before_download(
    make_bot: BotFactory, fake: FakeDiscord, catalog: Catalog, woman_jpeg: bytes
) -> None:
    await make_bot(rate_limit_per_minute=1)
    first = fake.slash(fake.attachment(woman_jpeg))
    await interact(fake, first)
    second = fake.slash(fake.attachment(woman_jpeg))
    await interact(fake, second)
    (refusal,) = fake.callbacks(second)
    assert refusal.flags & EPHEMERAL
    assert refusal.body["data"]["content"] == catalog.text("en", "errors.rate_limited", limit=1)
    other_user = fake.slash(fake.attachment(woman_jpeg), user_id=42)
    await interact(fake, other_user)
    assert fake.followups(other_user)
    assert len(fake.downloads) == 2


# The context menu


async def test_context_menu_rates_the_first_image_of_a_message(
    bot: Bot, fake: FakeDiscord, catalog: Catalog, woman_jpeg: bytes
) -> None:
    document = fake.attachment(b"minutes", "minutes.txt", "text/plain")
    target = fake.message(attachments=[document, fake.attachment(woman_jpeg)])
    interaction = fake.context_menu(target, catalog.text("en", "commands.context_menu"))
    await interact(fake, interaction)
    assert fake.callbacks(interaction)[0].body["type"] == DEFERRED
    assert embed_of(fake.followups(interaction)[0])["title"].endswith("/10")
    assert len(fake.downloads) == 1


async def test_context_menu_rates_an_image_embed(
    bot: Bot, fake: FakeDiscord, catalog: Catalog, woman_jpeg: bytes
) -> None:
    target = fake.message(embeds=[fake.image_embed(woman_jpeg)])
    interaction = fake.context_menu(target, catalog.text("en", "commands.context_menu"))
    await interact(fake, interaction)
    assert embed_of(fake.followups(interaction)[0])["title"].endswith("/10")


async def test_context_menu_on_a_message_without_image(
    bot: Bot, fake: FakeDiscord, catalog: Catalog
) -> None:
    target = fake.message(content="just words")
    interaction = fake.context_menu(target, catalog.text("en", "commands.context_menu"))
    await interact(fake, interaction)
    (callback,) = fake.callbacks(interaction)
    assert callback.flags & EPHEMERAL
    assert callback.body["data"]["content"] == catalog.text("en", "errors.not_image")


# Messages: mentions and DMs


async def test_mention_with_an_image_is_answered_in_the_server_language(
    make_bot: BotFactory, fake: FakeDiscord, catalog: Catalog, woman_jpeg: bytes
) -> None:
    await make_bot(discord_message_content=True)
    assert fake.identifies[-1]["intents"] & MESSAGE_CONTENT_INTENT
    message = fake.message("<@bot>", [fake.attachment(woman_jpeg)], mentions_bot=True)
    await fake.dispatch("MESSAGE_CREATE", message)
    (reply,) = await fake.wait_for(lambda: fake.replies(CHANNEL_ID))
    assert reply.body["message_reference"]["message_id"] == int(message["id"])
    assert catalog.text("vi", "verdict.disclaimer") in embed_of(reply)["description"]
    assert fake.calls_to("POST", f"/channels/{CHANNEL_ID}/typing")


async def test_mention_replying_to_a_photo(
    make_bot: BotFactory, fake: FakeDiscord, woman_jpeg: bytes
) -> None:
    await make_bot(discord_message_content=True)
    photo = fake.message(attachments=[fake.attachment(woman_jpeg)], author=user(43))
    mention = fake.message("<@bot>", mentions_bot=True, replying_to=photo)
    await fake.dispatch("MESSAGE_CREATE", mention)
    (reply,) = await fake.wait_for(lambda: fake.replies(CHANNEL_ID))
    assert embed_of(reply)["title"].endswith("/10")


async def test_photo_in_a_dm(bot: Bot, fake: FakeDiscord, woman_jpeg: bytes) -> None:
    assert not fake.identifies[-1]["intents"] & MESSAGE_CONTENT_INTENT
    message = fake.message(attachments=[fake.attachment(woman_jpeg)], direct=True)
    await fake.dispatch("MESSAGE_CREATE", message)
    (reply,) = await fake.wait_for(lambda: fake.replies(DM_CHANNEL_ID))
    assert embed_of(reply)["title"].endswith("/10")


async def test_messages_not_for_the_bot_are_ignored(
    bot: Bot, fake: FakeDiscord, catalog: Catalog, woman_jpeg: bytes
) -> None:
    unaddressed = fake.message("nice", [fake.attachment(woman_jpeg)])
    own = fake.message(attachments=[fake.attachment(woman_jpeg)], direct=True)
    own["author"] = {**user(APP_ID), "bot": True}
    for message in (unaddressed, own):
        await fake.dispatch("MESSAGE_CREATE", message)
    nudge = fake.message("<@bot> hi", mentions_bot=True)
    await fake.dispatch("MESSAGE_CREATE", nudge)
    (reply,) = await fake.wait_for(lambda: fake.replies(CHANNEL_ID))
    assert reply.body["content"] == catalog.text("vi", "errors.not_image")
    assert fake.downloads == []


# Failures, health, shutdown


async def test_a_failure_is_logged_counted_and_answered(
    bot: Bot, fake: FakeDiscord, catalog: Catalog, woman_jpeg: bytes
) -> None:
    missing = fake.attachment(woman_jpeg)
    missing["url"] = missing["url"] + "-gone"
    interaction = fake.slash(missing)
    await interact(fake, interaction)
    (followup,) = fake.followups(interaction)
    assert followup.body["content"] == catalog.text("en", "errors.failed")
    assert [type(error.original) for error in bot.errors] == [aiohttp.ClientResponseError]
    assert b'xinh_errors_total{kind="ClientResponseError",platform="discord"} 1.0' in (
        bot.metrics.exposition()
    )
    bot.errors.clear()
    again = fake.slash(fake.attachment(woman_jpeg))
    await interact(fake, again)
    assert embed_of(fake.followups(again)[0])["title"].endswith("/10")


async def test_health_is_ready_once_connected_and_metrics_count_photos(
    make_bot: BotFactory, fake: FakeDiscord, woman_jpeg: bytes
) -> None:
    port = free_port()
    bot = await make_bot(launch=False, health_port=port)
    base = f"http://127.0.0.1:{port}"
    async with aiohttp.ClientSession() as http:
        await bot.login()
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 503
        await bot.connect()
        async with http.get(f"{base}/healthz") as response:
            assert response.status == 200
        await interact(fake, fake.slash(fake.attachment(woman_jpeg)))
        async with http.get(f"{base}/metrics") as response:
            exposition = await response.text()
    assert 'xinh_photos_total{outcome="rated",platform="discord"} 1.0' in exposition
    assert 'xinh_time_to_verdict_seconds_count{platform="discord"} 1.0' in exposition


async def test_sigterm_finishes_the_photo_in_flight_then_exits(
    make_bot: BotFactory, fake: FakeDiscord, catalog: Catalog, woman_jpeg: bytes
) -> None:
    bot = await make_bot(launch=False)
    serving = asyncio.create_task(serve(bot.client, TOKEN))
    await fake.wait_for(lambda: fake.identifies)
    await asyncio.wait_for(bot.client.wait_until_ready(), 15)
    fake.downloads_open.clear()
    in_flight = fake.slash(fake.attachment(woman_jpeg))
    await fake.dispatch("INTERACTION_CREATE", in_flight)
    await fake.wait_for(lambda: fake.downloads)
    os.kill(os.getpid(), signal.SIGTERM)
    await until(lambda: not bot.client.flow.accepting)
    late = fake.slash(fake.attachment(woman_jpeg), user_id=44)
    await interact(fake, late)
    assert fake.callbacks(late)[0].body["data"]["content"] == catalog.text("en", "errors.busy")
    fake.downloads_open.set()
    await asyncio.wait_for(serving, 15)
    assert embed_of(fake.followups(in_flight)[0])["title"].endswith("/10")
    assert bot.client.is_closed()


async def test_photos_cut_off_at_the_grace_answer_busy(
    bot: Bot, fake: FakeDiscord, catalog: Catalog, woman_jpeg: bytes
) -> None:
    fake.downloads_open.clear()  # the download hangs past the grace
    in_flight = fake.slash(fake.attachment(woman_jpeg), locale="vi")
    await fake.dispatch("INTERACTION_CREATE", in_flight)
    await fake.wait_for(lambda: fake.downloads)
    started = asyncio.get_running_loop().time()
    await bot.client.shutdown(grace=REPLY_MARGIN_S + 0.5)
    assert asyncio.get_running_loop().time() - started < REPLY_MARGIN_S + 0.5
    (followup,) = fake.followups(in_flight)
    assert followup.flags & EPHEMERAL
    assert followup.body["content"] == catalog.text("vi", "errors.busy")
    assert bot.client.is_closed()
    fake.downloads_open.set()


async def until(condition: Callable[[], bool]) -> None:
    """Let the event loop run until `condition()` holds (signals arrive through the loop)."""
    async with asyncio.timeout(15):
        while not condition():
            await asyncio.sleep(0.01)


# Sharding and configuration


async def test_shard_options_reach_the_client(make_bot: BotFactory) -> None:
    bot = await make_bot(launch=False, shard_count=4, shard_ids="0,1")
    assert (bot.client.shard_count, bot.client.shard_ids) == (4, [0, 1])
    single = await make_bot(launch=False)
    assert (single.client.shard_count, single.client.shard_ids) == (1, None)


async def test_a_sharded_client_identifies_with_its_shard(
    make_bot: BotFactory, fake: FakeDiscord
) -> None:
    bot = await make_bot(shard_count=2, shard_ids="1")
    assert [identify["shard"] for identify in fake.identifies] == [[1, 2]]
    assert bot.client.is_ready()


def test_command_line_shards_override_the_settings() -> None:
    settings = Settings(shard_count=2, shard_ids="0")
    given = argparse.Namespace(shard_count=3, shard_ids="1,2")
    assert shards(apply_args(settings, given)) == (3, [1, 2])
    omitted = argparse.Namespace(shard_count=None, shard_ids=None)
    assert shards(apply_args(settings, omitted)) == (2, [0])


@pytest.mark.parametrize(("count", "ids"), [(2, "2"), (2, "one"), (0, "1")])
def test_bad_shard_ids_are_a_config_error(count: int, ids: str) -> None:
    with pytest.raises(ConfigError):
        shards(Settings(shard_count=count, shard_ids=ids))


def test_missing_token_is_one_line_and_exit_code_2(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("XINH_DISCORD_TOKEN", raising=False)
    monkeypatch.delenv("XINH_CONFIG", raising=False)
    with pytest.raises(ConfigError, match="XINH_DISCORD_TOKEN"):
        run(argparse.Namespace(shard_count=None, shard_ids=None))
    assert cli.main(["discord"]) == 2
    assert capsys.readouterr().err.count("\n") == 1


async def test_xinh_discord_runs_logs_nothing_private_and_exits_0_on_sigterm(
    fake: FakeDiscord, woman_jpeg: bytes
) -> None:
    process = await start_discord_cli(fake, TOKEN, "--shard-count", "1", XINH_LOG_LEVEL="DEBUG")
    await fake.wait_for(lambda: fake.identifies, timeout=60)
    words = "my private words"
    mention = fake.message(words, [fake.attachment(woman_jpeg)], mentions_bot=True)
    await fake.dispatch("MESSAGE_CREATE", mention)
    await fake.wait_for(lambda: fake.replies(CHANNEL_ID))
    process.send_signal(signal.SIGTERM)
    stdout, stderr = await asyncio.wait_for(process.communicate(), 30)
    logs = (stdout + stderr).decode()
    assert process.returncode == 0, logs
    assert "shutting down" in logs
    for private in (TOKEN, words, mention["author"]["username"]):
        assert private not in logs


async def test_xinh_discord_keeps_retrying_while_discord_is_unreachable() -> None:
    """Network down at start: one line per try, no traceback, no voice warning, and SIGTERM
    still exits 0."""
    offline = f"http://127.0.0.1:{free_port()}/api/v10"
    env = {
        **os.environ,
        "XINH_DISCORD_TOKEN": TOKEN,
        "XINH_DISCORD_API_URL": offline,
        "XINH_HEALTH_PORT": "0",
    }
    env.pop("XINH_CONFIG", None)
    process = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "xinh.cli", "discord", env=env, stderr=asyncio.subprocess.PIPE
    )
    output = await stderr_until_sigterm(process, "Discord unreachable")
    assert "Traceback" not in output and "PyNaCl" not in output
    assert "Unclosed" not in output and TOKEN not in output
    assert "Discord unreachable (ClientConnectorError): retrying in 2 s" in output


async def test_a_token_discord_refuses_is_one_line_and_exit_2(fake: FakeDiscord) -> None:
    fake.refuse_login = True
    process = await start_discord_cli(fake, "refused-token")
    _, stderr = await asyncio.wait_for(process.communicate(), 60)
    errors = stderr.decode().strip().splitlines()
    assert process.returncode == 2
    assert "Traceback" not in stderr.decode()
    assert [line for line in errors if "XINH_DISCORD_TOKEN" in line] == errors[-1:]
