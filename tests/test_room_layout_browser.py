"""A busy room opens where the conversation is: at the newest message, with the box to
write in on screen, on a desktop and on a phone — where the chat comes first and the
child's details, the members and the lead's forms are one tap away."""

from __future__ import annotations

import pytest
from playwright.sync_api import Page, expect

from tests.browsing import Open
from tests.conftest import SARAH, user_by_email
from tests.test_browser import room_id_for
from workspace.access import Access, Origin
from workspace.schemas import MessageIn
from workspace.services import messages
from workspace.state import Caseroom

pytestmark = pytest.mark.browser

PHONE = {"viewport": {"width": 390, "height": 844}, "is_mobile": True, "has_touch": True}


@pytest.fixture
def busy_room(app: Caseroom) -> str:
    """Jamie's room with 150 more messages, posted through the service (not typed)."""
    room_id = room_id_for(app, "Jamie Carter")
    with app.db.session() as session:
        access = Access(app, session, user_by_email(app, SARAH), Origin("cli"))
        for n in range(1, 151):
            note = MessageIn(body=f"Update {n} of 150", kind="note", sensitivity="room")
            messages.post_message(access, room_id, note)
        session.commit()
    return room_id


def expect_newest_and_composer_on_screen(page: Page) -> None:
    expect(page.locator("#message-list .message", has_text="Update 150 of 150")).to_be_in_viewport()
    expect(page.get_by_label("New message")).to_be_in_viewport()
    expect(page.get_by_role("button", name="Post message")).to_be_in_viewport()


def test_a_busy_room_opens_at_the_newest_message_on_a_desktop(
    visit: Open, password: str, busy_room: str
) -> None:
    page = visit(SARAH, password, viewport={"width": 1280, "height": 720}).page
    page.get_by_role("link", name="Jamie Carter").click()
    expect(page.locator("#connection-status")).to_have_text("Live")
    expect_newest_and_composer_on_screen(page)
    # The room's details are still on screen beside the chat.
    expect(page.get_by_role("heading", name="The child")).to_be_in_viewport()

    # A new message arrives at the bottom, in view.
    page.get_by_label("New message").fill("Update 151, posted now")
    page.get_by_role("button", name="Post message").click()
    expect(page.locator("#message-list .message", has_text="Update 151")).to_be_in_viewport()
    expect(page.get_by_label("New message")).to_be_in_viewport()


def test_on_a_phone_the_chat_comes_first_and_the_details_are_a_tap_away(
    visit: Open, password: str, busy_room: str
) -> None:
    page = visit(SARAH, password, **PHONE).page
    page.get_by_role("link", name="Jamie Carter").tap()
    expect(page.locator("#connection-status")).to_have_text("Live")
    expect_newest_and_composer_on_screen(page)
    chat = page.locator("#chat").bounding_box()
    details = page.locator("#room-details").bounding_box()
    assert chat and details and chat["y"] < details["y"]
    expect(page.get_by_role("heading", name="Members")).not_to_be_in_viewport()

    page.get_by_role("link", name="Room details and members").tap()
    expect(page.get_by_role("heading", name="The child")).to_be_in_viewport()


def test_without_script_the_list_still_opens_at_the_newest(
    visit: Open, password: str, busy_room: str
) -> None:
    page = visit(SARAH, password, java_script_enabled=False, **PHONE).page
    page.get_by_role("link", name="Jamie Carter").tap()
    page.get_by_role("heading", name="Messages").scroll_into_view_if_needed()
    expect(page.locator("#message-list .message", has_text="Update 150 of 150")).to_be_in_viewport()
