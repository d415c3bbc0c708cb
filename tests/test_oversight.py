"""A manager's home (issue #12 item 1): a team manager sees the rooms their team leads, an
IG lead those their organisation leads, for supervision — reference, the child's initials
and age, lead, status, last activity, the plan's next statutory deadline, how many actions
are overdue and whose guest access ends soon — and nothing of what is written in them
(rule 7: managers and IG leads read no case content unless they are members).

Decided by the policy's `oversee` permission, listed by a filtered query that equals, for
every person, the rooms for which the policy says yes. The list is one audit event.
Today is Wednesday 25 November 2026 (tests/conftest.py).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.browsing import Open
from tests.conftest import (
    ALEX,
    DAN,
    HANA,
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
from tests.mailing import room_of
from tests.support import events
from tests.test_sign_in import sign_in_fully, totp_code
from workspace.access import Access, Origin
from workspace.app import create_app
from workspace.facts import principal_for, room_fact
from workspace.models import Membership, Message, Room, User
from workspace.schemas import ChildIn, RoomIn
from workspace.services import oversight, rooms
from workspace.state import Caseroom

EVERYONE = (SARAH, MARK, IRIS, OMAR, ALEX, PETE, PRIYA, HANA, DAN, HOLLY)
API = "/api/v1/oversight/rooms"
CHILDREN = ("Jamie Carter", "Lily Morgan", "Riley Stone", "Sam Obi")
ACTION_TEXT = "Weigh Jamie at the clinic"


def open_room(app: Caseroom, lead: str, name: str, born: date) -> str:
    with app.db.session() as session:
        access = Access(app, session, user_by_email(app, lead), Origin("cli"))
        view = rooms.create_room(access, RoomIn(child=ChildIn(name=name, date_of_birth=born)))
        session.commit()
        return view.room.id


@pytest.fixture
def world(app: Caseroom, client: TestClient, auth: Tokens) -> dict[str, str]:
    """The demo, plus a room led by the police (Pete) and one led by a council practitioner
    of another team (Omar); Jamie's plan has key dates and an overdue action; Lily's room
    has a guest whose access ends in three days."""
    jamie, lily = room_of(app, "Jamie").id, room_of(app, "Lily").id
    riley = open_room(app, PETE, "Riley Stone", date(2012, 1, 9))
    sam = open_room(app, OMAR, "Sam Obi", date(2015, 6, 30))
    plan = f"/api/v1/rooms/{jamie}/plan"
    dates = {"key_dates": {"strategy_discussion": "2026-11-10"}}
    assert client.patch(plan, headers=auth(SARAH), json=dates).status_code == 200
    outcome = client.post(f"{plan}/outcomes", headers=auth(SARAH), json={"text": "Jamie thrives"})
    action = client.post(
        f"{plan}/outcomes/{outcome.json()['id']}/actions", headers=auth(SARAH),
        json={"text": ACTION_TEXT, "owner_id": user_by_email(app, HANA).id, "due": "2026-11-20"},
    )  # fmt: skip
    assert action.status_code == 201, action.text
    with app.db.session() as session:
        now = app.clock.now()
        session.add(
            Membership(
                room_id=lily,
                user_id=user_by_email(app, HOLLY).id,
                role="guest",
                joined_at=now,
                expires_at=now + timedelta(days=3),
                purpose="Housing",
            )
        )
        session.commit()
    return {"jamie": jamie, "lily": lily, "riley": riley, "sam": sam}


def case_content(app: Caseroom) -> list[str]:
    """Everything a manager must not read: the children's names and what was written."""
    with app.db.session() as session:
        bodies = list(session.exec(select(Message.body)).all())
    return [*CHILDREN, *bodies, ACTION_TEXT, "Jamie thrives"]


def overseen(client: TestClient, auth: Tokens, who: str) -> dict[str, dict[str, Any]]:
    response = client.get(API, headers=auth(who))
    assert response.status_code == 200, response.text
    return {item["id"]: item for item in response.json()["items"]}


# --- what a manager sees -----------------------------------------------------------------


def test_mark_sees_sarahs_rooms_by_initials_age_lead_deadline_and_counts(
    app: Caseroom, client: TestClient, auth: Tokens, world: dict[str, str]
) -> None:
    response = client.get(API, headers=auth(MARK))
    assert response.status_code == 200
    items = {i["id"]: i for i in response.json()["items"]}
    assert set(items) == {world["jamie"], world["lily"]}  # not Omar's team, not the police

    jamie = items[world["jamie"]]
    assert jamie["reference"] == room_of(app, "Jamie").reference
    assert jamie["child"] == {"initials": "J.C.", "age": 9}
    assert jamie["lead"]["name"] == "Sarah Okafor"
    assert jamie["lead"]["organisation"]["name"] == "Northshire Council Children's Services"
    assert jamie["status"] == "open"
    # 15 working days after the strategy discussion on Tuesday 10 November.
    assert jamie["next_deadline"]["step"] == "initial_conference"
    assert jamie["next_deadline"]["due"] == "2026-12-01"
    assert jamie["next_deadline"]["overdue"] is False
    assert jamie["next_deadline"]["text"].startswith(
        "Initial conference due Tuesday 1 December 2026"
    )
    assert jamie["overdue_actions"] == 1
    assert jamie["guests_ending"] == {"count": 0, "first": None}
    assert jamie["may_open"] is False
    assert jamie["last_activity"].startswith("2026-11-25")

    lily = items[world["lily"]]
    assert lily["child"] == {"initials": "L.M.", "age": 6}
    assert lily["next_deadline"] is None and lily["overdue_actions"] == 0
    assert lily["guests_ending"]["count"] == 1
    assert lily["guests_ending"]["first"] is not None

    for words in case_content(app):
        assert words not in response.text


def test_last_activity_is_the_newest_message_file_or_plan_edit_open_to_the_room(
    app: Caseroom, client: TestClient, auth: Tokens, world: dict[str, str]
) -> None:
    before = overseen(client, auth, MARK)[world["lily"]]["last_activity"]
    app.clock.advance(timedelta(hours=2))
    restricted = client.post(
        f"/api/v1/rooms/{world['lily']}/messages", headers=auth(HANA),
        json={"body": "Only for health", "kind": "note", "sensitivity": "restricted"},
    )  # fmt: skip
    assert restricted.status_code == 201, restricted.text
    # A restricted item's time is kept from those outside its organisation (rule 2).
    assert overseen(client, auth, MARK)[world["lily"]]["last_activity"] == before
    app.clock.advance(timedelta(hours=1))
    posted = client.post(
        f"/api/v1/rooms/{world['lily']}/messages", headers=auth(HANA),
        json={"body": "Clinic visit done", "kind": "note", "sensitivity": "room"},
    )  # fmt: skip
    assert posted.status_code == 201
    after = overseen(client, auth, MARK)[world["lily"]]["last_activity"]
    assert after > before and after == posted.json()["created_at"]


def test_an_ig_lead_sees_the_rooms_her_organisation_leads(
    client: TestClient, auth: Tokens, world: dict[str, str]
) -> None:
    assert set(overseen(client, auth, IRIS)) == {world["jamie"], world["lily"], world["sam"]}


def test_the_police_manager_sees_none_of_the_councils_rooms(
    client: TestClient, auth: Tokens, world: dict[str, str]
) -> None:
    assert set(overseen(client, auth, PRIYA)) == {world["riley"]}


@pytest.mark.parametrize("who", [SARAH, OMAR, PETE, HANA, ALEX])
def test_anyone_else_is_answered_404_and_the_refusal_is_recorded(
    app: Caseroom, client: TestClient, auth: Tokens, who: str, world: dict[str, str]
) -> None:
    response = client.get(API, headers=auth(who))
    assert response.status_code == 404
    last = events(app)[-1]
    who_id = user_by_email(app, who).id
    assert (last.action, last.outcome, last.actor_id) == ("oversee_rooms", "denied", who_id)


def test_each_list_is_one_audit_event(
    app: Caseroom, client: TestClient, auth: Tokens, world: dict[str, str]
) -> None:
    auth(MARK)  # the token is made (and audited) before we count
    seen = len(events(app))
    overseen(client, auth, MARK)
    new = events(app)[seen:]
    assert [(e.action, e.outcome, e.channel) for e in new] == [
        ("list_overseen_rooms", "allowed", "api")
    ]
    assert new[0].actor_id == user_by_email(app, MARK).id


def test_the_list_is_exactly_the_rooms_the_policy_lets_each_person_oversee(
    app: Caseroom, world: dict[str, str]
) -> None:
    with app.db.session() as session:
        all_rooms = session.exec(
            select(Room, User).join(User, col(User.id) == col(Room.lead_user_id))
        ).all()
        assert len(all_rooms) == 4
        for email in EVERYONE:
            user = session.exec(select(User).where(User.email == email)).one()
            access = Access(app, session, user, Origin("api"))
            principal = principal_for(session, user, access.now)
            allowed = {
                room.id
                for room, lead in all_rooms
                if app.authorizer.is_allowed(principal, "oversee", room_fact(room, lead))
            }
            if oversight.may_oversee(access):
                listed = {o.room.id for o in oversight.list_overseen(access, limit=200).items}
                assert listed == allowed, email
            else:
                assert allowed == set(), email
            session.rollback()


def test_a_manager_who_is_also_a_member_may_open_that_room_from_the_list(
    app: Caseroom, client: TestClient, auth: Tokens, world: dict[str, str]
) -> None:
    added = client.post(
        f"/api/v1/rooms/{world['lily']}/members", headers=auth(SARAH),
        json={"email": MARK, "role": "member", "purpose": "Supervision",
              "lawful_basis": "safeguarding", "consent": "not_sought",
              "consent_reason": "Seeking consent could place the child at increased risk."},
    )  # fmt: skip
    assert added.status_code == 201, added.text
    items = overseen(client, auth, MARK)
    assert items[world["lily"]]["may_open"] is True
    assert items[world["jamie"]]["may_open"] is False


def test_the_list_pages_with_a_cursor(
    client: TestClient, auth: Tokens, world: dict[str, str]
) -> None:
    first = client.get(API, params={"limit": 2}, headers=auth(IRIS)).json()
    assert len(first["items"]) == 2 and first["next"]
    rest = client.get(API, params={"limit": 2, "cursor": first["next"]}, headers=auth(IRIS))
    ids = [i["id"] for i in first["items"]] + [i["id"] for i in rest.json()["items"]]
    assert sorted(ids) == sorted([world["jamie"], world["lily"], world["sam"]])
    assert rest.json()["next"] is None


# --- the home page -----------------------------------------------------------------------


@contextmanager
def home_of(app: Caseroom, email: str, password: str) -> Iterator[str]:
    with TestClient(create_app(caseroom=app), base_url="http://testserver") as browser:
        sign_in_fully(browser, app, email, password)
        page = browser.get("/")
        assert page.status_code == 200, page.text
        yield page.text


def test_marks_home_shows_his_teams_rooms_without_their_content(
    app: Caseroom, password: str, world: dict[str, str]
) -> None:
    with home_of(app, MARK, password) as page:
        assert "Your team&#39;s rooms" in page or "Your team's rooms" in page
        assert "You are not a member of any case room yet" not in page
        assert room_of(app, "Jamie").reference in page
        assert "J.C., 9" in page and "L.M., 6" in page
        assert "Sarah Okafor" in page
        assert "Initial conference due Tuesday 1 December 2026" in page
        assert f'href="/audit?room={world["jamie"]}"' in page
        assert f'href="/rooms/{world["jamie"]}"' not in page  # not a member
        assert room_of(app, "Sam").reference not in page  # Omar's team, not Mark's
        # The flags awaiting his review are counted on his home and link to the list.
        assert 'data-testid="open-flags"' in page and 'href="/audit/flags"' in page
        for words in case_content(app):
            assert words not in page


def test_an_ig_leads_home_names_her_organisations_rooms(
    app: Caseroom, password: str, world: dict[str, str]
) -> None:
    with home_of(app, IRIS, password) as page:
        assert "Your organisation" in page
        assert f'href="/audit?room={world["sam"]}"' in page


def test_a_practitioners_home_has_no_such_section(
    app: Caseroom, password: str, world: dict[str, str]
) -> None:
    with home_of(app, OMAR, password) as page:
        assert 'data-testid="overseen"' not in page
        assert "Riley" not in page and "Jamie" not in page


@pytest.mark.browser
def test_mark_signs_in_and_finds_his_teams_rooms_on_his_home(
    app: Caseroom, visit: Open, password: str
) -> None:
    secret = give_second_factor(app, MARK)
    mark = visit(MARK, password)
    page = mark.page
    expect(page).to_have_url(mark.base + "/login/totp")
    page.get_by_label("Security code").fill(totp_code(secret))
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("My rooms")
    section = page.get_by_test_id("overseen")
    expect(section.get_by_role("heading", level=2)).to_have_text("Your team's rooms")
    rows = section.get_by_test_id("overseen-room")
    expect(rows).to_have_count(2)
    jamie = rows.filter(has_text=room_of(app, "Jamie").reference)
    expect(jamie).to_contain_text("J.C., 9")
    expect(jamie).to_contain_text("Sarah Okafor")
    expect(jamie.get_by_role("link", name=re.compile("Access log"))).to_have_attribute(
        "href", f"/audit?room={room_of(app, 'Jamie').id}"
    )
    assert "Jamie Carter" not in page.content()
    assert "not a member of any case room yet" not in page.content()
    mark.wait_for_axe(page.url)
