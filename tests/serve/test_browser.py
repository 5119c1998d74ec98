"""The page in a real browser: headless Chromium (Debian's package, driven by Playwright) uploads a
clip and a USPS-like digit, sees both pipelines answer each, opens an explanation and the stages,
and saves a screenshot: into the test's temporary folder, or where $E2ELAB_SERVE_SCREENSHOT says
(README's picture: ``E2ELAB_SERVE_SCREENSHOT=docs/images/serve.png pytest tests/serve/test_browser.py``).

Skips, saying why, where Playwright or /usr/bin/chromium is missing (``apt-get install -y chromium``).
"""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pytest

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 60_000  # a generous bound on one model step on a busy machine; never a measured figure


@pytest.fixture(scope="module")
def browser():
    sync_api = pytest.importorskip("playwright.sync_api", reason="Playwright is not installed (pip install playwright)")
    if not CHROMIUM.exists() and not shutil.which("chromium"):
        pytest.skip(f"no Chromium at {CHROMIUM} (apt-get install -y chromium)")
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium")),
                                              args=CHROMIUM_FLAGS)
        yield chromium
        chromium.close()


@pytest.fixture
def server_url(served):
    """The app on a free loopback port, served by uvicorn on a thread for the test's length."""
    import uvicorn

    from e2elab.serve.app import create_app

    server = uvicorn.Server(uvicorn.Config(create_app(served), host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    started = threading.Event()
    for _ in range(3000):  # until uvicorn has bound its socket
        if server.started:
            started.set()
            break
        thread.join(0.01)
    if not started.is_set():
        pytest.fail("the server did not start")
    port = server.servers[0].sockets[0].getsockname()[1]
    yield f"http://127.0.0.1:{port}"
    server.should_exit = True
    thread.join()


def usps_like(digit_png) -> bytes:
    """The 8 x 8 test digit at USPS's 16 x 16."""
    import io

    from PIL import Image

    pixels = np.asarray(Image.open(io.BytesIO(digit_png[0])))
    buffer = io.BytesIO()
    Image.fromarray(np.kron(pixels, np.ones((2, 2), np.uint8))).save(buffer, format="PNG")
    return buffer.getvalue()


def test_the_page_shows_both_pipelines_answers_and_an_explanation(browser, server_url, digit_png, clip_wav, tmp_path):
    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.set_default_timeout(WAIT_MS)
    page.goto(server_url)
    page.wait_for_selector("#models li >> nth=3")

    page.set_input_files("#file-input", files=[{"name": "clip.wav", "mimeType": "audio/wav", "buffer": clip_wav}])
    for model in ("speech-end-to-end", "speech-traditional"):
        page.wait_for_selector(f"#answer-{model} .transcript")
    assert page.is_visible("#preview-audio")

    page.set_input_files("#file-input", files=[{"name": "digit.png", "mimeType": "image/png", "buffer": usps_like(digit_png)}])
    for model in ("image-end-to-end", "image-traditional"):
        label = page.text_content(f"#answer-{model} .prediction", timeout=WAIT_MS)
        assert label in {"0", "1", "2"}
        assert page.locator(f"#answer-{model} .top li").count() == 3

    page.click("#explain-image-traditional")
    image = page.wait_for_selector("#explanation-image-traditional img")
    assert page.evaluate("(img) => img.complete && img.naturalWidth > 0", image)
    assert page.text_content("#explanation-image-traditional figcaption").strip()
    page.click("#stages-image-end-to-end")
    page.wait_for_selector("#stages-view-image-end-to-end .stage img")

    screenshot = Path(os.environ.get("E2ELAB_SERVE_SCREENSHOT") or tmp_path / "serve.png")
    screenshot.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(screenshot), full_page=True)
    page.close()
    assert screenshot.stat().st_size > 0


def test_the_page_fits_a_phone_width_window(browser, server_url):
    page = browser.new_page(viewport={"width": 375, "height": 740})
    page.goto(server_url)
    page.wait_for_selector("#models li >> nth=3")
    assert page.evaluate("document.documentElement.scrollWidth") <= 375  # no sideways scrolling
    page.close()
