"""Browser tests: Debian's chromium driven by Playwright, on the real stack with API keys set.

No browser is downloaded: Playwright launches /usr/bin/chromium (`make chromium` installs it).
Every request a page makes to anywhere but the service is blocked and recorded, and a test fails
if any was attempted or if the page logged an error that the test did not expect. Screenshots
are kept in .run/screenshots/ (the README's pictures are copies of two of them).
"""

import os
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import (
    Browser,
    ConsoleMessage,
    Error,
    Page,
    Request,
    Route,
    expect,
    sync_playwright,
)

from tests.integration.conftest import (  # noqa: F401  (the hook shows the stack's logs)
    pytest_runtest_makereport,
)
from tests.integration.stacks import running_stack
from tools.stack import Stack

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
ROOT = Path(__file__).resolve().parents[2]
SHOTS = ROOT / ".run" / "screenshots"
OWNER, KEY = "alice", "alice-key-for-browser-tests"
# A name of the reserved .test domain that the browser alone resolves, to this machine: a page
# that rebinds its own name to the service's address (DNS rebinding). Nothing looks it up.
REBOUND = "rebind.test"
# Generous waits for a loaded 2-core machine: a wait ends as soon as its condition holds.
EXPECT_TIMEOUT_MS = 20_000
NAVIGATION_TIMEOUT_MS = 60_000
expect.set_options(timeout=EXPECT_TIMEOUT_MS)


# Package scope: Playwright's sync API keeps an event loop running while it is open, and the
# stack is only for these tests; both end when the browser tests do, before any other test runs.
@pytest.fixture(scope="package")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    keys = {"APP_API_KEYS": f"{OWNER}:{KEY}"}
    with running_stack(tmp_path_factory.mktemp("browser-stack"), app_env=keys) as running:
        yield running


@pytest.fixture(scope="package")
def base_url(stack: Stack) -> str:
    return stack.replicas[0].url


@pytest.fixture(scope="package")
def api(base_url: str) -> Iterator[httpx.Client]:
    """The API with the key, for setting up what a page then shows."""
    with httpx.Client(base_url=base_url, timeout=30.0, headers={"X-API-Key": KEY}) as client:
        yield client


@pytest.fixture(scope="package")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: `make chromium` installs Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=[f"--host-resolver-rules=MAP {REBOUND} 127.0.0.1"],
        )
        yield launched
        launched.close()


@dataclass
class Watch:
    """What a page did that it should not: requests off the origin, errors in its console."""

    origin: str
    off_origin: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)
    allowed: list[str] = field(default_factory=list)

    def allow(self, pattern: str) -> None:
        """An error the test provokes on purpose (e.g. the 401 of an action without a key)."""
        self.allowed.append(pattern)

    def route(self, route: Route, request: Request) -> None:
        if request.url == self.origin or request.url.startswith(self.origin + "/"):
            route.continue_()
        else:
            self.off_origin.append(request.url)
            route.abort("blockedbyclient")

    def console(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(message.text)

    def uncaught(self, error: Error) -> None:
        self.errors.append(f"uncaught: {error}")

    def unexpected(self) -> list[str]:
        return [e for e in self.errors if not any(re.search(p, e) for p in self.allowed)]


@pytest.fixture
def watch(base_url: str) -> Watch:
    return Watch(base_url)


@pytest.fixture
def page(browser: Browser, base_url: str, watch: Watch, request: Any) -> Iterator[Page]:
    context = browser.new_context(base_url=base_url, viewport={"width": 1280, "height": 900})
    context.set_default_navigation_timeout(NAVIGATION_TIMEOUT_MS)
    context.set_default_timeout(EXPECT_TIMEOUT_MS)
    context.route("**/*", watch.route)
    opened = context.new_page()
    opened.on("console", watch.console)
    opened.on("pageerror", watch.uncaught)
    try:
        yield opened
    finally:
        SHOTS.mkdir(parents=True, exist_ok=True)
        opened.screenshot(path=SHOTS / f"{request.node.name}.png", full_page=True)
        cookies = context.cookies()
        context.close()
    assert watch.off_origin == [], f"requests left the service's origin: {watch.off_origin}"
    assert watch.unexpected() == [], f"console errors: {watch.unexpected()}"
    assert cookies == [], "the pages set no cookie"
