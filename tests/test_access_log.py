"""The access log as a team manager reads it (issue #12 items 2, 5 and 7): one line per
visit, expandable to its events; actions in words, chosen from a list; every filter in the
URL and kept when paging; keyset pages; a streamed, formula-safe CSV export that is itself
audited; and reading the log recorded once per page, never per row."""

from __future__ import annotations

import csv
import io
import re
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.conftest import DAN, MARK, OMAR, PETE, PRIYA, SARAH, Tokens, user_by_email
from tests.test_sign_in import sign_in, sign_in_fully, sign_out
from workspace.models import AuditEvent, Child, Organisation, Room
from workspace.services import audit_log
from workspace.state import Caseroom
from workspace.web import PURPOSE_HEADER

FORMULA = '=HYPERLINK("http://evil.example")'


def jamie(app: Caseroom) -> Room:
    with app.db.session() as session:
        return session.exec(
            select(Room)
            .join(Child, col(Child.id) == col(Room.child_id))
            .where(Child.name == "Jamie Carter")
        ).one()


def log(client: TestClient, auth: Tokens, who: str, **params: Any) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit", params={"limit": 200, **params}, headers=auth(who))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def reads_of(app: Caseroom, email: str, action: str) -> list[AuditEvent]:
    actor = user_by_email(app, email)
    with app.db.session() as session:
        return list(
            session.exec(
                select(AuditEvent).where(
                    AuditEvent.actor_id == actor.id, AuditEvent.action == action
                )
            ).all()
        )


def visits_on(html: str) -> list[str]:
    return re.findall(r'<tr class="visit[^"]*">.*?</tr>', html, flags=re.S)


@pytest.fixture
def activity(client: TestClient, auth: Tokens, app: Caseroom) -> Room:
    """Sarah and Pete read Jamie's room; Omar (who is not in it) tries three times."""
    room = jamie(app)
    for who in (SARAH, PETE):
        for path in ("", "/members", "/messages"):
            got = client.get(f"/api/v1/rooms/{room.id}{path}", headers=auth(who))
            assert got.status_code == 200
    for _ in range(3):
        assert client.get(f"/api/v1/rooms/{room.id}", headers=auth(OMAR)).status_code == 404
    return room


# --- one line per visit -----------------------------------------------------------------------


def test_a_page_view_and_the_reads_it_made_are_one_visit_expandable_to_its_events(
    client: TestClient, app: Caseroom, password: str
) -> None:
    room = jamie(app)
    sign_in(client, SARAH, password)
    assert client.get(f"/rooms/{room.id}").status_code == 200
    sign_out(client)
    visit = [e for e in reads_of(app, SARAH, "view") if e.channel == "web"][-1]
    with app.db.session() as session:
        of_visit = session.exec(
            select(AuditEvent).where(AuditEvent.request_id == visit.request_id)
        ).all()
    assert len(of_visit) > 1  # the view and the reads it made

    sign_in_fully(client, app, MARK, password)
    page = client.get("/audit", params={"room_id": room.id, "person": "Sarah"})
    assert page.status_code == 200
    lines = [v for v in visits_on(page.text) if "Opened a room" in v]
    assert len(lines) == 1
    line = lines[0]
    assert "<details" in line and f"and {len(of_visit) - 1} more" in line
    assert line.count("<li>") == len(of_visit)  # the raw events, without JavaScript
    assert f"/audit?visit={visit.request_id}" in line
    alone = client.get("/audit", params={"visit": visit.request_id})
    assert len(visits_on(alone.text)) == 1


def test_a_visit_is_not_cut_by_the_page_boundary(
    client: TestClient, app: Caseroom, password: str
) -> None:
    room = jamie(app)
    sign_in(client, SARAH, password)
    for _ in range(3):
        assert client.get(f"/rooms/{room.id}").status_code == 200
    sign_out(client)
    sign_in_fully(client, app, MARK, password)
    seen: list[str] = []
    url: str | None = f"/audit?room_id={room.id}&person=Sarah&channel=web&limit=4"
    while url:
        page = client.get(url)
        for line in visits_on(page.text):
            seen.extend(re.findall(r"record (\d+)", line))
        found = re.search(r'<a href="(/audit\?[^"]*cursor=[^"]*)"', page.text)
        url = found.group(1).replace("&amp;", "&") if found else None
    web_events = [e for e in reads_of(app, SARAH, "view") if e.channel == "web"]
    assert len(web_events) == 3
    assert len(seen) == len(set(seen))  # no event shown twice


# --- actions in words, from a list ------------------------------------------------------------


def test_actions_are_named_in_words_and_chosen_from_a_list(
    client: TestClient, app: Caseroom, password: str, activity: Room
) -> None:
    sign_in_fully(client, app, MARK, password)
    page = client.get("/audit")
    assert '<select id="f-action" name="action">' in page.text
    assert (
        '<option value="export_sharing_record" >Exported the sharing record</option>' in page.text
    )
    assert "Read a room&#39;s messages" in page.text or "Read a room's messages" in page.text


def test_an_unknown_action_is_a_clear_error_not_an_empty_list(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    api = client.get(
        "/api/v1/audit", params={"action": "export sharing record"}, headers=auth(MARK)
    )
    assert api.status_code == 422
    assert api.json()["error"]["fields"] == {"action": "not an action the log records"}
    assert "Choose one from the Action list" in api.json()["error"]["message"]
    sign_in_fully(client, app, MARK, password)
    page = client.get("/audit", params={"action": "export sharing record"})
    assert page.status_code == 422
    assert "There is no action called “export sharing record”" in page.text
    assert 'name="action"' in page.text  # the form again, to choose from the list


# --- every filter -----------------------------------------------------------------------------


def test_every_filter(client: TestClient, auth: Tokens, app: Caseroom, activity: Room) -> None:
    room = activity
    sarah = user_by_email(app, SARAH)
    with app.db.session() as session:
        council = session.get(Organisation, sarah.organisation_id)
        assert council
    by_name = log(client, auth, MARK, person="sarah ok")
    assert by_name and {e["actor"]["email"] for e in by_name} == {SARAH}
    by_email = log(client, auth, MARK, person=SARAH.upper())
    assert [e["id"] for e in by_email] == [e["id"] for e in by_name]
    for value in (room.id, room.reference, room.reference.lower()):
        in_room = log(client, auth, MARK, room=value)
        assert in_room and {e["room_id"] for e in in_room} == {room.id}
    assert log(client, auth, MARK, room_id=room.id) == log(client, auth, MARK, room=room.id)[1:]
    assert log(client, auth, MARK, room="NO-SUCH-ROOM") == []
    of_council = log(client, auth, MARK, organisation=council.id)
    assert of_council and {e["actor"]["organisation"]["id"] for e in of_council} == {council.id}
    views = log(client, auth, MARK, action="list_members")
    assert views and {e["action"] for e in views} == {"list_members"}
    denied = log(client, auth, MARK, outcome="denied")
    assert len([e for e in denied if e["actor"]["email"] == OMAR]) == 3
    assert {e["outcome"] for e in denied} == {"denied"}
    assert {e["channel"] for e in log(client, auth, MARK, channel="api")} == {"api"}
    assert log(client, auth, MARK, channel="web") == []
    today = app.clock.now().date()
    assert log(client, auth, MARK, action="view", **{"from": today.isoformat()})
    yesterday = (today - timedelta(days=1)).isoformat()
    assert log(client, auth, MARK, action="view", to=yesterday) == []
    assert log(client, auth, MARK, action="view", **{"from": yesterday, "to": yesterday}) == []
    bad = client.get("/api/v1/audit", params={"from": "14/03/2026"}, headers=auth(MARK))
    assert bad.status_code == 422 and "from" in bad.json()["error"]["fields"]
    assert client.get("/api/v1/audit?channel=fax", headers=auth(MARK)).status_code == 422


def test_a_room_filter_by_id_works_as_the_managers_home_links_it(
    client: TestClient, app: Caseroom, password: str, activity: Room
) -> None:
    sign_in_fully(client, app, MARK, password)
    page = client.get(f"/audit?room={activity.id}")
    assert page.status_code == 200
    lines = visits_on(page.text)
    assert lines and all(activity.reference in line for line in lines)


def test_filters_are_kept_when_paging(
    client: TestClient, app: Caseroom, password: str, activity: Room
) -> None:
    sign_in_fully(client, app, MARK, password)
    url: str | None = "/audit?outcome=denied&limit=1"
    pages = 0
    while url:
        page = client.get(url)
        assert page.status_code == 200
        lines = visits_on(page.text)
        assert len(lines) == 1 and "row--denied" in lines[0]
        assert 'value="denied" selected' in page.text
        pages += 1
        found = re.search(r'<a href="(/audit\?[^"]*)" hx-get="([^"]*)"', page.text)
        if not found:
            break
        assert found.group(1) == found.group(2)  # the same page with or without htmx
        url = found.group(1).replace("&amp;", "&")
        query = parse_qs(urlsplit(url).query)
        assert query["outcome"] == ["denied"] and query["limit"] == ["1"]
    assert pages >= 3


def test_htmx_gets_the_results_alone_and_the_url_changes(
    client: TestClient, app: Caseroom, password: str, activity: Room
) -> None:
    sign_in_fully(client, app, MARK, password)
    full = client.get("/audit?outcome=denied")
    assert 'hx-get="/audit"' in full.text and 'hx-push-url="true"' in full.text
    part = client.get("/audit?outcome=denied", headers={"HX-Request": "true"})
    assert "<h1>" not in part.text and "<table" in part.text


# --- export -----------------------------------------------------------------------------------


def test_the_export_streams_every_event_of_the_filter_with_formulas_made_harmless(
    client: TestClient, auth: Tokens, app: Caseroom, activity: Room, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(audit_log, "EXPORT_BATCH", 2)  # many keyset pages
    headers = {**auth(SARAH), PURPOSE_HEADER: FORMULA}
    assert client.get(f"/api/v1/rooms/{activity.id}", headers=headers).status_code == 200
    expected = log(client, auth, MARK, room=activity.reference)
    before = len(reads_of(app, MARK, "export_audit"))
    response = client.get(
        "/api/v1/audit/export.csv", params={"room": activity.reference}, headers=auth(MARK)
    )
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/csv")
    assert "attachment" in response.headers["content-disposition"]
    rows = list(csv.DictReader(io.StringIO(response.text)))
    # The export's own event and the list_audit above are newer than what `log` saw.
    records = [r["record"] for r in rows]
    assert [str(e["seq"]) for e in expected if str(e["seq"]) in records] == [
        str(e["seq"]) for e in expected
    ]
    assert len(records) == len(set(records))
    purposes = [r["purpose"] for r in rows]
    assert "'" + FORMULA in purposes and FORMULA not in purposes
    assert {r["room"] for r in rows} == {activity.reference}
    exports = reads_of(app, MARK, "export_audit")
    assert len(exports) == before + 1 and exports[-1].outcome == "allowed"


def test_the_export_page_keeps_the_filter(
    client: TestClient, app: Caseroom, password: str, activity: Room
) -> None:
    sign_in_fully(client, app, MARK, password)
    page = client.get("/audit?outcome=denied")
    link = re.search(r'href="(/audit/export\.csv\?[^"]*)"', page.text)
    assert link and "outcome=denied" in link.group(1)
    exported = client.get(link.group(1).replace("&amp;", "&"))
    assert exported.status_code == 200
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert rows and {r["outcome"] for r in rows} == {"denied"}


# --- reading the log is audited, once a page ---------------------------------------------------


def test_one_audit_event_per_page_of_results(
    client: TestClient, auth: Tokens, app: Caseroom, activity: Room
) -> None:
    before = len(reads_of(app, MARK, "list_audit"))
    items = log(client, auth, MARK)
    assert len(items) > 10
    after = reads_of(app, MARK, "list_audit")
    assert len(after) == before + 1
    assert after[-1].purpose == "access review"
    log(client, auth, MARK, person="Sarah", outcome="denied")
    assert reads_of(app, MARK, "list_audit")[-1].purpose == (
        "access review: person=Sarah&outcome=denied"
    )  # whose activity was looked at


# --- who reads what ---------------------------------------------------------------------------


def test_a_practitioner_gets_404_on_the_export_and_reads_none_of_anyone_elses_activity(
    client: TestClient, auth: Tokens, app: Caseroom, activity: Room
) -> None:
    for who in (PETE, DAN):
        got = client.get("/api/v1/audit/export.csv", headers=auth(who))
        assert got.status_code == 404
        assert log(client, auth, who) == []  # they lead no room
    assert reads_of(app, PETE, "export_audit")[-1].outcome == "denied"


def test_the_police_manager_sees_petes_activity_but_not_the_council_teams(
    client: TestClient, auth: Tokens, app: Caseroom, activity: Room
) -> None:
    seen = log(client, auth, PRIYA)
    actors = {e["actor"]["email"] for e in seen if e["actor"]}
    assert PETE in actors
    assert not actors & {SARAH, OMAR, MARK}
    pete_org = user_by_email(app, PETE).organisation_id
    assert {e["actor"]["organisation"]["id"] for e in seen if e["actor"]} == {pete_org}
    assert log(client, auth, PRIYA, person="Sarah") == []
    exported = client.get("/api/v1/audit/export.csv", headers=auth(PRIYA))
    assert exported.status_code == 200
    people = {r["person"] for r in csv.DictReader(io.StringIO(exported.text))}
    assert user_by_email(app, SARAH).name not in people
