"""Deliveries are not audited one by one, but a reviewer can still answer "who could have
seen message M": from memberships (when each began and ended), the policy as of then, and
the audited joins and views — without being shown the message itself."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from starlette.testclient import TestClient

from tests.conftest import DAN, HANA, IRIS, MARK, OMAR, PETE, PRIYA, REMOVAL, SARAH, Tokens
from workspace.clock import clock


def jamie(client: TestClient, auth: Tokens) -> str:
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    return str(next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter"))


def exposure(client: TestClient, auth: Tokens, who: str, message_id: str) -> Any:
    return client.get(f"/api/v1/messages/{message_id}/exposure", headers=auth(who))


def names(report: dict[str, Any]) -> list[str]:
    return sorted(e["user"]["name"] for e in report["items"])


def test_a_restricted_message_could_be_seen_by_its_organisation_and_the_lead_only(
    client: TestClient, auth: Tokens
) -> None:
    room_id = jamie(client, auth)
    message = client.post(f"/api/v1/rooms/{room_id}/messages", headers=auth(PETE),
                          json={"body": "Police only", "kind": "fact",
                                "sensitivity": "restricted"}).json()
    report = exposure(client, auth, MARK, message["id"])  # Sarah's manager
    assert report.status_code == 200, report.text
    body = report.json()
    assert names(body) == ["DC Pete Walsh", "Sarah Okafor"]
    assert "Police only" not in report.text  # metadata only, never the text


def test_views_after_the_message_are_counted_and_removal_is_shown(
    client: TestClient, auth: Tokens
) -> None:
    room_id = jamie(client, auth)
    message = client.post(f"/api/v1/rooms/{room_id}/messages", headers=auth(HANA),
                          json={"body": "For everyone", "kind": "note",
                                "sensitivity": "room"}).json()
    clock.advance(timedelta(minutes=5))
    client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(DAN))
    dan_id = client.get("/api/v1/me", headers=auth(DAN)).json()["id"]
    client.request(
        "DELETE", f"/api/v1/rooms/{room_id}/members/{dan_id}", headers=auth(SARAH), json=REMOVAL
    )
    body = exposure(client, auth, SARAH, message["id"]).json()
    dan = next(e for e in body["items"] if e["user"]["name"] == "Dan Hughes")
    assert dan["views"] == 1 and dan["can_read_now"] is False
    assert names(body) == ["DC Pete Walsh", "Dan Hughes", "Hana Kowalski", "Sarah Okafor"]


def test_only_the_rooms_reviewers_may_ask(client: TestClient, auth: Tokens) -> None:
    room_id = jamie(client, auth)
    message = client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(SARAH)).json()
    message_id = message["items"][0]["id"]
    for reviewer in (SARAH, MARK, IRIS):
        assert exposure(client, auth, reviewer, message_id).status_code == 200
    assert exposure(client, auth, HANA, message_id).status_code == 403  # a member, not a reviewer
    for outsider in (OMAR, PRIYA):
        assert exposure(client, auth, outsider, message_id).status_code == 404


def test_a_message_the_caller_may_not_read_does_not_exist_for_them(
    client: TestClient, auth: Tokens
) -> None:
    """Hana is in Jamie's room but may not read Pete's restricted message: asking who saw
    it must not tell her it exists (issue #9, item 5)."""
    room_id = jamie(client, auth)
    restricted = client.post(f"/api/v1/rooms/{room_id}/messages", headers=auth(PETE),
                             json={"body": "Police only", "kind": "fact",
                                   "sensitivity": "restricted"}).json()
    hidden = exposure(client, auth, HANA, restricted["id"])
    unknown = exposure(client, auth, HANA, "00000000-0000-4000-8000-000000000000")
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()
