"""Checks and derived settings for `xinh telegram`: the token's shape and the webhook address.

Both run before anything starts, so a bad value is one clear line (exit code 2), not a
traceback from deep inside python-telegram-bot.
"""

from __future__ import annotations

import argparse
import re
import secrets
from dataclasses import dataclass
from urllib.parse import urlsplit

from xinh.settings import ConfigError, Settings

TOKEN_SHAPE = re.compile(r"^\d+:[A-Za-z0-9_-]{30,}$")
SECRET_SHAPE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")


def check_token(settings: Settings) -> None:
    """Raise ConfigError when the token is missing or not shaped like a bot token."""
    settings.require("telegram_token")
    if not TOKEN_SHAPE.match(settings.telegram_token):
        raise ConfigError(
            "XINH_TELEGRAM_TOKEN does not look like a bot token (digits, a colon, then 30 or "
            "more letters, digits, - or _): copy it again from @BotFather"
        )


@dataclass(frozen=True, slots=True)
class Webhook:
    """Where Telegram posts updates, where our server listens, and the secret it must send."""

    url: str
    listen: str
    port: int
    secret_token: str

    @property
    def url_path(self) -> str:
        """The path the local server answers on: the public URL's path."""
        return urlsplit(self.url).path.strip("/")


def webhook_config(settings: Settings, args: argparse.Namespace) -> Webhook | None:
    """Webhook mode from --webhook-url/--listen/--port over the settings; None means polling.

    The secret is the configured one, else a fresh random one for this run (Telegram learns
    it from setWebhook, so it need not survive restarts).
    """
    url = args.webhook_url or settings.webhook_url
    if not url:
        return None
    if urlsplit(url).scheme != "https" or not urlsplit(url).hostname:
        raise ConfigError(
            "the webhook URL must be a public https:// address (Telegram posts only to HTTPS)"
        )
    secret = settings.webhook_secret or secrets.token_urlsafe(32)
    if not SECRET_SHAPE.match(secret):
        raise ConfigError(
            "XINH_WEBHOOK_SECRET may hold only letters, digits, - and _ (1 to 256 of them)"
        )
    return Webhook(
        url=url,
        listen=args.listen or settings.webhook_listen,
        port=args.port or settings.webhook_port,
        secret_token=secret,
    )
