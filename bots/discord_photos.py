"""Photos on Discord: find the image in a message, fetch it within a size cap, show the verdict.

Helpers for bots/discord_bot.py. Embedded images are fetched through Discord's media proxy
(`proxy_url`), never from the arbitrary site a link points to.
"""

from __future__ import annotations

import io
import mimetypes
from dataclasses import dataclass
from typing import Any

import aiohttp
import discord

from xinh.bots.replies import Reply

ANNOTATED_NAME = "xinh.jpg"
VERDICT_COLOUR = discord.Colour.pink()
_CHUNK = 64 * 1024


@dataclass(frozen=True, slots=True)
class ImageSource:
    """Where a photo is, with the size and type Discord states (None when it does not say)."""

    url: str
    size: int | None = None
    content_type: str | None = None
    filename: str = ""

    @classmethod
    def of(cls, attachment: discord.Attachment) -> ImageSource:
        return cls(attachment.url, attachment.size, attachment.content_type, attachment.filename)

    @property
    def looks_like_image(self) -> bool:
        """False only when the stated type (or the file name) says it is not an image."""
        kind = self.content_type or mimetypes.guess_type(self.filename)[0]
        return kind is None or kind.startswith("image/")


def first_image(message: discord.Message) -> ImageSource | None:
    """The message's first image attachment, else its first embedded image, else None."""
    for attachment in message.attachments:
        source = ImageSource.of(attachment)
        if source.looks_like_image:
            return source
    for embed in message.embeds:
        proxied = embed.image.proxy_url or embed.thumbnail.proxy_url
        if proxied:
            return ImageSource(proxied)
    return None


async def download(session: aiohttp.ClientSession, url: str, max_bytes: int) -> bytes | None:
    """The bytes at `url`, or None as soon as they exceed `max_bytes`."""
    async with session.get(url) as response:
        response.raise_for_status()
        if (response.content_length or 0) > max_bytes:
            return None
        data = bytearray()
        async for chunk in response.content.iter_chunked(_CHUNK):
            data += chunk
            if len(data) > max_bytes:
                return None
        return bytes(data)


def verdict_message(reply: Reply) -> dict[str, Any]:
    """Keyword arguments for `send`: an embed (first line as title), and the numbered photo."""
    title, _, description = reply.text.partition("\n")
    embed = discord.Embed(title=title, description=description.strip(), colour=VERDICT_COLOUR)
    if reply.annotated_jpeg is None:
        return {"embed": embed}
    embed.set_image(url=f"attachment://{ANNOTATED_NAME}")
    return {"embed": embed, "file": discord.File(io.BytesIO(reply.annotated_jpeg), ANNOTATED_NAME)}
