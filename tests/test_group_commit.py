"""Socket events that arrive while a transaction is being written share the next one
(issue #13; realtime/group_commit.py). Each keeps its own outcome: one that is refused,
invalid or broken loses only its own work (its refusal still audited), the others are
written; nobody's answer comes before the commit; and the audit chain stays whole."""

from __future__ import annotations

import asyncio
import re
from typing import Any

import pytest
from sqlalchemy import event
from sqlmodel import col, select

from realtime.registry import SocketInfo
from realtime.server import Realtime
from tests.aio import run_async
from tests.conftest import HANA, OMAR, PETE, PG_URL, SARAH, Tokens, user_by_email
from workspace import audit, crypto
from workspace.access import Access
from workspace.errors import AuditUnavailable, Invalid, NotFound
from workspace.models import AuditEvent, Message, Room
from workspace.schemas import MessageIn
from workspace.services import messages
from workspace.state import Caseroom


def socket_of(app: Caseroom, auth: Tokens, email: str) -> SocketInfo:
    token = auth(email)["Authorization"].removeprefix("Bearer ")
    user = user_by_email(app, email)
    return SocketInfo(
        f"sid-{email}", user.id, user.name, f"token:{token}", crypto.token_hash(token),
        "127.0.0.1", "test",
    )  # fmt: skip


def jamies_room(app: Caseroom) -> str:
    with app.db.session() as session:
        return session.exec(select(Room.id).where(col(Room.title).startswith("Jamie"))).one()


def bodies(app: Caseroom, room_id: str) -> list[str]:
    with app.db.session() as session:
        return list(
            session.exec(
                select(Message.body).where(Message.room_id == room_id).order_by(col(Message.seq))
            )
        )


def audited(app: Caseroom, action: str, outcome: str) -> int:
    with app.db.session() as session:
        return len(
            session.exec(
                select(AuditEvent.id).where(
                    AuditEvent.action == action, AuditEvent.outcome == outcome
                )
            ).all()
        )


def intact(app: Caseroom) -> bool:
    with app.db.read_only_session() as session:
        return audit.verify(session, app.keys, app.audit.witness).ok


def post(body: str) -> Any:
    def fn(access: Access, room_id: str) -> Any:
        return messages.post_message(access, room_id, MessageIn(body=body))

    return fn


def post_then_fail(access: Access, room_id: str) -> Any:
    messages.post_message(access, room_id, MessageIn(body="written, then found wrong"))
    raise Invalid("Something about this event was wrong after all.")


def test_events_queued_together_are_one_transaction_and_each_keeps_its_own_outcome(
    app: Caseroom, auth: Tokens
) -> None:
    live = Realtime(app)
    room_id = jamies_room(app)
    sarah, pete, omar = (socket_of(app, auth, e) for e in (SARAH, PETE, OMAR))
    before = bodies(app, room_id)
    denied_before = audited(app, "post_message", "denied")
    created_before = audited(app, "message_created", "allowed")

    async def all_at_once() -> list[Any]:
        return await asyncio.gather(
            live._unit(sarah, post("first, from Sarah"), room_id),
            live._unit(omar, post("Omar is in no room"), room_id),
            live._unit(pete, post_then_fail, room_id),
            live._unit(pete, post("second, from Pete"), room_id),
            return_exceptions=True,
        )

    appends: list[str] = []
    listen = ("before_cursor_execute", lambda _c, _cur, sql, *_a: appends.append(sql))
    event.listen(app.db.engine, *listen)
    try:
        first, refused, invalid, second = run_async(all_at_once())
    finally:
        event.remove(app.db.engine, *listen)
    assert (live.group_commit.groups, live.group_commit.units) == (1, 4)
    assert isinstance(refused, NotFound)  # Omar may not know the room exists
    assert isinstance(invalid, Invalid)
    (view, created), events = first
    assert created and view.message.body == "first, from Sarah" and len(events) == 1
    assert second[0][0].message.body == "second, from Pete"
    # Only the two good posts were written, in the order they came.
    assert bodies(app, room_id) == [*before, "first, from Sarah", "second, from Pete"]
    # The refusal is in the log; what the invalid event wrote (its message, its audit
    # events) went with its savepoint.
    assert audited(app, "post_message", "denied") == denied_before + 1
    assert audited(app, "message_created", "allowed") == created_before + 2
    # All of the group's audit events went into the chain in one insert, at its commit.
    assert sum(sql.startswith("INSERT INTO audit_event") for sql in appends) == 1
    assert intact(app)


def test_a_failed_commit_is_every_events_answer_and_writes_none_of_them(
    app: Caseroom, auth: Tokens, monkeypatch: pytest.MonkeyPatch
) -> None:
    live = Realtime(app)
    room_id = jamies_room(app)
    sarah, pete = socket_of(app, auth, SARAH), socket_of(app, auth, PETE)
    before = bodies(app, room_id)

    def broken(*_args: Any, **_kwargs: Any) -> None:
        raise OSError("disk full")

    monkeypatch.setattr(app.audit, "_write", broken)

    async def both() -> list[Any]:
        return await asyncio.gather(
            live._unit(sarah, post("lost with the commit"), room_id),
            live._unit(pete, post("also lost"), room_id),
            return_exceptions=True,
        )

    answers = run_async(both())
    assert all(isinstance(a, AuditUnavailable) for a in answers)
    monkeypatch.undo()
    assert bodies(app, room_id) == before
    assert intact(app)


def test_an_event_that_arrives_while_a_group_is_written_goes_in_the_next(
    app: Caseroom, auth: Tokens
) -> None:
    live = Realtime(app)
    room_id = jamies_room(app)
    sarah = socket_of(app, auth, SARAH)

    async def one_then_three() -> None:
        first = asyncio.ensure_future(live._unit(sarah, post("alone"), room_id))
        await asyncio.sleep(0)  # the first group has started: it holds only this one
        rest = [live._unit(sarah, post(f"later {i}"), room_id) for i in range(3)]
        await asyncio.gather(first, *rest)

    run_async(one_then_three())
    assert (live.group_commit.groups, live.group_commit.units) == (2, 4)
    assert bodies(app, room_id)[-4:] == ["alone", "later 0", "later 1", "later 2"]
    assert intact(app)


def rooms_by_title(app: Caseroom) -> dict[str, str]:
    with app.db.session() as session:
        return {title.split(" ")[0]: room_id for room_id, title in session.exec(
            select(Room.id, Room.title)
        )}  # fmt: skip


@pytest.mark.postgres_only
@pytest.mark.skipif(not PG_URL, reason="SQLite has one writer: groups never overlap")
def test_groups_written_at_once_by_two_servers_never_deadlock_on_the_rooms_they_share(
    app: Caseroom, auth: Tokens
) -> None:
    """On PostgreSQL several servers write groups at once. A post holds its room's row
    until commit, so two groups with posts to the same two rooms in opposite orders would
    each wait for the other (PostgreSQL breaks that after a second, failing a post). Each
    group locks its rooms in one order first: every post is written, and each room's
    posts from one server keep the order they were sent in."""
    rooms = rooms_by_title(app)
    jamie, lily = rooms["Jamie"], rooms["Lily"]
    servers = [Realtime(app), Realtime(app)]
    assert all(server.group_commit.lock_rooms is messages.lock_positions for server in servers)
    sockets = [socket_of(app, auth, SARAH), socket_of(app, auth, HANA)]
    plan = [(i % 2, (i // 2) % 2, jamie if (i * 7) % 3 else lily) for i in range(96)]

    async def everyone_at_once() -> list[Any]:
        return await asyncio.gather(
            *(
                servers[s]._unit(sockets[p], post(f"{s}:{n}"), room, rooms=(room,))
                for n, (s, p, room) in enumerate(plan)
            ),
            return_exceptions=True,
        )

    answers = run_async(everyone_at_once())
    assert [a for a in answers if isinstance(a, BaseException)] == []
    for room in (jamie, lily):
        written = [b for b in bodies(app, room) if re.fullmatch(r"[01]:\d+", b)]
        assert len(written) == sum(1 for _s, _p, r in plan if r == room)
        for s in (0, 1):
            mine = [int(b.split(":")[1]) for b in written if b.startswith(f"{s}:")]
            assert mine == sorted(mine)  # in the order this server was sent them
    assert sum(server.group_commit.groups for server in servers) < len(plan)
    assert intact(app)
