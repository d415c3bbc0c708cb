"""Flags that draw a manager's eye (issue #12, item 4): from the access log of the rooms a
manager (their team's) or IG lead (their organisation's) reviews, each told in a sentence —
break-glass, refused attempts, views outside working hours, a person viewing unusually many
rooms in a day against their own baseline, restricted items opened, and a guest's activity
in the last days of their access. A manager marks one reviewed with a note (audited); the
open ones are counted for the manager's home."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.browsing import Open
from tests.conftest import (
    HOLLY,
    IRIS,
    MARK,
    OMAR,
    PETE,
    PRIYA,
    SARAH,
    Tokens,
    give_second_factor,
    user_by_email,
)
from tests.mailing import add_member, room_of
from tests.test_break_glass import REASON, open_glass
from tests.test_sign_in import csrf_of, sign_in_fully, totp_code
from workspace.access import Access, Origin
from workspace.clock import clock, iso
from workspace.models import AuditEvent, FlagReview
from workspace.services import flags
from workspace.settings import Settings
from workspace.state import Caseroom

pytestmark = pytest.mark.mail


def flags_of(client: TestClient, auth: Tokens, who: str) -> list[dict[str, Any]]:
    response = client.get("/api/v1/audit/flags", headers=auth(who))
    assert response.status_code == 200, response.text
    return list(response.json()["items"])


def kinds(items: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    found: dict[str, list[dict[str, Any]]] = {}
    for f in items:
        found.setdefault(f["kind"], []).append(f)
    return found


def new_room(client: TestClient, auth: Tokens, name: str) -> str:
    made = client.post("/api/v1/rooms", headers=auth(SARAH), json={
        "child": {"name": name, "date_of_birth": "2016-05-01"}})  # fmt: skip
    assert made.status_code == 201, made.text
    return str(made.json()["id"])


def test_break_glass_and_a_refusal_are_flagged_for_the_manager_and_the_ig_lead(
    client: TestClient, auth: Tokens, app: Caseroom, quiet: None
) -> None:
    room_id = room_of(app, "Jamie").id
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(OMAR)).status_code == 404
    assert open_glass(client, auth, OMAR).status_code == 201
    for who in (MARK, IRIS):
        found = kinds(flags_of(client, auth, who))
        (glass,) = found["break_glass"]
        assert glass["actor"]["name"] == "Omar Reid" and glass["room_id"] == room_id
        assert REASON in glass["explanation"] and glass["reviewed"] is None
        assert any("Omar Reid was refused" in f["explanation"] for f in found["denied"])
    # Priya manages a police team: Jamie's room is led by the council's Sarah.
    assert flags_of(client, auth, PRIYA) == []
    for who in (SARAH, PETE, OMAR):
        assert client.get("/api/v1/audit/flags", headers=auth(who)).status_code == 404


def test_views_outside_working_hours_are_flagged_once_per_person_room_and_day(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = room_of(app, "Jamie").id
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(PETE)).status_code == 200
    assert "out_of_hours" not in kinds(flags_of(client, auth, MARK))  # Wednesday noon
    clock.advance(timedelta(hours=9))  # 21:00 UK time
    for _ in range(2):
        assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(PETE)).status_code == 200
    (late,) = kinds(flags_of(client, auth, MARK))["out_of_hours"]
    assert late["actor"]["name"] == "DC Pete Walsh"
    assert "2 time(s) on Wednesday 25 Nov outside working hours (08:00–18:00" in late["explanation"]


def test_working_hours_are_a_setting_in_uk_time_with_weekends_outside() -> None:
    assert Settings.from_env({"CASEROOM_WORKING_HOURS": "7-19"}).working_hours == (7, 19)
    assert Settings.from_env({}).working_hours == (8, 18)
    with pytest.raises(ValueError, match="CASEROOM_WORKING_HOURS"):
        Settings.from_env({"CASEROOM_WORKING_HOURS": "18-8"})
    summer_morning = datetime(2026, 7, 1, 7, 30, tzinfo=UTC)  # 08:30 in London (BST)
    assert flags._working((8, 18), summer_morning)
    assert not flags._working((9, 18), summer_morning)
    assert not flags._working((8, 18), datetime(2026, 11, 28, 12, 0, tzinfo=UTC))  # Saturday


def test_a_person_viewing_unusually_many_rooms_in_a_day_is_flagged(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    rooms = [new_room(client, auth, name) for name in ("Ava Stone", "Ben Stone", "Cal Stone")]
    clock.advance(timedelta(days=1))
    for room_id in rooms:
        assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(SARAH)).status_code == 200
    many = kinds(flags_of(client, auth, IRIS))["many_rooms"]
    assert [f["actor"]["name"] for f in many] == ["Sarah Okafor"]
    assert "viewed 3 rooms on Thursday 26 Nov" in many[0]["explanation"]
    assert flags.MANY_ROOMS_RULE in many[0]["explanation"]


def test_opening_a_restricted_item_is_flagged(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = room_of(app, "Jamie").id
    posted = client.post(f"/api/v1/rooms/{room_id}/messages", headers=auth(PETE),
                         json={"body": "Police only", "kind": "fact",
                               "sensitivity": "restricted"})  # fmt: skip
    assert posted.status_code == 201, posted.text
    read = client.get(f"/api/v1/messages/{posted.json()['id']}/history", headers=auth(SARAH))
    assert read.status_code == 200
    (opened,) = kinds(flags_of(client, auth, MARK))["restricted"]
    assert opened["actor"]["name"] == "Sarah Okafor"
    assert "opened a restricted message" in opened["explanation"]


def test_a_guests_views_in_the_last_three_days_of_their_access_are_flagged(
    client: TestClient, auth: Tokens, app: Caseroom, quiet: None
) -> None:
    room_id = room_of(app, "Jamie").id
    add_member(client, auth, room_id, HOLLY, role="guest",
               expires_at=iso(clock.now() + timedelta(days=5)))  # fmt: skip
    holly = user_by_email(app, HOLLY)

    def holly_views() -> None:
        with app.db.session() as session:
            access = Access(app, session, holly, Origin("web"))
            access.room(room_id)
            session.commit()

    holly_views()  # five days before her access ends: not flagged
    assert "guest_ending" not in kinds(flags_of(client, auth, MARK))
    clock.advance(timedelta(days=3))
    holly_views()
    (ending,) = kinds(flags_of(client, auth, MARK))["guest_ending"]
    assert ending["actor"]["name"] == "Holly Brennan"
    assert "1 time(s) in the last 3 days of their access" in ending["explanation"]


def test_a_manager_marks_a_flag_reviewed_with_a_note_and_it_is_audited(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = room_of(app, "Jamie").id
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(OMAR)).status_code == 404
    (refused,) = [f for f in flags_of(client, auth, MARK) if "Omar Reid" in f["explanation"]]
    with app.db.session() as session:
        before = flags.open_count(Access(app, session, user_by_email(app, MARK), Origin("web")))
    assert before >= 1
    url = f"/api/v1/audit/flags/{refused['id']}/review"
    assert client.post(url, headers=auth(PETE), json={"note": "Mine"}).status_code == 404
    assert client.post(url, headers=auth(MARK), json={"note": ""}).status_code == 422
    done = client.post(url, headers=auth(MARK), json={"note": "Omar mistyped the reference"})
    assert done.status_code == 200, done.text
    assert done.json()["reviewed"]["note"] == "Omar mistyped the reference"
    again = next(f for f in flags_of(client, auth, IRIS) if f["id"] == refused["id"])
    assert again["reviewed"]["note"] == "Omar mistyped the reference"
    with app.db.session() as session:
        after = flags.open_count(Access(app, session, user_by_email(app, MARK), Origin("web")))
        assert after == before - 1
        assert session.exec(select(FlagReview)).one().flag_id == refused["id"]
        reviews = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "review_flag")
        ).all()
    mark, pete = user_by_email(app, MARK).id, user_by_email(app, PETE).id
    assert [(e.actor_id, e.outcome) for e in reviews] == [(pete, "denied"), (mark, "allowed")]
    assert reviews[1].resource_id == refused["id"] and reviews[1].room_id == room_id


def test_the_page_lists_open_flags_and_takes_a_note(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = room_of(app, "Jamie").id
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(OMAR)).status_code == 404
    sign_in_fully(client, app, MARK, password)
    page = client.get("/audit/flags")
    assert page.status_code == 200 and "Omar Reid was refused" in page.text
    flag_id = next(f["id"] for f in flags_of(client, auth, MARK) if f["kind"] == "denied")
    posted = client.post(f"/audit/flags/{flag_id}/review", follow_redirects=False,
                         data={"note": "Spoke to Omar", "csrf_token": csrf_of(client)})  # fmt: skip
    assert posted.status_code == 303
    assert "“Spoke to Omar”" in client.get("/audit/flags").text


@pytest.mark.browser
def test_iris_reviews_a_flag_on_the_page(
    visit: Open, client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = room_of(app, "Jamie").id
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(OMAR)).status_code == 404
    secret = give_second_factor(app, IRIS)
    iris = visit(IRIS, password)
    page = iris.page
    page.get_by_label("Security code").fill(totp_code(secret))
    with page.expect_navigation():
        page.get_by_role("button", name="Continue").click()
    iris.go("/audit/flags")
    expect(page.get_by_role("heading", name="Access flags")).to_be_visible()
    iris.wait_for_axe(page.url)
    item = page.get_by_test_id("open-flags").locator("li", has_text="Omar Reid was refused")
    item.first.get_by_label("Note").fill("Spoke to Omar: wrong reference")
    with page.expect_navigation():
        item.first.get_by_role("button", name="Mark reviewed").click()
    expect(page.get_by_test_id("reviewed-flags")).to_contain_text("Spoke to Omar")
