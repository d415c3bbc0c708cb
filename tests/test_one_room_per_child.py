"""One child, one open room (issue #9, item 3). Two rooms for one child is the split record
serious case reviews keep finding, so opening a room for a child who has an open one —
matched on NHS number, UPN, or name (case, spaces, accents, hyphens and apostrophes aside)
with date of birth — creates nothing. The asker learns that the room exists and who leads
it (name, organisation, email; never its content); the lead is told, in the app and by
email, who asked; both are in the room's access log. Two requests at once for one child
make one room. A closed room does not stop a new one, and break-glass finds the one room."""

from __future__ import annotations

import threading
import time
from datetime import date, timedelta
from typing import Any

import httpx2
import pytest
from playwright.sync_api import expect
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.browsing import Open
from tests.conftest import OMAR, PETE, PRIYA, SARAH, LiveServer, Tokens, user_by_email
from tests.mailbox import Mailbox
from tests.mailing import assert_no_case_content, deliver, room_of
from tests.test_chat_sockets import connected, token_of
from tests.test_sign_in import form_value, sign_in
from workspace.app import create_app
from workspace.clock import clock
from workspace.identifiers import child_keys
from workspace.models import AuditEvent, Child, ChildKey, Notice, OutboxEmail, Room
from workspace.services import rooms
from workspace.state import Caseroom

pytestmark = pytest.mark.mail

JAMIE = {"name": "Jamie Carter", "date_of_birth": "2017-03-14"}  # the demo's, with
JAMIE_NHS, JAMIE_UPN = "9434765919", "A950000178301"  # an NHS number and UPN
COUNCIL = "Northshire Council Children's Services"


def open_room(client: TestClient, headers: dict[str, str], **child: Any) -> Any:
    return client.post("/api/v1/rooms", headers=headers, json={"child": child})


def counts(app: Caseroom) -> tuple[int, int]:
    with app.db.session() as session:
        return (
            session.exec(select(func.count()).select_from(Room)).one(),
            session.exec(select(func.count()).select_from(Child)).one(),
        )


@pytest.mark.parametrize(
    "child",
    [
        {"name": "Someone Else", "date_of_birth": "2016-01-01", "nhs_number": JAMIE_NHS},
        {"name": "Someone Else", "date_of_birth": "2016-01-01", "nhs_number": "943 476 5919"},
        {"name": "Someone Else", "date_of_birth": "2016-01-01", "upn": JAMIE_UPN.lower()},
        JAMIE,
        {"name": "  jamie   CARTER ", "date_of_birth": "2017-03-14"},
        {"name": "Jámie Cärter", "date_of_birth": "2017-03-14"},
        {"name": "Jamie-Carter", "date_of_birth": "2017-03-14"},
        {"name": "Jamie Car'ter", "date_of_birth": "2017-03-14"},
    ],
    ids=["nhs", "nhs spaced", "upn", "name", "case and spaces", "accents", "hyphen", "apostrophe"],
)
def test_a_second_room_for_a_child_with_an_open_room_creates_nothing_and_names_the_lead(
    client: TestClient, auth: Tokens, app: Caseroom, child: dict[str, str]
) -> None:
    before = counts(app)
    response = open_room(client, auth(OMAR), **child)
    assert response.status_code == 409, response.text
    body = response.json()
    assert body["error"]["code"] == "child_has_room"
    sarah = user_by_email(app, SARAH)
    assert body["lead"] == {"name": sarah.name, "organisation": COUNCIL, "email": SARAH}
    jamie = room_of(app, "Jamie")
    assert body["room"] == {"reference": jamie.reference}
    # That it exists and who leads it, never what is in it.
    for secret in (jamie.id, jamie.title, "Elm Row", "Carter", "child_protection"):
        assert secret not in response.text
    assert counts(app) == before


def test_the_lead_is_told_who_asked_in_the_app_and_by_email_and_both_are_audited(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    omar, sarah = user_by_email(app, OMAR), user_by_email(app, SARAH)
    assert open_room(client, auth(OMAR), **JAMIE, nhs_number=JAMIE_NHS).status_code == 409

    with app.db.session() as session:
        (notice,) = session.exec(
            select(Notice).where(Notice.user_id == sarah.id, Notice.kind == "join_request")
        ).all()
        asked = session.exec(
            select(AuditEvent).where(
                col(AuditEvent.action) == "create_room", col(AuditEvent.room_id) == jamie.id
            )
        ).all()
        queued = session.exec(
            select(AuditEvent).where(
                col(AuditEvent.action) == "notification_queued",
                col(AuditEvent.actor_id) == sarah.id,
                col(AuditEvent.purpose) == "join_request",
            )
        ).all()
    assert omar.name in notice.text and "Northshire" in notice.text
    assert jamie.reference in notice.text and "Jamie" not in notice.text
    assert notice.link == f"/rooms/{jamie.id}#members" and notice.room_id == jamie.id
    # Sarah's creation of the demo room, then Omar's ask.
    assert [(e.actor_id, e.outcome) for e in asked][-1:] == [(omar.id, "denied")]
    assert [e.outcome for e in asked].count("denied") == 1
    assert len(queued) == 1 and queued[0].room_id == jamie.id

    deliver(app)
    (email,) = mailbox.to(SARAH)
    assert jamie.reference in str(email.message["Subject"])
    text = str(email.message.get_body(("plain",)).get_content())  # type: ignore[union-attr]
    assert omar.name in text and OMAR in text and f"/rooms/{jamie.id}#members" in text
    assert_no_case_content(app, email)
    assert mailbox.to(OMAR) == []


def test_the_leads_open_pages_hear_of_the_ask_at_once(
    live_server: LiveServer, auth: Tokens, app: Caseroom
) -> None:
    """The refusal commits the notice before answering 409; it goes out live like any."""

    async def scenario() -> Any:
        async with connected(live_server, token_of(auth(SARAH))) as sarah:
            async with httpx2.AsyncClient(base_url=live_server.url) as http:
                asked = await http.post(
                    "/api/v1/rooms", headers=auth(OMAR), json={"child": JAMIE}
                )
                assert asked.status_code == 409, asked.text
            return await sarah.wait_for("notice", timeout=2.0)

    notice = run_async(scenario())
    assert user_by_email(app, OMAR).name in notice["text"]
    assert room_of(app, "Jamie").reference in notice["text"] and "Jamie" not in notice["text"]


def test_someone_in_the_room_already_is_told_so_and_the_lead_is_not_bothered(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    response = open_room(client, auth(PETE), **JAMIE)
    assert response.status_code == 409 and "in this child's case room" in response.text
    with app.db.session() as session:
        assert session.exec(select(Notice).where(Notice.kind == "join_request")).all() == []


def test_another_child_with_the_same_name_or_birthday_gets_a_room(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    twin = open_room(client, auth(OMAR), name="Jamie Carter", date_of_birth="2017-03-15")
    other = open_room(client, auth(OMAR), name="Jamie Carver", date_of_birth="2017-03-14")
    assert (twin.status_code, other.status_code) == (201, 201)


def test_identifiers_that_name_two_different_rooms_are_answered_by_the_nhs_number(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    """Lily's NHS number with Jamie's name and birthday: no second room for either, and
    the answer follows the most trusted identifier (no error)."""
    answer = open_room(client, auth(OMAR), **JAMIE, nhs_number="9912003888")
    assert answer.status_code == 409, answer.text
    assert answer.json()["room"]["reference"] == room_of(app, "Lily").reference


def test_a_closed_room_does_not_stop_a_new_one_and_break_glass_finds_the_open_one(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    lily = room_of(app, "Lily")
    assert client.post(f"/api/v1/rooms/{lily.id}/close", headers=auth(SARAH)).status_code == 204
    again = open_room(
        client, auth(OMAR), name="Lily Morgan", date_of_birth="2020-07-02", nhs_number="9912003888"
    )
    assert again.status_code == 201, again.text
    second = open_room(client, auth(PRIYA), name="lily morgan", date_of_birth="2020-07-02")
    assert second.status_code == 409 and second.json()["lead"]["email"] == OMAR

    glass = client.post(
        "/api/v1/break-glass",
        headers=auth(PETE),
        json={"nhs_number": "9912003888", "reason": "Seen in A&E tonight; need the plan"},
    )
    assert glass.status_code == 201, glass.text
    assert glass.json()["room_id"] == again.json()["id"]


def test_break_glass_opens_the_childs_one_room_even_beside_an_older_duplicate(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    """A second open room made before this check existed (migration 0006 leaves such rooms
    open and unkeyed) is not what break-glass finds: the room that holds the child's keys
    is, however new the other."""
    jamie = room_of(app, "Jamie")
    with app.db.session() as session:
        child = session.get(Child, jamie.child_id)
        assert child is not None
        copy = Child(
            name=child.name, date_of_birth=child.date_of_birth, nhs_number=child.nhs_number,
            created_at=child.created_at,
        )  # fmt: skip
        newer = Room(
            child_id=copy.id, title="Jamie again", lead_user_id=jamie.lead_user_id,
            created_at=jamie.created_at.replace(year=jamie.created_at.year + 1),
        )  # fmt: skip
        session.add_all([copy, newer])
        session.commit()
        keyed = session.exec(select(ChildKey.room_id).where(ChildKey.key == f"nhs:{JAMIE_NHS}"))
        assert list(keyed) == [jamie.id]
    glass = client.post(
        "/api/v1/break-glass",
        headers=auth(PRIYA),
        json={"nhs_number": JAMIE_NHS, "reason": "Arrested the father; need the plan"},
    )
    assert glass.status_code == 201, glass.text
    assert glass.json()["room_id"] == jamie.id


def test_two_requests_at_once_for_one_child_make_one_room(
    app: Caseroom, auth: Tokens
) -> None:
    headers = [auth(OMAR), auth(PRIYA)]
    for n in range(4):
        child = {"name": f"Race Child {n}", "date_of_birth": "2019-02-0" + str(n + 1)}
        barrier = threading.Barrier(2)
        answers: list[int] = []

        def ask(
            who: dict[str, str],
            child: dict[str, str] = child,
            barrier: threading.Barrier = barrier,
            answers: list[int] = answers,
        ) -> None:
            # (No lifespan: its end would close the shared engine under the other thread.)
            c = TestClient(create_app(caseroom=app), base_url="http://testserver")
            barrier.wait()
            answers.append(open_room(c, who, **child).status_code)

        threads = [threading.Thread(target=ask, args=(h,)) for h in headers]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert sorted(answers) == [201, 409], child
        with app.db.session() as session:
            made = session.exec(
                select(func.count()).select_from(Child).where(Child.name == child["name"])
            ).one()
        assert made == 1


def test_a_request_that_loses_the_race_for_a_child_creates_nothing(
    app: Caseroom, auth: Tokens
) -> None:
    """Another creation has written its room and the child's keys, and has not committed
    (nor yet written its audit record, whose lock would otherwise queue the two requests);
    a second request for the same child arrives. On PostgreSQL it finds no room, writes
    its own, waits on the unique key, and when the first commits it creates nothing and
    names the first room's lead. (SQLite lets one writer in at a time: the second sees the
    first room when it starts.) Either way: one room, and a 409."""
    omar = user_by_email(app, OMAR)
    child = {"name": "Ada Lovelace", "date_of_birth": "2018-12-10"}
    answers: list[Any] = []
    headers = auth(PRIYA)

    def second() -> None:
        c = TestClient(create_app(caseroom=app), base_url="http://testserver")
        answers.append(open_room(c, headers, **child))

    with app.db.session() as session:
        first = Child(name=child["name"], date_of_birth=date(2018, 12, 10), created_at=clock.now())
        room = Room(
            child_id=first.id, title=child["name"], lead_user_id=omar.id, created_at=clock.now()
        )
        session.add_all([first, room])
        session.flush()
        keys = child_keys(first.name, first.date_of_birth, None, None)
        session.add_all([ChildKey(key=k, room_id=room.id) for k in keys])
        session.flush()
        thread = threading.Thread(target=second)
        thread.start()
        if not app.settings.is_sqlite:  # wait until it is blocked on our uncommitted key
            deadline = time.monotonic() + 20
            while not _waiting_on_a_lock(app):
                assert time.monotonic() < deadline, "the second request never blocked"
                time.sleep(0.02)
        session.commit()
    thread.join(timeout=60)
    (answer,) = answers
    assert answer.status_code == 409, answer.text
    assert answer.json()["lead"]["email"] == OMAR
    assert answer.json()["room"]["reference"] == room.reference
    with app.db.session() as session:
        made = session.exec(
            select(func.count()).select_from(Child).where(Child.name == child["name"])
        ).one()
    assert made == 1


def _waiting_on_a_lock(app: Caseroom) -> bool:
    with app.db.engine.connect() as conn:
        waiting = conn.exec_driver_sql(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        ).scalar()
    return bool(waiting)


def test_asking_about_many_children_with_rooms_is_limited(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    """Probing which children have rooms: each answer names a lead and tells them; more
    than 10 in an hour is refused (429, audited) and tells nobody."""
    for _ in range(rooms.existing_room_limiter.limit):
        assert open_room(client, auth(OMAR), **JAMIE).status_code == 409
    refused = open_room(client, auth(OMAR), **JAMIE)
    assert refused.status_code == 429
    with app.db.session() as session:
        told = session.exec(select(Notice).where(Notice.kind == "join_request")).all()
        limited = session.exec(
            select(AuditEvent).where(col(AuditEvent.purpose) == "child has a room: limited")
        ).all()
    assert len(told) == rooms.existing_room_limiter.limit and len(limited) == 1
    # Opening a room for a child with none is not limited.
    fresh = open_room(client, auth(OMAR), name="New Child", date_of_birth="2019-01-01")
    assert fresh.status_code == 201


def test_the_open_a_room_page_says_a_room_exists_and_who_leads_it(
    client: TestClient, app: Caseroom, password: str
) -> None:
    sign_in(client, OMAR, password)
    form = client.get("/rooms/new")
    assert form.status_code == 200
    answer = client.post(
        "/rooms",
        data={
            "csrf_token": form_value(form.text, "csrf_token"),
            "name": "Jamie Carter",
            "date_of_birth": "2017-03-14",
            "plan_type": "child_in_need",
        },
        follow_redirects=False,
    )
    assert answer.status_code == 409
    assert 'data-testid="child-has-room"' in answer.text
    sarah = user_by_email(app, SARAH)
    jamie = room_of(app, "Jamie")
    for shown in (sarah.name, COUNCIL.replace("'", "&#39;"), f"mailto:{SARAH}", jamie.reference):
        assert shown in answer.text
    assert jamie.title not in answer.text and "Elm Row" not in answer.text
    with app.db.session() as session:
        assert session.exec(select(OutboxEmail).where(OutboxEmail.kind == "join_request")).all()


def test_the_migration_keys_the_oldest_open_room_of_a_child_who_has_two(
    app: Caseroom, caplog: pytest.LogCaptureFixture
) -> None:
    """Data from before this check may hold two open rooms for one child. Migration 0006
    closes and hides nothing: the oldest room holds the child's keys (so new rooms and
    break-glass find it), and the other is named in the log for the leads to merge."""
    from alembic import command
    from alembic.config import Config

    from workspace.cli import ROOT

    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = app.settings.database_url
    app.db.dispose()
    command.downgrade(config, "0005")
    jamie = room_of(app, "Jamie")
    with app.db.session() as session:  # a second open room for Jamie, a day newer
        session.add(
            Room(
                id="dup-room", reference="CR-DUP001", child_id=jamie.child_id,
                title="Jamie again", lead_user_id=jamie.lead_user_id,
                created_at=jamie.created_at + timedelta(days=1),
            )
        )  # fmt: skip
        session.commit()
    app.db.dispose()
    with caplog.at_level("WARNING"):
        command.upgrade(config, "head")
    assert "CR-DUP001" in caplog.text and jamie.reference in caplog.text
    with app.db.session() as session:
        keyed = {k.key: k.room_id for k in session.exec(select(ChildKey)).all()}
        duplicate = session.get(Room, "dup-room")
    assert keyed[f"nhs:{JAMIE_NHS}"] == jamie.id and keyed[f"upn:{JAMIE_UPN}"] == jamie.id
    assert "dup-room" not in keyed.values()
    assert duplicate is not None and duplicate.status == "open"


@pytest.mark.browser
def test_in_a_browser_the_form_answers_that_the_child_has_a_room_and_who_leads_it(
    visit: Open, password: str, app: Caseroom
) -> None:
    omar = visit(OMAR, password)
    page = omar.page
    page.get_by_role("link", name="Open a room for a child").click()
    page.get_by_label("Full name").fill("jamie carter")
    page.get_by_label("Date of birth").fill("2017-03-14")
    page.get_by_role("button", name="Open room").click()

    answer = page.get_by_test_id("child-has-room")
    expect(answer).to_contain_text("This child has a case room already")
    expect(answer).to_contain_text(room_of(app, "Jamie").reference)
    expect(answer).to_contain_text(user_by_email(app, SARAH).name)
    expect(answer).to_contain_text(COUNCIL)
    expect(answer.get_by_role("link", name=SARAH)).to_have_attribute("href", f"mailto:{SARAH}")
    page.get_by_role("link", name="My rooms").first.click()
    expect(page.get_by_text("Jamie Carter")).to_have_count(0)  # nothing was made for Omar
