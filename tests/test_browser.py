"""Caseroom as new users click through it: a real Chromium (Playwright, Debian's
/usr/bin/chromium) against a real server on the demo world.

Every page runs under the strict Content-Security-Policy (no inline script, no inline
style): a CSP violation, or an uncaught script error, in any page of a test fails it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import Page, expect
from sqlmodel import select

from tests.browsing import POLICE_NOTE, UUID, Open
from tests.conftest import DAN, MARK, OMAR, SARAH
from tests.test_sign_in import totp_code
from workspace.models import Room
from workspace.models.child import Child
from workspace.state import Caseroom

pytestmark = pytest.mark.browser

def room_id_for(app: Caseroom, child_name: str) -> str:
    with app.db.session() as session:
        room = session.exec(
            select(Room).join(Child, Child.id == Room.child_id).where(Child.name == child_name)  # type: ignore[arg-type]
        ).one()
        return room.id


def expect_my_rooms(page: Page, *children: str) -> None:
    """The "My rooms" page lists exactly these children's rooms (in any order)."""
    expect(page.get_by_role("heading", level=1)).to_have_text("My rooms")
    links = page.locator("a.room-link")
    expect(links).to_have_count(len(children))
    assert sorted(links.all_inner_texts()) == sorted(children)


# --- a practitioner's day ----------------------------------------------------------------


def test_sarah_signs_in_reads_jamies_room_posts_a_fact_and_signs_out(
    visit: Open, password: str
) -> None:
    sarah = visit()
    page = sarah.go("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    page = sarah.sign_in(SARAH, password)
    expect(page).to_have_url(sarah.base + "/")
    expect_my_rooms(page, "Jamie Carter", "Lily Morgan")

    page.get_by_role("link", name="Jamie Carter").click()
    expect(page).to_have_url(re.compile(rf"/rooms/{UUID}$"))
    expect(page.get_by_role("heading", level=1)).to_contain_text("Jamie Carter")
    expect(page.get_by_test_id("child-name")).to_have_text("Jamie Carter")
    expect(page.get_by_test_id("child-dob")).to_have_text("14 March 2017")
    expect(page.get_by_test_id("child-nhs")).to_have_text("943 476 5919")
    members = page.locator("#members .member__name")
    expect(members).to_have_text(["Sarah Okafor", "DC Pete Walsh", "Hana Kowalski", "Dan Hughes"])
    messages = page.locator("#messages .message")
    expect(messages).to_have_count(4)
    police = messages.filter(has_text=POLICE_NOTE)
    expect(police).to_have_count(1)  # restricted, and Sarah is the lead
    expect(police.locator(".tag--restricted")).to_be_visible()

    # Post a fact: htmx swaps the list in place, no page load happens. A blank message
    # is refused in place first.
    page.evaluate("window.__sameDocument = true")
    page.get_by_label("New message").fill("   ")
    page.get_by_role("button", name="Post message").click()
    expect(page.locator("#messages").get_by_role("alert")).to_contain_text(
        "Write a message before posting it"
    )
    expect(page.locator("#messages-status")).to_have_text("The message was not posted.")
    expect(messages).to_have_count(4)
    page.get_by_label("New message").fill("Jamie attended school every day this week.")
    page.get_by_label("This is a").select_option("fact")
    page.get_by_role("button", name="Post message").click()
    expect(messages).to_have_count(5)
    posted = messages.last
    expect(posted).to_contain_text("Jamie attended school every day this week.")
    expect(posted.locator(".tag--fact")).to_have_text("fact")
    expect(posted).to_contain_text("Sarah Okafor")
    assert page.evaluate("window.__sameDocument") is True
    expect(page.get_by_label("New message")).to_have_value("")
    expect(page.get_by_label("New message")).to_be_focused()
    expect(page.locator("#messages-status")).to_have_text("Message posted.")

    # It was really saved: a reload shows it too.
    page.reload()
    expect(messages.filter(has_text="Jamie attended school every day")).to_have_count(1)

    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(sarah.base + "/login")
    page = sarah.go("/")
    expect(page).to_have_url(re.compile(r"/login\?next=/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Sign in to Caseroom")


def test_a_wrong_password_keeps_the_email_and_says_what_is_wrong(
    visit: Open, password: str
) -> None:
    v = visit()
    page = v.sign_in(SARAH, "not-the-password-at-all")
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.get_by_label("Email address")).to_have_value(SARAH)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My rooms")


def test_hide_screen_blanks_the_page_and_takes_the_child_out_of_the_title(
    visit: Open, password: str, app: Caseroom
) -> None:
    sarah = visit(SARAH, password)
    page = sarah.go(f"/rooms/{room_id_for(app, 'Jamie Carter')}")
    expect(page.get_by_test_id("child-name")).to_be_visible()
    assert "Jamie" not in page.title()  # tabs and history show the room reference only
    page.get_by_role("button", name="Hide screen").click()
    expect(page.get_by_role("button", name="Show screen")).to_be_focused()
    expect(page.get_by_test_id("child-name")).not_to_be_visible()
    expect(page).to_have_title("Caseroom")
    page.get_by_role("button", name="Show screen").click()
    expect(page.get_by_test_id("child-name")).to_be_visible()
    expect(page.get_by_role("button", name="Hide screen")).to_be_focused()


# --- need to know ------------------------------------------------------------------------


def test_omar_in_no_room_sees_no_rooms_and_jamies_url_is_page_not_found(
    visit: Open, password: str, app: Caseroom
) -> None:
    omar = visit(OMAR, password)
    page = omar.page
    expect_my_rooms(page)
    expect(page.get_by_text("You are not a member of any case room yet.")).to_be_visible()
    assert "Jamie" not in page.content() and "Lily" not in page.content()

    response = page.goto(f"{omar.base}/rooms/{room_id_for(app, 'Jamie Carter')}")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", level=1)).to_have_text("Page not found")
    hidden = page.locator("main").inner_text()
    assert "Jamie" not in page.content()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()  # still signed in
    # A room that does not exist looks exactly the same.
    response = page.goto(f"{omar.base}/rooms/00000000-0000-4000-8000-000000000000")
    assert response is not None and response.status == 404
    assert page.locator("main").inner_text() == hidden


def test_dan_the_school_dsl_never_receives_the_restricted_police_message(
    visit: Open, password: str
) -> None:
    dan = visit(DAN, password)
    page = dan.page
    expect_my_rooms(page, "Jamie Carter")
    page.get_by_role("link", name="Jamie Carter").click()
    expect(page.get_by_test_id("child-name")).to_have_text("Jamie Carter")
    expect(page.locator("#messages .message")).to_have_count(3)
    expect(page.locator("#messages")).to_contain_text("without breakfast")
    html = page.content()
    assert "Police intelligence" not in html
    assert "previous conviction" not in html
    expect(page.locator("#messages .message--restricted")).to_have_count(0)
    expect(page.locator("#messages .message__restricted:visible")).to_have_count(0)


# --- a manager: second factor, then the access log ----------------------------------------


def test_mark_sets_up_his_second_factor_then_reviews_his_teams_access(
    visit: Open, password: str, app: Caseroom
) -> None:
    # Sarah (Mark's team) opens Jamie's room: that view is what Mark should find.
    sarah = visit(SARAH, password)
    sarah.go(f"/rooms/{room_id_for(app, 'Jamie Carter')}")
    expect(sarah.page.get_by_test_id("child-name")).to_be_visible()

    mark = visit(MARK, password)
    page = mark.page
    expect(page).to_have_url(mark.base + "/account/second-factor")
    expect(page.get_by_role("heading", level=1)).to_have_text("Set up an authenticator app")
    # Until it is on, case pages send him back here.
    mark.go("/")
    expect(page).to_have_url(mark.base + "/account/second-factor")

    secret = page.get_by_test_id("totp-secret").inner_text().strip()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    wrong = "000000" if totp_code(secret) != "000000" else "111111"
    page.get_by_label("Code from the app").fill(wrong)
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("alert")).to_contain_text("There is a problem")
    expect(page.get_by_test_id("totp-secret")).to_have_text(secret)  # same key offered again

    used_code = totp_code(secret)
    page.get_by_label("Code from the app").fill(used_code)
    page.get_by_role("button", name="Turn on").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Your second factor is on")
    codes = page.get_by_test_id("recovery-codes").locator("li")
    expect(codes.first).to_be_visible()
    assert codes.count() >= 5
    recovery = codes.all_inner_texts()
    assert all(re.fullmatch(r"[a-z0-9]{4}-[a-z0-9]{4}", c) for c in recovery)

    page.get_by_role("link", name="Continue to my rooms").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My rooms")
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Access log").click()
    expect(page).to_have_url(mark.base + "/audit")
    expect(page.get_by_role("heading", level=1)).to_have_text("Access log")
    rows = page.locator("#results tbody tr")
    expect(rows.first).to_be_visible()
    sarah_views = rows.filter(has_text="Sarah Okafor").filter(
        has=page.locator('td[data-label="What"] .action', has_text=re.compile(r"^Opened a room$"))
    )
    expect(sarah_views.first).to_be_visible()
    expect(sarah_views.first).to_contain_text("Web page")

    # Filter (htmx, URL kept in the address bar) to room views only, chosen in words.
    page.get_by_label("Action").select_option(label="Opened a room")
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/audit\?.*action=view"))
    actions = page.locator("#results td[data-label=\"What\"] .action")
    expect(actions.first).to_have_text("Opened a room")
    assert set(actions.all_inner_texts()) == {"Opened a room"}
    # A manager reads the log, not the case.
    assert "Police intelligence" not in page.content()

    # Next sign-in asks for a code; the one already used is refused (no replay), and a
    # recovery code works once.
    page.get_by_role("button", name="Sign out").click()
    mark.sign_in(MARK, password)
    expect(page).to_have_url(mark.base + "/login/totp")
    page.get_by_label("Security code").fill(used_code)
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("alert")).to_contain_text("not right, or was used already")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    page.get_by_label("Security code").fill(recovery[0])
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My rooms")


# --- a lead opens a room and shares it ---------------------------------------------------


def test_sarah_opens_a_room_fixing_an_invalid_nhs_number_on_the_way(
    visit: Open, password: str
) -> None:
    sarah = visit(SARAH, password)
    page = sarah.page
    page.get_by_role("link", name="Open a room for a child").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Open a case room for a child")
    page.get_by_label("Full name").fill("Ava Patel")
    page.get_by_label("Date of birth").fill("2019-05-06")
    page.get_by_label("NHS number (optional)").fill("943 476 5918")  # wrong check digit
    page.get_by_label("Plan").select_option("early_help")
    page.get_by_role("button", name="Open room").click()

    summary = page.get_by_role("alert")
    expect(summary).to_contain_text("There is a problem")
    expect(summary).to_contain_text("Enter a valid NHS number")
    expect(summary).to_be_focused()
    nhs = page.get_by_label("NHS number (optional)")
    expect(nhs).to_have_value("943 476 5918")
    expect(nhs).to_have_attribute("aria-invalid", "true")
    expect(page.get_by_label("Full name")).to_have_value("Ava Patel")
    expect(page.get_by_label("Date of birth")).to_have_value("2019-05-06")
    expect(page.get_by_label("Plan")).to_have_value("early_help")
    summary.get_by_role("link", name=re.compile("NHS number")).click()
    expect(nhs).to_be_focused()

    nhs.fill("401 023 2137")
    page.get_by_role("button", name="Open room").click()
    expect(page).to_have_url(re.compile(rf"/rooms/{UUID}$"))
    expect(page.get_by_test_id("child-name")).to_have_text("Ava Patel")
    expect(page.get_by_test_id("child-nhs")).to_have_text("401 023 2137")
    expect(page.get_by_text("your role: lead")).to_be_visible()
    lead = page.locator("#members li").filter(has_text="Sarah Okafor")
    expect(lead.locator(".tag")).to_have_text("lead")
    page.get_by_role("link", name="My rooms").first.click()
    expect_my_rooms(page, "Ava Patel", "Jamie Carter", "Lily Morgan")


def test_sarah_adds_omar_and_omar_then_sees_the_room(
    visit: Open, password: str, app: Caseroom
) -> None:
    sarah = visit(SARAH, password)
    page = sarah.go(f"/rooms/{room_id_for(app, 'Jamie Carter')}")
    page.get_by_text("Add a member").click()
    page.get_by_label("Their work email").fill(OMAR)
    page.get_by_label("Purpose of sharing").fill("Covering the case while Sarah is on leave")
    page.get_by_label("Lawful basis").select_option("safeguarding")
    page.get_by_label("Given").check()
    page.get_by_role("button", name="Add member").click()
    expect(page).to_have_url(re.compile(rf"/rooms/{UUID}#members$"))
    omar_row = page.locator("#members li").filter(has_text="Omar Reid")
    expect(omar_row.locator(".tag")).to_have_text("member")

    omar = visit(OMAR, password)
    expect_my_rooms(omar.page, "Jamie Carter")
    omar.page.get_by_role("link", name="Jamie Carter").click()
    expect(omar.page.get_by_test_id("child-name")).to_have_text("Jamie Carter")
    expect(omar.page.get_by_text("your role: member")).to_be_visible()
    # Omar is council, not police: the restricted note stays hidden from him too.
    assert "Police intelligence" not in omar.page.content()


def test_adding_someone_without_an_account_explains_and_keeps_the_form(
    visit: Open, password: str, app: Caseroom
) -> None:
    sarah = visit(SARAH, password)
    page = sarah.go(f"/rooms/{room_id_for(app, 'Lily Morgan')}")
    page.get_by_text("Add a member").click()
    page.get_by_label("Their work email").fill("nobody@nowhere.example")
    page.get_by_label("Purpose of sharing").fill("Family support")
    page.get_by_role("button", name="Add member").click()
    expect(page.get_by_role("alert")).to_contain_text("no Caseroom account for that email")
    expect(page.get_by_label("Their work email")).to_have_value("nobody@nowhere.example")
    expect(page.get_by_label("Purpose of sharing")).to_have_value("Family support")


# --- the checks above would be vacuous if the CSP detector saw nothing -------------------


def test_the_csp_detector_sees_an_inline_style(visit: Open, password: str) -> None:
    v = visit()
    page = v.go("/login")
    page.evaluate("document.body.setAttribute('style', 'color: red')")
    for _ in range(40):  # the console message arrives asynchronously
        if v.csp_violations():
            break
        page.wait_for_timeout(50)
    assert v.csp_violations(), v.console_errors
    v.console_errors.clear()  # this one was on purpose


UNLABELLED_FIELDS = """() => Array.from(document.querySelectorAll(
    "input:not([type=hidden]), select, textarea"))
  .filter(el => el.labels.length === 0 && !el.getAttribute("aria-label"))
  .map(el => el.outerHTML)"""


def test_pages_fit_a_375px_phone_and_every_field_has_a_label(
    visit: Open, password: str, app: Caseroom
) -> None:
    anyone = visit(viewport={"width": 375, "height": 740})
    sarah = visit(SARAH, password, viewport={"width": 375, "height": 740})
    jamie = room_id_for(app, "Jamie Carter")
    pages = [(anyone, "/login")] + [
        (sarah, path) for path in ("/", f"/rooms/{jamie}", "/rooms/new", "/account", "/audit")
    ]
    for who, path in pages:
        page = who.go(path)
        expect(page.locator("h1")).to_have_count(1)
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 375, (path, width)
        assert page.evaluate(UNLABELLED_FIELDS) == [], path
