"""Issue #14 in the browser: Dan (a school DSL) raises a concern from his phone about a
child with no case room; his draft survives a reload; Fay, at the council's front door,
finds it in her queue, rates it, and opens a case room from it with the child's details
filled in; the concern is the room's first entry. A photo sent with a concern is encrypted
on the phone and opened in the front door's browser."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from playwright.sync_api import Page, expect

from tests.browsing import Open
from tests.conftest import DAN, FAY, HOLLY, SARAH
from tests.file_world import PASSPHRASE as FILE_WORLD_PASSPHRASE
from tests.file_world import World
from tests.test_files_browser import PNG, make_keys

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


def test_a_photo_sent_with_a_concern_is_encrypted_on_the_phone_and_opens_at_the_front_door(
    visit: Open, password: str, world: World, tmp_path: Path
) -> None:
    """Dan adds a photo to his concern on his phone: his browser makes his keys, encrypts
    the photo to the front door and sends it with the concern. Fay opens it in hers."""
    world(FAY)  # the front door has keys (published with its passphrase, file_world)
    photo = tmp_path / "forearm.png"
    photo.write_bytes(PNG)
    dan = visit(DAN, password, viewport=PHONE, is_mobile=True, has_touch=True)
    page = dan.go("/concerns/new")
    page.get_by_label("Their name").fill("Riley Stone")
    page.get_by_label("What happened").fill("A bruise on the left forearm, about 3 cm.")
    page.get_by_label("Photos (optional)").set_input_files(str(photo))
    expect(page.locator("[data-photos-status]")).to_contain_text("1 photo chosen")
    make_keys(page)
    page.get_by_role("button", name="Send the concern").click()
    expect(page.get_by_role("heading", name="Concern sent")).to_be_visible()
    expect(page.get_by_test_id("concern-photos")).to_contain_text("1 photo went with it")
    reference = page.get_by_test_id("concern-reference").inner_text()
    assert re.fullmatch(r"C-[A-Z0-9]{6}", reference)

    fay = visit(FAY, password)
    contact = fay.go("/front-door")
    contact.get_by_role("link", name=reference).click()
    expect(contact.get_by_role("heading", name="Photos (1)")).to_be_visible()
    unlock(contact)
    item = contact.locator("li.photo")
    expect(item.locator("[data-photo-name]")).to_have_text("forearm.png", timeout=15_000)
    item.get_by_role("button", name="View").click()
    shown = item.get_by_role("img", name="forearm.png")
    expect(shown).to_be_visible()
    assert shown.evaluate("img => img.naturalWidth") == 1
    expect(item.locator("[data-photo-status]")).to_contain_text("Verified and decrypted")


def test_the_front_door_attaches_a_concern_and_gives_its_photo_to_the_rooms_lead(
    visit: Open, password: str, world: World, tmp_path: Path
) -> None:
    """Holly (housing, in no room) sends a concern about Jamie with a photo. Fay attaches it
    to Jamie's room and gives the photo's key to its lead; Sarah sees it under the entry."""
    world(FAY)
    world(SARAH)
    photo = tmp_path / "doorway.png"
    photo.write_bytes(PNG)
    holly = visit(HOLLY, password, viewport=PHONE, is_mobile=True, has_touch=True)
    page = holly.go("/concerns/new")
    page.get_by_label("Their name").fill("Jamie")
    page.get_by_label("NHS number (if you know it)").fill("9434765919")
    page.get_by_label("What happened").fill("Front door left open at night, no heating.")
    page.get_by_label("Photos (optional)").set_input_files(str(photo))
    make_keys(page)
    page.get_by_role("button", name="Send the concern").click()
    expect(page.get_by_test_id("concern-photos")).to_contain_text("1 photo went with it")
    reference = page.get_by_test_id("concern-reference").inner_text()

    fay = visit(FAY, password)
    contact = fay.go("/front-door")
    contact.get_by_role("link", name=reference).click()
    contact.get_by_role("button", name="Attach to the child's room").click()
    expect(contact.get_by_text("Attached", exact=False).first).to_be_visible()
    unlock(contact)
    item = contact.locator("li.photo")
    item.get_by_role("button", name="Give the key to 1 person who may see it").click()
    expect(item.locator("[data-photo-status]")).to_have_text("Given to Sarah Okafor.")

    sarah = visit(SARAH, password)
    room = sarah.go("/")
    room.get_by_role("link", name="Jamie Carter").click()
    entry = room.locator("li.message", has_text=f"Concern raised ({reference})")
    expect(entry.get_by_role("heading", name="Photos (1)")).to_be_visible()
    unlock(room)
    entry.get_by_role("button", name="View").click()
    expect(entry.get_by_role("img", name="doorway.png")).to_be_visible()


def unlock(page: Page) -> None:
    panel = page.locator("#keys-panel")
    panel.get_by_label("Encryption passphrase").fill(FILE_WORLD_PASSPHRASE)
    panel.get_by_role("button", name="Unlock").click()
    expect(panel.locator("[data-keys-fingerprint]")).not_to_be_empty(timeout=15_000)
