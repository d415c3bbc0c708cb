"""Sharing decisions (issue #5, part 2; DOMAIN.md golden rule 7): the lead re-shares an
earlier message with a guest, who can then read it; anyone in the room records a decision
not to share; the lead and members read the room's sharing record, on a page and as an
audited CSV export that spreadsheets cannot run. Guests never see the child's date of
birth, NHS number or address."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any

from sqlmodel import select
from starlette.testclient import TestClient

from tests.conftest import HANA, HOLLY, OMAR, PETE, SARAH, Tokens, user_by_email
from tests.mailing import add_member, post
from tests.test_chat_sockets import jamie
from tests.test_sign_in import sign_in_fully
from workspace.clock import clock, iso
from workspace.models import AuditEvent, Child, Room, SharingDecision
from workspace.state import Caseroom

REASONS = {"purpose": "Housing need", "lawful_basis": "safeguarding", "consent": "given"}


def audited(app: Caseroom, action: str) -> list[AuditEvent]:
    with app.db.session() as session:
        return list(session.exec(select(AuditEvent).where(AuditEvent.action == action)).all())


def with_holly_as_guest(client: TestClient, auth: Tokens, room_id: str) -> None:
    add_member(client, auth, room_id, HOLLY, role="guest",
               expires_at=iso(clock.now() + timedelta(days=10)))  # fmt: skip


def bodies_for(client: TestClient, auth: Tokens, room_id: str, who: str) -> list[str]:
    response = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(who))
    assert response.status_code == 200, response.text
    return [m["body"] for m in response.json()["items"]]


def earlier_then_holly_as_guest(
    client: TestClient, auth: Tokens, body: str
) -> tuple[str, dict[str, Any]]:
    """Jamie's room: Pete posts `body`, then Holly (housing) joins as a guest."""
    room_id = jamie(client, auth)
    earlier = post(client, auth, PETE, room_id, body)
    clock.advance(timedelta(seconds=1))
    with_holly_as_guest(client, auth, room_id)
    return room_id, earlier


def share(
    client: TestClient, auth: Tokens, room_id: str, item_id: str, user_id: str, by: str = SARAH
) -> Any:
    return client.post(
        f"/api/v1/rooms/{room_id}/shares",
        headers=auth(by),
        json={"item_type": "message", "item_id": item_id, "user_id": user_id, **REASONS},
    )


def sign_in(client: TestClient, email: str, password: str) -> None:
    page = client.get("/login")
    token = re.search(r'name="login_token" value="([^"]+)"', page.text)
    assert token
    done = client.post(
        "/login",
        data={"email": email, "password": password, "login_token": token.group(1), "next": "/"},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text


# --- re-sharing an earlier message --------------------------------------------------------


def test_a_reshared_earlier_message_becomes_visible_to_the_guest(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id, earlier = earlier_then_holly_as_guest(
        client, auth, "Earlier: housing officer should know this"
    )
    assert earlier["body"] not in bodies_for(client, auth, room_id, HOLLY)
    holly = user_by_email(app, HOLLY).id
    response = share(client, auth, room_id, earlier["id"], holly)
    assert response.status_code == 201, response.text
    assert response.json()["decision"] == "share"
    assert earlier["body"] in bodies_for(client, auth, room_id, HOLLY)
    history = client.get(f"/api/v1/messages/{earlier['id']}/history", headers=auth(HOLLY))
    assert history.status_code == 200, history.text
    with app.db.session() as session:
        decision = session.exec(
            select(SharingDecision).where(SharingDecision.item_id == earlier["id"])
        ).one()
    assert (decision.with_user_id, decision.purpose, decision.lawful_basis, decision.consent) == (
        holly, "Housing need", "safeguarding", "given",
    )  # fmt: skip
    assert len(audited(app, "item_shared")) == 1


def test_only_the_lead_reshares(client: TestClient, auth: Tokens, app: Caseroom) -> None:
    room_id, earlier = earlier_then_holly_as_guest(client, auth, "Earlier note")
    holly = user_by_email(app, HOLLY).id
    assert share(client, auth, room_id, earlier["id"], holly, by=PETE).status_code == 403
    assert share(client, auth, room_id, earlier["id"], holly, by=OMAR).status_code == 404
    assert earlier["body"] not in bodies_for(client, auth, room_id, HOLLY)


def test_a_share_recorded_by_someone_who_was_not_lead_does_not_count(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    """Only the lead shares (rule 3): a stray "share" row by a member grants nothing."""
    room_id, earlier = earlier_then_holly_as_guest(
        client, auth, "Earlier, shared by the wrong person"
    )
    with app.db.session() as session:
        session.add(
            SharingDecision(
                room_id=room_id, decided_by_id=user_by_email(app, PETE).id, decision="share",
                what="message", item_id=earlier["id"], with_user_id=user_by_email(app, HOLLY).id,
                purpose="x", lawful_basis="public_task", consent="given", created_at=clock.now(),
            )
        )  # fmt: skip
        session.commit()
    assert earlier["body"] not in bodies_for(client, auth, room_id, HOLLY)


def test_a_restricted_message_cannot_be_shared_outside_its_organisation(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    secret = post(client, auth, PETE, room_id, "Police only", sensitivity="restricted")
    clock.advance(timedelta(seconds=1))
    with_holly_as_guest(client, auth, room_id)
    response = share(client, auth, room_id, secret["id"], user_by_email(app, HOLLY).id)
    assert response.status_code == 422
    with app.db.session() as session:
        assert (
            session.exec(
                select(SharingDecision).where(SharingDecision.item_id == secret["id"])
            ).all()
            == []
        )


def test_a_file_is_shared_by_wrapping_its_key_not_here(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    """Only someone holding a file's key can share it (issue #10): POST /files/{id}/keys."""
    room_id = jamie(client, auth)
    response = client.post(
        f"/api/v1/rooms/{room_id}/shares",
        headers=auth(SARAH),
        json={"item_type": "file", "item_id": "f", "user_id": user_by_email(app, HANA).id,
              **REASONS},
    )  # fmt: skip
    assert response.status_code == 422
    assert "/files/{id}/keys" in response.text


def test_a_retracted_message_cannot_be_shared(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id, earlier = earlier_then_holly_as_guest(client, auth, "Earlier, then retracted")
    retracted = client.post(f"/api/v1/messages/{earlier['id']}/retract", headers=auth(PETE))
    assert retracted.status_code == 200, retracted.text
    response = share(client, auth, room_id, earlier["id"], user_by_email(app, HOLLY).id)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "A retracted message cannot be shared."
    assert response.json()["error"]["fields"] == {"item_id": "retracted"}
    with app.db.session() as session:
        shared = select(SharingDecision).where(SharingDecision.item_id == earlier["id"])
        assert session.exec(shared).all() == []
    assert audited(app, "item_shared") == []


# --- a decision not to share -------------------------------------------------------------


def test_a_member_records_a_decision_not_to_share(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    hana_org = client.get("/api/v1/me", headers=auth(PETE)).json()["organisation"]["id"]
    response = client.post(
        f"/api/v1/rooms/{room_id}/sharing-decisions",
        headers=auth(HANA),
        json={
            "decision": "not_share",
            "what": "health visiting notes",
            "with_organisation": hana_org,
            "purpose": "Not relevant to the police enquiry",
            "lawful_basis": "public_task",
            "consent": "refused",
        },
    )
    assert response.status_code == 201, response.text
    listed = client.get(f"/api/v1/rooms/{room_id}/sharing-decisions", headers=auth(PETE))
    assert listed.status_code == 200
    (mine,) = [d for d in listed.json()["items"] if d["decision"] == "not_share"]
    assert mine["what"] == "health visiting notes" and mine["consent"] == "refused"
    assert mine["decided_by"]["name"] and mine["with_organisation"]["id"] == hana_org
    assert len(audited(app, "sharing_decision_recorded")) == 1


def test_consent_not_sought_needs_a_reason(client: TestClient, auth: Tokens) -> None:
    room_id = jamie(client, auth)
    response = client.post(
        f"/api/v1/rooms/{room_id}/sharing-decisions",
        headers=auth(HANA),
        json={"decision": "not_share", "what": "notes", "purpose": "p",
              "lawful_basis": "public_task", "consent": "not_sought"},
    )  # fmt: skip
    assert response.status_code == 422
    assert "consent_reason" in response.json()["error"]["fields"]


def test_guests_and_outsiders_do_not_read_the_sharing_record(
    client: TestClient, auth: Tokens, password: str
) -> None:
    room_id = jamie(client, auth)
    with_holly_as_guest(client, auth, room_id)
    path = f"/api/v1/rooms/{room_id}/sharing-decisions"
    assert client.get(path, headers=auth(HOLLY)).status_code == 403
    assert client.get(path, headers=auth(OMAR)).status_code == 404
    sign_in_fully(client, auth.app, HOLLY, password)
    assert client.get(f"/rooms/{room_id}/sharing").status_code == 403
    assert client.get(f"/rooms/{room_id}/sharing.csv").status_code == 403


# --- the record page and the CSV export --------------------------------------------------


def test_the_record_page_lists_every_decision(
    client: TestClient, auth: Tokens, password: str
) -> None:
    room_id = jamie(client, auth)
    with_holly_as_guest(client, auth, room_id)
    sign_in(client, SARAH, password)
    page = client.get(f"/rooms/{room_id}/sharing")
    assert page.status_code == 200, page.text
    # The demo's three invitations and Holly's, with their reasons.
    assert page.text.count("<tr>") == 4 + 1  # header row + four decisions
    assert "Holly" in page.text and "room access as guest" in page.text
    room_page = client.get(f"/rooms/{room_id}")
    assert f"/rooms/{room_id}/sharing" in room_page.text


def test_the_csv_export_is_audited_and_safe_to_open_in_a_spreadsheet(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)
    response = client.post(
        f"/api/v1/rooms/{room_id}/sharing-decisions",
        headers=auth(HANA),
        json={"decision": "not_share", "what": "=HYPERLINK(\"http://evil\")",
              "purpose": "+1+1", "lawful_basis": "public_task", "consent": "given"},
    )  # fmt: skip
    assert response.status_code == 201, response.text
    sign_in(client, SARAH, password)
    export = client.get(f"/rooms/{room_id}/sharing.csv")
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    assert "attachment" in export.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(export.text)))
    assert rows[0][:3] == ["when", "decision", "decided by"]
    assert len(rows) == 1 + 4
    injected = rows[-1]
    assert injected[3] == '\'=HYPERLINK("http://evil")' and injected[7] == "'+1+1"
    assert not any(cell[:1] in "=+-@" and cell for row in rows[1:] for cell in row)
    exports = audited(app, "export_sharing_record")
    assert len(exports) == 1 and exports[0].room_id == room_id and exports[0].channel == "web"


# --- rule 3: a guest never gets identifiers -----------------------------------------------


def test_a_guest_never_gets_date_of_birth_nhs_number_or_address_from_the_room_api(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    with_holly_as_guest(client, auth, room_id)
    with app.db.session() as session:
        room = session.get(Room, room_id)
        assert room is not None
        child = session.get(Child, room.child_id)
        assert child is not None and child.nhs_number and child.address
        secrets = [child.date_of_birth.isoformat(), child.nhs_number, child.address]
    answers = [
        client.get(f"/api/v1/rooms/{room_id}", headers=auth(HOLLY)),
        client.get("/api/v1/rooms", headers=auth(HOLLY)),
        client.get(f"/api/v1/rooms/{room_id}/members", headers=auth(HOLLY)),
        client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(HOLLY)),
    ]
    for answer in answers:
        assert answer.status_code == 200, answer.text
        assert not any(s in answer.text for s in secrets)
    assert set(answers[0].json()["child"]) == {"name", "age"}


def test_the_lead_shares_from_the_record_page(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id, earlier = earlier_then_holly_as_guest(client, auth, "Earlier: for the housing officer")
    sign_in(client, SARAH, password)
    page = client.get(f"/rooms/{room_id}/sharing")
    assert "Share an earlier message" in page.text and earlier["id"] in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert token
    form = {"csrf_token": token.group(1), "item_id": earlier["id"],
            "user_id": user_by_email(app, HOLLY).id, **REASONS}  # fmt: skip
    done = client.post(f"/rooms/{room_id}/shares", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    assert earlier["body"] in bodies_for(client, auth, room_id, HOLLY)
    refused = client.post(
        f"/rooms/{room_id}/sharing-decisions",
        data={"csrf_token": token.group(1), "what": "notes", "purpose": "p",
              "lawful_basis": "public_task", "consent": "not_sought"},
    )  # fmt: skip
    assert refused.status_code == 422 and "Say why consent was not sought." in refused.text


def test_the_lead_shares_an_earlier_plan_version_with_a_guest_from_the_record_page(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)
    plan = f"/api/v1/rooms/{room_id}/plan"
    client.patch(plan, headers=auth(SARAH), json={"concerns": "As agreed at conference"})
    assert client.post(f"{plan}/versions", headers=auth(SARAH)).status_code == 201
    clock.advance(timedelta(seconds=1))
    client.patch(plan, headers=auth(SARAH), json={"concerns": "Reviewed"})
    assert client.post(f"{plan}/versions", headers=auth(SARAH)).status_code == 201
    clock.advance(timedelta(seconds=1))
    with_holly_as_guest(client, auth, room_id)
    assert client.get(f"{plan}/versions/1", headers=auth(HOLLY)).status_code == 404
    sign_in(client, SARAH, password)
    page = client.get(f"/rooms/{room_id}/sharing")
    assert "Plan version 1, signed by Sarah Okafor" in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    first = re.search(r'<option value="(plan_version:[^"]+)">Plan version 1,', page.text)
    assert token and first
    form = {"csrf_token": token.group(1), "item_id": first.group(1),
            "user_id": user_by_email(app, HOLLY).id, **REASONS}  # fmt: skip
    done = client.post(f"/rooms/{room_id}/shares", data=form, follow_redirects=False)
    assert done.status_code == 303, done.text
    version = client.get(f"{plan}/versions/1", headers=auth(HOLLY))
    assert version.status_code == 200 and version.json()["plan"]["concerns"] == (
        "As agreed at conference"
    )
    record = client.get(f"/rooms/{room_id}/sharing").text
    assert "Housing need" in record
