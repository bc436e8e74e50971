"""A fake Telegram Bot API server on 127.0.0.1, for running the real python-telegram-bot against.

It answers the methods Xinh uses (`POST /bot{token}/{method}`), serves files
(`GET /file/bot{token}/{path}`), hands queued updates to `getUpdates` (long polling included),
records every call, and fails a method on request (a 429 with `retry_after`, a 400...).
Unknown methods get HTTP 400 with a clear description and are listed in `unknown`.

    async with FakeTelegram() as fake:
        settings = Settings(telegram_token=TOKEN, **fake.urls())
        update = fake.photo_update(chat_id=42, data=jpeg_bytes)
        fake.push(update)                       # for polling; or Update.de_json(update, bot)
        reply = await fake.reply_to(update)     # the sendMessage/sendPhoto quoting it
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import re
import signal
import sys
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
from aiohttp import web
from telegram.ext import Application

from tests.child_process import free_port, reaped

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "123456789:" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4O5p6Q7r"

BOT_USER = {
    "id": 777000111,
    "is_bot": True,
    "first_name": "Xinh",
    "username": "xinh_test_bot",
    "can_join_groups": True,
    "can_read_all_group_messages": False,
    "supports_inline_queries": False,
}
_ENTITY = re.compile(r"(?P<command>^/\w+(?:@\w+)?)|(?P<mention>@\w+)")


@dataclass(frozen=True, slots=True)
class Call:
    """One request the bot made: its method, form fields (as sent) and uploaded files."""

    method: str
    params: dict[str, str]
    files: dict[str, bytes] = field(default_factory=dict)

    def value(self, name: str) -> Any:
        """A field decoded as JSON where it is JSON (numbers, objects), else the string."""
        raw = self.params[name]
        try:
            return json.loads(raw)
        except ValueError:
            return raw

    @property
    def chat_id(self) -> int | None:
        return int(self.params["chat_id"]) if "chat_id" in self.params else None

    @property
    def reply_to(self) -> int | None:
        """The message_id this message quotes (v22 sends reply_parameters)."""
        if "reply_parameters" not in self.params:
            return None
        return self.value("reply_parameters")["message_id"]

    @property
    def text(self) -> str:
        return self.params.get("text") or self.params.get("caption") or ""


@dataclass(frozen=True, slots=True)
class Failure:
    status: int
    description: str
    retry_after: int | None = None


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def entities(text: str) -> list[dict]:
    """Bot-command (at the start) and @mention entities, with Telegram's UTF-16 offsets."""
    found = []
    for match in _ENTITY.finditer(text):
        kind = "bot_command" if match.group("command") else "mention"
        found.append(
            {
                "type": kind,
                "offset": _utf16_len(text[: match.start()]),
                "length": _utf16_len(match.group()),
            }
        )
    return found


class FakeTelegram:
    """The fake server; use as `async with FakeTelegram() as fake`."""

    def __init__(self) -> None:
        self.calls: list[Call] = []
        self.downloads: list[str] = []
        self.unknown: list[str] = []
        self.files: dict[str, tuple[str, bytes]] = {}
        self.hold_downloads: asyncio.Event | None = None
        self.download_started = asyncio.Event()
        self.polling_stopped = asyncio.Event()
        self._failures: dict[str, list[Failure]] = defaultdict(list)
        self._updates: list[dict] = []
        self._update_added = asyncio.Condition()
        self._replies: dict[tuple[int, int], asyncio.Future[Call]] = {}
        self._ids = itertools.count(1)
        self._closing = False
        self._runner: web.AppRunner | None = None
        self.port = 0

    async def __aenter__(self) -> FakeTelegram:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/bot{token}/{method}", self._method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._download)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]  # aiohttp has no public accessor
        return self

    async def __aexit__(self, *_: object) -> None:
        """Release held downloads and long polls (aiohttp waits for open handlers), then stop."""
        if self.hold_downloads is not None:
            self.hold_downloads.set()
        self._closing = True
        async with self._update_added:
            self._update_added.notify_all()
        await self._runner.cleanup()

    def urls(self) -> dict[str, str]:
        """Settings fields pointing python-telegram-bot at this server."""
        base = f"http://127.0.0.1:{self.port}"
        return {"telegram_api_url": f"{base}/bot", "telegram_file_url": f"{base}/file/bot"}

    # Building updates -------------------------------------------------------------------

    def add_file(self, data: bytes) -> str:
        """Make bytes downloadable; returns their file_id."""
        file_id = f"file-{next(self._ids)}"
        self.files[file_id] = (f"photos/{file_id}.jpg", data)
        return file_id

    def message(
        self,
        chat_id: int,
        user_id: int | None = None,
        language: str | None = "en",
        first_name: str = "Lan",
        **content: Any,
    ) -> dict:
        """An incoming message dict: chats with negative ids are groups."""
        user_id = user_id or abs(chat_id)
        chat = (
            {"id": chat_id, "type": "private", "first_name": first_name}
            if chat_id > 0
            else {"id": chat_id, "type": "supergroup", "title": "Friends"}
        )
        sender = {"id": user_id, "is_bot": False, "first_name": first_name}
        if language:
            sender["language_code"] = language
        return {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": chat,
            "from": sender,
            **content,
        }

    def photo_message(
        self,
        chat_id: int,
        data: bytes,
        caption: str | None = None,
        size: int | None = None,
        **kwargs: Any,
    ) -> dict:
        """A compressed photo: a thumbnail the bot must not use, then the full size."""
        file_id = self.add_file(data)
        sizes = [
            {
                "file_id": "thumbnail-never-served",
                "file_unique_id": "t",
                "width": 90,
                "height": 90,
                "file_size": 1000,
            },
            {
                "file_id": file_id,
                "file_unique_id": file_id,
                "width": 800,
                "height": 800,
                "file_size": size or len(data),
            },
        ]
        content: dict[str, Any] = {"photo": sizes}
        if caption is not None:
            content |= {"caption": caption, "caption_entities": entities(caption)}
        return self.message(chat_id, **kwargs, **content)

    def document_message(
        self, chat_id: int, data: bytes, mime_type: str, file_name: str, **kwargs: Any
    ) -> dict:
        """A file sent as a document."""
        file_id = self.add_file(data)
        document = {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_name": file_name,
            "mime_type": mime_type,
            "file_size": len(data),
        }
        return self.message(chat_id, **kwargs, document=document)

    def text_message(self, chat_id: int, text: str, reply_to: dict | None = None, **kwargs) -> dict:
        content: dict[str, Any] = {"text": text, "entities": entities(text)}
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        return self.message(chat_id, **kwargs, **content)

    def update(self, **payload: Any) -> dict:
        """An update around a payload, e.g. `update(message=...)`."""
        return {"update_id": next(self._ids), **payload}

    def callback_update(self, chat_id: int, data: str, user_id: int | None = None) -> dict:
        """A press on an inline button of a message the bot sent in the chat."""
        shown = self.message(chat_id, user_id=BOT_USER["id"], text="…")
        shown["from"] = BOT_USER
        sender = {"id": user_id or abs(chat_id), "is_bot": False, "first_name": "Lan"}
        query = {
            "id": str(next(self._ids)),
            "from": sender,
            "chat_instance": "ci",
            "message": shown,
            "data": data,
        }
        return self.update(callback_query=query)

    def push(self, update: dict) -> None:
        """Queue an update for getUpdates."""
        self._updates.append(update)

        async def wake() -> None:
            async with self._update_added:
                self._update_added.notify_all()

        asyncio.get_running_loop().create_task(wake())

    # Looking at what the bot did --------------------------------------------------------

    def calls_to(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def replies(self) -> list[Call]:
        """Every message the bot sent (text or photo)."""
        return [c for c in self.calls if c.method in ("sendMessage", "sendPhoto")]

    async def reply_to(self, update: dict, timeout: float = 30) -> Call:
        """The next sendMessage/sendPhoto quoting the update's message."""
        message = update["message"]
        key = (message["chat"]["id"], message["message_id"])
        future = self._replies.setdefault(key, asyncio.get_running_loop().create_future())
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout)
        finally:
            if future.done():
                self._replies.pop(key, None)

    def fail(
        self,
        method: str,
        status: int,
        description: str,
        retry_after: int | None = None,
        times: int = 1,
    ) -> None:
        """Answer the next `times` calls of `method` with an error."""
        self._failures[method] += [Failure(status, description, retry_after)] * times

    # The server -------------------------------------------------------------------------

    async def _method(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        params: dict[str, str] = {}
        files: dict[str, bytes] = {}
        form = await request.post()
        for name, value in form.items():
            if isinstance(value, web.FileField):
                files[name] = value.file.read()
            else:
                params[name] = value
        call = Call(method, params, files)
        self.calls.append(call)
        if self._failures[method]:
            failure = self._failures[method].pop(0)
            body: dict[str, Any] = {
                "ok": False,
                "error_code": failure.status,
                "description": failure.description,
            }
            if failure.retry_after is not None:
                body["parameters"] = {"retry_after": failure.retry_after}
            return web.json_response(body, status=failure.status)
        answer = getattr(self, f"_{method}", None)
        if answer is None:
            self.unknown.append(method)
            return web.json_response(
                {
                    "ok": False,
                    "error_code": 400,
                    "description": f"Bad Request: the fake Bot API has no method {method}",
                },
                status=400,
            )
        result = await answer(call)
        if isinstance(result, web.Response):
            return result
        return web.json_response({"ok": True, "result": result})

    async def _download(self, request: web.Request) -> web.Response:
        path = request.match_info["path"]
        self.downloads.append(path)
        self.download_started.set()
        if self.hold_downloads is not None:
            await self.hold_downloads.wait()
        for file_path, data in self.files.values():
            if file_path == path:
                return web.Response(body=data, content_type="application/octet-stream")
        return web.Response(status=404, text="Not Found")

    async def _getMe(self, _: Call) -> dict:
        return BOT_USER

    async def _getFile(self, call: Call) -> dict | web.Response:
        file_id = call.params["file_id"]
        if file_id not in self.files:
            return web.json_response(
                {"ok": False, "error_code": 400, "description": "Bad Request: invalid file_id"},
                status=400,
            )
        path, data = self.files[file_id]
        return {
            "file_id": file_id,
            "file_unique_id": file_id,
            "file_size": len(data),
            "file_path": path,
        }

    def _sent(self, call: Call, **content: Any) -> dict:
        chat_id = call.chat_id
        chat = {"id": chat_id, "type": "private" if chat_id > 0 else "supergroup"}
        message = {
            "message_id": next(self._ids),
            "date": int(time.time()),
            "chat": chat,
            "from": BOT_USER,
            **content,
        }
        if call.reply_to is not None:
            key = (chat_id, call.reply_to)
            future = self._replies.setdefault(key, asyncio.get_running_loop().create_future())
            if not future.done():
                future.set_result(call)
        return message

    async def _sendMessage(self, call: Call) -> dict:
        return self._sent(call, text=call.params["text"])

    async def _sendPhoto(self, call: Call) -> dict:
        photo = [{"file_id": "sent-photo", "file_unique_id": "sp", "width": 800, "height": 600}]
        return self._sent(call, photo=photo, caption=call.params.get("caption", ""))

    async def _editMessageText(self, call: Call) -> dict:
        return self._sent(call, text=call.params["text"])

    async def _sendChatAction(self, _: Call) -> bool:
        return True

    async def _answerCallbackQuery(self, _: Call) -> bool:
        return True

    async def _setMyCommands(self, _: Call) -> bool:
        return True

    async def _setWebhook(self, _: Call) -> bool:
        return True

    async def _deleteWebhook(self, _: Call) -> bool:
        return True

    async def _getUpdates(self, call: Call) -> list[dict]:
        offset = int(call.params.get("offset", 0))
        timeout = float(call.params.get("timeout", 0))
        if timeout == 0:
            self.polling_stopped.set()

        def pending() -> list[dict]:
            return [u for u in self._updates if u["update_id"] >= offset]

        if not pending() and timeout:
            async with self._update_added:
                try:
                    await asyncio.wait_for(
                        self._update_added.wait_for(lambda: pending() or self._closing), timeout
                    )
                except TimeoutError:
                    return []
        return pending()[:100]


@asynccontextmanager
async def running(application: Application, polling: bool = True) -> AsyncIterator[Application]:
    """What run_polling does, inside the test's event loop (run_polling cannot nest in one).

    With polling=False the updater is left for the test (e.g. `updater.start_webhook`).
    """
    await application.initialize()
    await application.post_init(application)
    if polling:
        await application.updater.start_polling(poll_interval=0, timeout=1)
    await application.start()
    try:
        yield application
    finally:
        if application.updater.running:
            await application.updater.stop()
        if application.running:
            await application.stop()
        await application.shutdown()
        await application.post_shutdown(application)


async def start_cli(
    fake: FakeTelegram, data_dir: Path, health_port: int, *args: str, **env: str
) -> asyncio.subprocess.Process:
    """`xinh telegram ARGS` in a child process, talking to the fake; stderr is piped."""
    environment = {
        **os.environ,
        "NO_PROXY": "127.0.0.1,localhost",
        "XINH_TELEGRAM_TOKEN": TOKEN,
        "XINH_TELEGRAM_API_URL": fake.urls()["telegram_api_url"],
        "XINH_TELEGRAM_FILE_URL": fake.urls()["telegram_file_url"],
        "XINH_DATA_DIR": str(data_dir),
        "XINH_HEALTH_PORT": str(health_port),
        **env,
    }
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "xinh.cli",
        "telegram",
        *args,
        cwd=ROOT,
        env=environment,
        stderr=asyncio.subprocess.PIPE,
    )


async def wait_healthy(port: int, logs: asyncio.Task[bytes]) -> None:
    """Poll /healthz on the port until it answers 200; fail with the bot's stderr (`logs`, read
    to the end in a task) if the bot exits first."""
    async with httpx.AsyncClient() as client:
        while not await _healthy(client, port):
            assert not logs.done(), (await logs).decode()
            await asyncio.sleep(0.05)


async def _healthy(client: httpx.AsyncClient, port: int) -> bool:
    try:
        return (await client.get(f"http://127.0.0.1:{port}/healthz")).status_code == 200
    except httpx.TransportError:
        return False


@dataclass
class CliBot:
    """`xinh telegram` running in a child process, and its whole stderr read in a task."""

    process: asyncio.subprocess.Process
    logs: asyncio.Task[bytes]

    async def output(self) -> str:
        """Everything the bot wrote to stderr (waits until it has exited)."""
        return (await self.logs).decode()

    async def sigterm(self) -> int:
        """Send SIGTERM; the exit code once the bot has exited."""
        self.process.send_signal(signal.SIGTERM)
        return await self.process.wait()


@asynccontextmanager
async def healthy_cli(
    fake: FakeTelegram, data_dir: Path, *args: str, **env: str
) -> AsyncIterator[CliBot]:
    """`xinh telegram ARGS` (start_cli) with health on a free port, yielded once /healthz
    answers 200, killed on the way out unless it has exited by then."""
    health = free_port()
    process = await start_cli(fake, data_dir, health, *args, **env)
    bot = CliBot(process, asyncio.create_task(process.stderr.read()))
    async with reaped(process):
        await wait_healthy(health, bot.logs)
        yield bot


@asynccontextmanager
async def webhook_cli(
    fake: FakeTelegram, data_dir: Path, webhook_url: str, secret: str, **env: str
) -> AsyncIterator[tuple[CliBot, int]]:
    """healthy_cli in webhook mode: `--webhook-url WEBHOOK_URL`, the webhook server on a free
    port of 127.0.0.1, XINH_WEBHOOK_SECRET=SECRET; yields the bot and that port."""
    port = free_port()
    webhook = ("--webhook-url", webhook_url, "--listen", "127.0.0.1", "--port", str(port))
    async with healthy_cli(fake, data_dir, *webhook, XINH_WEBHOOK_SECRET=secret, **env) as bot:
        yield bot, port
