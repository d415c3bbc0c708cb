"""Deliveries are not audited one by one, but a reviewer can still answer "who could have
seen message M" (or file F): from memberships (when each began and ended), the policy as
of then, the lead's decisions to share it, and the audited joins and views — without being
shown the item itself. For a file, also who holds its key and who downloaded it."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.conftest import (
    DAN,
    HANA,
    HOLLY,
    IRIS,
    MARK,
    OMAR,
    PETE,
    PRIYA,
    REMOVAL,
    SARAH,
    LiveServer,
    Tokens,
    user_by_email,
)
from tests.mailing import add_member
from tests.test_files import World, _post_only
from tests.test_sharing import REASONS as SHARE_REASONS
from tests.test_sign_in import sign_in
from workspace.client import files
from workspace.clock import clock
from workspace.models import AuditEvent
from workspace.state import Caseroom


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


# --- files: the same report, with who holds the key and who downloaded it ---------------------


@pytest.fixture
def people(
    live_server: LiveServer, auth: Tokens, app: Caseroom, tmp_path_factory: pytest.TempPathFactory
) -> World:
    return World(live_server, auth, app, tmp_path_factory.mktemp("outside"))


def file_exposure(client: TestClient, auth: Tokens, who: str, file_id: str) -> Any:
    return client.get(f"/api/v1/files/{file_id}/exposure", headers=auth(who))


def by_name(report: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {e["user"]["name"]: e for e in report["items"]}


def test_a_files_report_names_its_readers_who_holds_its_key_and_who_downloaded_it(
    client: TestClient, auth: Tokens, people: World
) -> None:
    """Dan (school) is entitled but has no keys; Hana downloads it twice; Dan is removed
    later (his access ends; he never held a key)."""
    room_id = jamie(client, auth)
    people(HANA)
    file_id = people.put(SARAH, room_id, b"Strategy discussion minutes")
    clock.advance(timedelta(minutes=5))
    for _ in range(2):
        assert people.get(HANA, file_id) == b"Strategy discussion minutes"
    dan_id = client.get("/api/v1/me", headers=auth(DAN)).json()["id"]
    client.request(
        "DELETE", f"/api/v1/rooms/{room_id}/members/{dan_id}", headers=auth(SARAH), json=REMOVAL
    )
    report = file_exposure(client, auth, MARK, file_id)  # Sarah's manager
    assert report.status_code == 200, report.text
    body = report.json()
    assert body["file"]["id"] == file_id and body["file"]["uploader"]["email"] == SARAH
    assert names(body) == ["DC Pete Walsh", "Dan Hughes", "Hana Kowalski", "Sarah Okafor"]
    seen = by_name(body)
    hana, dan, sarah = seen["Hana Kowalski"], seen["Dan Hughes"], seen["Sarah Okafor"]
    assert (hana["holds_key"], hana["downloads"], hana["can_read_now"]) == (True, 2, True)
    assert hana["last_download_at"] > hana["could_read_from"]
    assert (dan["holds_key"], dan["downloads"], dan["can_read_now"]) == (False, 0, False)
    assert (sarah["holds_key"], sarah["downloads"]) == (True, 0)
    # Metadata only: not the encrypted name, not anyone's sealed key.
    meta = client.get(f"/api/v1/files/{file_id}", headers=auth(SARAH)).json()
    assert meta["encrypted_name"] not in report.text and meta["sealed_key"] not in report.text


def test_a_restricted_file_could_be_read_by_its_organisation_and_the_lead_only(
    client: TestClient, auth: Tokens, people: World
) -> None:
    room_id = jamie(client, auth)
    people(SARAH)
    file_id = people.put(PETE, room_id, b"police only", sensitivity="restricted")
    body = file_exposure(client, auth, IRIS, file_id).json()
    assert names(body) == ["DC Pete Walsh", "Sarah Okafor"]
    assert all(e["holds_key"] for e in body["items"])


def test_a_guest_the_lead_shared_an_earlier_file_with_could_read_it_from_the_decision(
    client: TestClient, auth: Tokens, people: World
) -> None:
    room_id = jamie(client, auth)
    file_id = people.put(SARAH, room_id, b"earlier assessment")
    clock.advance(timedelta(hours=1))
    add_member(client, auth, room_id, HOLLY, role="guest")
    holly = people(HOLLY)
    assert "Holly" not in file_exposure(client, auth, SARAH, file_id).text  # not hers yet
    clock.advance(timedelta(hours=1))
    sarah = people(SARAH)
    assert sarah.key is not None
    files.share(sarah.api, file_id, sarah.key, holly.id, SHARE_REASONS)
    shared_at = clock.now()
    [guest] = [e for e in file_exposure(client, auth, SARAH, file_id).json()["items"]
               if e["user"]["id"] == holly.id]  # fmt: skip
    assert guest["could_read_from"] is not None and guest["can_read_now"] and guest["holds_key"]
    started = datetime.fromisoformat(guest["could_read_from"])
    assert shared_at - timedelta(seconds=5) <= started <= shared_at


def test_only_the_rooms_reviewers_may_ask_about_a_file_and_it_is_audited(
    client: TestClient, auth: Tokens, people: World, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    people(SARAH)
    file_id = people.put(HANA, room_id, b"health visit notes")
    for reviewer in (SARAH, MARK, IRIS):
        assert file_exposure(client, auth, reviewer, file_id).status_code == 200
    with app.db.session() as session:
        last = session.exec(select(AuditEvent).order_by(col(AuditEvent.seq).desc())).first()
    assert last is not None
    assert (last.action, last.resource_type, last.resource_id, last.room_id, last.actor_id) == (
        "review_exposure", "file", file_id, room_id, user_by_email(app, IRIS).id
    )
    assert file_exposure(client, auth, HANA, file_id).status_code == 403  # not a reviewer
    for outsider in (OMAR, PRIYA):
        assert file_exposure(client, auth, outsider, file_id).status_code == 404


def test_a_file_the_caller_may_not_read_or_not_yet_uploaded_does_not_exist_for_them(
    client: TestClient, auth: Tokens, people: World
) -> None:
    room_id = jamie(client, auth)
    people(SARAH)
    police = people.put(PETE, room_id, b"police only", sensitivity="restricted")
    pending = _post_only(people, room_id, b"never sent")  # by Sarah
    unknown = file_exposure(client, auth, HANA, "00000000-0000-4000-8000-000000000000")
    hidden = file_exposure(client, auth, HANA, police)
    assert hidden.status_code == unknown.status_code == 404
    assert hidden.json() == unknown.json()
    # A declaration whose content never came is no item of the room, even for reviewers.
    assert file_exposure(client, auth, MARK, pending).status_code == 404


def test_the_access_log_links_to_the_files_report_and_the_page_shows_it(
    client: TestClient, auth: Tokens, people: World, password: str
) -> None:
    room_id = jamie(client, auth)
    people(HANA)
    file_id = people.put(SARAH, room_id, b"minutes")
    people.get(HANA, file_id)
    with TestClient(client.app) as browser:
        sign_in(browser, SARAH, password)
        log = browser.get(f"/audit?room_id={room_id}&action=download_file")
        assert f'href="/files/{file_id}/exposure"' in log.text
        page = browser.get(f"/files/{file_id}/exposure")
    assert page.status_code == 200, page.text
    assert "Who could have seen this file" in page.text and "Downloads" in page.text
    assert "Hana Kowalski" in page.text
