"""A guest never receives the child's date of birth, NHS number, UPN or address
(DESIGN.md rule 3: "the child's name and age only"), through any page, any API answer or
any socket payload. Rather than list what we think a guest can reach, this walks it: every
link a guest's pages offer, every GET path of the OpenAPI document, and everything a
guest's socket receives while the room is busy. The identifiers are looked for in every
spelling a page might use."""

from __future__ import annotations

import asyncio
import re
from collections import deque
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx2
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import HOLLY, SARAH, LiveServer, Tokens, user_by_email
from tests.mailing import post
from tests.test_chat_sockets import connected, jamie, token_of
from tests.test_sharing import earlier_then_holly_as_guest, share, with_holly_as_guest
from tests.test_sign_in import sign_in_fully
from workspace.models import Child, Room
from workspace.state import Caseroom

MAX_PAGES = 80


def identifiers(app: Caseroom, room_id: str) -> list[str]:
    with app.db.session() as session:
        room = session.get(Room, room_id)
        assert room is not None
        child = session.get(Child, room.child_id)
        assert child is not None and child.nhs_number and child.address
        dob, nhs = child.date_of_birth, child.nhs_number
        spellings = [
            dob.isoformat(),
            dob.strftime("%d/%m/%Y"),
            f"{dob.day} {dob:%B %Y}",
            f"{dob.day} {dob:%b %Y}",
            nhs,
            f"{nhs[:3]} {nhs[3:6]} {nhs[6:]}",
            child.address,
            *[part.strip() for part in child.address.split(",") if len(part.strip()) > 4],
        ]
        if child.upn:
            spellings.append(child.upn)
    return spellings


def leaked(text: str, secrets: list[str]) -> list[str]:
    return [s for s in secrets if s.lower() in text.lower()]


def busy_room(client: TestClient, auth: Tokens, app: Caseroom) -> str:
    """Jamie's room with Holly (housing) as a guest, an item from before she joined shared
    with her, and news since."""
    room_id, earlier = earlier_then_holly_as_guest(
        client, auth, "Before Holly joined: police visit log"
    )
    shared = share(client, auth, room_id, earlier["id"], user_by_email(app, HOLLY).id)
    assert shared.status_code == 201, shared.text
    post(client, auth, SARAH, room_id, "@holly.housing can you confirm the tenancy?")
    return room_id


def test_no_page_a_guest_can_reach_shows_an_identifier(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = busy_room(client, auth, app)
    secrets = identifiers(app, room_id)
    sign_in_fully(client, app, HOLLY, password)
    seen: set[str] = set()
    # Where a guest is sent, and pages they are not offered but might try.
    queue = deque(["/", f"/rooms/{room_id}", "/notifications", "/account", "/audit",
                   f"/rooms/{room_id}/sharing", f"/rooms/{room_id}/sharing.csv",
                   f"/rooms/{room_id}/history", f"/rooms/{room_id}/search?q=Holly",
                   "/break-glass"])  # fmt: skip
    while queue and len(seen) < MAX_PAGES:
        path = queue.popleft()
        if path in seen:
            continue
        seen.add(path)
        response = client.get(path)
        assert not leaked(response.text, secrets), path
        for href in re.findall(r'href="([^"#]+)', response.text):
            target = urlsplit(urljoin("http://testserver" + path, href))
            if target.netloc == "testserver" and not target.path.startswith("/static"):
                queue.append(target.path + (f"?{target.query}" if target.query else ""))
    assert len(seen) > 12, sorted(seen)  # the notices and the room's own links too


def test_no_api_answer_to_a_guest_carries_an_identifier(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = busy_room(client, auth, app)
    secrets = identifiers(app, room_id)
    messages = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(HOLLY)).json()
    values = {
        "room_id": room_id,
        "user_id": user_by_email(app, HOLLY).id,
        "message_id": messages["items"][0]["id"],
    }
    paths = client.get("/api/v1/openapi.json").json()["paths"]
    asked = 0
    for template, operations in paths.items():
        if "get" not in operations:
            continue
        names = re.findall(r"{(\w+)}", template)
        if any(n not in values for n in names):
            continue
        path = "/api/v1" + template.format(**values)
        response = client.get(path, headers=auth(HOLLY))
        asked += 1
        assert response.status_code < 500, path
        assert not leaked(response.text, secrets), path
    assert asked >= 10


def test_no_socket_payload_to_a_guest_carries_an_identifier(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    secrets = identifiers(app, room_id)
    with_holly_as_guest(client, auth, room_id)

    async def scenario() -> list[Any]:
        async with connected(live_server, token_of(auth(HOLLY))) as holly:
            joined = await holly.client.call("join", {"room_id": room_id})
            synced = await holly.client.call("sync", {"room_id": room_id, "limit": 100})
            async with httpx2.AsyncClient(base_url=live_server.url) as http:
                for body in ("Strategy meeting moved to Friday", "@holly.housing see above"):
                    sent = await http.post(
                        f"/api/v1/rooms/{room_id}/messages", headers=auth(SARAH),
                        json={"body": body, "kind": "note", "sensitivity": "room"},
                    )  # fmt: skip
                    assert sent.status_code == 201, sent.text
            await holly.wait_for("message", lambda m: "holly" in m["body"])
            await asyncio.sleep(0.2)
            return [joined, synced, *holly.received]

    received = run_async(scenario())
    assert len(received) >= 4
    assert not leaked(repr(received), secrets)
