"""Mark, a team manager, reviews his team's access in the browser (issue #12, acceptance).

He signs in and finds his team's rooms on his home; filters the access log to one
practitioner and a date range; the address is a bookmark that opens the same results;
he opens "who has seen this child" for Jamie's room and exports the filter as CSV. A
practitioner gets 404 on these pages; the police team's manager sees Pete's activity and
none of the council team's.
"""

from __future__ import annotations

import csv
import io
import re

from playwright.sync_api import expect

from tests.browsing import Open, Visitor
from tests.conftest import DAN, MARK, PETE, PRIYA, SARAH, give_second_factor, user_by_email
from tests.test_browser import room_id_for
from tests.test_sign_in import totp_code
from workspace.state import Caseroom

TODAY = "2026-11-25"  # the test clock's day (tests/conftest.py)


def signed_in_with_code(visit: Open, app: Caseroom, email: str, password: str) -> Visitor:
    secret = give_second_factor(app, email)
    who = visit(email, password)
    who.page.get_by_label("Security code").fill(totp_code(secret))
    who.page.get_by_role("button", name="Continue").click()
    expect(who.page.get_by_role("heading", level=1)).to_have_text("My rooms")
    return who


def visit_rows(who: Visitor) -> list[str]:
    rows = who.page.locator("#results tbody tr.visit")
    expect(rows.first).to_be_visible()
    return [" ".join(t.split()) for t in rows.all_inner_texts()]


def test_mark_reviews_his_teams_access_from_his_home_to_a_csv(
    visit: Open, app: Caseroom, password: str
) -> None:
    jamie = room_id_for(app, "Jamie Carter")
    for email in (SARAH, PETE):  # what Mark should find: Sarah's and Pete's views
        person = visit(email, password) if email == SARAH else signed_in_with_code(
            visit, app, email, password
        )
        person.go(f"/rooms/{jamie}")
        expect(person.page.get_by_test_id("child-name")).to_be_visible()

    mark = signed_in_with_code(visit, app, MARK, password)
    page = mark.page
    team = page.get_by_test_id("overseen")
    expect(team.get_by_role("heading", level=2)).to_have_text("Your team's rooms")
    who_has_seen = f'a[href="/rooms/{jamie}/viewers"]'
    jamies = team.get_by_test_id("overseen-room").filter(has=page.locator(who_has_seen))
    expect(jamies).to_contain_text("Sarah Okafor")
    assert "Jamie Carter" not in team.inner_text()  # initials and age, not the name

    # The access log, filtered to one practitioner and one day.
    page.get_by_role("navigation", name="Main").get_by_role("link", name="Access log").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Access log")
    page.get_by_label("Person").fill("Sarah Okafor")
    page.get_by_label("From (UK date)").fill(TODAY)
    page.get_by_label("To (UK date)").fill(TODAY)
    page.get_by_role("button", name="Filter").click()
    expect(page).to_have_url(re.compile(r"/audit\?.*person=Sarah(\+|%20)Okafor.*from=2026-11-25"))
    expect(page.locator("#integrity")).to_contain_text("Chain intact")
    filtered = visit_rows(mark)
    assert all("Sarah Okafor" in row for row in filtered)
    assert any("Opened a room" in row for row in filtered)

    # The address is a bookmark: opened again, in a new tab, it shows the same.
    bookmark = page.url
    again = mark.context.new_page()
    again.goto(bookmark)
    expect(again.get_by_label("Person")).to_have_value("Sarah Okafor")
    rows = again.locator("#results tbody tr.visit")
    expect(rows.first).to_be_visible()
    assert [" ".join(t.split()) for t in rows.all_inner_texts()] == filtered
    again.close()

    # Export the filter as CSV: the same people, formulas harmless, audited.
    with page.expect_download() as download:
        page.get_by_role("link", name="Export these events as CSV").click()
    path = download.value.path()
    assert re.fullmatch(r"access-log-\d{4}-\d{2}-\d{2}\.csv", download.value.suggested_filename)
    with open(path, encoding="utf-8") as f:
        exported = list(csv.DictReader(io.StringIO(f.read())))
    assert exported and {r["person"] for r in exported} == {"Sarah Okafor"}

    # Who has seen Jamie, from his home.
    mark.go("/")
    jamies.get_by_role("link", name=re.compile("Who has seen this child")).click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Who has seen this child")
    viewers = page.get_by_test_id("viewers")
    expect(viewers).to_contain_text("Sarah Okafor")
    expect(viewers).to_contain_text(user_by_email(app, PETE).name)
    assert "Police intelligence" not in page.content()  # names and times, not the case


def test_a_practitioner_gets_404_on_the_managers_pages(
    visit: Open, app: Caseroom, password: str
) -> None:
    jamie = room_id_for(app, "Jamie Carter")
    dan = signed_in_with_code(visit, app, DAN, password)
    for path in (f"/rooms/{jamie}/viewers", "/audit/export.csv", "/audit/report.pdf",
                 "/audit/flags"):  # fmt: skip
        got = dan.page.request.get(dan.base + path)
        assert got.status == 404, path
    dan.go("/audit")
    expect(dan.page.get_by_text("No events you may review match.")).to_be_visible()


def test_the_police_manager_sees_petes_activity_and_none_of_the_council_teams(
    visit: Open, app: Caseroom, password: str
) -> None:
    jamie = room_id_for(app, "Jamie Carter")
    sarah = visit(SARAH, password)
    sarah.go(f"/rooms/{jamie}")
    pete = signed_in_with_code(visit, app, PETE, password)
    pete.go(f"/rooms/{jamie}")

    priya = signed_in_with_code(visit, app, PRIYA, password)
    priya.go("/audit")
    rows = visit_rows(priya)
    pete_name = user_by_email(app, PETE).name
    assert any(pete_name in row for row in rows)
    assert not any("Sarah Okafor" in row or "Mark Ellis" in row for row in rows)
    priya.go("/audit?person=Sarah+Okafor")
    expect(priya.page.get_by_text("No events you may review match.")).to_be_visible()
