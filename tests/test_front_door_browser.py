"""Issue #14 in the browser: Dan (a school DSL) raises a concern from his phone about a
child with no case room; his draft survives a reload; Fay, at the council's front door,
finds it in her queue, rates it, and opens a case room from it with the child's details
filled in; the concern is the room's first entry."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.browsing import Open
from tests.conftest import DAN, FAY

pytestmark = pytest.mark.browser

PHONE = {"width": 375, "height": 740}
WORDS = "Mum's boyfriend shouts at night and I can't sleep."


def test_a_concern_raised_on_a_phone_becomes_the_first_entry_of_a_new_room(
    visit: Open, password: str
) -> None:
    dan = visit(DAN, password, viewport=PHONE, is_mobile=True, has_touch=True)
    page = dan.go("/")
    page.get_by_role("link", name="Raise a concern").click()
    expect(page.get_by_role("heading", name="Raise a concern")).to_be_visible()
    page.get_by_label("Their name").fill("Riley Stone")
    page.get_by_label("Date of birth (if you know it)").fill("2015-05-05")
    page.get_by_label("What happened").fill("Arrived hungry again and flinched when I moved.")
    page.get_by_label("What the child said, in their own words").fill(WORDS)
    expect(page.locator("#draft-status")).to_have_text("Draft saved on this device.")
    # A dropped signal, a closed tab: the draft is still on the device.
    page.reload()
    expect(page.get_by_label("Their name")).to_have_value("Riley Stone")
    expect(page.get_by_label("What the child said, in their own words")).to_have_value(WORDS)
    fits = page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    assert fits, "the form is wider than a 375px phone"
    page.get_by_role("button", name="Send the concern").click()
    expect(page.get_by_role("heading", name="Concern sent")).to_be_visible()
    reference = page.get_by_test_id("concern-reference").inner_text()
    assert re.fullmatch(r"C-[A-Z0-9]{6}", reference)
    page.goto(dan.base + "/concerns/new")
    expect(page.get_by_label("Their name")).to_have_value("")  # the draft went with it

    fay = visit(FAY, password)
    queue = fay.go("/")
    queue.get_by_role("link", name="Front door").click()
    queue.get_by_role("link", name=reference).click()
    expect(queue.get_by_text(WORDS)).to_be_visible()
    queue.get_by_label("Amber").check()
    queue.get_by_role("button", name="Save rating").click()
    expect(queue.get_by_label("Amber")).to_be_checked()
    form = queue.get_by_test_id("open-room-form")
    expect(form.get_by_label("Child's full name")).to_have_value("Riley Stone")
    expect(form.get_by_label("Date of birth")).to_have_value("2015-05-05")
    form.get_by_role("button", name="Open a case room").click()
    expect(queue).to_have_url(re.compile(r"/rooms/[0-9a-f-]+$"))
    expect(queue.get_by_role("heading", name=re.compile("Riley Stone"))).to_be_visible()
    first = queue.locator("#messages li.message").first
    expect(first).to_contain_text(f"Concern raised ({reference})")
    expect(first).to_contain_text(WORDS)
    expect(first).to_contain_text("Dan Hughes")
