"""Browser tests: Playwright driving Debian's Chromium against a real ASGI server.

Why daphne in a thread and not pytest-django's `live_server`: the console's live updates
come over WebSocket, which needs ASGI; and the event that an API call publishes must
reach the page's socket through the same in-memory channel layer, so the server runs
in this process. channels' ChannelsLiveServerTestCase starts daphne in another process,
which refuses SQLite's in-memory test database and has its own channel layer.

Twisted's reactor cannot be restarted, so one server serves the whole session; each
test still gets a fresh database (`transactional_db`), which the server's threads
reach through SQLite's shared-cache in-memory database (or PostgreSQL in CI).
"""

from __future__ import annotations

import os
import socket
import threading
from pathlib import Path

import pytest

CHROMIUM = "/usr/bin/chromium"
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
# Screenshots: test-artifacts/ at the repository root, or where TEST_ARTIFACTS_DIR says (.ci/run
# gives each of its two passes its own folder there, kept after the run: docs/testing.md).
ARTIFACTS = Path(os.environ.get("TEST_ARTIFACTS_DIR") or Path(__file__).resolve().parents[3] / "test-artifacts")
PHONE = {"width": 390, "height": 844}
DESKTOP = {"width": 1280, "height": 900}


def pytest_collection_modifyitems(items):
    for item in items:
        if "tests/console/browser" in str(item.fspath):
            item.add_marker(pytest.mark.browser)


class _AsgiServer:
    def __init__(self) -> None:
        self.port = 0
        self.ready = threading.Event()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def ws_url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self) -> None:
        # Import daphne.server first: it installs Twisted's asyncio reactor.
        from daphne.server import Server
        from django.contrib.staticfiles.handlers import ASGIStaticFilesHandler

        from config.asgi import application

        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        app = application
        # Serve /static/ (ECharts, CSS) the way `make run` does under DEBUG.
        app.application_mapping["http"] = ASGIStaticFilesHandler(app.application_mapping["http"])
        self.server = Server(
            application=app,
            endpoints=[f"tcp:port={self.port}:interface=127.0.0.1"],
            signal_handlers=False,
            ready_callable=self.ready.set,
        )
        self.thread = threading.Thread(target=self.server.run, name="daphne", daemon=True)
        self.thread.start()
        if not self.ready.wait(15):
            raise RuntimeError("daphne did not start")


_SERVER: _AsgiServer | None = None


@pytest.fixture
def asgi_server(transactional_db, settings):
    global _SERVER
    if _SERVER is None:
        _SERVER = _AsgiServer()
        _SERVER.start()
    settings.ALLOWED_HOSTS = ["*"]
    return _SERVER


@pytest.fixture(scope="module")
def _playwright(django_db_setup, django_db_blocker):
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed at /usr/bin/chromium")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API keeps an event loop running in this thread; Django's guard
    # would then refuse every ORM call of the test body and of the database teardown.
    # Module scope (not session) so that the guard is back on for the rest of the suite.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as pw:
            yield pw
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture(scope="module")
def chromium(_playwright):
    browser = _playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    yield browser
    browser.close()


@pytest.fixture
def new_page(chromium, asgi_server):
    contexts = []

    def make(viewport=DESKTOP):
        context = chromium.new_context(viewport=viewport, locale="zh-CN", base_url=asgi_server.url)
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield make
    for context in contexts:
        context.close()


def screenshot(page, name: str) -> None:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def login(page, username: str, password: str = "demo12345") -> None:
    page.goto("/console/login/")
    page.get_by_label("用户名").fill(username)
    page.get_by_label("密码").fill(password)
    page.get_by_role("button", name="登录").click()
    page.wait_for_url("**/console/")
