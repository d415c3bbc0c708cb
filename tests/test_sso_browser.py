"""Signing in with one's own organisation, in Chromium (issue #16): Sarah types her work
email, chooses her organisation's sign-in, says who she is at its provider (a real
OpenID provider on loopback) and lands on her rooms."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator

import pytest
from oidc_provider_mock import run_server_in_thread
from playwright.sync_api import expect

from tests.browsing import Open
from tests.conftest import SARAH, LiveServer
from tests.test_sso import SECRET_VAR, configure, person
from workspace.services.demo import COUNCIL
from workspace.state import Caseroom

pytestmark = pytest.mark.browser


@pytest.fixture
def provider(
    app: Caseroom, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[str]:
    # The provider sends the browser back to where this server answers.
    app.settings = dataclasses.replace(app.settings, base_url=live_server.url)
    monkeypatch.setenv(SECRET_VAR, "not-in-the-repo")
    with run_server_in_thread() as server:
        issuer = f"http://localhost:{server.server_port}"
        configure(app, COUNCIL, issuer, "council.example")
        yield issuer


def test_sarah_signs_in_with_northshire_council_and_reaches_her_rooms(
    visit: Open, provider: str
) -> None:
    person(provider, "sarah-at-northshire", email=SARAH, email_verified=True, name="Sarah Okafor")
    sarah = visit()
    page = sarah.go("/login")
    page.get_by_label("Email address").fill(SARAH)
    page.get_by_role("button", name="Use your organisation's sign-in").click()
    page.get_by_role("link", name=f"Sign in with {COUNCIL}").click()
    # At the provider: its own page, not ours.
    page.wait_for_url(f"{provider}/oauth2/authorize*")
    page.get_by_placeholder("sub").fill("sarah-at-northshire")
    page.get_by_role("button", name="Authorize").click()
    page.wait_for_url(f"{sarah.base}/")
    expect(page.get_by_role("link", name="Jamie Carter")).to_be_visible()
    # axe-core and the page checks judge our pages; the provider's are not ours.
    sarah.axe_violations[:] = [v for v in sarah.axe_violations if not v.startswith(provider)]
    sarah.console_errors[:] = [e for e in sarah.console_errors if provider not in e]
