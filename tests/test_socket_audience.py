"""Who receives news of an item on a socket (workspace/audience.py) is exactly who may
read it: for every demo person, a guest, a re-invited guest, a break-glass opener, and
every item of Jamie's room — older than the guest, newer, restricted to one organisation,
shared with the guest by the lead — a socket that has joined the room receives the item,
its edits and its read receipts if and only if `is_allowed(user, "read", item)`.

Then the same with real socket.io clients: a guest hears nothing of an item from before
they joined (no edit, no retraction, no read receipt) until the lead shares it."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

import httpx2
from sqlmodel import col, select
from starlette.testclient import TestClient

from policy.subjects import ItemFact
from tests.aio import run_async
from tests.conftest import (
    ALEX,
    DAN,
    HANA,
    HOLLY,
    IRIS,
    MARK,
    OMAR,
    PETE,
    PRIYA,
    SARAH,
    LiveServer,
    Tokens,
    give_second_factor,
    user_by_email,
)  # fmt: skip
from tests.mailing import post
from tests.test_break_glass import open_glass
from tests.test_chat_sockets import connected, heard, jamie, marker, round_trip, token_of
from tests.test_sharing import share, with_holly_as_guest
from workspace import audience
from workspace.access import Access, Origin
from workspace.clock import clock
from workspace.facts import file_fact, message_fact
from workspace.models import EncryptedFile, Message, User
from workspace.services import break_glass
from workspace.state import Caseroom

EVERYONE = (SARAH, MARK, IRIS, OMAR, ALEX, PETE, PRIYA, HANA, DAN, HOLLY)


def a_busy_room(client: TestClient, auth: Tokens, app: Caseroom) -> tuple[str, str]:
    """Jamie's room with items of every kind around Holly's joining as a guest, one of the
    earlier ones shared with her, and Omar in by break-glass. (room id, shared item id)"""
    room_id = jamie(client, auth)
    post(client, auth, SARAH, room_id, "Before Holly: the plan")
    shared = post(client, auth, DAN, room_id, "Before Holly: school attendance")
    post(client, auth, PETE, room_id, "Before Holly: police only", sensitivity="restricted")
    clock.advance(timedelta(seconds=1))
    with_holly_as_guest(client, auth, room_id)
    clock.advance(timedelta(seconds=1))
    post(client, auth, HANA, room_id, "After Holly: health visit")
    post(client, auth, SARAH, room_id, "After Holly: council only", sensitivity="restricted")
    post(client, auth, HOLLY, room_id, "After Holly: housing only", sensitivity="restricted")
    holly = user_by_email(app, HOLLY).id
    assert share(client, auth, room_id, shared["id"], holly).status_code == 201
    break_glass.search_limiter.reset()
    assert open_glass(client, auth, OMAR).status_code == 201
    return room_id, shared["id"]


def test_news_of_an_item_reaches_a_socket_exactly_when_its_user_may_read_it(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id, _shared = a_busy_room(client, auth, app)
    checked = 0
    with app.db.session() as session:
        lead = Access(app, session, user_by_email(app, SARAH), Origin("cli"))
        room = lead.room_for_user(room_id)
        assert room is not None
        items = session.exec(select(Message).where(col(Message.room_id) == room_id)).all()
        facts: list[ItemFact] = [message_fact(m, room.fact) for m in items]
        # Issue #10: a file is an item like a message, told on the same channels.
        facts += [file_fact(file_twin(m), room.fact) for m in items]
        news_for = {f.id: set(audience.channels_for(f, lead.guest_readers(f))) for f in facts}
        for email in EVERYONE:
            user = session.exec(select(User).where(User.email == email)).one()
            them = Access(app, session, user, Origin("cli"))
            listening = {audience.user_channel(user.id)}  # joined on connecting
            if them.allowed("view", room.fact):
                listening |= them.live_subscriptions(room)  # joined on `join`
            for fact in facts:
                hears = bool(news_for[fact.id] & listening)
                assert hears == them.allowed("read", fact), (email, fact)
                checked += 1
    assert checked == len(EVERYONE) * len(facts) and len(facts) >= 12


def file_twin(m: Message) -> EncryptedFile:
    return EncryptedFile(
        room_id=m.room_id, uploader_id=m.author_id, uploader_org_id=m.author_org_id,
        sensitivity=m.sensitivity, kind=m.kind, size=17, sha256="", manifest="", signature="",
        sign_public="", encrypted_name="", created_at=m.created_at,
    )  # fmt: skip


def test_a_guest_hears_nothing_of_an_earlier_item_until_it_is_shared(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    earlier = post(client, auth, SARAH, room_id, "Before the guest: the family's history")
    clock.advance(timedelta(seconds=1))
    with_holly_as_guest(client, auth, room_id)
    holly = user_by_email(app, HOLLY).id
    base = f"/api/v1/messages/{earlier['id']}"

    async def scenario() -> tuple[list[Any], list[Any]]:
        async with (
            connected(live_server, token_of(auth(HOLLY))) as guest,
            connected(live_server, token_of(auth(HANA))) as member,
        ):
            for who in (guest, member):
                assert (await who.client.call("join", {"room_id": room_id}))["ok"]
            async with httpx2.AsyncClient(base_url=live_server.url) as http:
                edited = await http.patch(base, headers=auth(SARAH),
                                          json={"body": "Before the guest: EDITED"})  # fmt: skip
                assert edited.status_code == 200, edited.text
                assert (await http.post(f"{base}/read", headers=auth(PETE))).status_code == 204
                await member.wait_for("read", lambda r: r["message_id"] == earlier["id"])
                await member.wait_for("message_edited", lambda m: m["id"] == earlier["id"])
                await marker(room_id, member, guest)
                before = heard(guest, "message", "message_edited", "read")
                assert "EDITED" not in repr(guest.received)
                shared = await asyncio.to_thread(share, client, auth, room_id, earlier["id"], holly)
                assert shared.status_code == 201, shared.text
                await guest.wait_for("message_shared")
                retracted = await http.post(f"{base}/retract", headers=auth(SARAH))
                assert retracted.status_code == 200, retracted.text
                await guest.wait_for("message_edited")
            return before, guest.received

    before, after = run_async(scenario())
    assert before == []
    names = [name for name, _ in after]
    assert "message_shared" in names and "message_edited" in names


def test_a_guests_socket_that_has_not_joined_the_room_hears_nothing_of_it(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    with_holly_as_guest(client, auth, room_id)

    async def scenario() -> list[Any]:
        async with (
            connected(live_server, token_of(auth(HOLLY))) as joined,
            connected(live_server, token_of(auth(HOLLY))) as elsewhere,
        ):
            assert (await joined.client.call("join", {"room_id": room_id}))["ok"]
            await asyncio.to_thread(post, client, auth, SARAH, room_id, "After Holly joined")
            await joined.wait_for("message", lambda m: m["body"] == "After Holly joined")
            await round_trip(elsewhere)
            return elsewhere.received

    heard = run_async(scenario())
    assert [name for name, _ in heard if name in ("message", "message_edited", "read")] == []


def test_someone_reading_by_break_glass_who_is_made_a_guest_stops_hearing_of_older_items(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    earlier = post(client, auth, SARAH, room_id, "Before Priya was a guest")
    clock.advance(timedelta(seconds=1))
    break_glass.search_limiter.reset()
    assert open_glass(client, auth, PRIYA).status_code == 201
    give_second_factor(app, PRIYA)  # so her socket stays open as a guest (issue #5)

    async def scenario() -> list[Any]:
        async with (
            connected(live_server, token_of(auth(PRIYA))) as priya,
            connected(live_server, token_of(auth(HANA))) as hana,
        ):
            for who in (priya, hana):
                assert (await who.client.call("join", {"room_id": room_id}))["ok"]
            async with httpx2.AsyncClient(base_url=live_server.url) as http:
                added = await http.post(
                    f"/api/v1/rooms/{room_id}/members", headers=auth(SARAH),
                    json={"email": PRIYA, "role": "guest", "purpose": "Police liaison",
                          "lawful_basis": "public_task", "consent": "given"},
                )  # fmt: skip
                assert added.status_code == 201, added.text
                # Her sockets were decided again before the answer (one process).
                edited = await http.patch(f"/api/v1/messages/{earlier['id']}", headers=auth(SARAH),
                                          json={"body": "Before Priya: EDITED"})  # fmt: skip
                assert edited.status_code == 200, edited.text
            await hana.wait_for("message_edited", lambda m: m["body"] == "Before Priya: EDITED")
            await marker(room_id, hana, priya)  # news she may read still reaches her
            return priya.received

    heard = run_async(scenario())
    assert "EDITED" not in repr(heard)
