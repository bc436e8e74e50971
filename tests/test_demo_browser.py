"""`xinh demo` end to end in a real headless Chromium: keyboard upload, verdict, error, language.

Screenshots of the three states land in $XINH_TEST_ARTIFACTS (default: the test's tmp_path).
"""

from __future__ import annotations

import http.client
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image
from playwright.sync_api import expect, sync_playwright

from tests.child_process import free_port
from xinh.locales import Catalog

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
ROOT = Path(__file__).resolve().parent.parent

pytestmark = pytest.mark.skipif(
    not CHROMIUM.exists(), reason="needs Debian's chromium at /usr/bin/chromium"
)


def wait_until_serving(server: subprocess.Popen, port: int, patience_s: float = 60) -> None:
    """Poll the page until it answers; fail with the server's output if it exits first."""
    deadline = time.monotonic() + patience_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            pytest.fail(f"xinh demo exited early:\n{server.stdout.read()}")
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
        try:
            connection.request("GET", "/")
            if connection.getresponse().status == 200:
                return
        except OSError:
            pass
        finally:
            connection.close()
        time.sleep(0.1)
    pytest.fail("xinh demo did not start serving in time")


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture(scope="module")
def demo_url():
    """The real `xinh demo` command, serving on a free port of 127.0.0.1."""
    port = free_port()
    env = {**os.environ, "NO_PROXY": "127.0.0.1,localhost", "XINH_WORKERS": "1"}
    server = subprocess.Popen(
        [sys.executable, "-m", "xinh.cli", "demo", "--host", "127.0.0.1", "--port", str(port)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    try:
        wait_until_serving(server, port)
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.terminate()
        server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def artifacts(tmp_path) -> Path:
    folder = Path(os.environ.get("XINH_TEST_ARTIFACTS") or tmp_path)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def page(browser, demo_url):
    """A fresh English-speaking desktop tab on the demo; fails the test on any page error or
    any request that leaves the demo server."""
    context = browser.new_context(locale="en-US", viewport={"width": 1000, "height": 800})
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(str(error)))

    def check_console(message) -> None:
        refusal = "the server responded with a status of 4" in message.text  # an API answer
        if message.type == "error" and not refusal:
            problems.append(message.text)

    def check_request(request) -> None:
        if not request.url.startswith((demo_url, "data:", "blob:")):
            problems.append(f"request to {request.url}")

    tab.on("console", check_console)
    tab.on("request", check_request)
    tab.goto(demo_url)
    yield tab
    context.close()
    assert not problems


def test_keyboard_upload_of_a_face_shows_the_verdict(
    page, catalog, tmp_path, artifacts, woman_jpeg
):
    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(woman_jpeg)

    for _ in range(10):
        if page.evaluate("document.activeElement.id") == "photo":
            break
        page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.id") == "photo"
    outline = page.eval_on_selector("#drop", "label => getComputedStyle(label).outlineStyle")
    assert outline != "none"
    # Headless Chromium opens the native chooser from the keyboard only some of the time, so
    # the file is chosen as Playwright documents it; focus stays on the input.
    page.set_input_files("#photo", photo)
    expect(page.locator("#preview")).to_be_visible()
    page.focus("#photo")
    page.keyboard.press("Tab")
    expect(page.get_by_role("button", name=catalog.text("en", "page.go"))).to_be_focused()
    page.keyboard.press("Enter")

    verdicts = "|".join(catalog.text("en", f"verdict.{v}") for v in ("beautiful", "average"))
    expect(page.locator(".headline")).to_have_text(re.compile(rf"^({verdicts}) · [\d.]+/10$"))
    expect(page.locator(".headline")).to_be_in_viewport()
    image = page.get_by_alt_text(catalog.text("en", "page.result_alt"))
    expect(image).to_be_visible()
    assert image.evaluate("img => img.naturalWidth") == Image.open(photo).width
    expect(page.locator(".fine")).to_have_text(catalog.text("en", "verdict.disclaimer"))
    page.screenshot(path=artifacts / "demo-verdict.png", full_page=True)

    page.get_by_role("button", name=catalog.text("en", "page.try_again")).click()
    expect(page.locator("#drop")).to_be_visible()
    expect(page.locator("#result")).to_be_hidden()


def test_dropped_text_file_shows_the_error(page, catalog, artifacts):
    page.eval_on_selector(
        "#drop",
        """drop => {
            const files = new DataTransfer();
            files.items.add(new File(["just some notes"], "notes.txt", {type: "text/plain"}));
            drop.dispatchEvent(new DragEvent("drop", {dataTransfer: files, bubbles: true}));
        }""",
    )
    expect(page.locator("#file-name")).to_have_text("notes.txt")
    page.get_by_role("button", name=catalog.text("en", "page.go")).click()

    error = page.locator("#result.is-error .lead")
    expect(error).to_have_text(catalog.text("en", "errors.demo.not_image"))
    expect(page.locator("#result-image")).to_be_hidden()
    page.screenshot(path=artifacts / "demo-error.png", full_page=True)


def test_language_switch_shows_the_vietnamese_page(page, catalog, artifacts):
    page.set_viewport_size({"width": 390, "height": 844})
    page.get_by_role("link", name=catalog.text("vi", "language_name")).click()

    expect(page.locator("html")).to_have_attribute("lang", "vi")
    expect(page.locator("h1")).to_have_text(catalog.text("vi", "page.title"))
    intro = page.locator(".intro")
    expect(intro).to_contain_text(catalog.text("vi", "page.intro_question"))
    go = page.get_by_role("button", name=catalog.text("vi", "page.go"))
    expect(go).to_be_visible()
    page.screenshot(path=artifacts / "demo-vietnamese-phone.png", full_page=True)


@pytest.mark.parametrize("viewport", [(1280, 800), (390, 844)])
def test_the_verdict_is_scrolled_into_view(page, catalog, tmp_path, woman_jpeg, viewport):
    width, height = viewport
    page.set_viewport_size({"width": width, "height": height})
    photo = tmp_path / "portrait.jpg"
    photo.write_bytes(woman_jpeg)
    page.set_input_files("#photo", photo)
    page.get_by_role("button", name=catalog.text("en", "page.go")).click()

    headline = page.locator(".headline")
    expect(headline).to_be_visible()
    expect(page.locator("#result-image")).to_be_visible()
    expect(headline).to_be_in_viewport(ratio=1)
