"""The child's chronology (issue #15 item 1; DESIGN.md §6 "Chronology").

In Jamie's room (demo): Sarah leads; Pete (police), Hana (health) and Dan (school) are
members; Pete's police intelligence is restricted to the police and the lead. Members mark
items significant or add events of their own; the chronology also gathers agency events,
plan versions, the core group's comings and goings and sharing decisions. Each person sees
exactly the entries the item rules let them see: a restricted entry stays with its agency
and the lead, a guest's chronology starts when they joined, an outsider gets 404. An entry
recorded late shows both dates. Printing it is an audited export.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.conftest import DAN, HANA, HOLLY, OMAR, PETE, SARAH, TEST_START, Tokens, user_by_email
from tests.mailing import add_member, room_of
from tests.test_agency_events import event, integration_account
from tests.test_plan_pdf import text_of
from tests.test_policy_matrix import PEOPLE
from tests.test_sign_in import form_value, sign_in
from workspace.access import Access, Origin
from workspace.app import create_app
from workspace.clock import iso
from workspace.models import AuditEvent, Message, User
from workspace.services import chronology
from workspace.services.demo import POLICE
from workspace.state import Caseroom

MEMBERS = (SARAH, PETE, HANA, DAN)


@pytest.fixture
def jamie(app: Caseroom) -> str:
    return room_of(app, "Jamie").id


def entries(client: TestClient, auth: Tokens, who: str, room_id: str, query: str = "") -> Any:
    got = client.get(f"/api/v1/rooms/{room_id}/chronology{query}", headers=auth(who))
    assert got.status_code == 200, got.text
    return got.json()["items"]


def item_by(app: Caseroom, room_id: str, email: str) -> Message:
    author = user_by_email(app, email)
    with app.db.session() as session:
        return session.exec(
            select(Message).where(
                col(Message.room_id) == room_id, col(Message.author_id) == author.id
            ).order_by(col(Message.created_at))
        ).first()


def mark(client: TestClient, auth: Tokens, who: str, room_id: str, **body: Any) -> Any:
    body.setdefault("occurred_at", (TEST_START - timedelta(hours=2)).isoformat())
    body.setdefault("type", "fact")
    body.setdefault("summary", "Seen at home; no food in the house.")
    got = client.post(f"/api/v1/rooms/{room_id}/chronology", json=body, headers=auth(who))
    assert got.status_code == 201, got.text
    return got.json()


def ids(items: list[dict[str, Any]]) -> set[str]:
    return {e["id"] for e in items}


def test_an_item_marked_significant_is_seen_by_everyone_who_may_read_it(
    app: Caseroom, client: TestClient, auth: Tokens, jamie: str
) -> None:
    dans = item_by(app, jamie, DAN)
    entry = mark(client, auth, SARAH, jamie, item_id=dans.id, summary="Jamie came in hungry")
    assert entry["item_id"] == dans.id and entry["type"] == "fact"
    # The agency is the item's (the school); the author is who marked it.
    assert entry["agency"]["kind"] == "education"
    assert entry["author"]["email"] == SARAH
    for who in MEMBERS:
        assert entry["id"] in ids(entries(client, auth, who, jamie)), who
    got = client.get(f"/api/v1/rooms/{jamie}/chronology", headers=auth(OMAR))
    assert got.status_code == 404
    again = client.post(f"/api/v1/rooms/{jamie}/chronology", headers=auth(HANA),
                        json={**{k: entry[k] for k in ("item_id", "occurred_at", "type",
                                                       "summary")}})  # fmt: skip
    assert again.status_code == 409 and again.json()["error"]["code"] == "already_marked"


def test_a_restricted_entry_stays_with_its_agency_and_the_lead(
    app: Caseroom, client: TestClient, auth: Tokens, jamie: str
) -> None:
    police = next(
        m for m in client.get(f"/api/v1/rooms/{jamie}/messages", headers=auth(PETE)).json()["items"]
        if m["sensitivity"] == "restricted"
    )  # fmt: skip
    entry = mark(client, auth, PETE, jamie, item_id=police["id"], summary="Intelligence shared")
    assert entry["sensitivity"] == "restricted"
    own = mark(client, auth, HANA, jamie, sensitivity="restricted", summary="Health history")
    seen = {who: ids(entries(client, auth, who, jamie)) for who in MEMBERS}
    assert entry["id"] in seen[SARAH] and entry["id"] in seen[PETE]
    assert entry["id"] not in seen[HANA] and entry["id"] not in seen[DAN]
    assert own["id"] in seen[SARAH] and own["id"] in seen[HANA]
    assert own["id"] not in seen[PETE] and own["id"] not in seen[DAN]


def test_an_entry_recorded_late_shows_both_dates(
    client: TestClient, auth: Tokens, jamie: str
) -> None:
    week_ago = TEST_START - timedelta(days=7)
    late = mark(client, auth, HANA, jamie, occurred_at=week_ago.isoformat(),
                summary="Missed health appointment")  # fmt: skip
    assert late["late"] is True
    assert late["occurred_at"] == iso(week_ago)
    assert late["recorded_at"].startswith(iso(TEST_START)[:16])  # the clock runs on
    prompt = mark(client, auth, HANA, jamie, summary="Weighed today")
    assert prompt["late"] is False
    # Oldest first, by when it happened.
    listed = [e["id"] for e in entries(client, auth, SARAH, jamie)]
    assert listed.index(late["id"]) < listed.index(prompt["id"])


def test_a_guests_chronology_starts_when_they_joined(
    app: Caseroom, client: TestClient, auth: Tokens, jamie: str
) -> None:
    before = mark(client, auth, SARAH, jamie, summary="Strategy discussion held")
    app.clock.advance(timedelta(hours=1))
    add_member(client, auth, jamie, HOLLY, role="guest")
    app.clock.advance(timedelta(hours=1))
    after = mark(client, auth, SARAH, jamie, occurred_at=app.clock.now().isoformat(),
                 summary="Housing visit arranged")  # fmt: skip
    holly = entries(client, auth, HOLLY, jamie)
    assert after["id"] in ids(holly) and before["id"] not in ids(holly)
    assert any(e["type"] == "membership" and "joined as a guest" in e["summary"] for e in holly)
    assert all(e["occurred_at"] >= holly[0]["occurred_at"] for e in holly)
    # A guest reads; members mark.
    refused = client.post(f"/api/v1/rooms/{jamie}/chronology", headers=auth(HOLLY),
                          json={"occurred_at": TEST_START.isoformat(), "type": "fact",
                                "summary": "A guest's note"})  # fmt: skip
    assert refused.status_code == 403


def test_it_gathers_agency_events_the_plan_the_core_group_and_sharing_decisions(
    app: Caseroom, client: TestClient, auth: Tokens, jamie: str
) -> None:
    sent = client.post("/api/v1/agency-events", json=event(),
                       headers=integration_account(app, "systems@police.example", POLICE))
    assert sent.status_code == 201, sent.text
    signed = client.post(f"/api/v1/rooms/{jamie}/plan/versions", headers=auth(SARAH))
    assert signed.status_code == 201, signed.text
    decided = client.post(
        f"/api/v1/rooms/{jamie}/sharing-decisions", headers=auth(DAN),
        json={"decision": "not_share", "what": "the school counsellor's notes",
              "purpose": "Not needed for the plan", "lawful_basis": "public_task",
              "consent": "not_sought", "consent_reason": "Not shared"},
    )  # fmt: skip
    assert decided.status_code == 201, decided.text
    found = entries(client, auth, HANA, jamie)
    kinds = {e["type"] for e in found}
    assert {"agency_event", "plan", "membership", "sharing"} <= kinds
    [incident] = [e for e in found if e["type"] == "agency_event"]
    assert incident["agency"]["kind"] == "police"
    assert "Domestic abuse incident" in incident["summary"]
    # The event's own words stay in the room's item, not in the chronology.
    assert "Officers attended" not in incident["summary"]
    assert any("decided not to share the school counsellor" in e["summary"] for e in found)
    assert any(e["summary"].startswith("Plan version") for e in found)


def test_filters_by_agency_type_and_dates(
    client: TestClient, auth: Tokens, jamie: str
) -> None:
    old = mark(client, auth, HANA, jamie, type="opinion",
               occurred_at=(TEST_START - timedelta(days=30)).isoformat(),
               summary="Growth below expected")  # fmt: skip
    new = mark(client, auth, DAN, jamie, summary="Attendance 78% this term")
    opinions = entries(client, auth, SARAH, jamie, "?type=opinion")
    assert ids(opinions) == {old["id"]}
    school = entries(client, auth, SARAH, jamie, f"?agency={new['agency']['id']}")
    assert new["id"] in ids(school) and old["id"] not in ids(school)
    recent = entries(client, auth, SARAH, jamie, "?since=2026-11-20&until=2026-11-25")
    assert new["id"] in ids(recent) and old["id"] not in ids(recent)
    for query, field in (("?since=yesterday", "since"), ("?type=gossip", "type")):
        got = client.get(f"/api/v1/rooms/{jamie}/chronology{query}", headers=auth(SARAH))
        assert got.status_code == 422, got.text
        assert field in got.json()["error"]["fields"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"occurred_at": "2027-01-01T09:00:00Z"}, "occurred_at"),
        ({"occurred_at": "the day before yesterday"}, "occurred_at"),
        ({"summary": "x" * 301}, "summary"),
        ({"summary": "  "}, "summary"),
        ({"type": "gossip"}, "type"),
    ],
)
def test_a_bad_entry_is_refused_with_the_field_named(
    client: TestClient, auth: Tokens, jamie: str, body: dict[str, Any], field: str
) -> None:
    sent = {"occurred_at": TEST_START.isoformat(), "type": "fact", "summary": "Seen", **body}
    got = client.post(f"/api/v1/rooms/{jamie}/chronology", json=sent, headers=auth(SARAH))
    assert got.status_code == 422, got.text
    assert field in got.json()["error"]["fields"]


def test_an_item_of_another_room_cannot_be_marked_here(
    app: Caseroom, client: TestClient, auth: Tokens, jamie: str
) -> None:
    lily = room_of(app, "Lily").id
    hanas = item_by(app, lily, HANA)
    got = client.post(f"/api/v1/rooms/{jamie}/chronology", headers=auth(HANA),
                      json={"item_id": hanas.id, "occurred_at": TEST_START.isoformat(),
                            "type": "fact", "summary": "Wrong room"})  # fmt: skip
    assert got.status_code == 422 and "item_id" in got.json()["error"]["fields"]


def test_printing_it_is_an_audited_export_of_what_the_reader_may_see(
    app: Caseroom, client: TestClient, auth: Tokens, jamie: str
) -> None:
    mark(client, auth, PETE, jamie, sensitivity="restricted", summary="Police only: warrant")
    mark(client, auth, HANA, jamie, summary="Health visit: all well")
    got = client.get(f"/api/v1/rooms/{jamie}/chronology/pdf", headers=auth(HANA))
    assert got.status_code == 200 and got.content.startswith(b"%PDF")
    assert 'filename="chronology-' in got.headers["content-disposition"]
    with app.db.session() as session:
        exported = session.exec(
            select(AuditEvent).where(AuditEvent.action == "export_chronology")
        ).all()
    assert [(e.outcome, e.room_id) for e in exported] == [("allowed", jamie)]
    # What the PDF says: drawn in-process from the same read, as Hana.
    with app.db.session() as session:
        access = Access(app, session, session.get(User, user_by_email(app, HANA).id),
                        Origin("web"))  # fmt: skip
        shown = chronology.read(access, jamie, chronology.Filters())
        session.commit()
    said = text_of(chronology.document(shown))
    assert "Health visit: all well" in said
    assert "warrant" not in said
    assert "Printed by Hana" in said


def test_the_page_marks_an_item_from_the_room_and_prints(
    app: Caseroom, jamie: str, password: str
) -> None:
    dans = item_by(app, jamie, DAN)
    with TestClient(create_app(caseroom=app)) as browser:
        sign_in(browser, SARAH, password)
        room = browser.get(f"/rooms/{jamie}").text
        assert f'href="/rooms/{jamie}/chronology?item_id={dans.id}#add"' in room
        assert f'href="/rooms/{jamie}/chronology"' in room
        form = browser.get(f"/rooms/{jamie}/chronology?item_id={dans.id}")
        assert form.status_code == 200, form.text
        assert dans.body[:40] in form.text  # what is being marked
        assert 'name="occurred_at" type="datetime-local" value="2026-11-25T' in form.text
        sent = browser.post(
            f"/rooms/{jamie}/chronology",
            data={"csrf_token": form_value(form.text, "csrf_token"), "item_id": dans.id,
                  "occurred_at": "2026-11-24T08:50", "type": "fact",
                  "summary": "Arrived without breakfast, third time this week"},
            follow_redirects=False,
        )  # fmt: skip
        assert sent.status_code == 303, sent.text
        page = browser.get(sent.headers["location"])
        assert "Arrived without breakfast, third time this week" in page.text
        refused = browser.post(
            f"/rooms/{jamie}/chronology",
            data={"csrf_token": form_value(form.text, "csrf_token"), "occurred_at": "",
                  "type": "fact", "summary": ""},
        )  # fmt: skip
        assert refused.status_code == 422
        assert "Enter when it happened" in refused.text
        printed = browser.get(f"/rooms/{jamie}/chronology.pdf?type=fact")
        assert printed.status_code == 200 and printed.content.startswith(b"%PDF")


@pytest.mark.parametrize("room", ["Jamie", "Lily"])
def test_every_person_of_the_policy_matrix_sees_exactly_the_entries_of_the_items_they_may_read(
    app: Caseroom, client: TestClient, auth: Tokens, room: str
) -> None:
    """The lead marks every item of the room; then, for each person of the matrix, the
    entries about items they see in the chronology are exactly the items the messages API
    lets them read (and a room they may not see is a 404 for both)."""
    room_id = room_of(app, room).id
    items = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(SARAH)).json()["items"]
    for item in items:
        mark(client, auth, SARAH, room_id, item_id=item["id"], summary=f"About {item['id']}")
    for email in PEOPLE.values():
        listed = client.get(f"/api/v1/rooms/{room_id}/chronology", headers=auth(email))
        readable = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(email))
        assert listed.status_code == readable.status_code, email
        if readable.status_code != 200:
            assert listed.status_code == 404, email
            continue
        marked = {e["item_id"] for e in listed.json()["items"] if e["item_id"]}
        assert marked == {m["id"] for m in readable.json()["items"]}, email
