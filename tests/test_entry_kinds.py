"""What an entry is (DOMAIN.md "Records"): practitioners mark each entry as a fact, an
opinion, the voice of the child, a third-party report, a decision or a note, and can show
one kind alone — above all the child's own words — on the room page, in the API and live,
never seeing through the filter more than the policy lets them read. The new kinds are
counted, searched and reported like the others."""

from __future__ import annotations

import asyncio
import re
from typing import Any, get_args

import pytest
from playwright.sync_api import expect
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.browsing import Open
from tests.conftest import DAN, HANA, PETE, SARAH, LiveServer, Tokens
from tests.test_chat_features import messages, post
from tests.test_chat_sockets import connected, jamie, token_of
from tests.test_sign_in import sign_in
from workspace.models.message import ITEM_KINDS, MESSAGE_KINDS
from workspace.schemas import Kind

CHILD_SAID = "Jamie said: I don't like it when he shouts at mum"
NEIGHBOUR = "Neighbour reported shouting at the house on Friday night"


def test_the_api_and_the_database_know_the_same_kinds() -> None:
    assert set(get_args(Kind)) == set(MESSAGE_KINDS)
    assert {"voice_of_child", "third_party"} <= set(MESSAGE_KINDS)


@pytest.mark.parametrize("kind", ["voice_of_child", "third_party"])
def test_an_entry_can_be_marked_voice_of_the_child_or_third_party_report(
    client: TestClient, auth: Tokens, kind: str
) -> None:
    room_id = jamie(client, auth)
    made = post(client, auth, HANA, room_id, CHILD_SAID, kind=kind)
    assert made["kind"] == kind
    listed = messages(client, auth, DAN, room_id)["items"]
    assert [m["kind"] for m in listed if m["id"] == made["id"]] == [kind]


def test_the_api_lists_one_kind_within_what_the_reader_may_read(
    client: TestClient, auth: Tokens
) -> None:
    room_id = jamie(client, auth)
    said = post(client, auth, HANA, room_id, CHILD_SAID, kind="voice_of_child")
    post(client, auth, HANA, room_id, NEIGHBOUR, kind="third_party")
    # Police only (and the lead): the filter must not show it to the school.
    police = post(client, auth, PETE, room_id, "Jamie told officers he is scared",
                  sensitivity="restricted", kind="voice_of_child")  # fmt: skip

    for_dan = messages(client, auth, DAN, room_id, kind="voice_of_child")["items"]
    assert [m["id"] for m in for_dan] == [said["id"]]
    for_sarah = messages(client, auth, SARAH, room_id, kind="voice_of_child")["items"]
    assert [m["id"] for m in for_sarah] == [said["id"], police["id"]]
    third = messages(client, auth, DAN, room_id, kind="third_party")["items"]
    assert [m["body"] for m in third] == [NEIGHBOUR]


def test_the_kind_filter_pages_like_the_list(client: TestClient, auth: Tokens) -> None:
    room_id = jamie(client, auth)
    said = [
        post(client, auth, HANA, room_id, f"Jamie said {n}", kind="voice_of_child")["id"]
        for n in range(3)
    ]
    post(client, auth, HANA, room_id, "A note between them")
    first = messages(client, auth, DAN, room_id, kind="voice_of_child", limit="2")
    assert [m["id"] for m in first["items"]] == said[:2]
    rest = messages(client, auth, DAN, room_id, kind="voice_of_child", cursor=first["next"])
    assert [m["id"] for m in rest["items"]] == said[2:]


def test_an_unknown_kind_is_refused_clearly(client: TestClient, auth: Tokens) -> None:
    room_id = jamie(client, auth)
    listed = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(DAN),
                        params={"kind": "gossip"})  # fmt: skip
    assert listed.status_code == 422
    assert "voice_of_child" in listed.json()["error"]["message"]
    stranger = client.get(f"/api/v1/rooms/{room_id}/messages", params={"kind": "gossip"},
                          headers=auth("omar.other@council.example"))  # fmt: skip
    assert stranger.status_code == 404  # not yours to know of, whatever the filter
    posted = client.post(f"/api/v1/rooms/{room_id}/messages", headers=auth(DAN),
                         json={"body": "x", "kind": "gossip", "sensitivity": "room"})  # fmt: skip
    assert posted.status_code == 422


def test_the_openapi_document_offers_the_kinds_and_the_filter(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    kinds = doc["components"]["schemas"]["MessageIn"]["properties"]["kind"]["enum"]
    assert set(kinds) == set(MESSAGE_KINDS)
    params = doc["paths"]["/rooms/{room_id}/messages"]["get"]["parameters"]
    kind = next(p for p in params if p["name"] == "kind")
    # The filter also finds what no person posts: agency events (issue #14).
    assert set(kind["schema"]["enum"]) == set(ITEM_KINDS)


def test_the_room_page_shows_one_kind_and_labels_it(
    client: TestClient, auth: Tokens, password: str
) -> None:
    room_id = jamie(client, auth)
    post(client, auth, HANA, room_id, CHILD_SAID, kind="voice_of_child")
    post(client, auth, HANA, room_id, NEIGHBOUR, kind="third_party")
    post(client, auth, PETE, room_id, "Police only: Jamie spoke to PC Lee",
         sensitivity="restricted", kind="voice_of_child")  # fmt: skip
    sign_in(client, DAN, password)

    page = client.get(f"/rooms/{room_id}", params={"kind": "voice_of_child"})
    assert page.status_code == 200
    assert CHILD_SAID.replace("'", "&#39;") in page.text
    assert "voice of the child" in page.text
    assert NEIGHBOUR not in page.text
    assert "PC Lee" not in page.text  # the policy still filters the filtered list
    assert re.search(r'aria-current="true">Voice of the child<', page.text)

    everything = client.get(f"/rooms/{room_id}")
    assert NEIGHBOUR in everything.text and "third-party report" in everything.text
    # An unknown kind in the address shows everything rather than failing.
    assert NEIGHBOUR in client.get(f"/rooms/{room_id}", params={"kind": "x"}).text


def test_a_filtered_page_shows_a_reply_of_that_kind_without_its_parent_of_another(
    client: TestClient, auth: Tokens, password: str
) -> None:
    """The page reloaded agrees with the live page: one kind only, replies included."""
    room_id = jamie(client, auth)
    parent = post(client, auth, SARAH, room_id, "Home visit booked for Monday", kind="note")
    post(client, auth, HANA, room_id, CHILD_SAID, kind="voice_of_child",
         thread_id=parent["id"])  # fmt: skip
    post(client, auth, DAN, room_id, "School will attend the visit", kind="decision",
         thread_id=parent["id"])  # fmt: skip
    sign_in(client, DAN, password)
    page = client.get(f"/rooms/{room_id}", params={"kind": "voice_of_child"}).text
    assert CHILD_SAID.replace("'", "&#39;") in page
    assert "Home visit booked" not in page and "School will attend" not in page


def test_new_kinds_are_searched_and_counted_like_the_others(
    client: TestClient, auth: Tokens
) -> None:
    room_id = jamie(client, auth)
    said = post(client, auth, HANA, room_id, CHILD_SAID, kind="voice_of_child")
    found = client.get(f"/api/v1/rooms/{room_id}/search", headers=auth(DAN),
                       params={"q": "shouts"}).json()["items"]  # fmt: skip
    assert [(m["id"], m["kind"]) for m in found] == [(said["id"], "voice_of_child")]
    rooms = client.get("/api/v1/rooms", headers=auth(DAN)).json()["items"]
    assert next(r for r in rooms if r["id"] == room_id)["unread"] >= 1
    exposure = client.get(f"/api/v1/messages/{said['id']}/exposure", headers=auth(SARAH))
    assert exposure.status_code == 200, exposure.text


def test_a_socket_catching_up_keeps_to_the_kind_it_asked_for(
    client: TestClient, auth: Tokens, live_server: LiveServer
) -> None:
    room_id = jamie(client, auth)
    said = post(client, auth, HANA, room_id, CHILD_SAID, kind="voice_of_child")
    post(client, auth, HANA, room_id, NEIGHBOUR, kind="third_party")

    async def scenario() -> dict[str, Any]:
        async with connected(live_server, token_of(auth(DAN))) as dan:
            assert (await dan.client.call("join", {"room_id": room_id}))["ok"]
            page: dict[str, Any] = await dan.client.call(
                "sync", {"room_id": room_id, "kind": "voice_of_child"}
            )
            refused = await dan.client.call("sync", {"room_id": room_id, "kind": "gossip"})
            return {"page": page, "refused": refused}

    answers = run_async(asyncio.wait_for(scenario(), 10))
    assert [m["id"] for m in answers["page"]["items"]] == [said["id"]]
    assert answers["refused"]["error"]["code"] == "invalid"


def test_search_says_how_many_messages_match_in_good_english(
    client: TestClient, auth: Tokens, password: str
) -> None:
    room_id = jamie(client, auth)
    post(client, auth, HANA, room_id, "Attendance dropped this term")
    sign_in(client, DAN, password)
    one = client.get(f"/rooms/{room_id}/search", params={"q": "attendance"}).text
    assert "1 message you can see matches “attendance”." in one
    post(client, auth, HANA, room_id, "Attendance is back to normal")
    two = client.get(f"/rooms/{room_id}/search", params={"q": "attendance"}).text
    assert "2 messages you can see match “attendance”." in two
    none = client.get(f"/rooms/{room_id}/search", params={"q": "zebra"}).text
    assert "0 messages you can see match “zebra”." in none


@pytest.mark.browser
def test_the_room_page_filter_shows_the_voice_of_the_child_live(
    visit: Open, client: TestClient, auth: Tokens, password: str
) -> None:
    room_id = jamie(client, auth)
    post(client, auth, HANA, room_id, CHILD_SAID, kind="voice_of_child")
    post(client, auth, HANA, room_id, NEIGHBOUR, kind="third_party")
    dan = visit(DAN, password)
    page = dan.go(f"/rooms/{room_id}")
    chat = page.locator("#message-list")
    expect(chat).to_contain_text(NEIGHBOUR)
    page.get_by_role("navigation", name="Show messages of one kind").get_by_role(
        "link", name="Voice of the child"
    ).click()
    expect(page).to_have_url(re.compile(r"\?kind=voice_of_child"))
    expect(chat.locator("li.message")).to_have_count(1)
    expect(chat).to_contain_text(CHILD_SAID)
    expect(chat.locator(".message__kind")).to_have_text("voice of the child")
    expect(page.locator("#connection-status")).to_have_attribute("data-state", "live")
    # Live: a note does not join the filtered list; the child's words do, in order.
    post(client, auth, HANA, room_id, "Note: meeting moved to Tuesday")
    post(client, auth, HANA, room_id, "Jamie said he likes his new teacher", kind="voice_of_child")
    expect(chat.locator("li.message")).to_have_count(2)
    expect(chat.locator("li.message").last).to_contain_text("likes his new teacher")
    expect(chat).not_to_contain_text("meeting moved")
