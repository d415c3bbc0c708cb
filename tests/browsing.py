"""Shared browser fixtures: one Debian Chromium per test session (Playwright), a fresh
context per person, and a check that no page broke the Content-Security-Policy."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, expect, sync_playwright

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

    def csp_violations(self) -> list[str]:
        return [t for t in self.console_errors if "Content Security Policy" in t]

    def go(self, path: str) -> Page:
        self.page.goto(self.base + path)
        return self.page

    def sign_in(self, email: str, password: str) -> Page:
        page = self.go("/login")
        page.get_by_label("Email address").fill(email)
        page.get_by_label("Password").fill(password)
        with page.expect_navigation():
            page.get_by_role("button", name="Sign in").click()
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


