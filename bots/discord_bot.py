"""Xinh on Discord: `/rate image:`, "Apps > Rate this photo", and photos in DMs or mentions.

    export XINH_DISCORD_TOKEN=...        # Developer Portal > Bot > Token
    xinh discord [--shard-count N --shard-ids 0,1]

Each photo goes through the shared flow (bots/flow.py); this module finds it, downloads it
and sends the reply, in the user's Discord language. It serves /healthz and /metrics, keeps
retrying (one log line each time) while Discord is unreachable at start, and on SIGTERM
finishes the photos in flight within the grace period before it disconnects. Photos stay in
memory; logs carry no content.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import functools
import logging
import signal
import sys
import traceback
from pathlib import Path
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands

from xinh.bots.discord_commands import CatalogTranslator, add_commands
from xinh.bots.discord_photos import ImageSource, download, first_image, verdict_message
from xinh.bots.flow import SHUTDOWN_GRACE_S, Photo, PhotoFlow
from xinh.bots.http_server import RunningServer
from xinh.bots.observability import Metrics, serve_health
from xinh.bots.ratelimit import open_rate_limiter
from xinh.bots.replies import Platform, Reply
from xinh.bots.retry import until_reached
from xinh.inference.engine import Engine
from xinh.locales import Catalog
from xinh.logs import configure_logging
from xinh.settings import ConfigError, Settings

PLATFORM = Platform.DISCORD
DOWNLOAD_TIMEOUT_S = 60.0
# Failures that mean Discord cannot be reached (network down, Discord's servers failing).
UNREACHABLE = (aiohttp.ClientError, OSError, TimeoutError, discord.DiscordServerError)


log = logging.getLogger(__name__)


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
        self.limiter = open_rate_limiter(settings, PLATFORM)
        self.flow = PhotoFlow(PLATFORM, engine, catalog, self.limiter, metrics)
        self.tree = app_commands.CommandTree(self)
        self.tree.error(self.command_failed)
        self.health: RunningServer | None = None
        self._warm = False
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
        return self._warm and self.is_ready() and self.flow.accepting

    async def login_when_reachable(self, token: str, stopped: asyncio.Event) -> bool:
        """Log in, retrying while Discord is unreachable; False when stopped first."""

        async def attempt() -> None:
            try:
                await self.login(token)
            except UNREACHABLE:
                # discord.py opens a new session per login: close this one and its connector.
                await self.http.close()
                self.http.connector = discord.utils.MISSING
                raise

        return await until_reached(attempt, UNREACHABLE, stopped, "Discord")

    async def shutdown(self, grace: float = SHUTDOWN_GRACE_S) -> None:
        """Stop taking photos, let those in flight finish (those cut off at the grace answer
        busy), then disconnect."""
        self.flow.stop(grace)
        await self.flow.finished(grace)
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

    async def answer_interaction(
        self, interaction: discord.Interaction, source: ImageSource | None
    ) -> None:
        """Rate a photo for a command: refusals at once and ephemeral, else defer, then answer."""
        await self.flow.answer(
            _photo(interaction.user.id, source),
            self.catalog.negotiate(str(interaction.locale)),
            fetch=functools.partial(self._download, source),
            send=functools.partial(_answer_interaction, interaction),
            working=functools.partial(interaction.response.defer, thinking=True),
        )

    async def on_message(self, message: discord.Message) -> None:
        """A photo in a DM, or with a mention of the bot (in the message or the one it answers)."""
        if message.author.bot or self.user is None or not self._addressed(message):
            return
        source = first_image(message)
        referenced = message.reference.resolved if message.reference else None
        if source is None and isinstance(referenced, discord.Message):
            source = first_image(referenced)
        await self.flow.answer(
            _photo(message.author.id, source),
            self._language_of(message),
            fetch=functools.partial(self._download, source),
            send=functools.partial(_answer_message, message),
            working=message.channel.typing,
        )

    async def _download(self, source: ImageSource) -> bytes | None:
        assert self._session is not None, "setup_hook opens the download session"
        return await download(self._session, source.url, self.engine.options.limits.max_bytes)

    def _language_of(self, message: discord.Message) -> str:
        """Messages carry no user locale: the server's preferred one, else English."""
        locale = message.guild.preferred_locale if message.guild else None
        return self.catalog.negotiate(str(locale) if locale else None)

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
        text = self.catalog.text(self.catalog.negotiate(str(interaction.locale)), "errors.failed")
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
                text = self.catalog.text(self._language_of(message), "errors.failed")
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
    """True for a file of Xinh's own packages, wherever they are installed."""
    path = Path(filename).resolve()
    return any(path.is_relative_to(folder) for folder in _our_folders())


def _our_folders() -> tuple[Path, ...]:
    """The folders of Xinh's packages (in a checkout they are not one folder)."""
    import xinh.bots
    import xinh.inference
    import xinh.locales

    packages = (xinh, xinh.bots, xinh.inference, xinh.locales)
    return tuple(Path(package.__file__).resolve().parent for package in packages)


def _photo(sender: int, source: ImageSource | None) -> Photo | None:
    """What the flow checks before download: who asks, and the size and type Discord states."""
    if source is None:
        return None
    return Photo(sender=sender, size=source.size, is_image=source.looks_like_image)


async def _answer_interaction(interaction: discord.Interaction, reply: Reply) -> None:
    """A refusal answers at once, seen only by the user; after the deferral, a verdict is a
    public follow-up and an error replaces the deferral with an ephemeral one."""
    if not interaction.response.is_done():
        await interaction.response.send_message(reply.text, ephemeral=True)
    elif reply.is_error:
        # The first follow-up keeps the deferral's visibility: remove it to go ephemeral.
        await interaction.delete_original_response()
        await interaction.followup.send(reply.text, ephemeral=True)
    else:
        await interaction.followup.send(**verdict_message(reply))


async def _answer_message(message: discord.Message, reply: Reply) -> None:
    """Reply to the message: a kind line, or the verdict's embed (and numbered photo)."""
    if reply.is_error:
        await message.reply(reply.text, mention_author=False)
    else:
        await message.reply(**verdict_message(reply), mention_author=False)


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
    discord.VoiceClient.warn_nacl = False  # Xinh never joins voice: no warning about PyNaCl
    client = XinhClient(settings, engine, catalog, metrics, **options)
    add_commands(client)
    return client


async def serve(client: XinhClient, token: str) -> None:
    """Run the client until it closes; SIGTERM or SIGINT shut it down gracefully, also while
    it is still trying to reach Discord."""
    loop = asyncio.get_running_loop()
    stopped = asyncio.Event()
    stopping: list[asyncio.Task[None]] = []

    def stop() -> None:
        if not stopped.is_set():
            log.info("shutting down: finishing photos in flight (up to %.0f s)", SHUTDOWN_GRACE_S)
            stopped.set()
            stopping.append(loop.create_task(client.shutdown()))

    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop)
    try:
        async with client:
            if await client.login_when_reachable(token, stopped):
                await client.connect()
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
