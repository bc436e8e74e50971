"""Rating one Telegram photo, and the bot-wide state the handlers share.

`rate` answers one photo message: rate limit and size check first (nothing downloaded when
either refuses), then "typing", download, the engine, and a reply quoting the photo. At
shutdown `BotState.stop_photos_at` gives the photos in flight a deadline; any still running
then answer "busy, try again" instead of nothing.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

from telegram import Document, Message, MessageEntity, PhotoSize, Update
from telegram.constants import ChatAction, MessageLimit
from telegram.error import BadRequest
from telegram.ext import filters

from bots.chat_settings import ChatSettingsStore
from bots.observability import HealthServer, Metrics
from bots.ratelimit import RateLimiter
from bots.replies import Reply, compose
from inference.engine import Engine
from inference.types import Analysis, Outcome
from locales import Catalog, negotiate
from xinh.settings import Settings

PLATFORM = "telegram"
STATE_KEY = "xinh"

logger = logging.getLogger(__name__)


@dataclass(slots=True)
class BotState:
    """Bot-wide objects, kept in `application.bot_data[STATE_KEY]` (see `bot_state`)."""

    settings: Settings
    engine: Engine
    catalog: Catalog
    store: ChatSettingsStore
    metrics: Metrics
    limiter: RateLimiter
    models_ready: bool = False
    health: HealthServer | None = None
    stop_at: float | None = None
    _deadlines: set[asyncio.Timeout] = field(default_factory=set)

    async def language(self, update: Update) -> str:
        """The chat's chosen language, else the user's Telegram language, else English."""
        chat, user = update.effective_chat, update.effective_user
        chosen = await self.store.get_language(chat_key(chat.id)) if chat else None
        return negotiate(
            chosen, user.language_code if user else None, available=self.catalog.languages
        )

    @asynccontextmanager
    async def deadline(self) -> AsyncIterator[None]:
        """Bound a photo's work by the shutdown deadline (none while the bot runs)."""
        async with asyncio.timeout_at(self.stop_at) as timeout:
            self._deadlines.add(timeout)
            try:
                yield
            finally:
                self._deadlines.discard(timeout)

    def stop_photos_at(self, when: float) -> None:
        """From now on every photo, running or new, must finish by `when` (loop time)."""
        self.stop_at = when
        for timeout in self._deadlines:
            timeout.reschedule(when)


def bot_state(holder: Any) -> BotState:
    """The BotState of an Application or a handler's CallbackContext."""
    return holder.bot_data[STATE_KEY]


def chat_key(chat_id: int) -> str:
    """The chat's key in the settings store, shared with other front ends."""
    return f"{PLATFORM}:{chat_id}"


def image_of(message: Message | None) -> PhotoSize | Document | None:
    """The largest size of a photo, or an image sent as a file; None for anything else."""
    if message is None:
        return None
    if message.photo:
        return message.photo[-1]
    document = message.document
    if document and (document.mime_type or "").startswith("image/"):
        return document
    return None


class AsksBot(filters.MessageFilter):
    """Captions that ask this bot: /rate (or /rate@this_bot) first, or an @mention of it."""

    def filter(self, message: Message) -> bool:
        me = (message.get_bot().username or "").lower()
        entities = message.parse_caption_entities(
            [MessageEntity.BOT_COMMAND, MessageEntity.MENTION]
        )
        for entity, text in entities.items():
            text = text.lower()
            if entity.type == MessageEntity.MENTION and text == f"@{me}":
                return True
            if entity.offset == 0 and text in ("/rate", f"/rate@{me}"):
                return True
        return False


async def rate(
    photo: Message, image: PhotoSize | Document, update: Update, state: BotState
) -> None:
    """Answer one photo message, quoting it: a verdict, or a kind line saying what to do."""
    started = time.monotonic()
    language = await state.language(update)
    user = update.effective_user
    if not await state.limiter.allow(user.id if user else photo.chat_id):
        text = state.catalog.text(language, "errors.rate_limited", limit=state.limiter.limit)
        await photo.reply_text(text, do_quote=True)
        state.metrics.photo(PLATFORM, "rate_limited", time.monotonic() - started)
        return
    analysis = await _analyse(photo, image, state)
    reply = compose(analysis, language, state.catalog, state.engine.options.limits)
    await _send(photo, reply)
    seconds = time.monotonic() - started
    state.metrics.photo(PLATFORM, reply.outcome, seconds)
    logger.info("photo answered: %s in %.2f s", reply.outcome, seconds)


async def _analyse(photo: Message, image: PhotoSize | Document, state: BotState) -> Analysis:
    """Refuse a file over the size limit from its declared size; else download and analyse."""
    if image.file_size and image.file_size > state.engine.options.limits.max_bytes:
        return Analysis(Outcome.TOO_LARGE)
    await photo.reply_chat_action(ChatAction.TYPING)
    try:
        async with state.deadline():
            file = await image.get_file()
            return await state.engine.analyze(bytes(await file.download_as_bytearray()))
    except TimeoutError:
        return Analysis(Outcome.TIMEOUT)


async def _send(photo: Message, reply: Reply) -> None:
    """Quote the photo: the text alone, or the numbered photo with the text as its caption."""
    if reply.annotated_jpeg is None:
        await photo.reply_text(reply.text, do_quote=True)
        return
    caption_fits = len(reply.text) <= MessageLimit.CAPTION_LENGTH
    try:
        await photo.reply_photo(
            reply.annotated_jpeg, caption=reply.text if caption_fits else None, do_quote=True
        )
    except BadRequest as exc:
        # Telegram refuses some photos (e.g. over 10,000 px wide plus high): keep the words.
        logger.warning("annotated photo refused (%s): sending the text alone", type(exc).__name__)
        caption_fits = False
    if not caption_fits:
        await photo.reply_text(reply.text, do_quote=True)
