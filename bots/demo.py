"""`xinh demo`: the original web page, served locally so anyone can try Xinh without a token.

One page (title, intro, drop a photo, "Let's go!", the verdict, "Try again") rendered from the
locale catalogue, and one endpoint answering a photo through the bots' shared flow, as JSON
with the numbered photo inline. Photos stay in memory; nothing is written to disk or logged.

    POST /api/rate?lang=vi   body: the photo's raw bytes, Content-Type: image/*
        ->   {"outcome", "error", "text", "image"}

`busy` and the declared size are checked before the body is read. Bound to a loopback address
the page has no rate limit (it is the visitor's own machine); on any other address each
client address gets the bots' limit.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import functools
import html
import ipaddress
import json
import logging
import os
import signal
import string
from pathlib import Path

from aiohttp import web

from xinh.bots.flow import SHUTDOWN_GRACE_S, Photo, PhotoFlow
from xinh.bots.ratelimit import LocalRateLimiter
from xinh.bots.replies import Platform, Refusal, Reply
from xinh.inference.engine import Engine
from xinh.inference.types import Outcome
from xinh.locales import Catalog
from xinh.logs import configure_logging
from xinh.settings import ConfigError, Settings

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "demo_static"
RETRY_AFTER_S = 5
FLOW = web.AppKey("flow", PhotoFlow)
_PAGE_SECURITY = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}
_STATUS = {
    Refusal.RATE_LIMITED: 429,
    Refusal.NOT_IMAGE: 415,
    Refusal.TOO_LARGE: 413,
    Refusal.BUSY: 503,
    Refusal.FAILED: 500,
    Outcome.TOO_LARGE: 413,
    Outcome.UNREADABLE: 400,
    Outcome.UNSUPPORTED: 400,
    Outcome.BUSY: 503,
    Outcome.TIMEOUT: 503,
}
# What a browser sends for a file it cannot type; the decoder can tell.
_UNKNOWN_TYPE = "application/octet-stream"
_NOT_RAW = ("multipart/", "application/x-www-form-urlencoded")


def accepted_languages(header: str) -> list[str]:
    """The language tags of an Accept-Language header, most preferred first."""
    ranked = []
    for position, item in enumerate(header.split(",")):
        tag, _, params = item.partition(";")
        weight = 1.0
        name, _, value = params.strip().partition("=")
        if name.strip() == "q":
            try:
                weight = float(value)
            except ValueError:
                weight = 0.0
        if tag.strip() and weight > 0:
            ranked.append((-weight, position, tag.strip()))
    return [tag for _, _, tag in sorted(ranked)]


def is_loopback(host: str) -> bool:
    """Whether `host` (an address or name to bind) is this machine only."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _Demo:
    """The page and the photo endpoint, sharing one flow."""

    def __init__(self, flow: PhotoFlow) -> None:
        self.flow = flow
        self.catalog = flow.catalog
        self.template = string.Template((STATIC / "page.html").read_text(encoding="utf-8"))

    def language(self, request: web.Request) -> str:
        """`?lang=` when given (the page's switch), else the browser's Accept-Language."""
        chosen = request.query.get("lang", "")
        if chosen in self.catalog.languages:
            return chosen
        header = request.headers.get("Accept-Language", "")
        return self.catalog.negotiate(*accepted_languages(header))

    async def page(self, request: web.Request) -> web.Response:
        """The page in the visitor's language, every word from the catalogue."""
        language = self.language(request)
        words = {
            key.removeprefix("page."): self.catalog.text(language, key)
            for key in self.catalog.strings[language]
            if key.startswith("page.")
        }
        values = {
            **words,
            "lang": language,
            "max_bytes": self.flow.engine.options.limits.max_bytes,
            "too_large": self.flow.refusal(Refusal.TOO_LARGE, language).text,
            "failed": self.flow.refusal(Refusal.FAILED, language).text,
        }
        escaped = {key: html.escape(str(value)) for key, value in values.items()}
        body = self.template.substitute(escaped, switches=self._switches(language))
        headers = {**_PAGE_SECURITY, "Content-Language": language, "Vary": "Accept-Language"}
        return web.Response(text=body, content_type="text/html", headers=headers)

    def _switches(self, language: str) -> str:
        """One link per other language the catalogue holds, each named in its own language."""
        links = []
        for code in self.catalog.languages:
            if code != language:
                name = html.escape(self.catalog.text(code, "language_name"))
                links.append(
                    f'<a class="switch" href="?lang={code}" hreflang="{code}" lang="{code}">'
                    f"{name}</a>"
                )
        return "\n    ".join(links)

    async def rate(self, request: web.Request) -> web.Response:
        """Rate one photo through the flow; the body is read only once the checks pass."""
        language = self.language(request)
        kind = request.content_type
        if "Content-Type" not in request.headers or kind.startswith(_NOT_RAW):
            text = self.catalog.text(language, "errors.demo.raw_image")
            return _answer(Refusal.NOT_IMAGE, text, status=415)
        photo = Photo(
            sender=request.remote or "unknown",
            size=request.content_length,
            is_image=kind.startswith("image/") or kind == _UNKNOWN_TYPE,
        )
        try:
            reply = await self.flow.answer(photo, language, functools.partial(_body, request))
        except Exception:
            log.exception("demo photo failed")
            reply = self.flow.refusal(Refusal.FAILED, language)
        return _answer(reply.outcome, reply.text, image=_data_url(reply), error=reply.is_error)


async def _body(request: web.Request) -> bytes | None:
    """The request's body; None when it grows past the size limit."""
    try:
        return await request.read()
    except web.HTTPRequestEntityTooLarge:
        return None


def _data_url(reply: Reply) -> str | None:
    if reply.annotated_jpeg is None:
        return None
    return "data:image/jpeg;base64," + base64.b64encode(reply.annotated_jpeg).decode("ascii")


def _answer(
    outcome: Outcome | Refusal,
    text: str,
    status: int | None = None,
    image: str | None = None,
    error: bool = True,
) -> web.Response:
    """The endpoint's one JSON shape: an outcome (the engine's, or a refusal), the text to show,
    whether it is an error, and the numbered photo as a data URL when faces were found."""
    status = status or _STATUS.get(outcome, 200)
    headers = {"Retry-After": str(RETRY_AFTER_S)} if status in (429, 503) else None
    return web.json_response(
        {"outcome": outcome.value, "error": error, "text": text, "image": image},
        status=status,
        headers=headers,
        dumps=functools.partial(json.dumps, ensure_ascii=False),
    )


def create_app(
    engine: Engine, catalog: Catalog, settings: Settings, host: str | None = None
) -> web.Application:
    """The demo's web application for a server bound to `host` (default: the settings'); the
    caller owns the engine (warm it up, close it) and stops `app[FLOW]` at shutdown."""
    local = is_loopback(host or settings.demo_host)
    limiter = None if local else LocalRateLimiter(settings.rate_limit_per_minute)
    flow = PhotoFlow(Platform.DEMO, engine, catalog, limiter)
    demo = _Demo(flow)
    app = web.Application(client_max_size=settings.max_bytes)
    app[FLOW] = flow
    app.router.add_get("/", demo.page)
    app.router.add_post("/api/rate", demo.rate)
    app.router.add_static("/static", STATIC / "assets")
    return app


def run(args: argparse.Namespace) -> int:
    """Serve the demo page until interrupted: `xinh demo [--host H] [--port P]`."""
    settings = Settings.load()
    host = args.host or settings.demo_host
    port = settings.demo_port if args.port is None else args.port
    if not 0 < port < 65536:
        raise ConfigError(f"port {port} is invalid: choose one from 1 to 65535 (--port)")
    configure_logging(settings.log_level, settings.log_json)
    engine = Engine.create(settings.models_path(), settings.engine_options())
    try:
        app = create_app(engine, Catalog.load(), settings, host)
        asyncio.run(_serve(app, engine, host, port))
    finally:
        engine.close()
    return 0


async def _serve(app: web.Application, engine: Engine, host: str, port: int) -> None:
    """Listen (one clear line if the address is taken), load the models, announce, serve
    until SIGTERM or Ctrl+C, then let the photos in flight finish within the grace."""
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=SHUTDOWN_GRACE_S)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        reason = os.strerror(exc.errno) if exc.errno else type(exc).__name__
        raise ConfigError(
            f"cannot listen on {host}:{port}: {reason.lower()} (choose another --port or --host)"
        ) from None
    engine.warm_up()
    print(f"Xinh demo: open http://{host}:{port}/ (Ctrl+C stops)", flush=True)
    stopped = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stopped.set)
    await stopped.wait()
    log.info("stopping: finishing photos in flight (up to %.0f s)", SHUTDOWN_GRACE_S)
    app[FLOW].stop(SHUTDOWN_GRACE_S)
    await runner.cleanup()
