"""In Chromium (axe-core checks every page loaded), issue #16 item 4: Alex, the council's
administrator, adds an account for a new social worker; she sets her password from the
emailed link (a real SMTP server) and signs in to her (empty) rooms page. Alex then makes
Omar an IG lead, saying why."""

from __future__ import annotations

import dataclasses
import re

import pytest
from playwright.sync_api import expect

from tests.browsing import Open, Visitor
from tests.conftest import OMAR, LiveServer
from tests.conftest import user_by_email as person
from tests.mailbox import Mailbox
from tests.mailing import deliver, text_of
from tests.test_credentials_browser import alex_signed_in
from workspace.state import Caseroom

pytestmark = [pytest.mark.browser, pytest.mark.mail]

NADIA = "nadia.new@council.example"
NEW = "a kettle of lighthouses 7"


def alex_on_accounts(visit: Open, app: Caseroom, password: str) -> Visitor:
    alex = alex_signed_in(visit, app, password)
    alex.page.get_by_role("link", name="Accounts", exact=True).click()
    expect(alex.page.get_by_role("heading", level=1)).to_have_text("Accounts")
    return alex


def test_a_new_colleague_is_added_sets_her_password_and_signs_in(
    visit: Open, app: Caseroom, password: str, live_server: LiveServer, mailbox: Mailbox,
    quiet: None,
) -> None:  # fmt: skip
    app.settings = dataclasses.replace(app.settings, base_url=live_server.url)
    alex = alex_on_accounts(visit, app, password)
    page = alex.page
    adding = page.get_by_test_id("add-account")
    adding.get_by_text("Add an account").click()
    adding.get_by_label("Full name").fill("Nadia New")
    adding.get_by_label("Work email").fill("not an email")
    adding.get_by_role("button", name="Add account").click()
    expect(page.get_by_role("alert")).to_contain_text("Enter an email address in the right")
    adding = page.get_by_test_id("add-account")  # open again, with what was typed
    expect(adding.get_by_label("Full name")).to_have_value("Nadia New")
    adding.get_by_label("Work email").fill(NADIA)
    adding.get_by_label("Role").select_option(label="Practitioner")
    adding.get_by_label("Team", exact=True).select_option(index=1)
    adding.get_by_role("button", name="Add account").click()
    expect(page.get_by_test_id("done")).to_contain_text("a link to set its password was emailed")
    expect(page.locator(f'tr[data-email="{NADIA}"]')).to_contain_text("Nadia New")

    deliver(app)
    (mail,) = mailbox.to(NADIA)
    found = re.search(r"https?://\S+/password/[A-Za-z0-9_-]+", text_of(mail))
    assert found, text_of(mail)
    nadia = visit()
    form = nadia.go(found.group(0).removeprefix(live_server.url))
    expect(form.get_by_role("heading", level=1)).to_have_text("Set your password")
    form.get_by_label("New password", exact=True).fill(NEW)
    form.get_by_label("New password again").fill(NEW)
    form.get_by_role("button", name="Set password").click()
    expect(form.get_by_test_id("password-set")).to_be_visible()
    nadia.sign_in(NADIA, NEW)
    expect(nadia.page.get_by_role("heading", level=1)).to_have_text("My rooms")


def test_an_administrator_makes_a_practitioner_an_ig_lead_saying_why(
    visit: Open, app: Caseroom, password: str
) -> None:
    alex = alex_on_accounts(visit, app, password)
    page = alex.page
    row = page.locator(f'tr[data-email="{OMAR}"]')
    row.get_by_text("Role and team", exact=False).first.click()
    row.get_by_label("Role").select_option(label="Information-governance lead")
    row.get_by_role("button", name="Save role and team").click()
    expect(page.get_by_role("alert")).to_contain_text("Say why")
    assert person(app, OMAR).org_role == "practitioner"
    row = page.locator(f'tr[data-email="{OMAR}"]')
    row.get_by_label("Role").select_option(label="Information-governance lead")
    why = row.locator("details[open]").get_by_label("Why? (kept in the access log)")
    why.fill("Took over as IG lead")
    row.get_by_role("button", name="Save role and team").click()
    expect(page.get_by_test_id("done")).to_contain_text("its holder was told by email")
    expect(page.locator(f'tr[data-email="{OMAR}"]')).to_contain_text(
        "Information-governance lead"
    )
    assert person(app, OMAR).org_role == "ig_lead"
