"""A live socket lasts exactly as long as the credential it was opened with would still be
accepted over HTTP. When the credential ends by an act (a token revoked, a sign-out, the
browser signed in again, a second factor now needed) or by the passage of time (a
session's idle or absolute timeout), the sockets opened with it are closed within a
second — whatever room they are in, and whether or not they send anything — and each
closing is audited as `socket_closed` with its reason.

Of what a socket sends, only what the person does (post, edit, retract) keeps their
browser session from going idle; what an open page sends by itself (join and sync at each
reconnect, a read receipt whenever a message arrives) does not, or a page left open in a
busy room would keep an unattended session signed in for ever."""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import timedelta
from typing import Any

import httpx2
import socketio
from sqlalchemy import update
from sqlmodel import col, select
from starlette.testclient import TestClient

from realtime.auth import TRUST_SECONDS
from tests.aio import run_async
from tests.conftest import HANA, HOLLY, SARAH, LiveServer, Tokens
from tests.conftest import user_by_email as person
from tests.test_chat_sockets import Listener, connected, jamie, token_of
from tests.test_sign_in import form_value
from workspace.clock import clock
from workspace.crypto import token_hash
from workspace.models import ApiToken, AuditEvent, Message, User, WebSession
from workspace.state import Caseroom

NOTE = {"kind": "note", "sensitivity": "room"}


async def sign_in(http: httpx2.AsyncClient, email: str, password: str) -> None:
    page = await http.get("/login")
    done = await http.post(
        "/login",
        data={"email": email, "password": password, "next": "/",
              "login_token": form_value(page.text, "login_token")},
    )  # fmt: skip
    assert done.status_code == 303, done.text


def cookie_of(http: httpx2.AsyncClient) -> str:
    return "; ".join(f"{k}={v}" for k, v in http.cookies.items())


@asynccontextmanager
async def browser_socket(server: LiveServer, cookie: str) -> AsyncIterator[Listener]:
    """A socket opened as the room page opens it: with the browser's session cookie."""
    client = socketio.AsyncClient(reconnection=False)
    listener = Listener(client)

    @client.on("*")
    async def _any(event: str, data: Any = None) -> None:
        listener.received.append((event, data))

    await client.connect(server.url, headers={"Cookie": cookie}, transports=["websocket"])
    try:
        yield listener
    finally:
        if client.connected:
            await client.disconnect()


@asynccontextmanager
async def closes_within(listener: Listener, seconds: float) -> AsyncIterator[None]:
    """What the block does (an act, or moving the clock) gets the server to close this
    socket within `seconds` of the block starting."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    yield
    left = seconds - (loop.time() - started)
    try:
        await asyncio.wait_for(listener.closed.wait(), timeout=max(left, 0.001))
    except TimeoutError:
        raise AssertionError(f"still open {seconds}s later; got {listener.received!r}") from None


def closings(app: Caseroom, expected: int = 1) -> list[AuditEvent]:
    """The `socket_closed` audit records, once there are `expected` of them (the server
    closes the socket first, then writes the record)."""
    deadline = time.monotonic() + 2.0
    while True:
        with app.db.session() as session:
            found = list(
                session.exec(
                    select(AuditEvent)
                    .where(AuditEvent.action == "socket_closed")
                    .order_by(col(AuditEvent.seq))
                ).all()
            )
        if len(found) >= expected or time.monotonic() > deadline:
            return found
        time.sleep(0.02)


def test_revoking_a_token_closes_its_sockets_at_once_and_only_those(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)

    async def scenario() -> Listener:
        async with httpx2.AsyncClient(base_url=live_server.url) as http:
            await sign_in(http, SARAH, password)
            account = await http.get("/account")
            csrf = form_value(account.text, "csrf_token")
            made = await http.post("/account/tokens", data={"name": "script", "csrf_token": csrf})
            found = re.search(r'data-testid="api-token">([^<]+)<', made.text)
            assert found, made.text
            async with (
                connected(live_server, found.group(1)) as script,
                connected(live_server, token_of(auth(SARAH))) as other,
            ):
                for who in (script, other):
                    assert (await who.client.call("join", {"room_id": room_id}))["ok"]
                page = (await http.get("/account")).text
                row = next(r for r in re.findall(r"<tr>.*?</tr>", page, flags=re.S)
                           if ">script<" in r)  # fmt: skip
                action = re.search(r'action="(/account/tokens/[^"]+/revoke)"', row)
                assert action
                async with closes_within(script, 1.0):
                    revoked = await http.post(
                        action.group(1), data={"csrf_token": form_value(row, "csrf_token")}
                    )
                    assert revoked.status_code == 303, revoked.text
                # The other socket, opened with another token, hears what follows.
                await other.client.call("message", {"room_id": room_id, "body": "After", **NOTE})
                await other.wait_for("message", lambda m: m["body"] == "After")
                assert other.client.connected
                return script

    script = run_async(scenario())
    assert script.of("error")[-1]["code"] == "unauthenticated"
    assert "After" not in [m["body"] for m in script.of("message")]
    (closed,) = closings(app)
    assert (closed.actor_id, closed.channel, closed.purpose) == (
        person(app, SARAH).id,
        "socket",
        "token revoked",
    )


def test_a_socket_that_has_joined_no_room_is_closed_too(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    """Someone made a guest must set up a second factor: their tokens stop working, and so
    do the sockets opened with them, not only those in the room they were added to."""
    room_id = jamie(client, auth)

    async def scenario() -> None:
        async with (
            connected(live_server, token_of(auth(HOLLY))) as holly,
            httpx2.AsyncClient(base_url=live_server.url) as http,
            closes_within(holly, 1.0),
        ):
            added = await http.post(
                f"/api/v1/rooms/{room_id}/members", headers=auth(SARAH),
                json={"email": HOLLY, "role": "guest", "purpose": "Housing",
                      "lawful_basis": "safeguarding", "consent": "given"},
            )  # fmt: skip
            assert added.status_code == 201, added.text

    run_async(scenario())
    assert [(c.actor_id, c.purpose) for c in closings(app)] == [
        (person(app, HOLLY).id, "second factor needed")
    ]


def test_signing_in_again_in_the_same_browser_closes_the_old_sessions_sockets(
    live_server: LiveServer, app: Caseroom, password: str
) -> None:
    async def scenario() -> None:
        async with httpx2.AsyncClient(base_url=live_server.url) as http:
            await sign_in(http, SARAH, password)
            async with (
                browser_socket(live_server, cookie_of(http)) as old,
                closes_within(old, 1.0),
            ):
                await sign_in(http, HANA, password)  # the browser sends Sarah's cookie

    run_async(scenario())
    assert [(c.actor_id, c.purpose) for c in closings(app)] == [
        (person(app, SARAH).id, "signed in again")
    ]


def test_signing_out_is_audited_as_the_reason_its_sockets_closed(
    live_server: LiveServer, app: Caseroom, password: str
) -> None:
    async def scenario() -> None:
        async with httpx2.AsyncClient(base_url=live_server.url) as http:
            await sign_in(http, SARAH, password)
            async with browser_socket(live_server, cookie_of(http)) as socket:
                csrf = form_value((await http.get("/account")).text, "csrf_token")
                async with closes_within(socket, 1.0):
                    await http.post("/logout", data={"csrf_token": csrf})

    run_async(scenario())
    assert [c.purpose for c in closings(app)] == ["signed out"]


def test_an_idle_session_closes_its_sockets_within_a_second_of_timing_out(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)

    async def scenario() -> int:
        async with httpx2.AsyncClient(base_url=live_server.url) as http:
            await sign_in(http, SARAH, password)
            async with browser_socket(live_server, cookie_of(http)) as socket:
                assert (await socket.client.call("join", {"room_id": room_id}))["ok"]
                async with closes_within(socket, 1.0):
                    clock.advance(timedelta(minutes=30, seconds=1))  # nobody did anything
                return (await http.get("/api/v1/me")).status_code

    assert run_async(scenario()) == 401
    assert [(c.actor_id, c.purpose) for c in closings(app)] == [
        (person(app, SARAH).id, "idle timeout")
    ]


def test_a_busy_sessions_sockets_stay_open_until_the_absolute_timeout(
    live_server: LiveServer, app: Caseroom, password: str
) -> None:
    """Pages used every 25 minutes keep the session (and its socket, whose idle deadline
    passes again and again) alive; at 12 hours it ends all the same."""

    async def scenario() -> None:
        async with httpx2.AsyncClient(base_url=live_server.url) as http:
            await sign_in(http, SARAH, password)
            async with browser_socket(live_server, cookie_of(http)) as socket:
                elapsed = timedelta(0)
                while elapsed < timedelta(hours=12) - timedelta(minutes=25):
                    clock.advance(timedelta(minutes=25))
                    elapsed += timedelta(minutes=25)
                    assert (await http.get("/api/v1/me")).status_code == 200
                assert socket.client.connected
                async with closes_within(socket, 1.0):
                    clock.advance(timedelta(minutes=26))

    run_async(scenario())
    assert [c.purpose for c in closings(app)] == ["absolute timeout"]


def test_posting_on_a_socket_keeps_the_session_alive_but_what_the_page_sends_itself_does_not(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)

    async def scenario() -> None:
        async with httpx2.AsyncClient(base_url=live_server.url) as http:
            await sign_in(http, SARAH, password)
            async with browser_socket(live_server, cookie_of(http)) as socket:
                assert (await socket.client.call("join", {"room_id": room_id}))["ok"]
                clock.advance(timedelta(minutes=20))
                posted = await socket.client.call(
                    "message", {"room_id": room_id, "body": "Still here", **NOTE}
                )
                assert posted["ok"], posted
                clock.advance(timedelta(minutes=20))  # 40 min after sign-in, 20 after posting
                page = await socket.client.call("sync", {"room_id": room_id})
                assert "items" in page, page
                read = await socket.client.call("read", {"message_id": posted["message"]["id"]})
                assert read == {"ok": True}
                async with closes_within(socket, 1.0):
                    clock.advance(timedelta(minutes=10, seconds=1))  # 30 min after posting

    run_async(scenario())
    assert [c.purpose for c in closings(app)] == ["idle timeout"]
    with app.db.session() as session:
        assert session.exec(select(WebSession)).all() == []


def test_a_credential_ended_without_news_stops_working_within_the_trust_window(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    """A socket's events go ahead on its credential's last check for a few seconds
    (realtime/auth.py `TRUST_SECONDS`): an act that ends a credential closes its sockets at
    once by `CredentialEnded`. If that news never comes (here the token is revoked by hand
    in SQL, as a lost message between processes would leave it), the first event after the
    window finds the credential gone, and the socket is closed."""
    room_id = jamie(client, auth)
    token = token_of(auth(SARAH))

    async def scenario() -> Listener:
        async with connected(live_server, token) as socket:
            assert (await socket.client.call("join", {"room_id": room_id}))["ok"]
            with app.db.engine.begin() as conn:
                conn.execute(
                    update(ApiToken)
                    .where(col(ApiToken.token_hash) == token_hash(token))
                    .values(revoked_at=clock.now())
                )
            clock.advance(timedelta(seconds=TRUST_SECONDS))
            async with closes_within(socket, 1.0):
                late = {"room_id": room_id, "body": "Too late", **NOTE}
                await socket.client.emit("message", late)
            return socket

    socket = run_async(scenario())
    assert socket.of("error")[-1]["code"] == "unauthenticated"
    assert [c.purpose for c in closings(app)] == ["token not valid or revoked"]
    with app.db.session() as session:
        bodies = session.exec(select(Message.body)).all()
    assert "Too late" not in bodies


def test_what_changes_of_the_holder_without_news_is_seen_by_their_very_next_event(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    """A socket's events reuse the holder's rows as last read while the access epoch is
    unchanged (issue #13); a change to them by hand in SQL, which no process hears of,
    changes the epoch (migration 0026), so the next event reads them again: a new name
    is shown on the very next post, within the trust window, and a disabled account's
    next event is refused and its socket closed."""
    room_id = jamie(client, auth)
    token = token_of(auth(SARAH))
    sarah = person(app, SARAH)

    def change_by_hand(**values: Any) -> None:
        with app.db.engine.begin() as conn:
            conn.execute(update(User).where(col(User.id) == sarah.id).values(**values))

    async def scenario() -> tuple[Listener, list[dict[str, Any]]]:
        async with connected(live_server, token) as socket:
            assert (await socket.client.call("join", {"room_id": room_id}))["ok"]
            acks = [
                await socket.client.call("message", {"room_id": room_id, "body": "One", **NOTE})
            ]
            change_by_hand(name="Sarah Okafor-Jones")
            acks.append(
                await socket.client.call("message", {"room_id": room_id, "body": "Two", **NOTE})
            )
            change_by_hand(disabled=True)
            async with closes_within(socket, 1.0):
                late = {"room_id": room_id, "body": "Too late", **NOTE}
                await socket.client.emit("message", late)
            return socket, acks

    socket, acks = run_async(scenario())
    assert [a["message"]["author"]["name"] for a in acks] == ["Sarah Okafor", "Sarah Okafor-Jones"]
    assert socket.of("error")[-1]["code"] == "unauthenticated"
    assert [c.purpose for c in closings(app)] == ["token not valid or revoked"]
    with app.db.session() as session:
        assert "Too late" not in session.exec(select(Message.body)).all()
