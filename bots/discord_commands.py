"""What users invoke on Discord: `/rate image:` and the "Rate this photo" message menu.

Both are named in English (Discord's default) and translated by `CatalogTranslator`, which
reads the locale catalogue key carried in each `locale_str`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import discord
from discord import app_commands
from discord.app_commands import locale_str

from xinh.bots.discord_photos import ImageSource, first_image
from xinh.locales import DEFAULT_LANGUAGE, Catalog

if TYPE_CHECKING:
    from xinh.bots.discord_bot import XinhClient


class CatalogTranslator(app_commands.Translator):
    """Command names and descriptions from the locale catalogue (the `key` extra of each string)."""

    def __init__(self, catalog: Catalog) -> None:
        self.catalog = catalog

    async def translate(
        self,
        string: locale_str,
        locale: discord.Locale,
        context: app_commands.TranslationContextTypes,
    ) -> str | None:
        key = string.extras.get("key")
        language = locale.value.split("-")[0]
        if key is None or language not in self.catalog.languages:
            return None
        return self.catalog.text(language, key)


def add_commands(client: XinhClient) -> None:
    """The slash command and the context menu, named in English and translated for Discord."""

    def localized(key: str) -> locale_str:
        return locale_str(client.catalog.text(DEFAULT_LANGUAGE, key), key=key)

    @client.tree.command(name="rate", description=localized("commands.rate_image"))
    @app_commands.describe(image=localized("commands.rate_option"))
    async def rate(interaction: discord.Interaction, image: discord.Attachment) -> None:
        """Rate the faces in an attached photo."""
        await client.answer_interaction(interaction, ImageSource.of(image))

    @client.tree.context_menu(name=localized("commands.context_menu"))
    async def rate_message(interaction: discord.Interaction, message: discord.Message) -> None:
        """Rate the first image of any message (needs no Message Content intent)."""
        await client.answer_interaction(interaction, first_image(message))
