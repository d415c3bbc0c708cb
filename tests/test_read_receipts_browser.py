"""Read receipts in the room page, live and after a reload: "Seen by" names a reader only
under the items that reader may read — never under another organisation's restricted note
they were never sent, even when they have read the room past it."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browsing import Open, Visitor
from tests.conftest import HANA, SARAH

pytestmark = pytest.mark.browser


def open_jamies_room(visitor: Visitor) -> Page:
    page = visitor.page
    page.get_by_role("link", name="Jamie Carter").click()
    expect(page.locator("#connection-status")).to_have_text("Live")
    return page


def post(page: Page, body: str, sensitivity: str = "room") -> None:
    page.get_by_label("New message").fill(body)
    page.get_by_label("Who sees it").select_option(sensitivity)
    page.get_by_role("button", name="Post message").click()
    expect(page.locator("#message-list .message", has_text=body)).to_have_count(1)


def test_seen_by_never_names_someone_under_an_item_they_may_not_read(
    visit: Open, password: str
) -> None:
    sarah, hana = visit(SARAH, password), visit(HANA, password)
    s, h = open_jamies_room(sarah), open_jamies_room(hana)

    post(s, "Council only: mum disclosed debts to the duty worker.", "restricted")
    post(s, "Home visit booked for Monday.")
    expect(h.locator("#message-list .message", has_text="Home visit booked")).to_have_count(1)
    expect(h.locator("#message-list .message", has_text="disclosed debts")).to_have_count(0)

    def seen_under_the_restricted_note(page: Page) -> str:
        ordinary = page.locator("#message-list .message", has_text="Home visit booked")
        restricted = page.locator("#message-list .message", has_text="disclosed debts")
        # Hana has the page open, so she reads the ordinary message...
        expect(ordinary.locator(".message__seen")).to_contain_text("Hana Kowalski")
        return restricted.locator(".message__seen").text_content() or ""

    live_text = seen_under_the_restricted_note(s)
    # ...and is never named under the restricted note she was never sent.
    assert "Hana" not in live_text
    s.reload()
    reloaded_text = seen_under_the_restricted_note(s)
    assert "Hana" not in reloaded_text
    assert live_text == reloaded_text
