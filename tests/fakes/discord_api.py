"""A local Discord for tests: REST under /api/v10, the gateway websocket, attachment files.

The real discord.py client talks to it once `discord.http.Route.BASE` is `fake.api_url` and
`DiscordWebSocket.DEFAULT_GATEWAY` is `fake.gateway_url`. Every REST call is recorded as a
`Call`; `dispatch` pushes gateway events; the payload builders make the interactions and
messages Discord would send. JSON answers carry exactly `application/json` (discord.py parses
nothing else), and an unknown route answers 404 naming itself.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import os
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, TypeVar

import discord
import pytest
from aiohttp import WSMsgType, web

APP_ID = 700_000_000_000_000_001
GUILD_ID = 700_000_000_000_000_002
CHANNEL_ID = 700_000_000_000_000_003
DM_CHANNEL_ID = 700_000_000_000_000_004
USER_ID = 700_000_000_000_000_005
EPHEMERAL = 1 << 6
TIMESTAMP = "2025-01-01T00:00:00+00:00"

BOT_USER = {
    "id": str(APP_ID),
    "username": "xinh",
    "discriminator": "0",
    "global_name": None,
    "avatar": None,
    "bot": True,
}

T = TypeVar("T")


def user(user_id: int = USER_ID) -> dict[str, Any]:
    return {
        "id": str(user_id),
        "username": f"user{user_id % 1000}",
        "discriminator": "0",
        "global_name": None,
        "avatar": None,
    }


@dataclass
class Call:
    """One REST request: method, path after /api/v10, JSON body (or payload_json) and files."""

    method: str
    path: str
    body: Any = None
    files: dict[str, bytes] = field(default_factory=dict)

    @property
    def flags(self) -> int:
        data = self.body.get("data", self.body) if isinstance(self.body, dict) else {}
        return (data or {}).get("flags", 0) or 0


@dataclass
class _Session:
    ws: web.WebSocketResponse
    shard: list[int]
    seq: int = 0


def _guild_on(shard: list[int]) -> bool:
    """Whether the test guild belongs to this [shard id, shard count], by Discord's rule."""
    return (GUILD_ID >> 22) % shard[1] == shard[0]


def _json(payload: Any, status: int = 200) -> web.Response:
    return web.Response(
        status=status,
        body=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
    )


class FakeDiscord:
    """Discord's REST API, gateway and CDN on 127.0.0.1, recording what the bot does."""

    def __init__(self, guild_locale: str = "en-US") -> None:
        self.guild_locale = guild_locale
        self.refuse_login = False  # answer the login (GET /users/@me) 401, as for a bad token
        self.calls: list[Call] = []
        self.identifies: list[dict[str, Any]] = []
        self.downloads: list[str] = []
        self.downloads_open = asyncio.Event()
        self.downloads_open.set()
        self.port = 0
        self._files: dict[str, bytes] = {}
        self._sessions: list[_Session] = []
        self._ids = itertools.count(800_000_000_000_000_000)
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None

    async def start(self) -> FakeDiscord:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_get("/gateway", self._gateway)
        app.router.add_get("/files/{name}", self._file)
        app.router.add_route("*", "/api/v10/{path:.*}", self._rest)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        self.port = site._server.sockets[0].getsockname()[1]
        return self

    async def close(self) -> None:
        for session in list(self._sessions):
            await session.ws.close()
        if self._runner is not None:
            await self._runner.cleanup()

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v10"

    @property
    def gateway_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}/gateway"

    def next_id(self) -> int:
        return next(self._ids)

    # What the bot did, and waiting for it

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 15.0) -> T:
        """Wait until `predicate()` is truthy and return it (the timeout only catches hangs)."""
        async with self._changed:
            return await asyncio.wait_for(self._changed.wait_for(predicate), timeout)

    def calls_to(self, method: str, prefix: str) -> list[Call]:
        return [c for c in self.calls if c.method == method and c.path.startswith(prefix)]

    def callbacks(self, interaction: dict[str, Any]) -> list[Call]:
        return self.calls_to("POST", f"/interactions/{interaction['id']}/")

    def followups(self, interaction: dict[str, Any]) -> list[Call]:
        return [
            c
            for c in self.calls_to("POST", f"/webhooks/{APP_ID}/{interaction['token']}")
            if not c.path.endswith("@original")
        ]

    def deletions(self, interaction: dict[str, Any]) -> list[Call]:
        return self.calls_to("DELETE", f"/webhooks/{APP_ID}/{interaction['token']}/messages")

    def replies(self, channel_id: int) -> list[Call]:
        return self.calls_to("POST", f"/channels/{channel_id}/messages")

    # Payloads Discord would send

    def attachment(
        self,
        data: bytes,
        filename: str = "photo.jpg",
        content_type: str | None = "image/jpeg",
        size: int | None = None,
    ) -> dict[str, Any]:
        """Serve `data` as a CDN file and describe it as Discord does (size may be stated)."""
        attachment_id = str(self.next_id())
        self._files[attachment_id] = data
        url = f"http://127.0.0.1:{self.port}/files/{attachment_id}"
        payload = {
            "id": attachment_id,
            "filename": filename,
            "size": len(data) if size is None else size,
            "url": url,
            "proxy_url": url,
        }
        if content_type is not None:
            payload["content_type"] = content_type
        return payload

    def image_embed(self, data: bytes) -> dict[str, Any]:
        """A link embed of an image, as Discord makes for a pasted image URL."""
        file_id = str(self.next_id())
        self._files[file_id] = data
        proxied = f"http://127.0.0.1:{self.port}/files/{file_id}"
        return {
            "type": "image",
            "url": "https://images.example/photo.jpg",
            "thumbnail": {"url": "https://images.example/photo.jpg", "proxy_url": proxied},
        }

    def message(
        self,
        content: str = "",
        attachments: list[dict[str, Any]] | None = None,
        embeds: list[dict[str, Any]] | None = None,
        mentions_bot: bool = False,
        direct: bool = False,
        author: dict[str, Any] | None = None,
        replying_to: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A MESSAGE_CREATE payload, in the test guild's channel or in a DM."""
        payload: dict[str, Any] = {
            "id": str(self.next_id()),
            "channel_id": str(DM_CHANNEL_ID if direct else CHANNEL_ID),
            "author": author or user(),
            "content": content,
            "timestamp": TIMESTAMP,
            "edited_timestamp": None,
            "tts": False,
            "mention_everyone": False,
            "mentions": [BOT_USER] if mentions_bot else [],
            "mention_roles": [],
            "attachments": attachments or [],
            "embeds": embeds or [],
            "pinned": False,
            "type": 0,
            "flags": 0,
        }
        if not direct:
            payload["guild_id"] = str(GUILD_ID)
        if replying_to is not None:
            payload["type"] = 19
            payload["message_reference"] = {
                "message_id": replying_to["id"],
                "channel_id": replying_to["channel_id"],
            }
            payload["referenced_message"] = replying_to
        return payload

    def _interaction(
        self, data: dict[str, Any], locale: str, user_id: int, direct: bool
    ) -> dict[str, Any]:
        interaction_id = str(self.next_id())
        payload: dict[str, Any] = {
            "id": interaction_id,
            "application_id": str(APP_ID),
            "type": 2,
            "token": f"token-{interaction_id}",
            "version": 1,
            "locale": locale,
            "attachment_size_limit": 10 * 1024 * 1024,
            "app_permissions": "0",
            "entitlements": [],
            "authorizing_integration_owners": {"0": str(GUILD_ID)},
            "data": data,
        }
        if direct:
            payload["context"] = 1
            payload["channel_id"] = str(DM_CHANNEL_ID)
            payload["channel"] = {"id": str(DM_CHANNEL_ID), "type": 1}
            payload["user"] = user(user_id)
        else:
            payload["context"] = 0
            payload["guild_id"] = str(GUILD_ID)
            payload["guild_locale"] = self.guild_locale
            payload["channel_id"] = str(CHANNEL_ID)
            payload["channel"] = dict(self._channel(), guild_id=str(GUILD_ID))
            payload["member"] = {
                "user": user(user_id),
                "roles": [],
                "joined_at": TIMESTAMP,
                "deaf": False,
                "mute": False,
                "permissions": "0",
                "flags": 0,
            }
        return payload

    def slash(
        self,
        attachment: dict[str, Any],
        locale: str = "en-US",
        user_id: int = USER_ID,
        direct: bool = False,
    ) -> dict[str, Any]:
        """INTERACTION_CREATE for `/rate image:<attachment>`."""
        data = {
            "id": str(self.next_id()),
            "name": "rate",
            "type": 1,
            "options": [{"name": "image", "type": 11, "value": attachment["id"]}],
            "resolved": {"attachments": {attachment["id"]: attachment}},
        }
        return self._interaction(data, locale, user_id, direct)

    def context_menu(
        self, message: dict[str, Any], name: str, locale: str = "en-US", user_id: int = USER_ID
    ) -> dict[str, Any]:
        """INTERACTION_CREATE for the message context menu `name` used on `message`."""
        data = {
            "id": str(self.next_id()),
            "name": name,
            "type": 3,
            "target_id": message["id"],
            "resolved": {"messages": {message["id"]: message}},
        }
        return self._interaction(data, locale, user_id, direct=False)

    def _channel(self) -> dict[str, Any]:
        return {
            "id": str(CHANNEL_ID),
            "type": 0,
            "name": "general",
            "position": 0,
            "permission_overwrites": [],
            "nsfw": False,
            "parent_id": None,
        }

    def _guild(self) -> dict[str, Any]:
        return {
            "id": str(GUILD_ID),
            "name": "Xinh tests",
            "icon": None,
            "owner_id": str(USER_ID),
            "features": [],
            "roles": [],
            "emojis": [],
            "stickers": [],
            "members": [],
            "channels": [self._channel()],
            "threads": [],
            "member_count": 2,
            "large": False,
            "unavailable": False,
            "preferred_locale": self.guild_locale,
            "verification_level": 0,
            "default_message_notifications": 0,
            "explicit_content_filter": 0,
            "mfa_level": 0,
            "premium_tier": 0,
            "nsfw_level": 0,
        }

    # The gateway

    async def dispatch(self, event: str, data: dict[str, Any], shard: int = 0) -> None:
        """Send a gateway event on the connection of `shard`."""
        session = next(s for s in self._sessions if s.shard[0] == shard)
        await self._send_event(session, event, data)

    async def _send_event(self, session: _Session, event: str, data: dict[str, Any]) -> None:
        session.seq += 1
        await session.ws.send_json({"op": 0, "t": event, "s": session.seq, "d": data})

    async def _gateway(self, request: web.Request) -> web.WebSocketResponse:
        ws = web.WebSocketResponse()
        await ws.prepare(request)
        await ws.send_json({"op": 10, "d": {"heartbeat_interval": 45_000}})
        session: _Session | None = None
        async for frame in ws:
            if frame.type != WSMsgType.TEXT:
                continue
            payload = json.loads(frame.data)
            if payload["op"] == 1:
                await ws.send_json({"op": 11})
            elif payload["op"] == 2:
                identify = payload["d"]
                self.identifies.append(identify)
                session = _Session(ws, identify.get("shard", [0, 1]))
                self._sessions.append(session)
                await self._send_event(session, "READY", self._ready(session.shard))
                if _guild_on(session.shard):
                    await self._send_event(session, "GUILD_CREATE", self._guild())
                await self._notify()
        if session is not None:
            self._sessions.remove(session)
        return ws

    def _ready(self, shard: list[int]) -> dict[str, Any]:
        on_shard = _guild_on(shard)
        return {
            "v": 10,
            "user": BOT_USER,
            "guilds": [{"id": str(GUILD_ID), "unavailable": True}] if on_shard else [],
            "session_id": f"session-{shard[0]}",
            "resume_gateway_url": self.gateway_url,
            "application": {"id": str(APP_ID), "flags": 0},
            "shard": shard,
        }

    # The CDN

    async def _file(self, request: web.Request) -> web.Response:
        name = request.match_info["name"]
        self.downloads.append(name)
        await self._notify()
        await self.downloads_open.wait()
        if name not in self._files:
            return web.Response(status=404, text="no such file")
        return web.Response(body=self._files[name], content_type="application/octet-stream")

    # REST

    async def _rest(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["path"]
        call = Call(request.method, path)
        if request.content_type == "multipart/form-data":
            form = await request.post()
            for name, value in form.items():
                if name == "payload_json":
                    call.body = json.loads(str(value))
                elif isinstance(value, web.FileField):
                    call.files[value.filename] = value.file.read()
        elif request.can_read_body:
            call.body = await request.json()
        self.calls.append(call)
        response = self._answer(call)
        await self._notify()
        return response

    def _answer(self, call: Call) -> web.Response:
        parts = call.path.strip("/").split("/")
        route = (call.method, parts[0])
        if call.path == "/users/@me":
            if self.refuse_login:
                return _json({"message": "401: Unauthorized", "code": 0}, status=401)
            return _json(BOT_USER)
        if call.path == "/oauth2/applications/@me":
            return _json(self._application())
        if call.method == "PUT" and parts[0] == "applications":
            commands = [{"description": "", **c, "id": str(self.next_id())} for c in call.body]
            for command in commands:
                command.update(application_id=str(APP_ID), version="1")
            return _json(commands)
        if route == ("POST", "interactions") and parts[-1] == "callback":
            return _json(self._callback(parts[1], call))
        if route == ("DELETE", "webhooks"):
            return web.Response(status=204)
        if route == ("POST", "webhooks"):
            return _json(self._sent(call, CHANNEL_ID, author=BOT_USER))
        if route == ("POST", "channels") and parts[-1] == "typing":
            return web.Response(status=204)
        if route == ("POST", "channels") and parts[-1] == "messages":
            return _json(self._sent(call, int(parts[1]), author=BOT_USER))
        return _json(
            {"message": f"fake Discord has no route for {call.method} {call.path}", "code": 0},
            status=404,
        )

    def _application(self) -> dict[str, Any]:
        return {
            "id": str(APP_ID),
            "name": "Xinh",
            "icon": None,
            "description": "",
            "bot_public": True,
            "bot_require_code_grant": False,
            "owner": user(),
            "team": None,
            "verify_key": "0" * 64,
            "flags": 0,
        }

    def _callback(self, interaction_id: str, call: Call) -> dict[str, Any]:
        return {
            "interaction": {
                "id": interaction_id,
                "type": 2,
                "response_message_loading": call.body["type"] == 5,
                "response_message_ephemeral": bool(call.flags & EPHEMERAL),
            }
        }

    def _sent(self, call: Call, channel_id: int, author: dict[str, Any]) -> dict[str, Any]:
        body = call.body or {}
        message = self.message(content=body.get("content") or "", embeds=body.get("embeds"))
        message.update(channel_id=str(channel_id), author=author, flags=call.flags)
        return message


@asynccontextmanager
async def running_fake(
    monkeypatch: pytest.MonkeyPatch, guild_locale: str = "en-US"
) -> AsyncIterator[FakeDiscord]:
    """A started FakeDiscord, NO_PROXY covering it; discord.py's REST base and gateway are put
    back afterwards (by monkeypatch)."""
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setattr(discord.http.Route, "BASE", discord.http.Route.BASE)
    gateway = discord.gateway.DiscordWebSocket
    monkeypatch.setattr(gateway, "DEFAULT_GATEWAY", gateway.DEFAULT_GATEWAY)
    fake = await FakeDiscord(guild_locale).start()
    yield fake
    await fake.close()


async def start_discord_cli(
    fake: FakeDiscord, token: str, *args: str, **env: str
) -> asyncio.subprocess.Process:
    """`xinh discord ARGS` in a child process, logging in with `token` to the fake, health on
    port 0, without XINH_CONFIG; env adds to or overrides the variables; stdout and stderr
    are piped."""
    environment = {
        **os.environ,
        "XINH_DISCORD_TOKEN": token,
        "XINH_DISCORD_API_URL": fake.api_url,
        "XINH_DISCORD_GATEWAY_URL": fake.gateway_url,
        "XINH_HEALTH_PORT": "0",
        **env,
    }
    environment.pop("XINH_CONFIG", None)
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "xinh.cli",
        "discord",
        *args,
        env=environment,
        stderr=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
    )
