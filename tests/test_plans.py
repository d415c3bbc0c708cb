"""A room's plan through the JSON API and its page (issue #11, DESIGN.md §6 "Plans"): every
room has one from the start; the lead and members edit it, guests and break-glass readers
only read it, a closed room's is read-only; bad input is refused naming the field; the
lead publishes versions that never change, which guests read from the one agreed when
they joined; every view and every edit is audited (an edit once per call)."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select
from starlette.testclient import TestClient

from policy.authorizer import get_authorizer
from tests.conftest import (
    DAN,
    HANA,
    HOLLY,
    OMAR,
    PETE,
    SARAH,
    Tokens,
    user_by_email,
)
from tests.test_break_glass import open_glass
from tests.test_chat_sockets import jamie
from tests.test_sharing import with_holly_as_guest
from tests.test_sign_in import csrf_of, sign_in, sign_in_fully
from workspace.app import create_app
from workspace.clock import clock
from workspace.facts import plan_version_fact, principal_for, room_fact
from workspace.models import AuditEvent, Plan, PlanUpdate, PlanVersion, Room, SharingDecision, User
from workspace.services.plans import store
from workspace.state import Caseroom

ROOT = Path(__file__).resolve().parent.parent


def lily(client: TestClient, auth: Tokens) -> str:
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    return str(next(r["id"] for r in rooms if r["child"]["name"] == "Lily Morgan"))


@pytest.fixture
def room_id(client: TestClient, auth: Tokens) -> str:
    return jamie(client, auth)  # a child protection plan


def plan_url(room_id: str, rest: str = "") -> str:
    return f"/api/v1/rooms/{room_id}/plan{rest}"


def get_plan(client: TestClient, auth: Tokens, room_id: str, who: str = SARAH) -> Any:
    response = client.get(plan_url(room_id), headers=auth(who))
    assert response.status_code == 200, response.text
    return response.json()


def audit(app: Caseroom, *actions: str) -> list[tuple[str, str, str, str]]:
    """(actor email, action, outcome, channel) of the events with these actions."""
    with app.db.session() as session:
        rows = session.exec(
            select(AuditEvent, User.email)
            .join(User, col(User.id) == col(AuditEvent.actor_id))
            .where(col(AuditEvent.action).in_(actions))
            .order_by(col(AuditEvent.seq))
        ).all()
    return [(email, e.action, e.outcome, e.channel) for e, email in rows]


def add_outcome(client: TestClient, auth: Tokens, room_id: str, words: str) -> dict[str, Any]:
    response = client.post(
        plan_url(room_id, "/outcomes"), headers=auth(SARAH), json={"text": words}
    )
    assert response.status_code == 201, response.text
    return dict(response.json())


def add_action(
    client: TestClient, auth: Tokens, room_id: str, outcome_id: str, **fields: Any
) -> Any:
    return client.post(
        plan_url(room_id, f"/outcomes/{outcome_id}/actions"), headers=auth(SARAH),
        json={"text": "Check attendance daily", **fields},
    )  # fmt: skip


# --- every room has its plan --------------------------------------------------------------


def test_a_room_is_opened_with_a_plan_of_its_type(client: TestClient, auth: Tokens) -> None:
    made = client.post("/api/v1/rooms", headers=auth(SARAH), json={
        "plan_type": "early_help",
        "child": {"name": "Sam Price", "date_of_birth": "2019-06-01"},
    })  # fmt: skip
    assert made.status_code == 201, made.text
    plan = get_plan(client, auth, made.json()["id"])
    assert plan == {
        "type": "early_help",
        "draft": {
            "concerns": "", "outcomes": [], "seen": "", "services": "", "contingency": "",
            "child_voice": "", "family_summary": "", "key_dates": {"reviews": []},
        },
        "published": [], "deadlines": [], "overdue_actions": [],
        "can_edit": True, "can_publish": True,
    }  # fmt: skip
    # A child protection plan also records its category.
    assert get_plan(client, auth, jamie(client, auth))["draft"]["category"] == {
        "initial": None, "latest": None
    }


def test_a_room_without_a_plan_gets_one_once_even_when_asked_twice_at_once(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    """Rooms opened before plans existed: the first to read makes it. Two at once make
    one structure between them (a second would be a rival set of fields)."""
    room_id = lily(client, auth)
    with app.db.session() as session:
        session.exec(text("DELETE FROM plan_update WHERE room_id = :r").bindparams(r=room_id))  # type: ignore[call-overload]
        session.exec(text("DELETE FROM plan WHERE room_id = :r").bindparams(r=room_id))  # type: ignore[call-overload]
        session.commit()
    made: list[bool] = []
    first_in = threading.Event()

    def create(hold: float) -> None:
        with app.db.session() as session:
            made.append(store.create(session, app.keys, room_id, "child_in_need", app.clock.now()))
            first_in.set()
            time.sleep(hold)  # the other asks meanwhile
            session.commit()

    first = threading.Thread(target=create, args=(0.5,))
    first.start()
    first_in.wait(5)
    second = threading.Thread(target=create, args=(0,))
    second.start()
    first.join()
    second.join()
    assert sorted(made) == [False, True]
    with app.db.session() as session:
        assert session.exec(select(Plan).where(col(Plan.room_id) == room_id)).one().last_seq == 1
        updates = session.exec(select(PlanUpdate).where(col(PlanUpdate.room_id) == room_id))
        assert len(updates.all()) == 1
    assert get_plan(client, auth, room_id)["draft"]["outcomes"] == []


# --- reading and editing ------------------------------------------------------------------


def test_the_lead_and_members_edit_the_plan_and_each_call_is_audited_once(
    client: TestClient, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    patched = client.patch(plan_url(room_id), headers=auth(HANA), json={
        "concerns": "Bruising seen at nursery.\nMother says he fell.",
        "seen": "Weekly, alone at nursery",
        "category": {"initial": "physical", "latest": "neglect"},
        "key_dates": {"strategy_discussion": "2026-11-16", "initial_conference": "2026-12-07",
                      "reviews": ["2027-03-07"]},
    })  # fmt: skip
    assert patched.status_code == 200, patched.text
    outcome = add_outcome(client, auth, room_id, "Jamie is free from physical harm")
    dan_id = user_by_email(app, DAN).id
    action = add_action(client, auth, room_id, outcome["id"], owner_id=dan_id, due="2026-12-04")
    assert action.status_code == 201, action.text
    changed = client.patch(plan_url(room_id, f"/actions/{action.json()['id']}"), headers=auth(DAN),
                           json={"status": "done", "evidence": "Attended every day"})  # fmt: skip
    assert changed.status_code == 200, changed.text
    # A date or an owner is cleared with null; a key date too.
    cleared = client.patch(plan_url(room_id, f"/actions/{action.json()['id']}"),
                           headers=auth(PETE), json={"due": None})  # fmt: skip
    assert cleared.json()["due"] is None and cleared.json()["status"] == "done"
    client.patch(plan_url(room_id), headers=auth(SARAH),
                 json={"key_dates": {"initial_conference": None}})  # fmt: skip

    draft = get_plan(client, auth, room_id, PETE)["draft"]
    assert draft["concerns"] == "Bruising seen at nursery.\nMother says he fell."
    assert draft["seen"] == "Weekly, alone at nursery"
    assert draft["category"] == {"initial": "physical", "latest": "neglect"}
    assert draft["key_dates"] == {"strategy_discussion": "2026-11-16", "reviews": ["2027-03-07"]}
    [got] = draft["outcomes"]
    assert got["text"] == "Jamie is free from physical harm"
    [act] = got["actions"]
    assert act["owner"]["name"] == "Dan Hughes"
    assert act["owner"]["organisation"]["name"] == "Oakfield Primary School"
    assert (act["status"], act["evidence"], act["due"]) == ("done", "Attended every day", None)

    assert audit(app, "edit_plan") == [
        (HANA, "edit_plan", "allowed", "api"), (SARAH, "edit_plan", "allowed", "api"),
        (SARAH, "edit_plan", "allowed", "api"), (DAN, "edit_plan", "allowed", "api"),
        (PETE, "edit_plan", "allowed", "api"), (SARAH, "edit_plan", "allowed", "api"),
    ]  # fmt: skip
    assert audit(app, "view_plan") == [(PETE, "view_plan", "allowed", "api")]


def test_replacing_a_text_keeps_what_did_not_change(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    """The API replaces a text whole, but changes only the part that differs, so someone
    typing elsewhere in it at that moment keeps their words (text with accents too)."""
    for words in ("Café visits: none. Père absent.", "Café visits: two. Père absent.", ""):
        response = client.patch(plan_url(room_id), headers=auth(SARAH), json={"services": words})
        assert response.json()["services"] == words


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"key_dates": {"strategy_discussion": "2026-02-30"}}, "key_dates.strategy_discussion"),
        ({"key_dates": {"initial_conference": "13/01/2027"}}, "key_dates.initial_conference"),
        ({"key_dates": {"reviews": ["2027-13-01"]}}, "key_dates.reviews.0"),
        ({"key_dates": {"next_visit": "2027-01-01"}}, "key_dates.next_visit"),
        ({"category": {"initial": "bruising"}}, "category.initial"),
        ({"concerns": 42}, "concerns"),
        ({"concerns": "x" * 20_001}, "concerns"),
        ({"owner": "someone"}, "owner"),
    ],
)
def test_bad_plan_input_is_refused_naming_the_field(
    client: TestClient, auth: Tokens, room_id: str, body: dict[str, Any], field: str
) -> None:
    response = client.patch(plan_url(room_id), headers=auth(SARAH), json=body)
    assert response.status_code == 422, response.text
    assert field in response.json()["error"]["fields"], response.json()


def test_bad_action_input_is_refused_naming_the_field(
    client: TestClient, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    with_holly_as_guest(client, auth, room_id)
    outcome = add_outcome(client, auth, room_id, "Jamie is safe")
    refused = {
        "status": client.patch(plan_url(room_id, "/actions/x"), headers=auth(SARAH),
                               json={"status": "finished"}),
        "due": add_action(client, auth, room_id, outcome["id"], due="2027-02-29"),
        "text": add_action(client, auth, room_id, outcome["id"], text=""),
        # An owner works the plan: the lead or a member, not a guest, nobody outside.
        "owner_id": add_action(client, auth, room_id, outcome["id"],
                               owner_id=user_by_email(app, HOLLY).id),
    }  # fmt: skip
    omar_id = user_by_email(app, OMAR).id
    outsider = add_action(client, auth, room_id, outcome["id"], owner_id=omar_id)
    for field, response in [*refused.items(), ("owner_id", outsider)]:
        assert response.status_code == 422, (field, response.text)
        assert field in response.json()["error"]["fields"], (field, response.json())
    # A category belongs to child protection plans only (Lily's is child in need).
    cin = client.patch(plan_url(lily(client, auth)), headers=auth(SARAH),
                       json={"category": {"initial": "neglect"}})  # fmt: skip
    assert cin.status_code == 422 and "category" in cin.json()["error"]["fields"]
    # Unknown outcome and action ids are not in this plan.
    assert add_action(client, auth, room_id, "no-such-outcome").status_code == 404
    missing = client.patch(plan_url(room_id, "/actions/no-such-action"), headers=auth(SARAH),
                           json={"status": "done"})  # fmt: skip
    assert missing.status_code == 404


# --- who may not edit ---------------------------------------------------------------------


def test_a_guest_reads_the_draft_but_cannot_change_it(
    client: TestClient, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    client.patch(plan_url(room_id), headers=auth(SARAH), json={"concerns": "Neglect"})
    with_holly_as_guest(client, auth, room_id)
    plan = get_plan(client, auth, room_id, HOLLY)
    assert plan["draft"]["concerns"] == "Neglect"
    assert (plan["can_edit"], plan["can_publish"]) == (False, False)
    outcome = add_outcome(client, auth, room_id, "Jamie is safe")
    attempts = [
        client.patch(plan_url(room_id), headers=auth(HOLLY), json={"concerns": "Fine"}),
        client.post(plan_url(room_id, "/outcomes"), headers=auth(HOLLY), json={"text": "x"}),
        client.post(plan_url(room_id, f"/outcomes/{outcome['id']}/actions"),
                    headers=auth(HOLLY), json={"text": "x"}),
        client.post(plan_url(room_id, "/versions"), headers=auth(HOLLY)),
    ]  # fmt: skip
    assert [a.status_code for a in attempts] == [403, 403, 403, 403]
    assert get_plan(client, auth, room_id)["draft"]["concerns"] == "Neglect"
    assert [row for row in audit(app, "edit_plan", "publish_plan") if row[0] == HOLLY] == [
        (HOLLY, "edit_plan", "denied", "api"), (HOLLY, "edit_plan", "denied", "api"),
        (HOLLY, "edit_plan", "denied", "api"), (HOLLY, "publish_plan", "denied", "api"),
    ]  # fmt: skip


def test_break_glass_reads_the_plan_read_only(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    client.patch(plan_url(room_id), headers=auth(SARAH), json={"contingency": "Call 999"})
    client.post(plan_url(room_id, "/versions"), headers=auth(SARAH))
    assert client.get(plan_url(room_id), headers=auth(OMAR)).status_code == 404
    assert open_glass(client, auth, OMAR).status_code == 201
    plan = get_plan(client, auth, room_id, OMAR)
    assert plan["draft"]["contingency"] == "Call 999"
    assert [v["version"] for v in plan["published"]] == [1]
    assert client.get(plan_url(room_id, "/versions/1"), headers=auth(OMAR)).status_code == 200
    edit = client.patch(plan_url(room_id), headers=auth(OMAR), json={"contingency": "x"})
    assert edit.status_code == 403


def test_a_closed_rooms_plan_is_read_only(
    client: TestClient, auth: Tokens, room_id: str
) -> None:
    client.patch(plan_url(room_id), headers=auth(SARAH), json={"services": "CAMHS"})
    assert client.post(f"/api/v1/rooms/{room_id}/close", headers=auth(SARAH)).status_code == 204
    plan = get_plan(client, auth, room_id, HANA)
    assert plan["draft"]["services"] == "CAMHS" and plan["can_edit"] is False
    for who in (SARAH, HANA):
        assert client.patch(plan_url(room_id), headers=auth(who),
                            json={"services": "x"}).status_code == 403  # fmt: skip
    assert client.post(plan_url(room_id, "/versions"), headers=auth(SARAH)).status_code == 403


def test_outsiders_learn_nothing_of_a_plan(client: TestClient, auth: Tokens, room_id: str) -> None:
    for who in (OMAR, HOLLY):
        assert client.get(plan_url(room_id), headers=auth(who)).status_code == 404
        response = client.patch(plan_url(room_id), headers=auth(who), json={"concerns": "x"})
        assert response.status_code == 404
        assert client.get(plan_url(room_id, "/versions/1"), headers=auth(who)).status_code == 404


# --- versions -----------------------------------------------------------------------------


def test_the_lead_publishes_versions_that_never_change(
    client: TestClient, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    client.patch(plan_url(room_id), headers=auth(SARAH), json={"concerns": "First concerns"})
    assert client.post(plan_url(room_id, "/versions"), headers=auth(PETE)).status_code == 403
    published = client.post(plan_url(room_id, "/versions"), headers=auth(SARAH))
    assert published.status_code == 201, published.text
    assert published.json()["version"] == 1
    assert published.json()["signed_by"]["name"] == "Sarah Okafor"
    first = client.get(plan_url(room_id, "/versions/1"), headers=auth(PETE)).json()
    client.patch(plan_url(room_id), headers=auth(PETE), json={"concerns": "Changed since"})
    assert client.post(plan_url(room_id, "/versions"), headers=auth(SARAH)).json()["version"] == 2

    again = client.get(plan_url(room_id, "/versions/1"), headers=auth(PETE)).json()
    assert again == first
    assert again["plan"]["concerns"] == "First concerns"
    second = client.get(plan_url(room_id, "/versions/2"), headers=auth(PETE)).json()
    assert second["plan"]["concerns"] == "Changed since"
    assert second["plan"] == get_plan(client, auth, room_id)["draft"]
    assert client.get(plan_url(room_id, "/versions/3"), headers=auth(PETE)).status_code == 404
    assert client.get(plan_url(room_id, "/versions/nope"), headers=auth(PETE)).status_code == 404
    listed = client.get(plan_url(room_id, "/versions"), headers=auth(HANA)).json()
    assert [v["version"] for v in listed["items"]] == [1, 2]
    published_events = [r for r in audit(app, "publish_plan", "plan_published")]
    assert published_events == [
        (PETE, "publish_plan", "denied", "api"),
        (SARAH, "publish_plan", "allowed", "api"), (SARAH, "plan_published", "allowed", "api"),
        (SARAH, "publish_plan", "allowed", "api"), (SARAH, "plan_published", "allowed", "api"),
    ]  # fmt: skip
    assert audit(app, "view_plan_version").count((PETE, "view_plan_version", "allowed", "api")) == 3


def test_the_database_refuses_to_change_or_remove_a_published_version(
    client: TestClient, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    client.post(plan_url(room_id, "/versions"), headers=auth(SARAH))
    for statement in (
        "UPDATE plan_version SET signed_by_id = signed_by_id",
        "UPDATE plan_version SET version = 7",
        "DELETE FROM plan_version",
    ):
        with app.db.session() as session, pytest.raises(DBAPIError):
            session.exec(text(statement))  # type: ignore[call-overload]
            session.commit()
    assert client.get(plan_url(room_id, "/versions/1"), headers=auth(SARAH)).status_code == 200


def test_no_code_changes_or_removes_a_published_version() -> None:
    """The application writes a version once (services/plans/versions.py) and nothing else
    touches the table but reads."""
    writers = []
    for path in sorted((ROOT / "workspace").rglob("*.py")):
        source = path.read_text()
        for pattern in ("update(PlanVersion", "delete(PlanVersion", "plan_version SET",
                        "FROM plan_version", "insert(PlanVersion"):  # fmt: skip
            if pattern in source:
                writers.append((str(path.relative_to(ROOT)), pattern))
    assert writers == [("workspace/services/plans/versions.py", "insert(PlanVersion")]


def test_a_guest_reads_versions_from_the_one_agreed_when_they_joined(
    client: TestClient, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    for n in (1, 2):
        client.patch(plan_url(room_id), headers=auth(SARAH), json={"concerns": f"Draft {n}"})
        assert client.post(plan_url(room_id, "/versions"), headers=auth(SARAH)).status_code == 201
        clock.advance(timedelta(seconds=1))
    with_holly_as_guest(client, auth, room_id)  # version 2 is the agreed plan now
    clock.advance(timedelta(seconds=1))
    client.post(plan_url(room_id, "/versions"), headers=auth(SARAH))

    plan = get_plan(client, auth, room_id, HOLLY)
    assert [v["version"] for v in plan["published"]] == [2, 3]
    assert client.get(plan_url(room_id, "/versions/1"), headers=auth(HOLLY)).status_code == 404
    assert client.get(plan_url(room_id, "/versions/2"), headers=auth(HOLLY)).status_code == 200
    # Earlier ones only if the lead shares them (a recorded sharing decision).
    first = get_plan(client, auth, room_id, SARAH)["published"][0]
    holly_id = user_by_email(app, HOLLY).id
    share = {"item_type": "plan_version", "item_id": first["id"], "user_id": holly_id,
             "purpose": "Housing needs the first plan", "lawful_basis": "public_task",
             "consent": "given"}  # fmt: skip
    refused = client.post(f"/api/v1/rooms/{room_id}/shares", headers=auth(PETE), json=share)
    assert refused.status_code in (403, 404), refused.text  # only the lead shares
    shared = client.post(f"/api/v1/rooms/{room_id}/shares", headers=auth(SARAH), json=share)
    assert shared.status_code == 201, shared.text
    again = client.post(f"/api/v1/rooms/{room_id}/shares", headers=auth(SARAH), json=share)
    assert again.status_code == 422  # they can read it already
    with app.db.session() as session:
        decisions = session.exec(
            select(SharingDecision).where(col(SharingDecision.item_id) == first["id"])
        ).all()
    assert [(d.with_user_id, d.purpose) for d in decisions] == [
        (holly_id, "Housing needs the first plan")
    ]
    assert [v["version"] for v in get_plan(client, auth, room_id, HOLLY)["published"]] == [1, 2, 3]
    assert client.get(plan_url(room_id, "/versions/1"), headers=auth(HOLLY)).status_code == 200


def test_each_persons_list_of_versions_is_what_the_policy_lets_them_read(
    client: TestClient, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    """The list is filtered in the query (workspace/visibility.py); for everyone, guests
    included, it equals the versions for which `is_allowed(person, "read", version)`."""
    for _ in (1, 2):
        client.post(plan_url(room_id, "/versions"), headers=auth(SARAH))
        clock.advance(timedelta(seconds=1))
    with_holly_as_guest(client, auth, room_id)
    clock.advance(timedelta(seconds=1))
    client.post(plan_url(room_id, "/versions"), headers=auth(SARAH))
    authorizer = get_authorizer()
    with app.db.session() as session:
        room = session.get(Room, room_id)
        assert room is not None
        fact = room_fact(room, session.get(User, room.lead_user_id))  # type: ignore[arg-type]
        rows = session.exec(select(PlanVersion).order_by(col(PlanVersion.version))).all()
        signed = {v.version: v.signed_at for v in rows}
        people = session.exec(select(User)).all()
        allowed = {
            u.email: [
                v.version for v in rows
                if authorizer.is_allowed(
                    principal_for(session, u, app.clock.now()), "read",
                    plan_version_fact(v, signed.get(v.version + 1), fact),
                )
            ]
            for u in people
        }  # fmt: skip
    assert allowed[HOLLY] == [2, 3] and allowed[SARAH] == [1, 2, 3]
    for email, versions in allowed.items():
        response = client.get(plan_url(room_id, "/versions"), headers=auth(email))
        listed = [v["version"] for v in response.json()["items"]] if response.is_success else []
        assert listed == versions, email


# --- the page -----------------------------------------------------------------------------


def test_the_plan_page_shows_the_draft_as_a_draft_and_the_lead_publishes_it(
    app: Caseroom, password: str, client: TestClient, auth: Tokens, room_id: str
) -> None:
    outcome = add_outcome(client, auth, room_id, "Jamie is safe at home")
    add_action(client, auth, room_id, outcome["id"], owner_id=user_by_email(app, DAN).id,
               due="2027-01-13")  # fmt: skip
    client.patch(plan_url(room_id), headers=auth(SARAH), json={"child_voice": "I like school"})
    with TestClient(create_app(caseroom=app)) as browser:
        sign_in(browser, SARAH, password)
        room_page = browser.get(f"/rooms/{room_id}").text
        assert f'href="/rooms/{room_id}/plan"' in room_page
        page = browser.get(f"/rooms/{room_id}/plan")
        assert page.status_code == 200
        html = page.text
        reference = client.get(f"/api/v1/rooms/{room_id}", headers=auth(SARAH)).json()["reference"]
        assert f"<title>Plan — {reference} – Caseroom</title>" in html
        assert "Draft — not yet agreed." in html and "No version has been published yet." in html
        assert (
            "A plan is shared with the whole core group: nothing in it is restricted to one "
            "organisation."
        ) in html
        assert f'data-room-id="{room_id}"' in html and 'data-can-edit="yes"' in html
        assert 'data-plan-type="child_protection"' in html and 'id="plan-readonly"' in html
        assert '<script src="/static/build/caseroom-plan.js" defer></script>' in html
        for shown in ("Jamie is safe at home", "Check attendance daily",
                      "Dan Hughes (Oakfield Primary School)", "Wednesday 13 January 2027",
                      "Not started", "I like school"):  # fmt: skip
            assert shown in html, shown
        assert "Publish this draft as version 1" in html
        # Without the form's token: refused, nothing published.
        refused = browser.post(f"/rooms/{room_id}/plan/versions", data={}, follow_redirects=False)
        assert refused.status_code == 403
        token = csrf_of(browser)
        published = browser.post(
            f"/rooms/{room_id}/plan/versions", data={"csrf_token": token}, follow_redirects=True
        )
        assert published.status_code == 200
        html = published.text
        assert "Version 1 published" in html
        assert "The agreed plan is" in html and f'href="/rooms/{room_id}/plan/versions/1"' in html
        assert "signed by Sarah Okafor" in html and "25 November 2026" in html
        assert "Publish this draft as version 2" in html
    assert audit(app, "plan_published") == [(SARAH, "plan_published", "allowed", "web")]


def test_the_plan_page_for_a_guest_is_read_only(
    app: Caseroom, password: str, client: TestClient, auth: Tokens, room_id: str
) -> None:
    with_holly_as_guest(client, auth, room_id)
    with TestClient(create_app(caseroom=app)) as browser:
        sign_in_fully(browser, app, HOLLY, password)
        html = browser.get(f"/rooms/{room_id}/plan").text
    assert 'data-can-edit="no"' in html
    assert "Publish this draft" not in html
    assert "Draft — not yet agreed." in html


@pytest.mark.browser
def test_the_plan_page_passes_axe_and_fits_a_phone(
    visit: Any, password: str, client: TestClient, auth: Tokens, room_id: str, app: Caseroom
) -> None:
    outcome = add_outcome(client, auth, room_id, "Jamie is safe at home")
    add_action(client, auth, room_id, outcome["id"], owner_id=user_by_email(app, DAN).id,
               due="2027-01-13")  # fmt: skip
    client.post(plan_url(room_id, "/versions"), headers=auth(SARAH))
    sarah = visit(SARAH, password, viewport={"width": 375, "height": 740})
    page = sarah.go(f"/rooms/{room_id}/plan")
    assert page.locator("h1").count() == 1
    assert "Draft — not yet agreed." in page.get_by_test_id("plan-banner").inner_text()
    assert page.evaluate("document.documentElement.scrollWidth") <= 375
    sarah.wait_for_axe(page.url)


def test_the_plan_page_says_the_next_deadline_the_overdue_actions_and_what_changed_in_words(
    client: TestClient, auth: Tokens, room_id: str, app: Caseroom, password: str
) -> None:
    patched = client.patch(
        plan_url(room_id), headers=auth(SARAH),
        json={"key_dates": {"strategy_discussion": "2026-12-18"}, "concerns": "Neglect"},
    )  # fmt: skip
    assert patched.status_code == 200, patched.text
    outcome = add_outcome(client, auth, room_id, "Jamie is safe at home")
    hana = client.get("/api/v1/me", headers=auth(HANA)).json()["id"]
    late = client.post(
        plan_url(room_id, f"/outcomes/{outcome['id']}/actions"), headers=auth(SARAH),
        json={"text": "Health visit", "owner_id": hana, "due": "2026-11-20"},
    )  # fmt: skip
    assert late.status_code == 201, late.text
    assert client.post(plan_url(room_id, "/versions"), headers=auth(SARAH)).status_code == 201
    client.patch(plan_url(room_id), headers=auth(SARAH), json={"concerns": "Neglect at home"})
    with TestClient(create_app(caseroom=app), base_url="http://testserver") as browser:
        sign_in(browser, HANA, password)
        html = browser.get(f"/rooms/{room_id}/plan").text
    assert "Initial conference due Wednesday 13 January 2027, 15 working days after the " \
        "strategy discussion" in html  # fmt: skip
    assert "Overdue" in html and "Friday 20 November 2026" in html and "Hana Kowalski" in html
    assert "Draft since version 1: 1 change (concerns changed)." in html


def test_the_room_page_shows_the_next_deadline_and_overdue_actions(
    client: TestClient, auth: Tokens, room_id: str, app: Caseroom, password: str
) -> None:
    client.patch(plan_url(room_id), headers=auth(SARAH),
                 json={"key_dates": {"strategy_discussion": "2026-12-18"}})  # fmt: skip
    outcome = add_outcome(client, auth, room_id, "Jamie is safe at home")
    add_action(client, auth, room_id, outcome["id"], owner_id=user_by_email(app, DAN).id,
               due="2026-11-24")  # fmt: skip
    with TestClient(create_app(caseroom=app), base_url="http://testserver") as browser:
        sign_in(browser, PETE, password)
        html = browser.get(f"/rooms/{room_id}").text
    assert "No version of the plan has been agreed (published) yet." in html
    assert "Next deadline:</strong> Initial conference due Wednesday 13 January 2027" in html
    assert "Overdue</strong> " in html and "Tuesday 24 November 2026" in html
