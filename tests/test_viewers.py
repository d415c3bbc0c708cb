"""Who has seen this child (issue #12, item 3): for one room, each person who viewed the room
or anything in it, from the access log — their organisation, how they had access at the
time (lead, member, guest, or break-glass with the reason they gave), their first and last
view and how many. The room's lead, the lead's team manager and the lead organisation's IG
lead read it; anyone else is told there is no such room, and both are audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.browsing import Open
from tests.conftest import HANA, IRIS, MARK, OMAR, PETE, PRIYA, SARAH, Tokens, user_by_email
from tests.mailing import add_member, room_of
from tests.test_break_glass import REASON, open_glass
from tests.test_sign_in import sign_in
from workspace.clock import clock, iso
from workspace.models import AuditEvent
from workspace.state import Caseroom

pytestmark = pytest.mark.mail


def viewers(client: TestClient, auth: Tokens, who: str, room_id: str) -> Any:
    return client.get(f"/api/v1/rooms/{room_id}/viewers", headers=auth(who))


def by_name(items: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {i["user"]["name"]: i for i in items}


def look(client: TestClient, auth: Tokens, who: str, room_id: str) -> None:
    """A visit: the room, then its messages."""
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(who)).status_code == 200
    listed = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(who))
    assert listed.status_code == 200


def review_events(app: Caseroom, room_id: str) -> list[AuditEvent]:
    with app.db.session() as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.action) == "list_viewers", col(AuditEvent.room_id) == room_id)
                .order_by(col(AuditEvent.seq))
            ).all()
        )


def test_each_viewer_once_with_first_and_last_view_count_and_how(
    client: TestClient, auth: Tokens, app: Caseroom, quiet: None
) -> None:
    room_id = room_of(app, "Jamie").id
    before = by_name(viewers(client, auth, SARAH, room_id).json()["items"])
    start = clock.now()
    look(client, auth, SARAH, room_id)
    look(client, auth, HANA, room_id)
    clock.advance(timedelta(hours=2))
    look(client, auth, PETE, room_id)
    look(client, auth, HANA, room_id)
    end = clock.now()

    seen = by_name(viewers(client, auth, SARAH, room_id).json()["items"])
    earlier = {name: v["views"] for name, v in before.items()}
    sarah, hana, pete = seen["Sarah Okafor"], seen["Hana Kowalski"], seen["DC Pete Walsh"]
    assert (sarah["via"], hana["via"], pete["via"]) == ("lead", "member", "member")
    assert sarah["role_then"] == "Lead professional" and hana["role_then"] == "Member"
    assert hana["user"]["organisation"]["kind"] == "health"
    assert pete["user"]["organisation"]["kind"] == "police"
    assert hana["views"] - earlier.get("Hana Kowalski", 0) == 4
    assert pete["views"] - earlier.get("DC Pete Walsh", 0) == 2
    # Sarah's own earlier reading of this page is no view of the room.
    assert sarah["views"] - earlier.get("Sarah Okafor", 0) == 2
    assert hana["last_view"] >= iso(end - timedelta(seconds=5))
    assert "Hana Kowalski" in before or hana["first_view"] >= iso(start)
    assert hana["first_view"] < iso(start + timedelta(hours=1))
    assert all("reason" not in v for v in seen.values())
    # Most recent viewer first.
    names = list(seen)
    assert names.index("Hana Kowalski") < names.index("Sarah Okafor")


def test_a_break_glass_view_shows_the_reason_given(
    client: TestClient, auth: Tokens, app: Caseroom, quiet: None
) -> None:
    room_id = room_of(app, "Jamie").id
    assert open_glass(client, auth, OMAR).status_code == 201
    look(client, auth, OMAR, room_id)
    omar = by_name(viewers(client, auth, MARK, room_id).json()["items"])["Omar Reid"]
    assert omar["via"] == "break_glass" and omar["reason"] == REASON
    assert omar["role_then"] == "Break-glass (read-only)"
    assert omar["views"] == 3  # the opening, the room, its messages


def test_a_changed_role_shows_as_two_lines(
    client: TestClient, auth: Tokens, app: Caseroom, quiet: None
) -> None:
    room_id = room_of(app, "Jamie").id
    look(client, auth, SARAH, room_id)
    clock.advance(timedelta(minutes=5))
    add_member(client, auth, room_id, OMAR)
    omar = user_by_email(app, OMAR).id
    handed = client.post(f"/api/v1/rooms/{room_id}/lead", headers=auth(SARAH),
                         json={"user_id": omar})  # fmt: skip
    assert handed.status_code == 204, handed.text
    clock.advance(timedelta(minutes=5))
    look(client, auth, SARAH, room_id)
    items = viewers(client, auth, IRIS, room_id).json()["items"]
    hows = [i["via"] for i in items if i["user"]["name"] == "Sarah Okafor"]
    assert hows == ["member", "lead"]  # most recent first


def test_the_lead_her_manager_and_the_ig_lead_read_it_and_everyone_else_gets_404(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = room_of(app, "Jamie").id
    for who in (SARAH, MARK, IRIS):
        assert viewers(client, auth, who, room_id).status_code == 200, who
    for who in (PETE, HANA, OMAR, PRIYA):
        assert viewers(client, auth, who, room_id).status_code == 404, who
    assert viewers(client, auth, SARAH, "no-such-room").status_code == 404
    events = review_events(app, room_id)
    outcomes = [(e.actor_id, e.outcome) for e in events]
    ids = {who: user_by_email(app, who).id for who in (SARAH, MARK, IRIS, PETE, HANA, OMAR, PRIYA)}
    assert outcomes == [(ids[w], "allowed") for w in (SARAH, MARK, IRIS)] + [
        (ids[w], "denied") for w in (PETE, HANA, OMAR, PRIYA)
    ]


def test_the_page_is_linked_from_the_room_for_the_lead_only(
    client: TestClient, app: Caseroom, password: str
) -> None:
    room_id = room_of(app, "Jamie").id
    sign_in(client, SARAH, password)
    assert f'href="/rooms/{room_id}/viewers"' in client.get(f"/rooms/{room_id}").text
    page = client.get(f"/rooms/{room_id}/viewers")
    assert page.status_code == 200 and "Sarah Okafor" in page.text
    client.cookies.clear()
    sign_in(client, PETE, password)
    assert f'href="/rooms/{room_id}/viewers"' not in client.get(f"/rooms/{room_id}").text
    assert client.get(f"/rooms/{room_id}/viewers").status_code == 404


@pytest.mark.browser
def test_sarah_follows_the_link_from_jamies_room(visit: Open, app: Caseroom, password: str) -> None:
    room_id = room_of(app, "Jamie").id
    sarah = visit(SARAH, password)
    page = sarah.go(f"/rooms/{room_id}")
    page.get_by_role("link", name="Who has seen this child").click()
    expect(page.get_by_role("heading", name="Who has seen this child")).to_be_visible()
    expect(page.get_by_test_id("viewers")).to_contain_text("Sarah Okafor")
    sarah.wait_for_axe(page.url)
