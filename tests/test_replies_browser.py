"""Replies sit under the message they answer — live in another person's browser, after a
reload, and without script — folded under it with their count, and the thread opens."""

from __future__ import annotations

import pytest
from playwright.sync_api import Locator, Page, expect

from tests.browsing import Open, Visitor
from tests.conftest import DAN, HANA, SARAH

pytestmark = pytest.mark.browser


def open_jamies_room(visitor: Visitor) -> Page:
    page = visitor.page
    page.get_by_role("link", name="Jamie Carter").click()
    expect(page.locator("#connection-status")).to_have_text("Live")
    return page


def post(page: Page, body: str) -> None:
    page.get_by_label("New message").fill(body)
    page.get_by_role("button", name="Post message").click()
    expect(page.locator("#message-list .message__body", has_text=body)).to_have_count(1)


def conversation(page: Page, text: str) -> Locator:
    """The top-level message with this text (its replies are inside it)."""
    return page.locator("#message-list > li.message").filter(
        has=page.locator(":scope > .message__body", has_text=text)
    )


def expect_reply_under_its_parent(page: Page) -> None:
    parent = conversation(page, "Who can attend the core group")
    expect(parent.locator(".thread__count")).to_have_text("1 reply")
    reply = parent.locator(".thread__replies > li.message", has_text="I can attend")
    expect(reply).to_have_count(1)
    # Not at the end of the list, under whatever came last.
    last = page.locator("#message-list > li.message").last
    expect(last.locator(":scope > .message__body")).to_have_text("Minutes are on the drive.")
    expect(last).not_to_contain_text("I can attend")
    if not reply.is_visible():  # folded: the count opens the thread
        parent.locator(".thread__count").click()
    expect(reply).to_be_visible()


def test_a_reply_appears_under_its_parent_live_and_after_a_reload(
    visit: Open, password: str
) -> None:
    sarah, hana = visit(SARAH, password), visit(HANA, password)
    s, h = open_jamies_room(sarah), open_jamies_room(hana)
    post(s, "Who can attend the core group on Thursday?")
    post(s, "Minutes are on the drive.")

    asked = conversation(h, "Who can attend the core group")
    asked.get_by_role("button", name="Reply").click()
    expect(h.locator("#replying-to")).to_contain_text("Replying to Sarah Okafor")
    post(h, "I can attend.")
    # Hana's own reply: its thread is open and shows it.
    expect(asked.locator(".thread__replies > li.message", has_text="I can attend")).to_be_visible()

    expect_reply_under_its_parent(s)  # live, in Sarah's browser
    s.reload()
    expect(conversation(s, "Who can attend").locator(".thread")).not_to_have_attribute("open", "")
    expect_reply_under_its_parent(s)
    # A second reply counts too.
    conversation(s, "Who can attend").get_by_role("button", name="Reply").first.click()
    post(s, "Thanks, Hana.")
    expect(conversation(h, "Who can attend").locator(".thread__count")).to_have_text("2 replies")


def test_without_script_a_reply_lands_under_its_parent(visit: Open, password: str) -> None:
    sarah = visit(SARAH, password)
    s = open_jamies_room(sarah)
    post(s, "Who can attend the core group on Thursday?")
    post(s, "Minutes are on the drive.")

    page = visit(DAN, password, java_script_enabled=False).page
    page.get_by_role("link", name="Jamie Carter").click()
    conversation(page, "Who can attend").get_by_role("link", name="Reply").click()
    expect(page.locator("#replying-to")).to_contain_text("Replying to Sarah Okafor")
    page.get_by_label("New message").fill("I can attend.")
    page.get_by_role("button", name="Post message").click()
    parent = conversation(page, "Who can attend")
    expect(parent.locator(".thread")).to_have_attribute("open", "")  # the new reply shows
    expect(parent.locator(".thread__count")).to_have_text("1 reply")
    expect(parent.locator(".thread__replies > li.message", has_text="I can attend")).to_be_visible()
    expect(page.locator("#replying-to")).to_be_hidden()
