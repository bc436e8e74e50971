"""Xinh on Telegram: send a photo, get a verdict, in private chats and in groups.

In a private chat every photo, or image sent as a file, is rated. In groups the bot rates only
photos someone asks about: a reply to the photo with /rate, /rate in the photo's caption, or
(where privacy mode is off) a caption that mentions the bot; other photos are ignored.
/start, /help, /privacy and /lang (remembered per chat) complete it. Photos are analysed in
memory by the shared engine and never stored; every text comes from bots/replies and locales/.

    XINH_TELEGRAM_TOKEN=123456:ABC... xinh telegram                # long polling
    xinh telegram --webhook-url https://bot.example.com/xinh --port 8443

`build_application` wires the bot (tests build one against a fake Bot API server); `run` is
the `xinh telegram` command: settings, logging, models, then polling or a webhook until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal

from telegram import BotCommand, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.constants import ChatType
from telegram.error import InvalidToken, NetworkError, TelegramError
from telegram.ext import (
    AIORateLimiter,
    Application,
    BaseRateLimiter,
    CallbackQueryHandler,
    CommandHandler,
    ContextTypes,
    MessageHandler,
    filters,
)

from xinh.bots.chat_settings import ChatSettingsStore, open_store
from xinh.bots.flow import SHUTDOWN_GRACE_S
from xinh.bots.observability import Metrics, serve_health
from xinh.bots.ratelimit import RateLimiter, open_rate_limiter
from xinh.bots.replies import Refusal, greeting
from xinh.bots.retry import until_reached
from xinh.bots.telegram_config import check_token, webhook_config
from xinh.bots.telegram_photos import (
    PLATFORM,
    STATE_KEY,
    AsksBot,
    BotState,
    bot_state,
    chat_key,
    image_of,
    rate,
)
from xinh.bots.telegram_webhook import SERVER_KEY, run_webhook
from xinh.inference.engine import Engine
from xinh.locales import DEFAULT_LANGUAGE, Catalog
from xinh.logs import configure_logging
from xinh.settings import ConfigError, Settings

SEND_RETRIES = 3
ALLOWED_UPDATES = [Update.MESSAGE, Update.CALLBACK_QUERY]
COMMANDS = ("rate", "start", "help", "privacy", "lang")
LANGUAGE_CHOICE = "lang:"
IMAGE = filters.PHOTO | filters.Document.IMAGE

logger = logging.getLogger(__name__)


async def start(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/start: the original page's title and intro."""
    state = bot_state(context)
    text = greeting(state.catalog, await state.language(update))
    await update.effective_message.reply_text(text)


async def help_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/help: how to use the bot, in private chats and in groups."""
    state = bot_state(context)
    await update.effective_message.reply_text(
        state.catalog.text(await state.language(update), "bot.help")
    )


async def privacy(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/privacy: photos are analysed in memory and never stored."""
    state = bot_state(context)
    await update.effective_message.reply_text(
        state.catalog.text(await state.language(update), "bot.privacy")
    )


async def lang(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/lang: one button per language the catalogue speaks."""
    state = bot_state(context)
    buttons = [
        InlineKeyboardButton(
            state.catalog.text(language, "language_name"),
            callback_data=f"{LANGUAGE_CHOICE}{language}",
        )
        for language in state.catalog.languages
    ]
    await update.effective_message.reply_text(
        state.catalog.text(await state.language(update), "bot.lang_prompt"),
        reply_markup=InlineKeyboardMarkup([buttons]),
    )


async def language_chosen(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A /lang button: remember the chat's language and say so in it."""
    state = bot_state(context)
    query = update.callback_query
    language = query.data.removeprefix(LANGUAGE_CHOICE)
    await query.answer()
    if language not in state.catalog.languages:
        return
    await state.store.set_language(chat_key(update.effective_chat.id), language)
    await query.edit_message_text(state.catalog.text(language, "bot.lang_set"))


async def photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """A photo or image file sent privately, or captioned to ask the bot in a group."""
    message = update.effective_message
    await rate(message, image_of(message), update, bot_state(context))


async def rate_command(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """/rate: rate the photo this command replies to, or say how to ask."""
    state = bot_state(context)
    message = update.effective_message
    image = image_of(message.reply_to_message)
    if image is None:
        language = await state.language(update)
        if message.chat.type == ChatType.PRIVATE:
            text = state.flow.refusal(Refusal.NOT_IMAGE, language).text
        else:
            text = state.catalog.text(language, "bot.group_hint")
        await message.reply_text(text)
        return
    await rate(message.reply_to_message, image, update, state)


async def not_a_photo(update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Anything else in a private chat (text, a PDF, a sticker): say what the bot needs."""
    state = bot_state(context)
    reply = state.flow.refusal(Refusal.NOT_IMAGE, await state.language(update))
    await update.effective_message.reply_text(reply.text, do_quote=True)


async def on_error(update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
    """Log and count the failure (exception class and update id only), then tell the user.

    The reply is in the user's own Telegram language: the settings store is not asked again,
    since it may be what failed.
    """
    state = bot_state(context)
    kind = type(context.error).__name__
    state.metrics.error(PLATFORM, kind)
    if not isinstance(update, Update):
        logger.warning("error outside an update: %s", kind)
        return
    logger.error("update %s failed: %s", update.update_id, kind)
    if update.effective_message is None:
        return
    user = update.effective_user
    language = state.catalog.negotiate(user.language_code if user else None)
    try:
        await update.effective_message.reply_text(state.catalog.text(language, "errors.failed"))
    except TelegramError as exc:
        logger.warning("update %s: could not say so: %s", update.update_id, type(exc).__name__)


def build_application(
    settings: Settings,
    engine: Engine,
    catalog: Catalog,
    store: ChatSettingsStore,
    metrics: Metrics,
    rate_limiter: BaseRateLimiter | None = None,
    photo_limiter: RateLimiter | None = None,
) -> Application:
    """The bot, wired to the engine, the words, the chat settings store and the metrics.

    At most as many updates run at once as the engine holds photos (workers plus queue), so
    the photos held in memory stay bounded; later updates wait their turn. Outgoing requests
    keep Telegram's flood limits and honour 429 `retry_after` (AIORateLimiter) unless
    `rate_limiter` says otherwise. Photos per user are limited by `photo_limiter`, by default
    the one the settings ask for (shared through Redis with `XINH_STORE_URL`). The Application
    closes `store` and the photo limiter at shutdown.
    """
    application = (
        Application.builder()
        .token(settings.telegram_token)
        .base_url(settings.telegram_api_url)
        .base_file_url(settings.telegram_file_url)
        .rate_limiter(rate_limiter or AIORateLimiter(max_retries=SEND_RETRIES))
        .concurrent_updates(engine.options.workers + engine.options.queue_limit)
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        .build()
    )
    limiter = photo_limiter or open_rate_limiter(settings, PLATFORM)
    application.bot_data[STATE_KEY] = BotState(settings, engine, catalog, store, metrics, limiter)
    application.add_handler(CommandHandler("start", start))
    application.add_handler(CommandHandler("help", help_command))
    application.add_handler(CommandHandler("privacy", privacy))
    application.add_handler(CommandHandler("lang", lang))
    application.add_handler(CommandHandler("rate", rate_command))
    application.add_handler(CallbackQueryHandler(language_chosen, pattern=f"^{LANGUAGE_CHOICE}"))
    application.add_handler(MessageHandler(IMAGE & filters.ChatType.PRIVATE, photo))
    application.add_handler(MessageHandler(IMAGE & filters.ChatType.GROUPS & AsksBot(), photo))
    application.add_handler(MessageHandler(filters.ChatType.PRIVATE, not_a_photo))
    application.add_error_handler(on_error)
    return application


def is_ready(application: Application) -> bool:
    """Models loaded and updates flowing (polling, or the webhook server serving)."""
    updater = application.updater
    polling = updater is not None and updater.running
    serving = polling or SERVER_KEY in application.bot_data
    return bot_state(application).models_ready and application.running and serving


async def _post_init(application: Application) -> None:
    """Before updates flow: health endpoint, commands in each language, models loaded."""
    state = bot_state(application)
    if state.settings.health_port:
        state.health = await serve_health(
            state.metrics,
            lambda: is_ready(application),
            state.settings.health_host,
            state.settings.health_port,
            {"chat settings store": state.store.healthy, "rate limit store": state.limiter.healthy},
        )
    for language in state.catalog.languages:
        commands = [
            BotCommand(name, state.catalog.text(language, f"commands.{name}")) for name in COMMANDS
        ]
        code = None if language == DEFAULT_LANGUAGE else language
        await application.bot.set_my_commands(commands, language_code=code)
    await asyncio.to_thread(state.engine.warm_up)
    state.models_ready = True
    logger.info("models loaded, bot @%s ready", application.bot.username)


async def _post_shutdown(application: Application) -> None:
    """Close what the bot opened: the health server, the settings store and the photo limiter."""
    state = bot_state(application)
    if state.health is not None:
        await state.health.close()
    await state.store.close()
    await state.limiter.close()


def finish_photos_within(application: Application, seconds: float) -> None:
    """Give photos in flight (and any still queued) `seconds` to finish; then they answer busy."""
    bot_state(application).flow.stop(seconds)


def _on_stop_signal(application: Application, stopped: asyncio.Event, polling: bool) -> None:
    logger.info("stopping: finishing photos in flight (up to %.0f s)", SHUTDOWN_GRACE_S)
    finish_photos_within(application, SHUTDOWN_GRACE_S)
    stopped.set()
    if polling:
        application.stop_running()


async def _connect(application: Application, stopped: asyncio.Event) -> bool:
    """Reach Telegram and check the token, retrying while the network is down; False when
    stopped first (the application is then shut down)."""
    if await until_reached(application.initialize, (NetworkError,), stopped, "Telegram"):
        return True
    await application.shutdown()
    await _post_shutdown(application)
    return False


def run(args: argparse.Namespace) -> int:
    """`xinh telegram`: serve until SIGTERM or Ctrl-C, finish the photos in flight, return 0."""
    settings = Settings.load()
    check_token(settings)
    webhook = webhook_config(settings, args)
    configure_logging(settings.log_level, settings.log_json)
    # python-telegram-bot logs whole updates (message text) and its URLs at DEBUG.
    logging.getLogger("telegram").setLevel(max(logging.INFO, logging.getLogger().level))
    engine = Engine.create(settings.models_path(), settings.engine_options())
    application = build_application(
        settings,
        engine,
        Catalog.load(),
        open_store(settings.store_url, settings.data_dir),
        Metrics(queue_depth=lambda: engine.queue_depth),
    )
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    stopped = asyncio.Event()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, _on_stop_signal, application, stopped, webhook is None)
    try:
        if not loop.run_until_complete(_connect(application, stopped)):
            loop.close()
        elif webhook is None:
            application.run_polling(allowed_updates=ALLOWED_UPDATES, stop_signals=None)
        else:
            loop.run_until_complete(run_webhook(application, webhook, ALLOWED_UPDATES, stopped))
            loop.close()
    except InvalidToken:
        raise ConfigError(
            "Telegram refused XINH_TELEGRAM_TOKEN: copy the token again from @BotFather"
        ) from None
    finally:
        engine.close()
    logger.info("stopped")
    return 0
