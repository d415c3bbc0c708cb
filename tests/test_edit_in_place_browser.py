"""Editing a message happens where it is: the text becomes a box under the message (no
browser prompt), Save sends it and others see the edit live, Cancel or Escape leaves the
message as it was, and an empty text is refused in place, losing nothing."""

from __future__ import annotations

import pytest
from playwright.sync_api import Dialog, Page, expect

from tests.browsing import Open, Visitor
from tests.conftest import HANA, SARAH

pytestmark = pytest.mark.browser


def open_jamies_room(visitor: Visitor) -> Page:
    page = visitor.page
    page.get_by_role("link", name="Jamie Carter").click()
    expect(page.locator("#connection-status")).to_have_text("Live")
    return page


def test_an_author_edits_a_message_in_place(visit: Open, password: str) -> None:
    sarah, hana = visit(SARAH, password), visit(HANA, password)
    s, h = open_jamies_room(sarah), open_jamies_room(hana)
    dialogs: list[Dialog] = []
    s.on("dialog", lambda d: (dialogs.append(d), d.dismiss()))

    s.get_by_label("New message").fill("Strategy meeting on Tuesday.")
    s.get_by_role("button", name="Post message").click()
    mine = s.locator("#message-list .message", has_text="Strategy meeting")
    expect(mine).to_have_count(1)

    # Cancel (and Escape) put it back untouched.
    mine.get_by_role("button", name="Edit").click()
    box = mine.get_by_label("Edit your message")
    expect(box).to_be_focused()
    expect(box).to_have_value("Strategy meeting on Tuesday.")
    expect(mine.locator(".message__body")).to_be_hidden()
    mine.get_by_role("button", name="Cancel").click()
    expect(box).to_have_count(0)
    expect(mine.locator(".message__body")).to_have_text("Strategy meeting on Tuesday.")
    mine.get_by_role("button", name="Edit").click()
    box.press("Escape")
    expect(box).to_have_count(0)

    # An empty text is refused where it was typed.
    mine.get_by_role("button", name="Edit").click()
    box.fill("   ")
    mine.get_by_role("button", name="Save").click()
    expect(mine.get_by_role("alert")).to_have_text("Write the message, or retract it instead")
    expect(box).to_be_visible()

    box.fill("Strategy meeting moved to Wednesday.")
    mine.get_by_role("button", name="Save").click()
    expect(box).to_have_count(0)
    expect(mine.locator(".message__body")).to_have_text("Strategy meeting moved to Wednesday.")
    expect(mine.locator(".message__edited")).to_be_visible()
    expect(mine.get_by_role("button", name="Edit")).to_be_focused()

    theirs = h.locator("#message-list .message", has_text="moved to Wednesday")
    expect(theirs.locator(".message__edited")).to_be_visible()
    theirs.get_by_role("button", name="Earlier versions").click()
    expect(theirs.locator(".message__history")).to_contain_text("on Tuesday")
    assert dialogs == []
