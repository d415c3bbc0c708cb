"""Invitations by email, clicked through (issue #5, part 1): Sarah invites a guest with no
account from the room page; the email reaches a real SMTP server; the guest, in a browser of
their own, follows the link, chooses a password, sets up an authenticator app and lands in
the room, where they see what was posted after they joined and nothing from before."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests import mailing
from tests.browsing import UUID, Open
from tests.conftest import SARAH
from tests.mailbox import Mailbox
from tests.mailing import deliver, room_of, text_of
from tests.test_sign_in import totp_code
from workspace.services.invitations import accept_limiter
from workspace.state import Caseroom

pytestmark = [pytest.mark.mail, pytest.mark.browser]

NORA = "nora.newcomer@youthclub.example"




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
    # Nora's youth club is not in the list: it is a new external organisation.
    expect(form.get_by_label("Their organisation")).to_have_value("")
    form.get_by_label("Name of a new organisation").fill("Oakfield Youth Club")
    form.get_by_label("Kind of new organisation").select_option("voluntary")
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
    guest.get_by_label("Code from the app").fill(totp_code(secret))
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
    expect(guest.locator("#notices-count")).to_be_hidden()

    # Sarah re-shares the earlier message (a recorded decision); it reaches Nora's open
    # page at once, in its place before the welcome, and the bell tells her.
    sharing = sarah.go(f"/rooms/{jamie.id}/sharing")
    sharing.get_by_text("Share an earlier message or plan version with someone in the room").click()
    share_form = sharing.locator(f"form[action='/rooms/{jamie.id}/shares']")
    earlier = share_form.locator("#share-item option", has_text="Strategy discussion before")
    share_form.get_by_label("Message").select_option(earlier.get_attribute("value"))
    nora_option = share_form.locator("#share-user option", has_text="Nora Newcomer")
    share_form.get_by_label("With").select_option(nora_option.get_attribute("value"))
    share_form.get_by_label("Why (purpose)").fill("Background the youth worker needs")
    share_form.get_by_label("Lawful basis").select_option("safeguarding")
    share_form.get_by_role("button", name="Share and record the decision").click()
    expect(sharing.get_by_role("table")).to_contain_text("Background the youth worker needs")
    items = guest.locator("#message-list > li")
    expect(items.first).to_contain_text("Strategy discussion before the youth worker joined")
    expect(items.last).to_contain_text("Welcome Nora, glad you could join")
    expect(guest.locator("#notices-count")).to_have_text("1")
    guest.get_by_test_id("notices-link").click()
    expect(guest.get_by_test_id("notices")).to_contain_text(
        f"Sarah Okafor shared an earlier message with you in case room {jamie.reference}"
    )


def test_sarah_invites_someone_from_an_organisation_in_the_list(
    visit: Open, password: str, app: Caseroom, mailbox: Mailbox
) -> None:
    jamie = room_of(app, "Jamie")
    mailing.empty_outbox(app, mailbox)
    page = visit(SARAH, password).go(f"/rooms/{jamie.id}")
    page.get_by_text("Add a member").click()
    form = page.locator(f"form[action='/rooms/{jamie.id}/invitations']")
    form.get_by_label("Their work email").fill(NORA)
    form.get_by_label("Purpose of sharing").fill("Neighbourhood officer")
    form.get_by_label("Given").check()
    form.get_by_label("Their organisation").select_option(label="Northshire Police (police)")
    # Naming a new one as well is refused, with what was entered kept.
    form.get_by_label("Name of a new organisation").fill("Northshire Police Cadets")
    form.get_by_role("button", name="Add member").click()
    expect(page.locator(".error-summary")).to_contain_text("not both")
    form = page.locator(f"form[action='/rooms/{jamie.id}/invitations']")
    expect(form.get_by_label("Their work email")).to_have_value(NORA)
    expect(form.get_by_label("Their organisation")).to_have_attribute("aria-invalid", "true")
    form.get_by_label("Name of a new organisation").fill("")
    form.get_by_role("button", name="Add member").click()
    expect(page).to_have_url(re.compile(rf"/rooms/{UUID}\?invited=1#members$"))
    expect(page.get_by_test_id("invitation").filter(has_text=NORA)).to_contain_text(
        "Northshire Police"
    )
