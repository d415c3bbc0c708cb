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
