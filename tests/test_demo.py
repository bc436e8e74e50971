"""The demo page's server: the page in every language, a real photo rated, every refusal in the
page's own wording with its HTTP status, and what the API expects."""

from __future__ import annotations

import asyncio
import base64
import html
import io
import json
import re

import aiohttp
import numpy as np
import pytest
from aiohttp.test_utils import TestClient, TestServer
from PIL import Image
from skimage import data as skimage_data

from xinh.bots.demo import FLOW, STATIC, accepted_languages, create_app
from xinh.inference.engine import Engine
from xinh.locales import Catalog
from xinh.settings import Settings

MIB = 1024 * 1024
DISPLAY_SIDE = 1280  # the numbered photo's longest side on the page


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="module")
def engine():
    engine = Engine.create(None, Settings(workers=1).engine_options())
    engine.warm_up()
    yield engine
    engine.close()


@pytest.fixture
async def serve(engine, catalog):
    """A factory of test clients, each talking to the demo app built with the given settings."""
    clients: list[TestClient] = []

    async def start(catalog: Catalog = catalog, **settings: object) -> TestClient:
        """The app for these settings; an engine of their own when they change its limits."""
        chosen = settings.get("max_bytes") and Engine.create(
            None, Settings(**settings).engine_options()
        )
        app = create_app(chosen or engine, catalog, Settings(**settings))
        client = TestClient(TestServer(app))
        await client.start_server()
        clients.append(client)
        return client

    yield start
    for client in clients:
        await client.close()


def jpeg(pixels: np.ndarray) -> bytes:
    """Pixels as JPEG bytes, in memory."""
    buffer = io.BytesIO()
    Image.fromarray(pixels).save(buffer, "JPEG", quality=90)
    return buffer.getvalue()


async def post_photo(client: TestClient, body: bytes, language: str, kind: str = "image/jpeg"):
    response = await client.post(
        f"/api/rate?lang={language}", data=body, headers={"Content-Type": kind}
    )
    return response.status, await response.json()


async def raw_exchange(client: TestClient, request: bytes) -> tuple[bytes, dict]:
    """Send the bytes as they are on a new connection; the answer's head and its JSON body."""
    reader, writer = await asyncio.open_connection(client.host, client.port)
    writer.write(request)
    await writer.drain()
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), timeout=10)
    length = int(re.search(rb"Content-Length: (\d+)", head).group(1))
    body = json.loads(await reader.readexactly(length))
    writer.close()
    return head, body


@pytest.mark.parametrize(
    ("headers", "query", "language"),
    [
        ({"Accept-Language": "vi-VN,vi;q=0.9,en-US;q=0.8"}, "", "vi"),
        ({"Accept-Language": "en-GB,en;q=0.9"}, "", "en"),
        ({"Accept-Language": "fr-FR,fr;q=0.9"}, "", "en"),
        ({}, "", "en"),
        ({"Accept-Language": "en-US"}, "?lang=vi", "vi"),
        ({"Accept-Language": "vi"}, "?lang=en", "en"),
    ],
)
async def test_page_speaks_the_visitors_language(serve, catalog, headers, query, language):
    client = await serve()
    response = await client.get(f"/{query}", headers=headers)
    page = await response.text()

    assert response.status == 200
    assert response.headers["Content-Language"] == language
    assert f'<html lang="{language}">' in page
    for key in ("title", "intro_question", "intro_answer", "intro_ladies_only", "upload", "go"):
        assert html.escape(catalog.text(language, f"page.{key}")) in page
    others = [code for code in catalog.languages if code != language]
    for code in others:
        assert f'hreflang="{code}"' in page and catalog.text(code, "language_name") in page
    assert f'hreflang="{language}"' not in page
    assert "$" not in page


async def test_every_locale_file_is_offered_on_the_page(serve, tmp_path):
    for path in STATIC.parent.parent.joinpath("locales").glob("*.toml"):
        (tmp_path / path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    french = (tmp_path / "en.toml").read_text(encoding="utf-8")
    (tmp_path / "fr.toml").write_text(
        french.replace('language_name = "English"', 'language_name = "Français"'),
        encoding="utf-8",
    )
    client = await serve(catalog=Catalog.load(tmp_path))
    page = await (await client.get("/", headers={"Accept-Language": "fr-FR"})).text()
    assert '<html lang="fr">' in page
    assert 'hreflang="en"' in page and 'hreflang="vi"' in page


def test_accept_language_is_ranked_by_quality():
    header = "fr-CH, fr;q=0.9, en;q=0.5, vi;q=0.8, de;q=0"
    assert accepted_languages(header) == ["fr-CH", "fr", "vi", "en"]
    assert accepted_languages("") == []


async def test_page_needs_nothing_from_elsewhere(serve):
    client = await serve()
    page = await (await client.get("/")).text()
    assets = re.findall(r'(?:src|href)="(/static/[^"]+)"', page)

    assert sorted(assets) == ["/static/favicon.svg", "/static/xinh.css", "/static/xinh.js"]
    for path in assets:
        response = await client.get(path)
        text = await response.text()
        assert response.status == 200
        assert not re.search(r"https?://", text.replace("http://www.w3.org/2000/svg", ""))
    assert "default-src 'self'" in (await client.get("/")).headers["Content-Security-Policy"]


def test_page_and_script_hold_no_sentences():
    """Every word comes from locales/: the template only has placeholders in its text nodes."""
    template = (STATIC / "page.html").read_text(encoding="utf-8")
    text_nodes = re.findall(r">([^<>]+)<", template)
    words = [re.sub(r"\$\w+|Xinh", "", node) for node in text_nodes]
    assert not [word for word in words if re.search(r"\w", word)]
    script = (STATIC / "assets" / "xinh.js").read_text(encoding="utf-8")
    code = re.sub(r"//.*", "", script)
    literals = re.findall(r'"([^"]*)"', code)
    assert not [s for s in literals if re.search(r"[A-Za-z]+ [A-Za-z]+ [A-Za-z]+", s)]


@pytest.mark.parametrize("language", ["en", "vi"])
async def test_face_photo_gets_a_verdict_and_the_numbered_photo(
    serve, catalog, language, woman_jpeg
):
    client = await serve()
    status, answer = await post_photo(client, woman_jpeg, language)

    assert status == 200
    assert answer["outcome"] == "rated"
    assert answer["error"] is False
    verdicts = [catalog.text(language, f"verdict.{v}") for v in ("beautiful", "average")]
    headline = answer["text"].split("\n")[0]
    assert re.fullmatch(rf"({'|'.join(verdicts)}) · \d+\.\d/10", headline)
    assert catalog.text(language, "verdict.disclaimer") in answer["text"]
    prefix = "data:image/jpeg;base64,"
    assert answer["image"].startswith(prefix)
    image = Image.open(io.BytesIO(base64.b64decode(answer["image"].removeprefix(prefix))))
    assert image.format == "JPEG"
    assert image.size == Image.open(io.BytesIO(woman_jpeg)).size


async def test_large_photo_comes_back_screen_sized(serve):
    client = await serve()
    large = np.kron(skimage_data.astronaut(), np.ones((4, 4, 1), dtype=np.uint8))
    status, answer = await post_photo(client, jpeg(large), "en")

    assert status == 200
    assert answer["image"] is not None
    image = Image.open(io.BytesIO(base64.b64decode(answer["image"].split(",", 1)[1])))
    assert image.size == (DISPLAY_SIDE, DISPLAY_SIDE)


async def test_photo_without_a_face_is_told_so(serve, catalog):
    client = await serve()
    blank = np.full((240, 320, 3), 200, dtype=np.uint8)
    status, answer = await post_photo(client, jpeg(blank), "en")

    assert status == 200
    assert answer == {
        "outcome": "no_face",
        "error": True,
        "text": catalog.text("en", "errors.no_face"),
        "image": None,
    }


@pytest.mark.parametrize("language", ["en", "vi"])
async def test_text_file_gets_the_localized_error(serve, catalog, language):
    client = await serve()
    status, answer = await post_photo(client, b"just some notes\n", language, "text/plain")

    assert status == 415
    assert answer["text"] == catalog.text(language, "errors.demo.not_image")
    assert answer["error"] is True


async def test_text_file_of_unknown_type_is_refused_by_the_decoder(serve, catalog):
    client = await serve()
    status, answer = await post_photo(
        client, b"just some notes\n", "vi", "application/octet-stream"
    )

    assert status == 400
    assert answer["outcome"] == "unsupported"
    assert answer["text"] == catalog.text("vi", "errors.demo.unsupported")


async def test_oversize_is_refused_from_content_length_without_reading(serve, catalog):
    """The request announces 2 MiB but sends no body: the answer comes anyway."""
    client = await serve(max_bytes=MIB)
    head, body = await raw_exchange(
        client,
        b"POST /api/rate?lang=vi HTTP/1.1\r\nHost: demo\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: %d\r\n\r\n" % (2 * MIB),
    )

    assert head.startswith(b"HTTP/1.1 413")
    assert body["text"] == catalog.text("vi", "errors.demo.too_large", max_mb=1)
    assert "not a file" not in body["text"]


async def test_oversize_without_content_length_is_cut_off(serve, catalog):
    client = await serve(max_bytes=MIB)

    async def chunks():
        for _ in range(3):
            yield bytes(MIB // 2 + 1)

    response = await client.post(
        "/api/rate?lang=en", data=chunks(), headers={"Content-Type": "image/jpeg"}
    )

    assert response.status == 413
    text = (await response.json())["text"]
    assert text == catalog.text("en", "errors.demo.too_large", max_mb=1)


async def test_rate_limit_per_client_when_served_beyond_this_machine(serve, catalog):
    client = await serve(rate_limit_per_minute=2, demo_host="0.0.0.0")
    statuses = [(await post_photo(client, b"notes", "en", "text/plain"))[0] for _ in range(2)]
    status, answer = await post_photo(client, b"notes", "en", "text/plain")

    assert statuses == [415, 415]
    assert status == 429
    assert answer["text"] == catalog.text("en", "errors.demo.rate_limited", limit=2)


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "::1"])
async def test_no_rate_limit_on_a_loopback_address(serve, host):
    client = await serve(rate_limit_per_minute=2, demo_host=host)
    statuses = {(await post_photo(client, b"notes", "en", "text/plain"))[0] for _ in range(6)}
    assert statuses == {415}


@pytest.mark.parametrize("language", ["en", "vi"])
async def test_a_form_upload_is_told_what_the_api_expects(serve, catalog, language, woman_jpeg):
    client = await serve()
    form = aiohttp.FormData()
    form.add_field("photo", woman_jpeg, filename="me.jpg", content_type="image/jpeg")
    response = await client.post(f"/api/rate?lang={language}", data=form)

    assert response.status == 415
    answer = await response.json()
    assert answer["text"] == catalog.text(language, "errors.demo.raw_image")
    assert "Content-Type: image/*" in answer["text"]


async def test_no_content_type_is_told_what_the_api_expects(serve, catalog):
    client = await serve()
    head, body = await raw_exchange(
        client, b"POST /api/rate?lang=en HTTP/1.1\r\nHost: demo\r\nContent-Length: 5\r\n\r\nhello"
    )

    assert head.startswith(b"HTTP/1.1 415")
    assert body["text"] == catalog.text("en", "errors.demo.raw_image")


async def test_busy_is_503_before_the_body_is_read(serve, catalog):
    """Shutting down: the request announces 1 MiB but sends nothing; `busy` comes at once."""
    client = await serve()
    client.app[FLOW].stop(0)
    head, body = await raw_exchange(
        client,
        b"POST /api/rate?lang=vi HTTP/1.1\r\nHost: demo\r\nContent-Type: image/jpeg\r\n"
        b"Content-Length: %d\r\n\r\n" % MIB,
    )

    assert head.startswith(b"HTTP/1.1 503") and b"Retry-After: 5" in head
    assert body["outcome"] == "busy"
    assert body["text"] == catalog.text("vi", "errors.busy")
