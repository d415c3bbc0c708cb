"""Real-time chat over socket.io, with real `socketio.AsyncClient`s against a running
server: authentication, audited joins, need-to-know fan-out, live revocation, catch-up."""

from __future__ import annotations

import asyncio
import re
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx2
import pytest
import socketio
from sqlmodel import select
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import DAN, HANA, OMAR, PETE, REMOVAL, SARAH, LiveServer, Tokens, user_by_email
from workspace.models import AuditEvent
from workspace.state import Caseroom


def token_of(headers: dict[str, str]) -> str:
    return headers["Authorization"].removeprefix("Bearer ")


class Listener:
    """A connected client that remembers every event it received."""

    def __init__(self, client: socketio.AsyncClient) -> None:
        self.client = client
        self.received: list[tuple[str, Any]] = []
        self.closed = asyncio.Event()  # set when the connection ends, whoever ended it
        client.on("disconnect", lambda *_: self.closed.set())

    def of(self, event: str) -> list[Any]:
        return [data for name, data in self.received if name == event]

    async def wait_for(
        self, event: str, predicate: Callable[[Any], bool] = lambda _d: True, timeout: float = 2.0
    ) -> Any:
        deadline = asyncio.get_running_loop().time() + timeout
        while asyncio.get_running_loop().time() < deadline:
            for data in self.of(event):
                if predicate(data):
                    return data
            await asyncio.sleep(0.02)
        raise AssertionError(f"no {event!r} within {timeout}s; got {self.received!r}")


MARKER = "marker: "


def heard(listener: Listener, *events: str) -> list[tuple[str, Any]]:
    """What the socket received of these events, markers left out."""
    return [
        (name, data)
        for name, data in listener.received
        if name in events and not str((data or {}).get("body") or "").startswith(MARKER)
    ]


async def marker(room_id: str, sender: Listener, *listeners: Listener) -> None:
    """Post a message everyone in the room may read, after whatever the test did, and wait
    until every listener has it. A socket receives what the server sends it in order, so
    by then anything sent to them before has arrived too: "nothing else arrived" can be
    asserted, and fails when something did, however slow the machine."""
    body = f"{MARKER}{uuid.uuid4().hex}"
    sent = await sender.client.call(
        "message", {"room_id": room_id, "body": body, "kind": "note", "sensitivity": "room"}
    )
    assert sent["ok"], sent
    for listener in listeners:
        await listener.wait_for("message", lambda m: m.get("body") == body)


async def round_trip(listener: Listener) -> None:
    """For a socket in no room a marker cannot reach: ask the server something and wait
    for the answer. One process answers on the same connection, in order, after whatever
    it sent this socket before (not across processes: see marker)."""
    assert await listener.client.call("leave", {"room_id": "none"}) == {"ok": True}


@asynccontextmanager
async def connected(server: LiveServer, token: str) -> AsyncIterator[Listener]:
    client = socketio.AsyncClient(reconnection=False)
    listener = Listener(client)

    @client.on("*")
    async def _any(event: str, data: Any = None) -> None:
        listener.received.append((event, data))

    await client.connect(server.url, auth={"token": token}, transports=["websocket"])
    try:
        yield listener
    finally:
        await client.disconnect()


def jamie(client: TestClient, auth: Tokens) -> str:
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    return str(next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter"))


@pytest.fixture
def room_id(client: TestClient, auth: Tokens) -> str:
    return jamie(client, auth)


def test_an_unauthenticated_socket_is_refused(live_server: LiveServer) -> None:
    async def scenario() -> None:
        client = socketio.AsyncClient(reconnection=False)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(live_server.url, auth={"token": "nope"}, transports=["websocket"])
        with pytest.raises(socketio.exceptions.ConnectionError):
            await client.connect(live_server.url, transports=["websocket"])

    run_async(scenario())


def test_joining_a_room_you_cannot_view_is_an_audited_denial(
    live_server: LiveServer, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    async def scenario() -> dict[str, Any]:
        async with connected(live_server, token_of(auth(OMAR))) as omar:
            answer: dict[str, Any] = await omar.client.call("join", {"room_id": room_id})
            await omar.wait_for("error")
            return answer

    answer = run_async(scenario())
    assert answer["error"]["code"] == "not_found"
    omar_id = user_by_email(app, OMAR).id
    with app.db.session() as session:
        denied = session.exec(
            select(AuditEvent).where(AuditEvent.actor_id == omar_id, AuditEvent.outcome == "denied")
        ).all()
    assert [(e.action, e.channel, e.room_id) for e in denied] == [("join", "socket", room_id)]


def test_a_restricted_message_reaches_only_its_organisation_and_the_lead(
    live_server: LiveServer, auth: Tokens, room_id: str
) -> None:
    async def scenario() -> dict[str, list[Any]]:
        async with (
            connected(live_server, token_of(auth(PETE))) as pete,
            connected(live_server, token_of(auth(SARAH))) as sarah,
            connected(live_server, token_of(auth(DAN))) as dan,
            connected(live_server, token_of(auth(HANA))) as hana,
        ):
            for who in (pete, sarah, dan, hana):
                assert (await who.client.call("join", {"room_id": room_id}))["ok"]
            sent = await pete.client.call(
                "message",
                {
                    "room_id": room_id,
                    "body": "Restricted: intelligence update",
                    "kind": "fact",
                    "sensitivity": "restricted",
                },
            )
            assert sent["ok"], sent
            await pete.client.call(
                "message",
                {"room_id": room_id, "body": "For everyone", "kind": "note", "sensitivity": "room"},
            )
            for who in (pete, sarah, dan, hana):
                await who.wait_for("message", lambda m: m["body"] == "For everyone")
            return {
                name: [m["body"] for m in who.of("message")]
                for name, who in (("pete", pete), ("sarah", sarah), ("dan", dan), ("hana", hana))
            }

    bodies = run_async(scenario())
    restricted = "Restricted: intelligence update"
    assert restricted in bodies["pete"] and restricted in bodies["sarah"]
    assert restricted not in bodies["dan"] and restricted not in bodies["hana"]
    assert all(b.count("For everyone") == 1 for b in bodies.values())


def test_a_removed_member_is_disconnected_from_the_room_within_a_second(
    live_server: LiveServer, auth: Tokens, room_id: str, client: TestClient
) -> None:
    dan_id = client.get("/api/v1/me", headers=auth(DAN)).json()["id"]

    async def scenario() -> tuple[float, list[str]]:
        async with (
            connected(live_server, token_of(auth(DAN))) as dan,
            connected(live_server, token_of(auth(HANA))) as hana,
        ):
            for who in (dan, hana):
                assert (await who.client.call("join", {"room_id": room_id}))["ok"]
            loop = asyncio.get_running_loop()
            started = loop.time()
            async with httpx2.AsyncClient(base_url=live_server.url) as http:
                removed = await http.request(
                    "DELETE",
                    f"/api/v1/rooms/{room_id}/members/{dan_id}",
                    headers=auth(SARAH),
                    json=REMOVAL,
                )
                assert removed.status_code == 204
                await dan.wait_for("member_removed", timeout=1.0)
                elapsed = loop.time() - started
                await http.post(
                    f"/api/v1/rooms/{room_id}/messages",
                    headers=auth(SARAH),
                    json={"body": "After Dan left", "kind": "note", "sensitivity": "room"},
                )
            await hana.wait_for("message", lambda m: m["body"] == "After Dan left")
            await round_trip(dan)
            return elapsed, [m["body"] for m in dan.of("message")]

    elapsed, bodies = run_async(scenario())
    assert elapsed < 1.0
    assert "After Dan left" not in bodies


def test_reconnecting_client_catches_up_without_gaps_or_duplicates(
    live_server: LiveServer, auth: Tokens, room_id: str, client: TestClient
) -> None:
    async def scenario() -> list[str]:
        async with connected(live_server, token_of(auth(HANA))) as hana:
            await hana.client.call("join", {"room_id": room_id})
            latest = await hana.client.call("sync", {"room_id": room_id})
            last_seen = latest["items"][-1]["id"]
        # Offline: five messages arrive, one of them restricted to police.
        for i in range(5):
            await asyncio.to_thread(
                client.post,
                f"/api/v1/rooms/{room_id}/messages",
                headers=auth(PETE),
                json={
                    "body": f"missed {i}",
                    "kind": "note",
                    "sensitivity": "restricted" if i == 2 else "room",
                },
            )
        async with connected(live_server, token_of(auth(HANA))) as hana:
            await hana.client.call("join", {"room_id": room_id})
            missed = await hana.client.call("sync", {"room_id": room_id, "since": last_seen})
            return [m["body"] for m in missed["items"]]

    assert run_async(scenario()) == ["missed 0", "missed 1", "missed 3", "missed 4"]


def test_signing_out_closes_the_browsers_live_sockets(
    live_server: LiveServer, password: str, room_id: str
) -> None:
    async def scenario() -> bool:
        async with httpx2.AsyncClient(base_url=live_server.url) as http:
            login = await http.get("/login")
            token = re.search(r'name="login_token" value="([^"]+)"', login.text)
            assert token
            signed_in = await http.post(
                "/login",
                data={
                    "email": SARAH,
                    "password": password,
                    "login_token": token.group(1),
                    "next": "/",
                },
            )
            assert signed_in.status_code == 303
            cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
            client = socketio.AsyncClient(reconnection=False)
            closed = asyncio.Event()
            client.on("disconnect", lambda *_: closed.set())
            await client.connect(
                live_server.url, headers={"Cookie": cookie}, transports=["websocket"]
            )
            assert (await client.call("join", {"room_id": room_id}))["ok"]
            page = await http.get(f"/rooms/{room_id}")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
            assert csrf
            await http.post("/logout", data={"csrf_token": csrf.group(1)})
            await asyncio.wait_for(closed.wait(), timeout=1.0)
            return client.connected

    assert run_async(scenario()) is False


def test_a_socket_that_leaves_a_room_hears_no_more_of_it_but_still_hears_its_other_rooms(
    live_server: LiveServer, auth: Tokens, room_id: str, client: TestClient
) -> None:
    rooms = client.get("/api/v1/rooms", headers=auth(HANA)).json()["items"]
    other = next(r["id"] for r in rooms if r["id"] != room_id)

    async def scenario() -> list[tuple[str, Any]]:
        async with (
            connected(live_server, token_of(auth(HANA))) as hana,
            connected(live_server, token_of(auth(PETE))) as pete,
            connected(live_server, token_of(auth(SARAH))) as sarah,
        ):
            for room in (room_id, other):
                assert (await hana.client.call("join", {"room_id": room}))["ok"]
                assert (await sarah.client.call("join", {"room_id": room}))["ok"]
            assert (await pete.client.call("join", {"room_id": room_id}))["ok"]
            assert await hana.client.call("leave", {"room_id": room_id}) == {"ok": True}
            await pete.client.emit("typing", {"room_id": room_id})
            sent = await pete.client.call("message", {
                "room_id": room_id, "body": "After Hana left", "kind": "note",
                "sensitivity": "room"})  # fmt: skip
            assert sent["ok"], sent
            await sarah.wait_for("typing", lambda t: t["name"] == "DC Pete Walsh")
            await sarah.wait_for("message", lambda m: m["body"] == "After Hana left")
            await marker(other, sarah, hana)  # her other room still reaches her
            return heard(hana, "message", "typing")

    assert run_async(scenario()) == []


def test_a_retraction_reaches_exactly_those_who_may_read_the_message(
    live_server: LiveServer, auth: Tokens, room_id: str
) -> None:
    async def scenario() -> tuple[list[Any], list[Any], list[tuple[str, Any]]]:
        async with (
            connected(live_server, token_of(auth(PETE))) as pete,
            connected(live_server, token_of(auth(SARAH))) as sarah,
            connected(live_server, token_of(auth(DAN))) as dan,
        ):
            for who in (pete, sarah, dan):
                assert (await who.client.call("join", {"room_id": room_id}))["ok"]
            restricted = (await pete.client.call("message", {
                "room_id": room_id, "body": "Police only, then retracted", "kind": "fact",
                "sensitivity": "restricted"}))["message"]  # fmt: skip
            everyone = (await dan.client.call("message", {
                "room_id": room_id, "body": "For all, then retracted", "kind": "note",
                "sensitivity": "room"}))["message"]  # fmt: skip
            for message, author in ((restricted, pete), (everyone, dan)):
                done = await author.client.call("retract", {"message_id": message["id"]})
                assert done["ok"] and done["message"]["retracted"], done
            for who in (sarah, pete, dan):  # Dan hears of his own, not of the police one
                await who.wait_for("message_edited", lambda m: m["id"] == everyone["id"])
            await sarah.wait_for("message_edited", lambda m: m["id"] == restricted["id"])
            await marker(room_id, pete, dan)
            return sarah.of("message_edited"), pete.of("message_edited"), heard(
                dan, "message", "message_edited"
            )

    sarahs, petes, dans = run_async(scenario())
    for told in (sarahs, petes):
        assert {m["body"] for m in told} == {None}  # the text is gone, for everyone
        assert all(m["retracted"] for m in told) and len(told) == 2
    assert [(name, m["body"] or m.get("retracted")) for name, m in dans] == [
        ("message", "For all, then retracted"), ("message_edited", True)
    ]
