"""Browser tests: Playwright driving Debian's Chromium against real servers on loopback.

The browser is the system's Chromium (`executable_path`), never one Playwright downloads.
`LMSPLANS_TEST_CHROMIUM` names it and makes these tests required, as CI (`.ci/run`) does:
a missing browser then fails them. Without it, `/usr/bin/chromium` is used when present
and the tests are skipped, with that reason, where it is not.

The network is cut for every page: a route lets requests to loopback through and refuses
every other one (kept in `Browsing.refused`, so a test can say that a page needed nothing
from outside), and Chromium resolves no host name but loopback's.

Screenshots are kept under `tests/browser/artifacts/` (gitignored;
`LMSPLANS_TEST_ARTIFACTS` puts them elsewhere); the run's summary lists them.
"""

from __future__ import annotations

import os
import re
import shutil
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import uvicorn
from playwright.sync_api import Browser, ConsoleMessage, Page, Playwright, Route, sync_playwright
from starlette.types import ASGIApp

from tests.conftest import REPO_ROOT
from tests.e2e.conftest import (
    DemoSite,
    free_port,
    load_demo,
    # `lmsplans serve` on the demo: the end-to-end tier's fixture, here on this folder's
    # `demo_site` (which has no short rate-limit settings).
    server,  # noqa: F401
)

DEFAULT_CHROMIUM = "/usr/bin/chromium"
LAUNCH_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # No name resolves but loopback's: nothing can even be looked up outside.
    "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
STARTUP_SECONDS = 15.0

ARTIFACTS = Path(os.environ.get("LMSPLANS_TEST_ARTIFACTS", REPO_ROOT / "tests/browser/artifacts"))
_kept: list[Path] = []


def chromium_required() -> bool:
    return "LMSPLANS_TEST_CHROMIUM" in os.environ


def chromium_unavailable_reason() -> str | None:
    """Why no browser test can run here, or None (a required, missing browser raises)."""
    path = os.environ.get("LMSPLANS_TEST_CHROMIUM", DEFAULT_CHROMIUM)
    if shutil.which(path) is not None:
        return None
    message = f"Chromium is not installed at {path}"
    if chromium_required():
        raise RuntimeError(message)
    return message + " (Debian: apt-get install chromium); set LMSPLANS_TEST_CHROMIUM to require it"


@pytest.fixture(scope="session")
def chromium_path() -> str:
    reason = chromium_unavailable_reason()
    if reason:
        pytest.skip(reason)
    return os.environ.get("LMSPLANS_TEST_CHROMIUM", DEFAULT_CHROMIUM)


@pytest.fixture(scope="module")
def playwright(chromium_path: str) -> Iterator[Playwright]:
    # One per module: the sync API runs its own event loop, kept apart from the async tests'.
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="module")
def browser(playwright: Playwright, chromium_path: str) -> Iterator[Browser]:
    chromium = playwright.chromium.launch(executable_path=chromium_path, args=LAUNCH_ARGS)
    yield chromium
    chromium.close()


@dataclass
class Browsing:
    """A page in a fresh browser context, with what it tried and what it said."""

    page: Page
    name: str
    refused: list[str] = field(default_factory=list)  # requests the cut network refused
    errors: list[str] = field(default_factory=list)  # console errors and uncaught exceptions
    responses: dict[str, dict[str, str]] = field(default_factory=dict)  # URL: header fields

    def shot(self, label: str, *, full_page: bool = True) -> Path:
        """A screenshot kept as a test artefact."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9_.-]+', '-', self.name)}-{label}.png"
        self.page.screenshot(path=path, full_page=full_page)
        _kept.append(path)
        print(f"screenshot: {path}")
        return path

    def policy_violations(self) -> list[str]:
        return [error for error in self.errors if "Content Security Policy" in error]


def open_page(
    browser: Browser, name: str, *, viewport: dict[str, int] = DESKTOP, **options: Any
) -> tuple[Browsing, Any]:
    """A page behind the cut network; answers it and its context (close it when done)."""
    context = browser.new_context(viewport=viewport, **options)  # type: ignore[arg-type]
    page = context.new_page()
    browsing = Browsing(page, name)

    def gate(route: Route) -> None:
        host = urlsplit(route.request.url).hostname or ""
        if host.strip("[]") in LOOPBACK:
            route.continue_()
        else:
            browsing.refused.append(route.request.url)
            route.abort("blockedbyclient")

    def console(message: ConsoleMessage) -> None:
        if message.type == "error":
            browsing.errors.append(message.text)

    context.route("**/*", gate)
    page.on("console", console)
    page.on("pageerror", lambda error: browsing.errors.append(f"uncaught: {error}"))
    page.on("response", lambda r: browsing.responses.__setitem__(r.url, r.headers))
    return browsing, context


@pytest.fixture
def browsing(browser: Browser, request: pytest.FixtureRequest) -> Iterator[Browsing]:
    """A desktop-sized page behind the cut network."""
    page, context = open_page(browser, request.node.name)
    yield page
    context.close()


@pytest.fixture(scope="module")
def demo_site(tmp_path_factory: pytest.TempPathFactory) -> DemoSite:
    """A small demo database made by `lmsplans demo --no-serve`."""
    return load_demo(tmp_path_factory.mktemp("browser-demo"))


@contextmanager
def serving_in_thread(app: ASGIApp) -> Iterator[str]:
    """uvicorn serving `app` on a free loopback port in a thread; answers its base URL."""
    port = free_port()
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="off")
    preview = uvicorn.Server(config)
    thread = threading.Thread(target=preview.run, name="uvicorn-preview", daemon=True)
    thread.start()
    deadline = time.monotonic() + STARTUP_SECONDS
    while not preview.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            pytest.fail("the preview server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        preview.should_exit = True
        thread.join(timeout=STARTUP_SECONDS)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if _kept:
        terminalreporter.write_line(f"browser screenshots ({len(_kept)}) in {ARTIFACTS}")
