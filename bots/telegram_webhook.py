"""Telegram's webhook, served with aiohttp: every request is judged before its body is read.

python-telegram-bot's own webhook server (tornado) reads bodies of up to 100 MB before it looks
at the secret, answers 500 to malformed JSON, and logs an update it cannot parse with its whole
payload (message text and names). This server answers 403 to a missing or wrong secret, and
413 to a declared size over MAX_UPDATE_BYTES, without reading the body; it reads at most
MAX_UPDATE_BYTES of a body that does not declare its size; it answers 400 to anything that is
not an update, logging the update id only. Updates go to the Application's update queue, as
with python-telegram-bot's server.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging

from aiohttp import web
from telegram import Update
from telegram.ext import Application

from xinh.bots.http_server import RunningServer, serve_app
from xinh.bots.telegram_config import Webhook

MAX_UPDATE_BYTES = 1024 * 1024  # Telegram's updates are a few KB; message texts at most 4096
SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
SERVER_KEY = "xinh.webhook"  # application.bot_data[SERVER_KEY]: the server, while it serves

logger = logging.getLogger(__name__)


def webhook_app(application: Application, path: str, secret: str) -> web.Application:
    """The aiohttp app answering Telegram's POSTs on `/path`."""
    expected = secret.encode()

    async def receive(request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "").encode()
        if not hmac.compare_digest(given, expected):
            return web.Response(status=403)
        if (request.content_length or 0) > MAX_UPDATE_BYTES:
            return web.Response(status=413)
        try:
            data = json.loads(await request.read())
        except web.HTTPRequestEntityTooLarge:
            return web.Response(status=413)
        except ValueError:
            logger.warning("webhook: a request that is not JSON was refused")
            return web.Response(status=400)
        update_id = data.get("update_id") if isinstance(data, dict) else None
        try:
            update = Update.de_json(data, application.bot)
        except Exception as exc:  # python-telegram-bot raises whatever the payload provokes
            shown = update_id if isinstance(update_id, int) else "without an id"
            logger.warning("webhook: update %s could not be read (%s)", shown, type(exc).__name__)
            return web.Response(status=400)
        application.bot.insert_callback_data(update)
        await application.update_queue.put(update)
        return web.Response()

    app = web.Application(client_max_size=MAX_UPDATE_BYTES)
    app.router.add_post(f"/{path}", receive)
    return app


async def serve_webhook(application: Application, webhook: Webhook) -> RunningServer:
    """Start the webhook server on the webhook's listen address and port (0 picks one)."""
    app = webhook_app(application, webhook.url_path, webhook.secret_token)
    return await serve_app(app, webhook.listen, webhook.port)


async def run_webhook(
    application: Application, webhook: Webhook, allowed_updates: list[str], stop: asyncio.Event
) -> None:
    """What `Application.run_webhook` does, with this server, until `stop` is set.

    Initialise, run post_init, serve, register the webhook (URL, secret, update kinds), start
    handling updates; once `stop` is set, stop serving, finish the updates taken, shut down.
    """
    await application.initialize()
    try:
        if application.post_init is not None:
            await application.post_init(application)
        server = await serve_webhook(application, webhook)
        application.bot_data[SERVER_KEY] = server
        try:
            await application.bot.set_webhook(
                webhook.url, secret_token=webhook.secret_token, allowed_updates=allowed_updates
            )
            await application.start()
            await stop.wait()
        finally:
            del application.bot_data[SERVER_KEY]
            await server.close()
    finally:
        if application.running:
            await application.stop()
        await application.shutdown()
        if application.post_shutdown is not None:
            await application.post_shutdown(application)
