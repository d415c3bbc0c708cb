"""Shared browser fixtures: one Debian Chromium per test session (Playwright), a fresh
context per person, and checks on every page any browser test loads: no page broke the
Content-Security-Policy, and axe-core finds nothing serious or critical (WCAG 2.2 AA)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from axe_playwright_python.sync_playwright import Axe
from playwright.sync_api import Browser, BrowserContext, Error, Page, expect, sync_playwright

from tests.conftest import LiveServer

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
POLICE_NOTE = "Police intelligence: mum's new partner has a previous conviction"
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"

expect.set_options(timeout=5_000)

AXE = Axe()  # axe-core, as bundled by axe-playwright-python (pinned in requirements.lock)
AXE_OPTIONS = {
    "runOnly": {"type": "tag", "values": ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa", "wcag22aa"]},
    "resultTypes": ["violations"],
}
AXE_FAILS_ON = ("serious", "critical")


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not Path(CHROMIUM).exists():
        pytest.fail("browser tests need Debian's chromium: `make chromium` installs it")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True
        )
        yield browser
        browser.close()


class Visitor:
    """One person at one browser: a fresh context (own cookies), one tab, and what the
    console said."""

    def __init__(self, context: BrowserContext, base: str) -> None:
        self.context = context
        self.base = base
        self.page = context.new_page()
        self.console_errors: list[str] = []
        self.page_errors: list[str] = []
        self.page.on(
            "console",
            lambda m: self.console_errors.append(m.text) if m.type == "error" else None,
        )
        self.page.on("pageerror", lambda e: self.page_errors.append(str(e)))
        self.axe_violations: list[str] = []
        self.axe_checked: list[str] = []
        self._axe_due = False  # a page has begun loading and axe-core has not seen it yet
        # Every page this visitor loads is checked as it loads, so each browser test
        # checks the pages it visits without asking.
        self.page.on("domcontentloaded", self._loading)
        self.page.on("load", self._axe)

    def _loading(self, _page: Page) -> None:
        self._axe_due = True

    def _axe(self, page: Page) -> None:
        try:
            self._check(page)
        finally:  # only now: the test's own code runs while axe-core's answer is awaited
            self._axe_due = False

    def _check(self, page: Page) -> None:
        url = page.url
        try:
            results = AXE.run(page, options=AXE_OPTIONS)
        except Error as exc:
            if page.is_closed() or page.url != url or "destroyed" in str(exc):
                return  # the test moved on before axe finished: the next load is checked
            if "already running" in str(exc):
                return  # a check of this very document is under way (a load seen twice)
            self.axe_violations.append(f"{url}: axe-core did not run: {exc}")
            return
        self.axe_checked.append(url)
        for v in results.response["violations"]:
            if v["impact"] in AXE_FAILS_ON:
                targets = "; ".join(", ".join(n["target"]) for n in v["nodes"])
                self.axe_violations.append(f"{url}: {v['id']} ({v['impact']}) {targets}")

    def wait_for_axe(self, url: str, timeout: float = 5.0) -> None:
        """Until axe-core has checked `url` as it loaded (the check runs on Playwright's
        event loop, which turns only while we call into it)."""
        deadline = time.monotonic() + timeout
        while url not in self.axe_checked:
            assert time.monotonic() < deadline, f"axe-core never checked {url}"
            self.page.wait_for_timeout(20)

    def check_accessibility(self) -> list[str]:
        """axe-core on the page as it is now (after a script or htmx changed it)."""
        self._check(self.page)
        return self.axe_violations

    def csp_violations(self) -> list[str]:
        return [t for t in self.console_errors if "Content Security Policy" in t]

    def go(self, path: str) -> Page:
        self._settle()
        self.page.goto(self.base + path)
        return self.page

    def _settle(self) -> None:
        """Let axe-core finish with the page we are about to leave (its check runs when
        Playwright next turns its event loop, which a new navigation would pre-empt)."""
        deadline = time.monotonic() + 5
        while self._axe_due and time.monotonic() < deadline:
            self.page.wait_for_timeout(20)

    def sign_in(self, email: str, password: str) -> Page:
        page = self.go("/login")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
        self._settle()
        return page


Open = Callable[..., Visitor]


@pytest.fixture
def visit(browser: Browser, live_server: LiveServer) -> Iterator[Open]:
    """`visit()` opens a fresh browser context; `visit(email, password)` also signs in."""
    visitors: list[Visitor] = []

    def open_(email: str | None = None, password: str | None = None, **options: object) -> Visitor:
        context = browser.new_context(
            locale="en-GB",
            timezone_id="Europe/London",
            **options,  # type: ignore[arg-type]
        )
        visitor = Visitor(context, live_server.url)
        visitors.append(visitor)
        if email:
            assert password
            visitor.sign_in(email, password)
        return visitor

    yield open_
    for v in visitors:
        v.context.close()
    for v in visitors:
        assert v.csp_violations() == [], v.csp_violations()
        assert v.page_errors == [], v.page_errors
    for v in visitors:
        assert v.axe_violations == [], "\n".join(v.axe_violations)


