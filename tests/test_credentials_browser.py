"""In Chromium (axe-core checks every page loaded): changing my password on the account
page, and an administrator disabling an account at /admin/users."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browsing import Open, Visitor
from tests.conftest import ALEX, OMAR, SARAH, give_second_factor
from tests.conftest import user_by_email as person
from tests.test_sign_in import totp_code
from workspace.state import Caseroom

pytestmark = pytest.mark.browser

NEW = "a brand new passphrase 42"


def alex_signed_in(visit: Open, app: Caseroom, password: str) -> Visitor:
    """Alex, the council's administrator, signed in with his authenticator."""
    secret = give_second_factor(app, ALEX)
    alex = visit(ALEX, password)
    alex.page.get_by_label("Security code").fill(totp_code(secret))
    alex.page.get_by_role("button", name="Continue").click()
    return alex


def test_changing_my_password_says_what_to_fix_then_keeps_me_signed_in(
    visit: Open, password: str
) -> None:
    sarah = visit(SARAH, password)
    page = sarah.go("/account")
    page.get_by_label("Current password").fill(password)
    page.get_by_label("New password (at least 12 characters)").fill(NEW)
    page.get_by_label("New password again").fill(NEW + "!")
    page.get_by_role("button", name="Change password").click()
    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("The new password and its repeat are not the same.")
    summary.get_by_role("link").click()  # the summary leads to the field to fix
    expect(page.get_by_label("New password again")).to_be_focused()

    page.get_by_label("Current password").fill(password)
    page.get_by_label("New password (at least 12 characters)").fill(NEW)
    page.get_by_label("New password again").fill(NEW)
    page.get_by_role("button", name="Change password").click()
    expect(page.get_by_test_id("password-changed")).to_be_visible()
    sarah.go("/")
    expect(page.get_by_role("heading", level=1)).to_have_text("My rooms")  # still signed in


def test_an_administrator_disables_an_account_with_a_reason(
    visit: Open, app: Caseroom, password: str
) -> None:
    page = alex_signed_in(visit, app, password).page
    page.get_by_test_id("admin-users-link").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Accounts")
    row = page.locator(f'tr[data-email="{OMAR}"]')
    row.get_by_text("Disable", exact=False).first.click()  # opens the confirmation
    row.get_by_role("button", name="Disable account").click()
    expect(page.get_by_role("alert")).to_contain_text("Say why.")  # nothing done yet
    assert not person(app, OMAR).disabled
    row = page.locator(f'tr[data-email="{OMAR}"]')
    why = row.locator("details[open]").get_by_label("Why? (kept in the access log)")
    why.fill("Left the council")
    row.get_by_role("button", name="Disable account").click()
    expect(page.get_by_test_id("done")).to_have_text("Done: account disabled.")
    expect(page.locator(f'tr[data-email="{OMAR}"]')).to_contain_text("disabled")
    assert person(app, OMAR).disabled
    page.set_viewport_size({"width": 375, "height": 740})  # the table stacks on a phone
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def test_disabling_a_practitioner_signs_out_the_room_she_has_open_elsewhere(
    visit: Open, app: Caseroom, password: str
) -> None:
    """Issue #16: Sarah has Jamie's room open, live, in her own browser; her administrator
    disables her account in another. Her open page is told her sign-in ended and its
    socket is closed at once; reloading finds her signed out, and she cannot sign in."""
    sarah = visit(SARAH, password)
    room = sarah.go("/")
    room.get_by_role("link", name="Jamie Carter").click()
    status = room.locator("#connection-status")
    expect(status).to_have_attribute("data-state", "live")

    page = alex_signed_in(visit, app, password).page
    # In the header, for administrators.
    page.get_by_role("link", name="Accounts", exact=True).click()
    row = page.locator(f'tr[data-email="{SARAH}"]')
    row.get_by_text("Disable", exact=False).first.click()
    why = row.locator("details[open]").get_by_label("Why? (kept in the access log)")
    why.fill("Left the council today")
    row.get_by_role("button", name="Disable account").click()
    expect(page.get_by_test_id("done")).to_contain_text("disabled")

    expect(status).to_have_attribute("data-state", "error", timeout=2000)
    expect(status).to_contain_text("ign in again")
    room.reload()
    expect(room).to_have_url(re.compile(r"/login"))
    room.get_by_label("Email address").fill(SARAH)
    room.get_by_label("Password").fill(password)
    room.get_by_role("button", name="Sign in", exact=True).click()
    expect(room.get_by_role("alert")).to_contain_text("not right")
    assert person(app, SARAH).disabled
