"""What people expect of Teams or Element, within need-to-know: threads, mentions, edits
with history, retraction, read receipts, unread counts, scroll-back and search — none of
which ever reveals, counts or previews a restricted item to someone who may not read it."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import (
    DAN,
    HANA,
    HOLLY,
    OMAR,
    PETE,
    SARAH,
    LiveServer,
    Tokens,
    give_second_factor,
)
from tests.test_chat_sockets import connected, heard, marker, round_trip, token_of
from tests.test_sign_in import sign_in
from workspace.clock import clock


@pytest.fixture
def room_id(client: TestClient, auth: Tokens) -> str:
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    return str(next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter"))


def post(
    client: TestClient,
    auth: Tokens,
    who: str,
    room_id: str,
    body: str,
    sensitivity: str = "room",
    **extra: Any,
) -> dict[str, Any]:
    response = client.post(
        f"/api/v1/rooms/{room_id}/messages",
        headers=auth(who),
        json={"body": body, "kind": "note", "sensitivity": sensitivity, **extra},
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def messages(
    client: TestClient, auth: Tokens, who: str, room_id: str, **params: str
) -> dict[str, Any]:
    response = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(who), params=params)
    assert response.status_code == 200, response.text
    return dict(response.json())


def test_a_reply_belongs_to_the_thread_of_the_message_it_answers(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    root = post(client, auth, SARAH, room_id, "Who can attend the core group?")
    reply = post(client, auth, HANA, room_id, "I can.", thread_id=root["id"])
    reply_to_reply = post(client, auth, DAN, room_id, "Me too.", thread_id=reply["id"])
    assert reply["thread_id"] == root["id"]
    assert reply_to_reply["thread_id"] == root["id"]


def test_replying_to_a_message_you_cannot_read_is_refused(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    secret = post(client, auth, PETE, room_id, "Police only", sensitivity="restricted")
    response = client.post(
        f"/api/v1/rooms/{room_id}/messages",
        headers=auth(DAN),
        json={"body": "?", "kind": "note", "sensitivity": "room", "thread_id": secret["id"]},
    )
    assert response.status_code == 404


def test_a_reply_reaches_no_one_who_may_not_read_what_it_answers(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    """Its thread id would tell them a restricted message exists (rule 2)."""
    secret = post(client, auth, PETE, room_id, "Police only", sensitivity="restricted")

    def reply(who: str, sensitivity: str) -> Any:
        return client.post(
            f"/api/v1/rooms/{room_id}/messages",
            headers=auth(who),
            json={"body": "Noted.", "kind": "note", "sensitivity": sensitivity,
                  "thread_id": secret["id"]},
        )  # fmt: skip

    everyone = reply(PETE, "room")
    assert everyone.status_code == 422
    assert everyone.json()["error"]["fields"] == {
        "sensitivity": "must be restricted in this thread"
    }
    # The lead may read it, but her restricted reply would be read by the council.
    assert reply(SARAH, "restricted").status_code == 422
    police = reply(PETE, "restricted")
    assert police.status_code == 201 and police.json()["thread_id"] == secret["id"]
    for outsider in (DAN, HANA):
        listed = messages(client, auth, outsider, room_id)
        assert secret["id"] not in repr(listed)


def test_the_room_page_offers_reply_in_a_restricted_thread_only_to_its_organisation(
    client: TestClient, auth: Tokens, room_id: str, password: str
) -> None:
    secret = post(client, auth, PETE, room_id, "Police only", sensitivity="restricted")
    sign_in(client, SARAH, password)  # the lead reads it, and may not reply in its thread
    page = client.get(f"/rooms/{room_id}").text
    item = page[page.index(f'id="m-{secret["id"]}"'):]
    item = item[: item.index("</li>")]
    assert 'data-action="reply" hidden' in item and "reply_to=" not in item


def test_a_mention_notifies_only_members_who_may_read_the_message(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    open_ = post(client, auth, SARAH, room_id, "@hana.health @dan.dsl please confirm dates")
    assert {m["name"] for m in open_["mentions"]} == {"Hana Kowalski", "Dan Hughes"}
    restricted = post(
        client, auth, PETE, room_id, "@dan.dsl @sarah.social see this", sensitivity="restricted"
    )
    assert [m["name"] for m in restricted["mentions"]] == ["Sarah Okafor"]
    jamie = next(
        r
        for r in client.get("/api/v1/rooms", headers=auth(DAN)).json()["items"]
        if r["id"] == room_id
    )
    assert jamie["unread_mentions"] == 1  # the open one; never the restricted one


def test_unread_counts_never_count_what_you_may_not_read(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    def unread(who: str) -> int:
        rooms = client.get("/api/v1/rooms", headers=auth(who)).json()["items"]
        return int(next(r["unread"] for r in rooms if r["id"] == room_id))

    before = {who: unread(who) for who in (DAN, SARAH, PETE)}
    post(client, auth, PETE, room_id, "Police only", sensitivity="restricted")
    post(client, auth, PETE, room_id, "For everyone")
    assert unread(DAN) == before[DAN] + 1  # the restricted one is not even counted
    assert unread(SARAH) == before[SARAH] + 2  # the lead may read both
    assert unread(PETE) == before[PETE]  # what you write yourself is read


def test_reading_moves_the_marker_and_shows_in_seen_by(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    mine = post(client, auth, HANA, room_id, "Please read")
    assert client.post(f"/api/v1/messages/{mine['id']}/read", headers=auth(DAN)).status_code == 204
    page = messages(client, auth, HANA, room_id, receipts="1")
    seen = next(m for m in page["items"] if m["id"] == mine["id"])["seen_by"]
    assert [r["name"] for r in seen] == ["Dan Hughes"]


def test_seen_by_never_lists_someone_who_could_not_read_the_message(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    secret = post(client, auth, PETE, room_id, "Police only", sensitivity="restricted")
    after = post(client, auth, SARAH, room_id, "Open")
    client.post(f"/api/v1/messages/{after['id']}/read", headers=auth(DAN))  # Dan reads past it
    page = messages(client, auth, PETE, room_id, receipts="1")
    seen = next(m for m in page["items"] if m["id"] == secret["id"])["seen_by"]
    assert "Dan Hughes" not in [r["name"] for r in seen]


def test_an_edit_keeps_the_earlier_text_for_everyone_who_may_read_it(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    original = post(client, auth, HANA, room_id, "Weight on the 9th centile")
    edit = client.patch(
        f"/api/v1/messages/{original['id']}",
        headers=auth(HANA),
        json={"body": "Weight on the 25th centile"},
    )
    assert edit.status_code == 200 and edit.json()["edited"] is True
    history = client.get(f"/api/v1/messages/{original['id']}/history", headers=auth(DAN))
    assert [e["body"] for e in history.json()["items"]] == ["Weight on the 9th centile"]
    not_mine = client.patch(
        f"/api/v1/messages/{original['id']}", headers=auth(DAN), json={"body": "tampered"}
    )
    assert not_mine.status_code == 403


def test_a_retracted_message_hides_its_text_from_everyone(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    message = post(client, auth, DAN, room_id, "Posted in the wrong room")
    client.post(f"/api/v1/messages/{message['id']}/retract", headers=auth(DAN))
    seen = next(
        m for m in messages(client, auth, SARAH, room_id)["items"] if m["id"] == message["id"]
    )
    assert seen["retracted"] is True and seen["body"] is None


def test_scrolling_back_pages_through_history_without_gaps(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    for i in range(7):
        post(
            client,
            auth,
            SARAH,
            room_id,
            f"history {i}",
            sensitivity="restricted" if i == 3 else "room",
        )
    latest = client.get(
        f"/api/v1/rooms/{room_id}/messages", headers=auth(DAN), params={"limit": "200"}
    ).json()["items"]
    cursor = latest[-1]["id"]
    seen = [latest[-1]["body"]]
    while cursor:
        page = messages(client, auth, DAN, room_id, limit="2", before=cursor)
        seen = [m["body"] for m in page["items"]] + seen
        cursor = page["next"]
    assert seen == [m["body"] for m in latest]
    assert "history 3" not in seen


def test_search_finds_only_what_the_searcher_may_read(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    post(client, auth, PETE, room_id, "Bruising noted on the left arm", sensitivity="restricted")
    post(client, auth, HANA, room_id, "No bruising seen at clinic")

    def found(who: str) -> list[str]:
        response = client.get(
            f"/api/v1/rooms/{room_id}/search", headers=auth(who), params={"q": "bruising"}
        )
        assert response.status_code == 200, response.text
        return sorted(m["body"] for m in response.json()["items"])

    assert found(DAN) == ["No bruising seen at clinic"]
    assert found(SARAH) == ["Bruising noted on the left arm", "No bruising seen at clinic"]
    assert (
        client.get(
            f"/api/v1/rooms/{room_id}/search", headers=auth(OMAR), params={"q": "bruising"}
        ).status_code
        == 404
    )


def test_socket_send_with_the_same_client_id_is_stored_once(
    live_server: LiveServer, auth: Tokens, room_id: str
) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with connected(live_server, token_of(auth(HANA))) as hana:
            await hana.client.call("join", {"room_id": room_id})
            message = {
                "room_id": room_id,
                "body": "Sent twice after a drop",
                "kind": "note",
                "sensitivity": "room",
                "client_id": "retry-1",
            }
            first = await hana.client.call("message", message)
            second = await hana.client.call("message", message)
            return first, second

    first, second = run_async(scenario())
    assert first["created"] is True and second["created"] is False
    assert first["message"]["id"] == second["message"]["id"]


def test_edits_and_read_receipts_of_a_restricted_message_stay_with_its_audience(
    live_server: LiveServer, auth: Tokens, room_id: str
) -> None:
    async def scenario() -> tuple[str, list[tuple[str, Any]]]:
        async with (
            connected(live_server, token_of(auth(PETE))) as pete,
            connected(live_server, token_of(auth(SARAH))) as sarah,
            connected(live_server, token_of(auth(DAN))) as dan,
        ):
            for who in (pete, sarah, dan):
                await who.client.call("join", {"room_id": room_id})
            sent = await pete.client.call(
                "message",
                {
                    "room_id": room_id,
                    "body": "Police only",
                    "kind": "fact",
                    "sensitivity": "restricted",
                },
            )
            message_id = sent["message"]["id"]
            await pete.client.call("edit", {"message_id": message_id, "body": "Police only (v2)"})
            await sarah.client.call("read", {"message_id": message_id})
            await sarah.wait_for("message_edited", lambda m: m["body"] == "Police only (v2)")
            await pete.wait_for("read", lambda r: r["message_id"] == message_id)
            await marker(room_id, pete, dan)
            return message_id, heard(dan, "message", "message_edited", "read")

    message_id, received = run_async(scenario())
    # Sarah's read also covers earlier items of the room, which the school may read: news
    # of those reaches Dan, and none of the restricted message.
    leaked = [
        (name, data)
        for name, data in received
        if name in ("message", "message_edited") or message_id in repr(data)
    ]
    assert leaked == []


def test_a_read_receipt_names_only_the_items_the_reader_may_read(
    live_server: LiveServer, auth: Tokens, room_id: str
) -> None:
    """Hana (health) reads past a police-restricted message: the police and the lead hear
    she read the room's message, and nobody is told she read the police one."""

    async def scenario() -> tuple[str, str, list[Any], list[Any]]:
        async with (
            connected(live_server, token_of(auth(PETE))) as pete,
            connected(live_server, token_of(auth(SARAH))) as sarah,
            connected(live_server, token_of(auth(HANA))) as hana,
        ):
            for who in (pete, sarah, hana):
                await who.client.call("join", {"room_id": room_id})
            police = (await pete.client.call("message", {
                "room_id": room_id, "body": "Police only", "kind": "fact",
                "sensitivity": "restricted"}))["message"]["id"]  # fmt: skip
            ordinary = (await sarah.client.call("message", {
                "room_id": room_id, "body": "Core group on Thursday", "kind": "note",
                "sensitivity": "room"}))["message"]["id"]  # fmt: skip
            assert (await hana.client.call("read", {"message_id": ordinary}))["ok"]
            heard_by_sarah = await sarah.wait_for("read", lambda r: r["message_id"] == ordinary)
            heard_by_pete = await pete.wait_for("read", lambda r: r["message_id"] == ordinary)
            reads = [d for n, d in sarah.received + pete.received if n == "read"]
            return police, ordinary, [heard_by_sarah, heard_by_pete], reads

    police, ordinary, heard, reads = run_async(scenario())
    for r in heard:
        assert r["user_id"] and r["name"] == "Hana Kowalski"
        assert ordinary in r["message_ids"]
    assert all(police not in r["message_ids"] for r in reads)


def test_typing_and_presence_reach_only_sockets_in_the_room(
    live_server: LiveServer, auth: Tokens, room_id: str
) -> None:
    async def scenario() -> tuple[list[Any], list[Any], list[Any]]:
        async with (
            connected(live_server, token_of(auth(SARAH))) as sarah,
            connected(live_server, token_of(auth(HANA))) as hana,
            connected(live_server, token_of(auth(OMAR))) as omar,
        ):
            await sarah.client.call("join", {"room_id": room_id})
            await hana.client.call("join", {"room_id": room_id})
            await omar.client.emit("typing", {"room_id": room_id})  # not in the room
            await round_trip(omar)  # his typing was handled, and anything sent him is here
            await hana.client.emit("typing", {"room_id": room_id})
            await sarah.wait_for("typing", lambda t: t["name"] == "Hana Kowalski")
            return sarah.of("typing"), sarah.of("presence"), omar.of("presence")

    typing, presence, omar_presence = run_async(scenario())
    assert [t["name"] for t in typing] == ["Hana Kowalski"]
    assert {"name": "Hana Kowalski", "online": True}.items() <= presence[0].items()
    assert omar_presence == []


def test_a_guest_whose_access_expires_is_removed_from_the_room_live(
    live_server: LiveServer, auth: Tokens, room_id: str
) -> None:
    give_second_factor(auth.app, HOLLY)  # a guest must have one (issue #5)

    async def scenario() -> Any:
        async with httpx2.AsyncClient(base_url=live_server.url) as http:
            added = await http.post(
                f"/api/v1/rooms/{room_id}/members",
                headers=auth(SARAH),
                json={
                    "email": "holly.housing@homes.example",
                    "role": "guest",
                    "purpose": "Housing support",
                    "lawful_basis": "public_task",
                    "consent": "given",
                },
            )
            assert added.status_code == 201, added.text
        async with connected(live_server, token_of(auth("holly.housing@homes.example"))) as holly:
            assert (await holly.client.call("join", {"room_id": room_id}))["ok"]
            clock.advance(timedelta(days=31))  # past the default 30 days
            return await holly.wait_for("member_removed", timeout=1.0)

    assert run_async(scenario())["reason"] == "expired"
