"""Through the API, nobody learns a room exists unless they are in it, and every
attempt — allowed or not — is in the audit log."""

from __future__ import annotations

from sqlmodel import select
from starlette.testclient import TestClient

from tests.conftest import DAN, HANA, OMAR, PETE, SARAH, Tokens
from workspace.models import AuditEvent
from workspace.state import Caseroom


def jamie_room(client: TestClient, auth: Tokens) -> str:
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    return next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter")


def events(app: Caseroom, **where: str) -> list[AuditEvent]:
    with app.db.session() as session:
        query = select(AuditEvent).order_by(AuditEvent.seq)  # type: ignore[arg-type]
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return list(session.exec(query).all())


def test_outsider_gets_404_on_room_members_and_messages_each_audited_as_denied(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie_room(client, auth)
    omar_id = client.get("/api/v1/me", headers=auth(OMAR)).json()["id"]
    for path in ("", "/members", "/messages"):
        response = client.get(f"/api/v1/rooms/{room_id}{path}", headers=auth(OMAR))
        assert response.status_code == 404
        assert response.json() == {"error": {"code": "not_found", "message": "Not found."}}
    denied = events(app, actor_id=omar_id, outcome="denied")
    assert [e.action for e in denied] == ["view", "list_members", "list_messages"]
    assert all(e.room_id == room_id and e.channel == "api" for e in denied)


def test_outsider_cannot_tell_a_hidden_room_from_a_missing_one(
    client: TestClient, auth: Tokens
) -> None:
    room_id = jamie_room(client, auth)
    hidden = client.get(f"/api/v1/rooms/{room_id}", headers=auth(OMAR))
    missing = client.get("/api/v1/rooms/00000000-0000-4000-8000-000000000000", headers=auth(OMAR))
    assert hidden.status_code == missing.status_code == 404
    assert hidden.json() == missing.json()


def test_room_is_absent_from_an_outsiders_list(client: TestClient, auth: Tokens) -> None:
    assert client.get("/api/v1/rooms", headers=auth(OMAR)).json() == {"items": [], "next": None}
    names = {
        r["child"]["name"] for r in client.get("/api/v1/rooms", headers=auth(HANA)).json()["items"]
    }
    assert names == {"Jamie Carter", "Lily Morgan"}
    names = {
        r["child"]["name"] for r in client.get("/api/v1/rooms", headers=auth(DAN)).json()["items"]
    }
    assert names == {"Jamie Carter"}


def test_restricted_message_reaches_only_its_organisation_and_the_lead(
    client: TestClient, auth: Tokens
) -> None:
    room_id = jamie_room(client, auth)

    def restricted_seen_by(email: str) -> int:
        items = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(email)).json()["items"]
        return sum(1 for m in items if m["sensitivity"] == "restricted")

    assert restricted_seen_by(PETE) == 1  # the police author's organisation
    assert restricted_seen_by(SARAH) == 1  # the lead professional
    assert restricted_seen_by(HANA) == 0  # health: another organisation
    assert restricted_seen_by(DAN) == 0  # school: another organisation


def test_every_read_of_room_messages_members_and_audit_is_audited(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie_room(client, auth)
    before = len(events(app))
    for path in (
        f"/rooms/{room_id}",
        f"/rooms/{room_id}/messages",
        f"/rooms/{room_id}/members",
        "/audit",
    ):
        assert client.get(f"/api/v1{path}", headers=auth(SARAH)).status_code == 200
    actions = [e.action for e in events(app)[before:]]
    assert actions == ["view", "list_messages", "list_members", "list_audit"]


def test_unauthenticated_and_bad_tokens_get_401(client: TestClient) -> None:
    assert client.get("/api/v1/rooms").status_code == 401
    bad = client.get("/api/v1/rooms", headers={"Authorization": "Bearer nope"})
    assert bad.status_code == 401
    assert bad.json()["error"]["code"] == "unauthenticated"
