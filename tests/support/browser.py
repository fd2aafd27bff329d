"""Browser tests: the app served on a free local port, driven by Debian's Chromium headless.

Playwright only drives the browser; it never downloads one (`executable_path` is Debian's).
Screenshots go to `test-output/<test>/` (git-ignored) so a person can look at them.
"""
import re
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.support.services import require

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--no-first-run", "--disable-sync"]
OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


@pytest.fixture
def live_server(app):
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def chromium():
    require("Chromium", CHROMIUM.exists(), "apt-get install chromium")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - the test requirements install it
        require("playwright (pip)", False)
    playwright = sync_playwright().start()
    browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS,
                                         headless=True)
    yield browser
    browser.close()
    playwright.stop()


@pytest.fixture
def output_dir(request):
    folder = OUTPUT / re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)
    folder.mkdir(parents=True, exist_ok=True)
    return folder


@pytest.fixture
def new_page(chromium, live_server):
    """A factory of pages, each in its own browser context (its own cookies)."""
    contexts = []

    def make(width=1280, height=900):
        context = chromium.new_context(base_url=live_server,
                                       viewport={"width": width, "height": height})
        context.set_default_timeout(15_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def sign_in(page, email, password):
    page.goto("/login")
    page.fill("input[name=email]", email)
    page.fill("input[name=password]", password)
    page.click("button[type=submit]")
    page.wait_for_url(re.compile(r".*/(\?.*)?$"))
