"""Regenerate docs/screenshot-demo.png: the demo page's answer to scikit-image's astronaut.

Starts `xinh demo` on a free port, uploads tests/data/astronaut.jpg (public domain) in
headless Chromium (Debian's /usr/bin/chromium), and saves the page as a 256-colour PNG.

    .venv/bin/python -m docs.make_screenshot
"""

from __future__ import annotations

import io
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from PIL import Image
from playwright.sync_api import sync_playwright

from tests.child_process import free_port
from tests.test_demo_browser import CHROMIUM, CHROMIUM_ARGS

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    port = free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "xinh.cli", "demo", "--port", str(port)],
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/?lang=en"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1)
                break
            except OSError:
                time.sleep(0.1)
        with sync_playwright() as playwright:
            browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
            page = browser.new_page(viewport={"width": 1000, "height": 900})
            page.goto(url)
            page.set_input_files("#photo", str(ROOT / "tests" / "data" / "astronaut.jpg"))
            page.locator("#go").click()
            page.locator("#result-image").wait_for(state="visible")
            shot = page.screenshot(full_page=True)
            browser.close()
    finally:
        server.terminate()
        server.wait()
    image = Image.open(io.BytesIO(shot)).convert("RGB")
    image = image.quantize(256, method=Image.Quantize.MEDIANCUT, kmeans=3)
    image.save(ROOT / "docs" / "screenshot-demo.png", optimize=True)
    print(f"wrote docs/screenshot-demo.png ({image.width}x{image.height})")


if __name__ == "__main__":
    main()
