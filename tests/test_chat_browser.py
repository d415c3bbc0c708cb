"""Live chat as people in different agencies see it, each in their own browser: typing,
messages within a second, "seen by", edits with their history, presence — and a user of a
third organisation who never receives a restricted message, in the page or on the wire."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browsing import Open, Visitor
from tests.conftest import DAN, HANA, PETE, SARAH

pytestmark = pytest.mark.browser


def open_jamies_room(visitor: Visitor) -> Page:
    page = visitor.page
    page.get_by_role("link", name="Jamie Carter").click()
    expect(page.locator("#connection-status")).to_have_text("Live")
    return page


def test_two_agencies_chat_live_and_a_third_never_receives_a_restricted_message(
    visit: Open, password: str
) -> None:
    sarah, hana, pete, dan = (visit(e, password) for e in (SARAH, HANA, PETE, DAN))
    frames: list[str] = []
    dan.page.on("websocket", lambda ws: ws.on("framereceived", lambda f: frames.append(str(f))))
    s, h, p, d = (open_jamies_room(v) for v in (sarah, hana, pete, dan))

    # Presence: Sarah sees Hana online.
    hana_dot = s.locator("[data-presence]").nth(2)
    expect(hana_dot).to_have_attribute("data-online", "true")

    # Hana types; Sarah sees it.
    h.get_by_label("New message").press_sequentially("Seen at clinic", delay=20)
    expect(s.locator("#typing")).to_contain_text("Hana Kowalski is typing")

    # Hana posts; it reaches Sarah within a second.
    h.get_by_label("New message").fill("Seen at clinic today; weight on the 9th centile.")
    h.get_by_label("This is a").select_option("fact")
    h.get_by_role("button", name="Post message").click()
    arrived = s.locator("#message-list .message", has_text="weight on the 9th centile")
    expect(arrived).to_have_count(1, timeout=1_000)
    expect(arrived.locator(".message__kind")).to_have_text("fact")
    expect(s.locator("#typing")).to_have_text("")

    # Sarah has the page open, so she has read it: Hana sees "Seen by Sarah Okafor".
    mine = h.locator("#message-list .message", has_text="weight on the 9th centile")
    expect(mine.locator(".message__seen")).to_contain_text("Sarah Okafor")

    # Hana corrects it; Sarah sees it is edited, and what it said before.
    mine.get_by_role("button", name="Edit").click()
    mine.get_by_label("Edit your message").fill(
        "Seen at clinic today; weight on the 25th centile."
    )
    mine.get_by_role("button", name="Save").click()
    edited = s.locator("#message-list .message", has_text="25th centile")
    expect(edited.locator(".message__edited")).to_be_visible()
    edited.get_by_role("button", name="Earlier versions").click()
    expect(edited.locator(".message__history")).to_contain_text("9th centile")

    # Pete posts a police-restricted item: the lead (Sarah) gets it, the school never does.
    p.get_by_label("New message").fill("Restricted: partner arrested last night.")
    p.get_by_label("Who sees it").select_option("restricted")
    p.get_by_role("button", name="Post message").click()
    expect(s.locator("#message-list .message", has_text="partner arrested")).to_have_count(1)
    p.get_by_label("New message").fill("Core group moved to Thursday.")
    p.get_by_label("Who sees it").select_option("room")
    p.get_by_role("button", name="Post message").click()
    expect(d.locator("#message-list .message", has_text="Core group moved")).to_have_count(1)
    expect(d.locator("#message-list .message", has_text="partner arrested")).to_have_count(0)
    assert "partner arrested" not in d.content()
    assert frames, "the school's browser should have socket frames"
    assert not [f for f in frames if "partner arrested" in f]


def test_a_dropped_connection_catches_up_without_gaps_or_duplicates(
    visit: Open, password: str
) -> None:
    sarah, hana = visit(SARAH, password), visit(HANA, password)
    s, h = open_jamies_room(sarah), open_jamies_room(hana)
    before = h.locator("#message-list .message").count()

    hana.context.set_offline(True)
    expect(h.locator("#connection-status")).not_to_have_text("Live", timeout=15_000)
    for i in range(3):
        s.get_by_label("New message").fill(f"While Hana was away {i}")
        s.get_by_role("button", name="Post message").click()
        expect(s.locator("#message-list .message", has_text=f"away {i}")).to_have_count(1)
    hana.context.set_offline(False)

    expect(h.locator("#connection-status")).to_have_text("Live", timeout=15_000)
    bodies = h.locator("#message-list .message .message__body")
    expect(bodies).to_have_count(before + 3)
    assert bodies.all_inner_texts()[-3:] == [f"While Hana was away {i}" for i in range(3)]
