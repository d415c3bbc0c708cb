"""Invitations by email, clicked through (issue #5, part 1): Sarah invites a guest with no
account from the room page; the email reaches a real SMTP server; the guest, in a browser of
their own, follows the link, chooses a password, sets up an authenticator app and lands in
the room, where they see what was posted after they joined and nothing from before."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Page, expect

from tests import mailing
from tests.browsing import UUID, Open
from tests.conftest import SARAH
from tests.mailbox import Mailbox
from tests.mailing import deliver, room_of, text_of
from workspace.services.invitations import accept_limiter
from workspace.settings import Settings
from workspace.state import Caseroom

pytestmark = pytest.mark.browser

NORA = "nora.newcomer@youthclub.example"


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    yield from mailing.running_mailbox()


@pytest.fixture
def settings(settings: Settings, mailbox: Mailbox) -> Settings:
    return mailing.sending_to(settings, mailbox)


@pytest.fixture(autouse=True)
def _fresh_limit() -> Iterator[None]:
    yield
    accept_limiter.reset()


def post_message(page: Page, body: str) -> None:
    page.get_by_label("New message").fill(body)
    page.get_by_role("button", name="Post message").click()
    expect(page.locator("#message-list")).to_contain_text(body)


def test_sarah_invites_a_guest_who_joins_by_email_and_sees_only_what_came_after(
    visit: Open, password: str, app: Caseroom, mailbox: Mailbox
) -> None:
    jamie = room_of(app, "Jamie")
    mailing.empty_outbox(app, mailbox)
    sarah = visit(SARAH, password)
    page = sarah.go(f"/rooms/{jamie.id}")
    post_message(page, "Strategy discussion before the youth worker joined")

    page.get_by_text("Add a member").click()
    form = page.locator(f"form[action='/rooms/{jamie.id}/invitations']")
    form.get_by_label("Their work email").fill(NORA)
    form.get_by_label("Role", exact=True).select_option("guest")
    form.get_by_label("Purpose of sharing").fill("Youth worker supporting the child")
    form.get_by_label("Lawful basis").select_option("safeguarding")
    form.get_by_label("Given").check()
    form.get_by_label("Their organisation").fill("Oakfield Youth Club")
    form.get_by_label("Kind of organisation").select_option("voluntary")
    form.get_by_role("button", name="Add member").click()
    expect(page).to_have_url(re.compile(rf"/rooms/{UUID}\?invited=1#members$"))
    pending = page.get_by_test_id("invitation").filter(has_text=NORA)
    expect(pending).to_contain_text("guest")
    expect(pending.get_by_role("button", name="Revoke")).to_be_visible()

    deliver(app)
    [received] = mailbox.to(NORA)
    assert jamie.reference in text_of(received)
    link = re.search(r"https?://\S+?(/invite/\S+)", text_of(received))
    assert link

    nora = visit()
    guest = nora.go(link.group(1))
    expect(guest.get_by_role("heading", level=1)).to_have_text(f"Join case room {jamie.reference}")
    guest.get_by_label("Your full name").fill("Nora Newcomer")
    guest.get_by_label("Choose a password").fill("kettle orchard bicycle lantern")
    guest.get_by_role("button", name="Accept and continue").click()
    expect(guest.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    secret = guest.get_by_test_id("totp-secret").inner_text().strip()
    guest.get_by_label("Code from the app").fill(pyotp.TOTP(secret).now())
    guest.get_by_role("button", name="Turn on").click()
    expect(guest.get_by_test_id("recovery-codes")).to_be_visible()
    guest.get_by_role("link", name="Continue to the case room").click()
    expect(guest).to_have_url(re.compile(rf"/rooms/{jamie.id}$"))
    expect(guest.get_by_text("your role: guest")).to_be_visible()

    page.reload()
    post_message(page, "Welcome Nora, glad you could join")
    guest.reload()
    expect(guest.locator("#message-list")).to_contain_text("Welcome Nora, glad you could join")
    assert "Strategy discussion before" not in guest.content()
