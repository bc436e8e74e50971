"""Xinh on Discord: `/rate image:`, "Apps > Rate this photo", and photos in DMs or mentions.

    export XINH_DISCORD_TOKEN=...        # Developer Portal > Bot > Token
    xinh discord [--shard-count N --shard-ids 0,1]

The bot answers with the engine's verdict in the user's Discord language (Vietnamese or
English), keeps a per-user cooldown, serves /healthz and /metrics, and on SIGTERM finishes
the photos in flight before it disconnects. Photos stay in memory; logs carry no content.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import logging
import signal
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands

from bots.discord_commands import CatalogTranslator, add_commands
from bots.discord_photos import ImageSource, download, first_image, verdict_message
from bots.observability import HealthServer, Metrics, serve_health
from bots.ratelimit import open_rate_limiter
from bots.replies import compose
from inference.engine import Engine
from inference.types import Analysis, Outcome
from locales import Catalog, negotiate
from xinh.logs import configure_logging
from xinh.settings import ConfigError, Settings

PLATFORM = "discord"
SHUTDOWN_GRACE_S = 10.0
DOWNLOAD_TIMEOUT_S = 60.0

_PROJECT = Path(__file__).resolve().parent.parent
_PACKAGES = frozenset({"bots", "inference", "locales", "xinh"})

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Refusal:
    """A photo turned away before download: the metrics label and the text for the user."""

    outcome: str
    text: str


class XinhClient(discord.AutoShardedClient):
    """The Discord front end of the shared engine; build it with `build_client`."""

    def __init__(
        self,
        settings: Settings,
        engine: Engine,
        catalog: Catalog,
        metrics: Metrics,
        **options: Any,
    ) -> None:
        intents = discord.Intents.default()
        intents.message_content = settings.discord_message_content
        shard_count, shard_ids = shards(settings)
        super().__init__(
            intents=intents,
            shard_count=shard_count,
            shard_ids=shard_ids,
            allowed_mentions=discord.AllowedMentions.none(),
            **options,
        )
        self.settings = settings
        self.engine = engine
        self.catalog = catalog
        self.metrics = metrics
        self.limits = settings.engine_options().limits
        self.limiter = open_rate_limiter(settings, PLATFORM)
        self.tree = app_commands.CommandTree(self)
        self.tree.error(self.command_failed)
        self.accepting = True
        self.health: HealthServer | None = None
        self._warm = False
        self._work: set[asyncio.Task[Any]] = set()
        self._session: aiohttp.ClientSession | None = None

    async def setup_hook(self) -> None:
        """Start /healthz, warm the engine up, then register the commands with Discord."""
        self._session = aiohttp.ClientSession(
            timeout=aiohttp.ClientTimeout(total=DOWNLOAD_TIMEOUT_S)
        )
        if self.settings.health_port:
            self.health = await serve_health(
                self.metrics,
                self.serving,
                self.settings.health_host,
                self.settings.health_port,
                {"rate limit store": self.limiter.healthy},
            )
        await asyncio.to_thread(self.engine.warm_up)
        self._warm = True
        await self.tree.set_translator(CatalogTranslator(self.catalog))
        guild_id = self.settings.discord_guild_id
        guild = discord.Object(guild_id) if guild_id else None
        if guild is not None:
            self.tree.copy_global_to(guild=guild)
        await self.tree.sync(guild=guild)

    async def on_ready(self) -> None:
        log.info("connected to Discord: shards %s of %d", self.shard_ids or "all", self.shard_count)

    def serving(self) -> bool:
        """Ready for photos: engine warmed up, gateway connected, not shutting down."""
        return self._warm and self.is_ready() and self.accepting

    async def shutdown(self, grace: float = SHUTDOWN_GRACE_S) -> None:
        """Stop taking photos, let those in flight finish (up to `grace` seconds), disconnect."""
        self.accepting = False
        if self._work:
            await asyncio.wait(set(self._work), timeout=grace)
        await self.close()

    async def close(self) -> None:
        await super().close()
        if self._session is not None:
            await self._session.close()
            self._session = None
        if self.health is not None:
            await self.health.close()
            self.health = None
        await self.limiter.close()

    @contextlib.contextmanager
    def _in_flight(self) -> Iterator[None]:
        task = asyncio.current_task()
        if task is not None:
            self._work.add(task)
        try:
            yield
        finally:
            self._work.discard(task)

    async def _refusal(
        self, user_id: int, source: ImageSource | None, language: str
    ) -> Refusal | None:
        """Why a photo is turned away before anything is downloaded, or None to go ahead."""
        if not self.accepting:
            return Refusal(Outcome.BUSY, self.catalog.text(language, "errors.busy"))
        if source is None or not source.looks_like_image:
            return Refusal("not_image", self.catalog.text(language, "errors.not_image"))
        if source.size is not None and source.size > self.limits.max_bytes:
            reply = compose(Analysis(Outcome.TOO_LARGE), language, self.catalog, self.limits)
            return Refusal(Outcome.TOO_LARGE, reply.text)
        if not await self.limiter.allow(user_id):
            text = self.catalog.text(
                language, "errors.rate_limited", limit=self.settings.rate_limit_per_minute
            )
            return Refusal("rate_limited", text)
        return None

    async def _rate(self, source: ImageSource) -> Analysis:
        assert self._session is not None, "setup_hook opens the download session"
        data = await download(self._session, source.url, self.limits.max_bytes)
        if data is None:
            return Analysis(Outcome.TOO_LARGE)
        return await self.engine.analyze(data)

    def _count(self, outcome: str, started: float) -> None:
        self.metrics.photo(PLATFORM, outcome, time.monotonic() - started)
        log.debug("photo answered: %s", outcome)

    async def answer_interaction(
        self, interaction: discord.Interaction, source: ImageSource | None
    ) -> None:
        """Rate a photo for a command: refusals at once and ephemeral, else defer, then answer."""
        started = time.monotonic()
        language = negotiate(str(interaction.locale))
        refusal = await self._refusal(interaction.user.id, source, language)
        if refusal is not None:
            await interaction.response.send_message(refusal.text, ephemeral=True)
            self._count(refusal.outcome, started)
            return
        assert source is not None
        with self._in_flight():
            await interaction.response.defer(thinking=True)
            reply = compose(await self._rate(source), language, self.catalog, self.limits)
            if reply.is_error:
                # The first follow-up keeps the deferral's visibility: remove it to go ephemeral.
                await interaction.delete_original_response()
                await interaction.followup.send(reply.text, ephemeral=True)
            else:
                await interaction.followup.send(**verdict_message(reply))
        self._count(reply.outcome, started)

    async def on_message(self, message: discord.Message) -> None:
        """A photo in a DM, or with a mention of the bot (in the message or the one it answers)."""
        if message.author.bot or self.user is None or not self._addressed(message):
            return
        started = time.monotonic()
        source = first_image(message)
        referenced = message.reference.resolved if message.reference else None
        if source is None and isinstance(referenced, discord.Message):
            source = first_image(referenced)
        language = _language_of(message)
        refusal = await self._refusal(message.author.id, source, language)
        if refusal is not None:
            await message.reply(refusal.text, mention_author=False)
            self._count(refusal.outcome, started)
            return
        assert source is not None
        with self._in_flight():
            async with message.channel.typing():
                analysis = await self._rate(source)
            reply = compose(analysis, language, self.catalog, self.limits)
            if reply.is_error:
                await message.reply(reply.text, mention_author=False)
            else:
                await message.reply(**verdict_message(reply), mention_author=False)
        self._count(reply.outcome, started)

    def _addressed(self, message: discord.Message) -> bool:
        assert self.user is not None
        direct = isinstance(message.channel, discord.DMChannel)
        return direct or any(user.id == self.user.id for user in message.mentions)

    async def command_failed(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Log and count a failed command, and tell the user (ephemeral) when Discord lets us."""
        failure = getattr(error, "original", error)
        command = interaction.command.name if interaction.command else "?"
        self._log_failure(failure, f"command {command}")
        text = self.catalog.text(negotiate(str(interaction.locale)), "errors.failed")
        with contextlib.suppress(discord.HTTPException):
            if interaction.response.is_done():
                await interaction.followup.send(text, ephemeral=True)
            else:
                await interaction.response.send_message(text, ephemeral=True)

    async def on_error(self, event_method: str, /, *args: Any, **kwargs: Any) -> None:
        """Log and count a failed event; answer a message that caused it."""
        failure = sys.exc_info()[1]
        self._log_failure(failure, f"event {event_method}")
        message = args[0] if args and isinstance(args[0], discord.Message) else None
        if message is not None:
            with contextlib.suppress(discord.HTTPException):
                text = self.catalog.text(_language_of(message), "errors.failed")
                await message.reply(text, mention_author=False)

    def _log_failure(self, failure: BaseException | None, where: str) -> None:
        """One line: the exception class and the last line of Xinh's code it passed through."""
        kind = type(failure).__name__
        frames = traceback.extract_tb(failure.__traceback__) if failure is not None else []
        ours = [f for f in frames if _is_ours(f.filename)] or frames
        origin = f"{Path(ours[-1].filename).name}:{ours[-1].lineno}" if ours else "?"
        log.error("%s in %s (at %s)", kind, where, origin)
        self.metrics.error(PLATFORM, kind)


def _is_ours(filename: str) -> bool:
    path = Path(filename)
    return path.is_relative_to(_PROJECT) and path.relative_to(_PROJECT).parts[0] in _PACKAGES


def _language_of(message: discord.Message) -> str:
    """Messages carry no user locale: the server's preferred one, else English."""
    locale = message.guild.preferred_locale if message.guild else None
    return negotiate(str(locale) if locale else None)


def shards(settings: Settings) -> tuple[int, list[int] | None]:
    """(shard count, shard ids or None for all of them) from the settings; 0 shards means 1."""
    count = settings.shard_count or 1
    try:
        ids = [int(part) for part in settings.shard_ids.split(",") if part.strip()]
    except ValueError:
        raise ConfigError(
            f"shard ids {settings.shard_ids!r} are invalid: give comma-separated numbers, e.g. 0,1"
        ) from None
    if any(not 0 <= shard < count for shard in ids):
        raise ConfigError(
            f"shard ids {settings.shard_ids} must be below the shard count {count}: "
            "set --shard-count (XINH_SHARD_COUNT)"
        )
    return count, ids or None


def apply_args(settings: Settings, args: argparse.Namespace) -> Settings:
    """The settings with the command line's --shard-count/--shard-ids, where given, on top."""
    overrides = {
        name: value
        for name in ("shard_count", "shard_ids")
        if (value := getattr(args, name, None)) is not None
    }
    return dataclasses.replace(settings, **overrides)


def build_client(
    settings: Settings, engine: Engine, catalog: Catalog, metrics: Metrics, **options: Any
) -> XinhClient:
    """The bot with its commands, not yet started; `options` go to discord.py's client.

    A REST or gateway override in the settings is set on discord.py's classes (it has no
    per-client option for them), so it applies to the whole process.
    """
    if settings.discord_api_url:
        discord.http.Route.BASE = settings.discord_api_url.rstrip("/")
    if settings.discord_gateway_url:
        discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(settings.discord_gateway_url)
    client = XinhClient(settings, engine, catalog, metrics, **options)
    add_commands(client)
    return client


async def serve(client: XinhClient, token: str) -> None:
    """Run the client until it closes; SIGTERM or SIGINT shut it down gracefully."""
    loop = asyncio.get_running_loop()
    stopping: list[asyncio.Task[None]] = []

    def stop() -> None:
        if not stopping:
            log.info("shutting down: finishing photos in flight")
            stopping.append(loop.create_task(client.shutdown()))

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    try:
        async with client:
            await client.start(token)
        await asyncio.gather(*stopping)
    finally:
        for signum in (signal.SIGTERM, signal.SIGINT):
            loop.remove_signal_handler(signum)


def run(args: argparse.Namespace) -> int:
    """`xinh discord`: run the bot until SIGTERM; configuration problems raise ConfigError."""
    settings = apply_args(Settings.load(), args)
    settings.require("discord_token")
    shards(settings)
    configure_logging(settings.log_level, settings.log_json)
    engine = Engine.create(settings.models_path(), settings.engine_options())
    metrics = Metrics(queue_depth=lambda: engine.queue_depth)
    client = build_client(settings, engine, Catalog.load(), metrics)
    try:
        asyncio.run(serve(client, settings.discord_token))
    except discord.LoginFailure:
        raise ConfigError(
            "Discord refused XINH_DISCORD_TOKEN: copy the token again (Developer Portal > Bot)"
        ) from None
    except discord.PrivilegedIntentsRequired:
        raise ConfigError(
            "XINH_DISCORD_MESSAGE_CONTENT needs the Message Content intent: enable it in the "
            "Developer Portal (Bot > Privileged Gateway Intents) or unset the setting"
        ) from None
    finally:
        engine.close()
    return 0
