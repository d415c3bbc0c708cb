"""Socket events with a missing or malformed payload: the client always hears why, as an
`error {code, message}` event (and as the answer when it asked for one), and the socket
goes on working — bad input loses nothing."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import SARAH, LiveServer, Tokens
from tests.test_chat_sockets import Listener, connected, jamie, token_of

EVENTS = ("join", "leave", "message", "edit", "retract", "read", "sync", "typing")


async def next_error(listener: Listener, send: Any) -> dict[str, Any]:
    """Send something, and return the `error` event it caused."""
    before = len(listener.of("error"))
    answer = await send()
    await listener.wait_for("error", lambda _e: len(listener.of("error")) > before)
    error: dict[str, Any] = listener.of("error")[before]
    if answer is not None:
        assert answer == {"error": error}
    return error


def test_every_event_sent_with_no_payload_answers_an_error(
    live_server: LiveServer, client: TestClient, auth: Tokens
) -> None:
    room_id = jamie(client, auth)

    async def scenario() -> dict[str, dict[str, Any]]:
        async with connected(live_server, token_of(auth(SARAH))) as sarah:
            heard = {}
            for event in EVENTS:
                heard[event] = await next_error(sarah, lambda e=event: sarah.client.emit(e))
            assert (await sarah.client.call("join", {"room_id": room_id}))["ok"]
            return heard

    for event, error in run_async(scenario()).items():
        assert error["code"] == "invalid", event
        assert f"`{event}` needs an object with" in error["message"], error


@pytest.mark.parametrize(
    "payload",
    [None, "a string", ["a", "list"], 42, {}, {"room_id": 5, "message_id": ["x"]},
     {"room_id": "x" * 37, "message_id": "x" * 37}, {"unexpected": True}],
)  # fmt: skip
def test_a_malformed_payload_is_answered_with_an_error_event_and_as_the_answer(
    live_server: LiveServer, client: TestClient, auth: Tokens, payload: Any
) -> None:
    room_id = jamie(client, auth)

    async def scenario() -> list[tuple[str, dict[str, Any]]]:
        async with connected(live_server, token_of(auth(SARAH))) as sarah:
            heard = []
            for event in EVENTS:
                send = (
                    (lambda e=event: sarah.client.call(e))
                    if payload is None
                    else (lambda e=event: sarah.client.call(e, payload))
                )
                heard.append((event, await next_error(sarah, send)))
            # Nothing was lost: the socket is still connected and works.
            assert (await sarah.client.call("join", {"room_id": room_id}))["ok"]
            sent = await sarah.client.call(
                "message", {"room_id": room_id, "body": "Still fine", "kind": "note",
                            "sensitivity": "room"},
            )  # fmt: skip
            assert sent["ok"], sent
            return heard

    for event, error in run_async(scenario()):
        assert error["code"] == "invalid", (event, error)
        assert error["message"], (event, error)


def test_a_post_the_database_refuses_is_answered_and_the_socket_goes_on(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Any
) -> None:
    """When the database fails a unit of work (here it refuses the insert, by a trigger;
    on PostgreSQL, e.g. a deadlock between two servers), nothing is written, the sender
    hears `unavailable` with a sentence to show, and the socket carries on."""
    room_id = jamie(client, auth)
    refuse = {
        "sqlite": [
            "CREATE TRIGGER refuse_posts BEFORE INSERT ON message "
            "BEGIN SELECT RAISE(ABORT, 'refused for the test'); END"
        ],
        "postgresql": [
            "CREATE FUNCTION refuse_posts() RETURNS trigger LANGUAGE plpgsql AS "
            "$$ BEGIN RAISE EXCEPTION 'refused for the test'; END $$",
            "CREATE TRIGGER refuse_posts BEFORE INSERT ON message "
            "FOR EACH ROW EXECUTE FUNCTION refuse_posts()",
        ],
    }
    drop = {
        "sqlite": ["DROP TRIGGER refuse_posts"],
        "postgresql": ["DROP TRIGGER refuse_posts ON message", "DROP FUNCTION refuse_posts()"],
    }

    def run(sql: dict[str, list[str]]) -> None:
        with app.db.engine.begin() as conn:
            for statement in sql[conn.dialect.name]:
                conn.exec_driver_sql(statement)

    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with connected(live_server, token_of(auth(SARAH))) as sarah:
            assert (await sarah.client.call("join", {"room_id": room_id}))["ok"]
            run(refuse)
            body = {"room_id": room_id, "body": "Refused once", "client_id": "c-1"}
            error = await next_error(sarah, lambda: sarah.client.call("message", body))
            run(drop)
            again = await sarah.client.call("message", body)
            return error, again

    error, again = run_async(scenario())
    assert error["code"] == "unavailable" and "Try again" in error["message"]
    assert again["ok"] and again["message"]["body"] == "Refused once"
