"""`xinh demo`: the original web page, served locally so anyone can try Xinh without a token.

One page (title, intro, drop a photo, "Let's go!", the verdict, "Try again") rendered from the
locale catalogue, and one endpoint answering a photo with the reply the bots send, as JSON with
the numbered photo inline. Photos stay in memory; nothing is written to disk or logged.

    POST /api/rate?lang=vi   body: the photo's bytes   ->   {"outcome", "error", "text", "image"}
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import dataclasses
import functools
import html
import json
import logging
import string
from pathlib import Path

from aiohttp import web

from bots.ratelimit import LocalRateLimiter
from bots.replies import Reply, compose
from inference.annotate import annotate, encode_jpeg
from inference.engine import Engine
from inference.types import Analysis, Outcome
from locales import Catalog, negotiate
from xinh.logs import configure_logging
from xinh.settings import Settings

log = logging.getLogger(__name__)

STATIC = Path(__file__).resolve().parent / "demo_static"
DISPLAY_SIDE = 1280  # the returned photo's longest side: plenty for a screen, light to send
_PAGE_SECURITY = {
    "Content-Security-Policy": (
        "default-src 'self'; img-src 'self' data: blob:; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "X-Content-Type-Options": "nosniff",
}


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


def _is_image_type(content_type: str) -> bool:
    """Image types, and the generic type browsers send when they cannot tell (the decoder can)."""
    return content_type.startswith("image/") or content_type == "application/octet-stream"


def _photo_url(analysis: Analysis) -> str:
    """The photo with its faces boxed and numbered, shrunk for the screen, as a data URL."""
    canvas = annotate(analysis.pixels, [rated.face for rated in analysis.faces])
    jpeg = encode_jpeg(canvas, max_side=DISPLAY_SIDE)
    return "data:image/jpeg;base64," + base64.b64encode(jpeg).decode("ascii")


class _Demo:
    """The page and the photo endpoint, sharing one engine, catalogue and rate limiter."""

    def __init__(self, engine: Engine, catalog: Catalog, settings: Settings) -> None:
        self.engine = engine
        self.catalog = catalog
        self.limits = settings.engine_options().limits
        self.limiter = LocalRateLimiter(settings.rate_limit_per_minute)
        self.template = string.Template((STATIC / "page.html").read_text(encoding="utf-8"))

    def language(self, request: web.Request) -> str:
        """`?lang=` when given (the page's switch), else the browser's Accept-Language."""
        chosen = request.query.get("lang", "")
        if chosen in self.catalog.languages:
            return chosen
        header = request.headers.get("Accept-Language", "")
        return negotiate(*accepted_languages(header), available=self.catalog.languages)

    async def page(self, request: web.Request) -> web.Response:
        """The page in the visitor's language, every word from the catalogue."""
        language = self.language(request)
        other = next(code for code in self.catalog.languages if code != language)
        words = {
            key.removeprefix("page."): self.catalog.text(language, key)
            for key in self.catalog.strings[language]
            if key.startswith("page.")
        }
        values = {
            **words,
            "lang": language,
            "other_lang": other,
            "max_bytes": self.limits.max_bytes,
            "too_large": self._reply(language, Analysis(Outcome.TOO_LARGE)).text,
            "failed": self.catalog.text(language, "errors.failed"),
        }
        body = self.template.substitute({k: html.escape(str(v)) for k, v in values.items()})
        headers = {**_PAGE_SECURITY, "Content-Language": language, "Vary": "Accept-Language"}
        return web.Response(text=body, content_type="text/html", headers=headers)

    async def rate(self, request: web.Request) -> web.Response:
        """Rate one photo: limits first (rate, size, type), then the engine, then the reply."""
        language = self.language(request)
        if not await self.limiter.allow(request.remote or "unknown"):
            text = self.catalog.text(language, "errors.rate_limited", limit=self.limiter.limit)
            return _answer("rate_limited", text, status=429)
        if (request.content_length or 0) > self.limits.max_bytes:
            return self._refuse_too_large(language)
        if not _is_image_type(request.content_type):
            return _answer("not_image", self.catalog.text(language, "errors.not_image"), 415)
        try:
            data = await request.read()
        except web.HTTPRequestEntityTooLarge:
            return self._refuse_too_large(language)
        if not data:
            return _answer("not_image", self.catalog.text(language, "errors.not_image"), 400)
        try:
            analysis = await self.engine.analyze(data)
            reply = self._reply(language, analysis)
            image = None
            if analysis.faces and analysis.pixels is not None:
                image = await asyncio.to_thread(_photo_url, analysis)
        except Exception:
            log.exception("demo photo failed")
            return _answer("failed", self.catalog.text(language, "errors.failed"), 500)
        log.info("demo photo: %s, %d face(s)", analysis.outcome, len(analysis.faces))
        return _answer(reply.outcome, reply.text, image=image, error=reply.is_error)

    def _reply(self, language: str, analysis: Analysis) -> Reply:
        """The bots' reply; without pixels, as the page draws its own smaller numbered photo."""
        return compose(
            dataclasses.replace(analysis, pixels=None), language, self.catalog, self.limits
        )

    def _refuse_too_large(self, language: str) -> web.Response:
        reply = self._reply(language, Analysis(Outcome.TOO_LARGE))
        return _answer(reply.outcome, reply.text, status=413)


def _answer(
    outcome: str, text: str, status: int = 200, image: str | None = None, error: bool = True
) -> web.Response:
    """The endpoint's one JSON shape: an outcome (the engine's, or a refusal), the text to show,
    whether it is an error, and the numbered photo as a data URL when faces were found."""
    return web.json_response(
        {"outcome": str(outcome), "error": error, "text": text, "image": image},
        status=status,
        dumps=functools.partial(json.dumps, ensure_ascii=False),
    )


def create_app(engine: Engine, catalog: Catalog, settings: Settings) -> web.Application:
    """The demo's web application; the caller owns the engine (warm it up, close it)."""
    demo = _Demo(engine, catalog, settings)
    app = web.Application(client_max_size=settings.max_bytes)
    app.router.add_get("/", demo.page)
    app.router.add_post("/api/rate", demo.rate)
    app.router.add_static("/static", STATIC / "assets")
    return app


def run(args: argparse.Namespace) -> int:
    """Serve the demo page until interrupted: `xinh demo [--host H] [--port P]`."""
    settings = Settings.load()
    configure_logging(settings.log_level, settings.log_json)
    host = args.host or settings.demo_host
    port = settings.demo_port if args.port is None else args.port
    engine = Engine.create(settings.models_path(), settings.engine_options())
    try:
        engine.warm_up()
        app = create_app(engine, Catalog.load(), settings)
        print(f"Xinh demo: open http://{host}:{port}/ (Ctrl+C stops)", flush=True)
        web.run_app(app, host=host, port=port, access_log=None, print=None)
    finally:
        engine.close()
    return 0
