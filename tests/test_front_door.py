"""Raising a concern, and the local authority's front door (issue #14 items 2 and 3).

Dan (the school's DSL) raises a concern: about Jamie, whose room he is in, it goes straight
into the room; about a child with no room, to the council's front door, where Fay (its
triager, demo) rates it, sees how long it has waited, and decides: open a room (the child's
details filled in, the duplicate check applied; the concern is the room's first item),
attach it to the child's room through its lead, or close it with a reason. Nobody else sees
the queue.
"""

from __future__ import annotations

from typing import Any

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from tests.conftest import DAN, FAY, HOLLY, OMAR, SARAH, Tokens
from tests.mailing import room_of
from tests.test_agency_events import event, integration_account
from workspace.models import AuditEvent, Contact, Message, SharingDecision
from workspace.services.demo import COUNCIL, POLICE
from workspace.state import Caseroom

RILEY = {"name": "Riley Stone", "date_of_birth": "2015-05-05"}
DEMO_CHILD = "Kai Dawson"


def concern(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "child": RILEY,
        "what_happened": "Arrived hungry again and flinched when I raised my hand.",
        "happened_at": "2026-11-25T08:45:00Z",
        "place": "Oakfield Primary, Year 4 classroom",
        "who_told": None,
        "child_words": "Mum's boyfriend shouts at night and I can't sleep.",
        "action_taken": "Gave breakfast; told the head teacher.",
    }
    body.update(over)
    return body


def raise_(client: TestClient, auth: Tokens, who: str, **over: Any) -> dict[str, Any]:
    sent = client.post("/api/v1/concerns", json=concern(**over), headers=auth(who))
    assert sent.status_code == 201, sent.text
    return dict(sent.json())


def queue(client: TestClient, auth: Tokens, who: str = FAY) -> list[dict[str, Any]]:
    """The queue, less the demo's own contact (Holly's concern about Kai)."""
    got = client.get("/api/v1/front-door", headers=auth(who))
    assert got.status_code == 200, got.text
    return [c for c in got.json()["items"] if c["child"]["name"] != DEMO_CHILD]


def test_the_demo_has_a_concern_waiting_at_the_front_door(
    client: TestClient, auth: Tokens
) -> None:
    [waiting] = client.get("/api/v1/front-door", headers=auth(FAY)).json()["items"]
    assert waiting["child"]["name"] == DEMO_CHILD
    assert waiting["reporter"]["email"] == HOLLY


def test_a_concern_about_a_child_with_no_room_goes_to_the_front_door(
    app: Caseroom, client: TestClient, auth: Tokens
) -> None:
    receipt = raise_(client, auth, DAN)
    assert receipt["went_to"] == "front_door" and receipt["room_id"] is None
    assert receipt["reference"].startswith("C-")
    [contact] = queue(client, auth)
    assert contact["reference"] == receipt["reference"]
    assert contact["reporter"]["email"] == DAN
    assert contact["child"]["name"] == "Riley Stone"
    assert contact["child_words"] == concern()["child_words"]
    assert contact["status"] == "waiting" and contact["may_decide"] is True
    assert contact["due_at"].startswith("2026-11-26T12:00")  # one working day
    assert contact["overdue"] is False and contact["match"] is None


@pytest.mark.parametrize("who", [OMAR, SARAH, DAN])
def test_nobody_but_the_front_door_sees_the_queue(
    app: Caseroom, client: TestClient, auth: Tokens, who: str
) -> None:
    raise_(client, auth, DAN)
    contact_id = queue(client, auth)[0]["id"]
    assert client.get("/api/v1/front-door", headers=auth(who)).status_code == 404
    assert client.get(f"/api/v1/front-door/{contact_id}", headers=auth(who)).status_code == 404
    with app.db.session() as session:
        denied = session.exec(
            select(AuditEvent).where(
                AuditEvent.resource_type == "contact", AuditEvent.outcome == "denied"
            )
        ).all()
    assert len(denied) == 1


def test_a_concern_by_a_member_of_the_childs_room_goes_straight_into_it(
    app: Caseroom, client: TestClient, auth: Tokens
) -> None:
    receipt = raise_(client, auth, DAN, child={"name": "Jamie Carter", "upn": "A950000178301"})
    jamie = room_of(app, "Jamie").id
    assert receipt == {"reference": receipt["reference"], "went_to": "room", "room_id": jamie,
                       "contact_id": receipt["contact_id"]}  # fmt: skip
    items = client.get(f"/api/v1/rooms/{jamie}/messages", headers=auth(SARAH)).json()["items"]
    assert items[-1]["author"]["email"] == DAN
    assert items[-1]["body"].startswith(f"Concern raised ({receipt['reference']})")
    assert "In the child's words" in items[-1]["body"]
    assert queue(client, auth) == []
    told = client.get("/api/v1/notifications", headers=auth(SARAH)).json()["items"]
    assert any("concern was raised" in n["text"] for n in told)


def test_an_agency_event_that_matches_no_room_waits_at_the_front_door(
    app: Caseroom, client: TestClient, auth: Tokens
) -> None:
    police = integration_account(app, "pnc.link@police.example", POLICE)
    sent = client.post("/api/v1/agency-events", json=event(child=RILEY), headers=police)
    assert sent.json()["known"] is False
    [contact] = queue(client, auth)
    assert contact["source"] == "agency_event"
    assert contact["reporter"]["organisation"]["name"] == POLICE


def test_opening_a_room_from_a_contact_makes_the_concern_its_first_item(
    app: Caseroom, client: TestClient, auth: Tokens
) -> None:
    raise_(client, auth, DAN)
    contact_id = queue(client, auth)[0]["id"]
    assert (
        client.post(
            f"/api/v1/front-door/{contact_id}/rating", json={"rag": "amber"}, headers=auth(FAY)
        ).status_code
        == 204
    )
    decided = client.post(
        f"/api/v1/front-door/{contact_id}/decision",
        json={"decision": "open_room"},
        headers=auth(FAY),
    )
    assert decided.status_code == 200, decided.text
    assert decided.json()["status"] == "opened" and decided.json()["rag"] == "amber"
    room_id = decided.json()["room_id"]
    room = client.get(f"/api/v1/rooms/{room_id}", headers=auth(FAY)).json()
    assert room["child"]["name"] == "Riley Stone"
    [first] = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(FAY)).json()["items"]
    assert first["author"]["email"] == DAN and "Concern raised" in first["body"]
    with app.db.session() as session:
        [shared] = session.exec(
            select(SharingDecision).where(SharingDecision.room_id == room_id)
        ).all()
    assert shared.item_id == first["id"] and "front-door contact" in shared.what
    assert queue(client, auth) == []
    again = client.post(
        f"/api/v1/front-door/{contact_id}/decision",
        json={"decision": "close", "reason": "no_further_action"},
        headers=auth(FAY),
    )
    assert again.status_code == 403  # decided already


def test_attaching_a_contact_puts_it_in_the_childs_room_through_its_lead(
    app: Caseroom, client: TestClient, auth: Tokens
) -> None:
    """Holly (housing) is in no room; her concern about Jamie reaches the front door, which
    sees that Jamie has a room (led by Sarah) without seeing into it, and attaches it."""
    receipt = raise_(client, auth, HOLLY, child={"name": "Jamie", "nhs_number": "9434765919"})
    assert receipt["went_to"] == "front_door"
    [contact] = queue(client, auth)
    assert contact["match"]["lead"] == {"name": "Sarah Okafor", "organisation": COUNCIL}
    assert contact["match"]["room_id"] is None  # Fay may not open Jamie's room herself
    decided = client.post(
        f"/api/v1/front-door/{contact['id']}/decision",
        json={"decision": "attach"},
        headers=auth(FAY),
    )
    assert decided.status_code == 200, decided.text
    jamie = room_of(app, "Jamie").id
    items = client.get(f"/api/v1/rooms/{jamie}/messages", headers=auth(SARAH)).json()["items"]
    assert items[-1]["author"]["email"] == HOLLY
    told = client.get("/api/v1/notifications", headers=auth(SARAH)).json()["items"]
    assert any("front door added a contact" in n["text"] for n in told)
    with app.db.session() as session:
        shared = session.exec(
            select(SharingDecision).where(SharingDecision.item_id == items[-1]["id"])
        ).one()
    assert shared.with_user_id == client.get("/api/v1/me", headers=auth(SARAH)).json()["id"]


def test_opening_a_room_for_a_child_who_has_one_is_refused(
    app: Caseroom, client: TestClient, auth: Tokens
) -> None:
    raise_(client, auth, HOLLY, child={"name": "Jamie", "nhs_number": "9434765919"})
    contact = queue(client, auth)[0]
    refused = client.post(
        f"/api/v1/front-door/{contact['id']}/decision",
        json={"decision": "open_room"},
        headers=auth(FAY),
    )
    assert refused.status_code == 422  # the contact has no name and birthday to open with
    with_child = {
        "title": None,
        "plan_type": "child_in_need",
        "child": {"name": "Jamie Carter", "date_of_birth": "2017-03-14"},
    }
    refused = client.post(
        f"/api/v1/front-door/{contact['id']}/decision",
        json={"decision": "open_room", "room": with_child},
        headers=auth(FAY),
    )
    assert refused.status_code == 409  # the duplicate check
    assert queue(client, auth)[0]["status"] == "waiting"


def test_closing_a_contact_records_the_reason(
    app: Caseroom, client: TestClient, auth: Tokens
) -> None:
    raise_(client, auth, DAN)
    contact_id = queue(client, auth)[0]["id"]
    no_reason = client.post(
        f"/api/v1/front-door/{contact_id}/decision", json={"decision": "close"}, headers=auth(FAY)
    )
    assert no_reason.status_code == 422
    closed = client.post(
        f"/api/v1/front-door/{contact_id}/decision",
        json={"decision": "close", "reason": "early_help", "note": "Family agreed to early help"},
        headers=auth(FAY),
    )
    assert closed.status_code == 200, closed.text
    assert closed.json()["status"] == "closed" and closed.json()["close_reason"] == "early_help"
    assert queue(client, auth) == []
    decided = client.get("/api/v1/front-door?decided=1", headers=auth(FAY)).json()["items"]
    assert sorted(c["status"] for c in decided) == ["closed", "waiting"]  # and the demo's
    with app.db.session() as session:
        closed = session.exec(select(Contact).where(Contact.status == "closed")).one()
        assert closed.decision_note == "Family agreed to early help"
        assert session.exec(select(Message).where(Message.body.contains("flinched"))).all() == []  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"what_happened": ""}, "what_happened"),
        ({"what_happened": "x" * 4001}, "what_happened"),
        ({"child": {"name": ""}}, "child.name"),
        ({"child": {"name": "Riley", "nhs_number": "123"}}, "child.nhs_number"),
        ({"happened_at": "2030-01-01T00:00:00Z"}, "happened_at"),
        ({"sensitivity": "secret"}, "sensitivity"),
    ],
)
def test_a_bad_concern_is_refused_with_the_field_named(
    app: Caseroom, client: TestClient, auth: Tokens, change: dict[str, Any], field: str
) -> None:
    sent = client.post("/api/v1/concerns", json=concern(**change), headers=auth(DAN))
    assert sent.status_code == 422, sent.text
    assert field in sent.json()["error"]["fields"]
    with app.db.session() as session:
        assert [c.child_name for c in session.exec(select(Contact)).all()] == [DEMO_CHILD]
