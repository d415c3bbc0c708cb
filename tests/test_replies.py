"""The room page's conversations: each reply under the message it answers, even when that
message is older than the page, and never under one the reader may not read."""

from __future__ import annotations

from datetime import timedelta

from starlette.testclient import TestClient

from tests.conftest import DAN, HOLLY, PETE, SARAH, Tokens, user_by_email
from tests.test_browser import room_id_for
from tests.test_lead_tools import holly_as_guest
from workspace.access import Access, Origin
from workspace.clock import clock
from workspace.schemas import MessageIn
from workspace.services import messages
from workspace.state import Caseroom


def say(app: Caseroom, who: str, room_id: str, body: str, **extra: str) -> str:
    with app.db.session() as session:
        access = Access(app, session, user_by_email(app, who), Origin("cli"))
        view, _ = messages.post_message(
            access, room_id, MessageIn(body=body, kind="note", sensitivity="room", **extra)
        )
        session.commit()
        return view.message.id


def page_of(app: Caseroom, who: str, room_id: str) -> list[messages.Conversation]:
    with app.db.session() as session:
        access = Access(app, session, user_by_email(app, who), Origin("cli"))
        page = messages.list_messages(access, room_id, latest=True, limit=20)
        return messages.conversations(access, room_id, page.items)


def test_a_reply_to_a_message_older_than_the_page_brings_its_parent_along(
    app: Caseroom,
) -> None:
    room_id = room_id_for(app, "Jamie Carter")
    asked = say(app, SARAH, room_id, "Who holds the health records?")
    first = say(app, PETE, room_id, "Not us.", thread_id=asked)
    for n in range(25):
        say(app, SARAH, room_id, f"Later {n}")
    second = say(app, DAN, room_id, "The school nurse has some.", thread_id=first)

    shown = page_of(app, DAN, room_id)
    thread = next(c for c in shown if c.root.message.id == asked)
    # A reply to a reply joins the same thread; the older reply comes along with it.
    assert [r.message.id for r in thread.replies] == [first, second]
    assert all(c.root.message.thread_id is None for c in shown)
    assert shown[-1].root.message.body == "Later 24"


def test_a_reply_whose_parent_the_reader_may_not_read_stands_alone(
    app: Caseroom, client: TestClient, auth: Tokens
) -> None:
    """Holly, a guest, reads what came after she joined: a reply to an earlier message
    stands on its own for her, without the parent she may not read."""
    room_id = room_id_for(app, "Jamie Carter")
    earlier = say(app, SARAH, room_id, "Core group moved to Thursday")
    holly_as_guest(client, auth, room_id)
    clock.advance(timedelta(seconds=1))
    answer = say(app, DAN, room_id, "Thursday suits the school.", thread_id=earlier)

    shown = page_of(app, HOLLY, room_id)
    assert earlier not in {c.root.message.id for c in shown}
    assert [c.replies for c in shown if c.root.message.id == answer] == [()]
