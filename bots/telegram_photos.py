"""Rating one Telegram photo, and the bot-wide state the handlers share.

`rate` hands one photo message to the shared flow (bots/flow.py) with what only Telegram can
supply: the sender, the size Telegram declares (nothing is downloaded over the limit),
"typing", the download, and a reply quoting the photo.
"""

from __future__ import annotations

import functools
import logging
from dataclasses import dataclass, field
from typing import Any

from telegram import Document, Message, MessageEntity, PhotoSize, Update
from telegram.constants import ChatAction, MessageLimit
from telegram.error import BadRequest
from telegram.ext import filters

from xinh.bots.chat_settings import ChatSettingsStore
from xinh.bots.flow import Photo, PhotoFlow
from xinh.bots.http_server import RunningServer
from xinh.bots.observability import Metrics
from xinh.bots.ratelimit import RateLimiter
from xinh.bots.replies import Platform, Reply, text_length
from xinh.inference.engine import Engine
from xinh.locales import Catalog
from xinh.settings import Settings

PLATFORM = Platform.TELEGRAM
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
    health: RunningServer | None = None
    flow: PhotoFlow = field(init=False)

    def __post_init__(self) -> None:
        self.flow = PhotoFlow(PLATFORM, self.engine, self.catalog, self.limiter, self.metrics)

    async def language(self, update: Update) -> str:
        """The chat's chosen language, else the user's Telegram language, else English."""
        chat, user = update.effective_chat, update.effective_user
        chosen = await self.store.get_language(chat_key(chat.id)) if chat else None
        return self.catalog.negotiate(chosen, user.language_code if user else None)


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
    user = update.effective_user
    await state.flow.answer(
        Photo(sender=user.id if user else photo.chat_id, size=image.file_size),
        await state.language(update),
        fetch=functools.partial(_download, image),
        send=functools.partial(_send, photo),
        working=functools.partial(photo.reply_chat_action, ChatAction.TYPING),
    )


async def _download(image: PhotoSize | Document) -> bytes:
    file = await image.get_file()
    return bytes(await file.download_as_bytearray())


async def _send(photo: Message, reply: Reply) -> None:
    """Quote the photo: the text alone, or the numbered photo with the text as its caption
    (or beside it, as a message, when the text is longer than a caption may be)."""
    if reply.annotated_jpeg is None:
        await photo.reply_text(reply.text, do_quote=True)
        return
    caption_fits = text_length(reply.text) <= MessageLimit.CAPTION_LENGTH
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
