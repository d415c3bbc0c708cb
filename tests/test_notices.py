"""In-app notifications (the bell; issue #5: "notified in the app and by email").

Whatever is emailed is also a notice in the app, content-free like the email: a room
reference, a person's name, a link whose target is authorised when it is followed. The
header counts unread notices on every page; a notice arriving while a room is open is
pushed to the page. A guest who was re-shared an earlier message is told in the app, and
the message appears on their open page in its place. Notices are the person's own:
somebody else's is not found, and the attempt is audited.
"""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import httpx2
from sqlmodel import select
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import (
    HANA,
    HOLLY,
    IRIS,
    MARK,
    OMAR,
    PETE,
    REMOVAL,
    SARAH,
    LiveServer,
    Tokens,
    user_by_email,
)
from tests.mailing import post, room_of
from tests.test_break_glass import REASON, open_glass
from tests.test_chat_sockets import connected, heard, jamie, marker, round_trip, token_of
from tests.test_lead_tools import REASONS, holly_as_guest
from tests.test_sharing import earlier_then_holly_as_guest
from tests.test_sign_in import sign_in
from workspace.clock import clock, iso
from workspace.models import AuditEvent, Notice
from workspace.services import break_glass
from workspace.state import Caseroom


def notices_of(
    client: TestClient, auth: Tokens, who: str, kind: str | None = None
) -> list[dict[str, Any]]:
    """Newest first."""
    response = client.get("/api/v1/notifications", headers=auth(who))
    assert response.status_code == 200, response.text
    return [n for n in response.json()["items"] if kind in (None, n["kind"])]


def unread_on_page(client: TestClient) -> int:
    page = client.get("/")
    assert page.status_code == 200
    count = re.search(r'id="notices-count"( hidden)?>(\d+)<', page.text)
    assert count, "the header shows the bell"
    return 0 if count.group(1) else int(count.group(2))


# --- break-glass ----------------------------------------------------------------------------


def test_break_glass_tells_the_lead_the_manager_and_the_ig_lead_in_the_app(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    break_glass.search_limiter.reset()
    jamie_room = room_of(app, "Jamie")
    assert open_glass(client, auth, OMAR).status_code == 201
    for who in (SARAH, MARK, IRIS):
        (notice,) = notices_of(client, auth, who, "break_glass")
        assert not notice["read"]
        assert "Omar Reid" in notice["text"] and jamie_room.reference in notice["text"]
        assert "Jamie" not in notice["text"] and REASON not in notice["text"]
        assert notice["link"] == f"/audit?room_id={jamie_room.id}"
    assert notices_of(client, auth, OMAR, "break_glass") == []
    assert notices_of(client, auth, PETE, "break_glass") == []  # a member; not his to review


def test_the_header_counts_unread_notices_and_following_one_reads_it(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    break_glass.search_limiter.reset()
    jamie_room = room_of(app, "Jamie")
    assert open_glass(client, auth, OMAR).status_code == 201
    sign_in(client, SARAH, password)
    assert unread_on_page(client) == 1
    listed = client.get("/notifications")
    assert listed.status_code == 200 and "Omar Reid" in listed.text
    (notice,) = notices_of(client, auth, SARAH)
    followed = client.get(f"/notifications/{notice['id']}", follow_redirects=True)
    assert followed.status_code == 200
    assert str(followed.url).endswith(f"/audit?room_id={jamie_room.id}")
    assert "<h1>Access log</h1>" in followed.text
    assert unread_on_page(client) == 0
    assert notices_of(client, auth, SARAH)[0]["read"] is True


def test_mark_all_as_read(client: TestClient, auth: Tokens, app: Caseroom, password: str) -> None:
    break_glass.search_limiter.reset()
    assert open_glass(client, auth, OMAR).status_code == 201
    sign_in(client, SARAH, password)
    assert unread_on_page(client) == 1
    page = client.get("/notifications")
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    done = client.post("/notifications/read", data={"csrf_token": token.group(1)})
    assert done.status_code == 200
    assert unread_on_page(client) == 0


def test_somebody_elses_notice_is_not_found_and_the_attempt_is_audited(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    break_glass.search_limiter.reset()
    assert open_glass(client, auth, OMAR).status_code == 201
    (sarahs,) = notices_of(client, auth, SARAH, "break_glass")
    sign_in(client, PETE, password)
    assert client.get(f"/notifications/{sarahs['id']}").status_code == 404
    with app.db.session() as session:
        denied = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "open_notice", AuditEvent.outcome == "denied"
            )
        ).all()
        notice = session.get(Notice, sarahs["id"])
    assert [e.actor_id for e in denied] == [user_by_email(app, PETE).id]
    assert notice is not None and notice.read_at is None


# --- re-sharing, reminders, mentions ---------------------------------------------------------


def test_a_guest_sees_a_reshared_message_arrive_in_place_and_is_told(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id, earlier = earlier_then_holly_as_guest(
        client, auth, "Earlier: the housing officer should know this"
    )
    holly = user_by_email(app, HOLLY).id

    async def scenario() -> tuple[Any, Any]:
        async with (
            connected(live_server, token_of(auth(HOLLY))) as listener,
            connected(live_server, token_of(auth(SARAH))) as sarah,
        ):
            for who in (listener, sarah):
                assert (await who.client.call("join", {"room_id": room_id}))["ok"]
            async with httpx2.AsyncClient(base_url=live_server.url) as http:
                shared = await http.post(
                    f"/api/v1/rooms/{room_id}/shares",
                    headers=auth(SARAH),
                    json={"item_type": "message", "item_id": earlier["id"], "user_id": holly,
                          "purpose": "Housing need", "lawful_basis": "safeguarding",
                          "consent": "given"},
                )  # fmt: skip
                assert shared.status_code == 201, shared.text
            message = await listener.wait_for("message_shared", timeout=2.0)
            notice = await listener.wait_for("notice", timeout=2.0)
            await marker(room_id, sarah, listener)
            assert heard(listener, "message") == []  # nobody else's live stream carried it
            return message, notice

    message, notice = run_async(scenario())
    assert message["id"] == earlier["id"] and message["body"] == earlier["body"]
    assert message["room_id"] == room_id
    assert "shared an earlier message" in notice["text"]
    assert earlier["body"] not in notice["text"]
    (told,) = notices_of(client, auth, HOLLY, "item_shared")
    assert told["link"] == f"/rooms/{room_id}#m-{earlier['id']}"


def test_only_the_recipient_of_a_reshare_receives_it_live(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id, earlier = earlier_then_holly_as_guest(client, auth, "Earlier, for Holly only")

    async def scenario() -> tuple[list[Any], list[Any], list[Any]]:
        async with (
            connected(live_server, token_of(auth(HOLLY))) as holly,
            connected(live_server, token_of(auth(HANA))) as hana,  # in the room
            connected(live_server, token_of(auth(OMAR))) as omar,  # in no room
        ):
            for who in (holly, hana):
                assert (await who.client.call("join", {"room_id": room_id}))["ok"]
            async with httpx2.AsyncClient(base_url=live_server.url) as http:
                shared = await http.post(
                    f"/api/v1/rooms/{room_id}/shares", headers=auth(SARAH),
                    json={"item_type": "message", "item_id": earlier["id"],
                          "user_id": user_by_email(app, HOLLY).id, "purpose": "Housing need",
                          "lawful_basis": "safeguarding", "consent": "given"},
                )  # fmt: skip
                assert shared.status_code == 201, shared.text
            await marker(room_id, hana, hana, holly)
            await round_trip(omar)
            return holly.of("message_shared"), hana.of("message_shared"), omar.of("message_shared")

    to_holly, to_hana, to_omar = run_async(scenario())
    assert [m["id"] for m in to_holly] == [earlier["id"]]
    assert to_hana == [] and to_omar == []


def test_every_mention_is_a_notice_even_when_one_email_covers_a_burst(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    first = post(client, auth, SARAH, room_id, "@pete.police can you call the school?")
    post(client, auth, SARAH, room_id, "@pete.police and the GP please")
    mentions = notices_of(client, auth, PETE, "mention")
    assert len(mentions) == 2
    assert mentions[-1]["link"] == f"/rooms/{room_id}#m-{first['id']}"
    assert all("school" not in n["text"] and "GP" not in n["text"] for n in mentions)


def test_the_lead_changing_your_access_is_a_notice_that_names_nobody_else(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    holly_as_guest(client, auth, room_id)
    holly = user_by_email(app, HOLLY).id
    end = clock.now() + timedelta(days=40)
    extended = client.patch(
        f"/api/v1/rooms/{room_id}/members/{holly}", headers=auth(SARAH),
        json={"expires_at": iso(end), **REASONS},
    )  # fmt: skip
    assert extended.status_code == 200, extended.text
    removed = client.request(
        "DELETE", f"/api/v1/rooms/{room_id}/members/{holly}", headers=auth(SARAH), json=REMOVAL
    )
    assert removed.status_code == 204
    told = [n["text"] for n in notices_of(client, auth, HOLLY, "access_changed")]
    reference = room_of(app, "Jamie").reference
    assert told == [
        f"Your access to case room {reference}: the lead professional removed you.",
        f"Your access to case room {reference}: it now ends on {end:%-d %b %Y}.",
    ]
    assert notices_of(client, auth, HOLLY, "access_changed")[0]["link"] == "/"
