"""Issue #13: a room page costs the same number of database statements whatever the length
of its conversation, and each visit is audited as before (one event per part of the case
it shows). bench/room_page.py times it."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.conftest import DAN, HANA, PETE, SARAH
from tests.test_lead_tools import sign_in
from workspace.access import Access, Origin
from workspace.models import AuditEvent, Message, Room, User
from workspace.schemas import MessageIn
from workspace.services import messages
from workspace.state import Caseroom


@contextmanager
def statements(app: Caseroom) -> Iterator[list[str]]:
    seen: list[str] = []

    def count(*args: Any) -> None:
        seen.append(str(args[2]))

    event.listen(app.db.engine, "before_cursor_execute", count)
    try:
        yield seen
    finally:
        event.remove(app.db.engine, "before_cursor_execute", count)


def jamie(app: Caseroom) -> str:
    with app.db.session() as s:
        return str(s.exec(select(Room.id).where(col(Room.title).startswith("Jamie"))).one())


def converse(app: Caseroom, room_id: str, count: int) -> None:
    """`count` more messages by the members in turn, every third a reply, every fifth
    restricted; then each member reads to the end (receipts to show)."""
    authors = (SARAH, PETE, HANA, DAN)
    with app.db.session() as s:

        def access(email: str) -> Access:
            user = s.exec(select(User).where(User.email == email)).one()
            return Access(app, s, user, Origin("cli"))

        root = None
        for i in range(count):
            reply = i % 3 == 2 and root is not None
            data = MessageIn.model_validate({
                "body": f"Update {i}", "kind": "fact",
                "sensitivity": "restricted" if i % 5 == 4 and not reply else "room",
                **({"thread_id": root} if reply else {}),
            })  # fmt: skip
            view, _ = messages.post_message(access(authors[i % 4]), room_id, data)
            if view.message.sensitivity == "room" and not view.message.thread_id:
                root = view.message.id
            s.commit()
        for email in authors:
            reader = access(email)
            newest = s.exec(
                select(Message.id)
                .where(reader.messages_filter(reader.room(room_id)))
                .order_by(col(Message.seq).desc())
            ).first()
            assert newest is not None
            messages.mark_read(reader, newest)
            s.commit()


def visit(client: TestClient, app: Caseroom, room_id: str) -> tuple[int, Counter[str]]:
    """Statements run by one visit of the room page, and the audit events it wrote."""
    with app.db.session() as s:
        before = len(s.exec(select(AuditEvent.id)).all())
    with statements(app) as seen:
        page = client.get(f"/rooms/{room_id}")
    assert page.status_code == 200
    with app.db.session() as s:
        written = s.exec(select(AuditEvent).order_by(col(AuditEvent.seq)).offset(before)).all()
    return len(seen), Counter(e.action for e in written)


def test_a_longer_conversation_costs_the_room_page_no_more_statements(
    client: TestClient, app: Caseroom, password: str
) -> None:
    room_id = jamie(app)
    sign_in(client, SARAH, password)
    converse(app, room_id, 3)
    client.get(f"/rooms/{room_id}")  # the first visit may fill caches
    short, audited = visit(client, app, room_id)
    converse(app, room_id, 40)
    long, audited_long = visit(client, app, room_id)
    assert long == short
    # Every part of the case the page shows is a recorded read, as before.
    expected = {"view": 1, "list_messages": 1, "list_members": 1, "view_plan": 1, "list_files": 1}
    assert audited == audited_long == Counter(expected)
