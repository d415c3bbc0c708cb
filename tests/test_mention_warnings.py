"""Mentioning someone the message cannot reach: the author is told at post time, through
the API, the socket answer and the page (with and without script), in words that are the
same whether or not such an account exists."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import expect
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.browsing import Open
from tests.conftest import PETE, SARAH, LiveServer, Tokens
from tests.test_chat_sockets import connected, token_of

WARNING = "is not in this room, or cannot see this message: they will not be notified"


@pytest.fixture
def room_id(client: TestClient, auth: Tokens) -> str:
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    return str(next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter"))


def post(client: TestClient, auth: Tokens, who: str, room_id: str, body: str,
         sensitivity: str = "room") -> dict[str, Any]:  # fmt: skip
    answer = client.post(
        f"/api/v1/rooms/{room_id}/messages",
        headers=auth(who),
        json={"body": body, "kind": "note", "sensitivity": sensitivity},
    )
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def test_the_answer_lists_the_mentions_that_notified_nobody(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    sent = post(
        client, auth, SARAH, room_id,
        "@pete.police @omar.other @no.such.person @sarah.social please read",
    )  # fmt: skip
    assert [m["name"] for m in sent["mentions"]] == ["DC Pete Walsh"]
    # Omar has an account but is not in the room; nobody is called no.such.person; Sarah
    # is the author. The first two are told alike; her own handle is no warning.
    assert sent["not_notified"] == ["omar.other", "no.such.person"]


def test_a_member_who_may_not_read_the_message_is_not_notified_either(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    sent = post(client, auth, PETE, room_id, "@hana.health police only", "restricted")
    assert sent["mentions"] == []
    assert sent["not_notified"] == ["hana.health"]


def test_the_socket_answer_carries_the_warning_and_the_others_do_not_get_it(
    live_server: LiveServer, auth: Tokens, room_id: str
) -> None:
    async def scenario() -> tuple[dict[str, Any], dict[str, Any]]:
        async with (
            connected(live_server, token_of(auth(SARAH))) as sarah,
            connected(live_server, token_of(auth(PETE))) as pete,
        ):
            for who in (sarah, pete):
                await who.client.call("join", {"room_id": room_id})
            answer = await sarah.client.call("message", {
                "room_id": room_id, "body": "@omar.other FYI", "kind": "note",
                "sensitivity": "room"})  # fmt: skip
            heard = await pete.wait_for("message")
            return answer, heard

    answer, heard = run_async(scenario())
    assert answer["message"]["not_notified"] == ["omar.other"]
    assert heard["not_notified"] == []


@pytest.mark.browser
def test_the_page_tells_the_author_live_and_without_script(
    visit: Open, password: str
) -> None:
    sarah = visit(SARAH, password)
    page = sarah.page
    page.get_by_role("link", name="Jamie Carter").click()
    expect(page.locator("#connection-status")).to_have_text("Live")
    page.get_by_label("New message").fill("@omar.other can you pick this up?")
    page.get_by_role("button", name="Post message").click()
    warning = page.locator("#mention-warning")
    expect(warning).to_be_visible()
    expect(warning).to_have_text(f"@omar.other {WARNING} and cannot see it.")
    page.get_by_label("New message").fill("@pete.police thanks")
    page.get_by_role("button", name="Post message").click()
    expect(page.locator("#message-list .message", has_text="thanks")).to_have_count(1)
    expect(warning).to_be_hidden()

    plain = visit(SARAH, password, java_script_enabled=False)
    page = plain.page
    page.get_by_role("link", name="Jamie Carter").click()
    page.get_by_label("New message").fill("@no.such.person please call me")
    page.get_by_role("button", name="Post message").click()
    expect(page.locator("#mention-warning")).to_have_text(
        f"@no.such.person {WARNING} and cannot see it."
    )
    expect(page.locator("#message-list .message", has_text="please call me")).to_have_count(1)
    page.goto(page.url.split("?")[0])  # a later visit is quiet
    expect(page.locator("#mention-warning")).to_be_hidden()
