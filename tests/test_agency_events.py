"""Agency events (issue #14): a partner system tells us of an event in a child's life.

The police's system reports a domestic abuse incident for Jamie (NHS number 943 476 5919):
it becomes an item of Jamie's room, live for those who may read it; Dan, the school's DSL,
and Sarah, the lead, are told at once in the app and by an email that says nothing of it;
Dan sees the deadline (Operation Encompass: before the start of the next school day) until
he acknowledges. The sender learns only that the child is known and who leads.
"""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any, get_args

import httpx2
import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import (
    DAN,
    HANA,
    OMAR,
    PETE,
    SARAH,
    TEST_START,
    LiveServer,
    Tokens,
)
from tests.mailbox import Mailbox
from tests.mailing import assert_no_case_content, deliver, room_of, text_of
from tests.test_chat_sockets import connected, round_trip, token_of
from tests.test_sign_in import form_value, sign_in, submit_password
from workspace.access import Access, Origin
from workspace.clock import iso
from workspace.models import AgencyAlert, AgencyEvent, AuditEvent, Message, User
from workspace.models.agency import EVENT_LABELS, EventType
from workspace.services import accounts, agency_events
from workspace.services.demo import COUNCIL, HEALTH, POLICE
from workspace.state import Caseroom

pytestmark = pytest.mark.mail

JAMIE_NHS = "9434765919"
JAMIE_UPN = "A950000178301"
POLICE_SYSTEM = "pnc.link@police.example"
HOSPITAL_SYSTEM = "ed.link@nhs.example"
DUE = TEST_START.replace(day=26, hour=8, minute=30)  # Thursday, 08:30 (GMT)
DEADLINE = "before the start of the next school day (08:30, Thursday 26 November 2026)"


def integration_account(app: Caseroom, email: str, org: str) -> dict[str, str]:
    """`caseroom user add EMAIL --org ORG --role integration` and `caseroom token create`."""
    with app.db.session() as session:
        access = Access(app, session, None, Origin("cli"))
        user = accounts.add_user(
            access, email=email, org_name=org, role="integration",
            name=f"{org} systems link", password="a long enough passphrase 42",
        )  # fmt: skip
        token = accounts.create_token(access, user, "partner system")
        session.commit()
    return {"Authorization": f"Bearer {token}"}


@pytest.fixture
def police(app: Caseroom) -> dict[str, str]:
    return integration_account(app, POLICE_SYSTEM, POLICE)


@pytest.fixture
def hospital(app: Caseroom) -> dict[str, str]:
    return integration_account(app, HOSPITAL_SYSTEM, HEALTH)


@pytest.fixture(autouse=True)
def _fresh_limit() -> None:
    agency_events.send_limiter.reset()


def event(**over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "domestic_abuse_incident",
        "occurred_at": (TEST_START - timedelta(hours=14)).isoformat(),
        "place": "the family home",
        "child": {"nhs_number": JAMIE_NHS},
        "summary": "Officers attended a domestic incident; the child was present.",
        "sensitivity": "room",
        "reference": "NP-2026-11-0042",
    }
    body.update(over)
    return body


def items_of_kind(client: TestClient, auth: Tokens, who: str, room_id: str) -> list[dict[str, Any]]:
    got = client.get(f"/api/v1/rooms/{room_id}/messages?kind=agency_event", headers=auth(who))
    assert got.status_code == 200, got.text
    return list(got.json()["items"])


def notices_of(client: TestClient, auth: Tokens, who: str) -> list[str]:
    return [
        n["text"] for n in client.get("/api/v1/notifications", headers=auth(who)).json()["items"]
    ]


def test_an_event_for_jamies_nhs_number_becomes_an_item_of_his_room(
    app: Caseroom, client: TestClient, auth: Tokens, police: dict[str, str], quiet: None
) -> None:
    sent = client.post("/api/v1/agency-events", json=event(), headers=police)
    assert sent.status_code == 201, sent.text
    # The sender learns that the child is known and who leads: no content.
    assert sent.json() == {
        "id": sent.json()["id"],
        "known": True,
        "lead": {"name": "Sarah Okafor", "organisation": COUNCIL, "contact": SARAH},
    }
    jamie = room_of(app, "Jamie").id
    for who in (SARAH, PETE, HANA, DAN):
        [item] = items_of_kind(client, auth, who, jamie)
        assert item["body"] == event()["summary"]
        assert item["author"]["organisation"]["name"] == POLICE
        assert item["agency_event"]["type"] == "domestic_abuse_incident"
        assert item["agency_event"]["reference"] == "NP-2026-11-0042"
        assert item["agency_event"]["place"] == "the family home"
    assert client.get(f"/api/v1/rooms/{jamie}/messages", headers=auth(OMAR)).status_code == 404


def test_the_dsl_and_the_lead_are_told_at_once_in_the_app_and_by_a_content_free_email(
    app: Caseroom,
    client: TestClient,
    auth: Tokens,
    police: dict[str, str],
    mailbox: Mailbox,
    quiet: None,
) -> None:
    assert client.post("/api/v1/agency-events", json=event(), headers=police).status_code == 201
    reference = room_of(app, "Jamie").reference
    dan_told = notices_of(client, auth, DAN)
    assert any(reference in n and DEADLINE in n for n in dan_told), dan_told
    sarah_told = notices_of(client, auth, SARAH)
    assert any(reference in n and "partner agency" in n for n in sarah_told)
    assert not any("school day" in n for n in sarah_told)  # the deadline is the school's
    assert not any(
        "partner agency" in n
        for n in notices_of(client, auth, PETE) + notices_of(client, auth, HANA)
    )

    deliver(app)
    for who in (DAN, SARAH):
        [mail] = [m for m in mailbox.to(who) if "partner agency" in str(m.message["Subject"])]
        assert_no_case_content(app, mail)
        text = text_of(mail)
        for said in ("family home", "NP-2026-11-0042", "domestic", "Domestic", "Officers"):
            assert said not in text and said.encode() not in mail.raw
        assert (DEADLINE in text) == (who == DAN)
    assert not [m for m in mailbox.to(PETE) if "partner agency" in str(m.message["Subject"])]


def test_an_unscheduled_care_attendance_is_for_the_lead(
    app: Caseroom, client: TestClient, auth: Tokens, hospital: dict[str, str], quiet: None
) -> None:
    sent = client.post(
        "/api/v1/agency-events",
        json=event(type="unscheduled_care_attendance", place="Northshire General ED",
                   summary="Seen in ED with a head injury; discharged home.", reference="ED-77"),
        headers=hospital,
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    assert any("partner agency" in n for n in notices_of(client, auth, SARAH))
    assert not any("partner agency" in n for n in notices_of(client, auth, DAN))
    with app.db.session() as session:
        told = session.exec(select(AgencyAlert.user_id)).all()
        sarah = session.exec(select(User.id).where(User.email == SARAH)).one()
    assert told == [sarah]


def test_a_restricted_event_stays_with_its_organisation_and_the_lead(
    app: Caseroom, client: TestClient, auth: Tokens, police: dict[str, str], quiet: None
) -> None:
    """Rule 2 holds for what a partner system sends: a restricted incident is read by the
    police and the lead only, so only the lead is told (the school cannot read it)."""
    sent = client.post(
        "/api/v1/agency-events", json=event(sensitivity="restricted"), headers=police
    )
    assert sent.status_code == 201
    jamie = room_of(app, "Jamie").id
    assert len(items_of_kind(client, auth, SARAH, jamie)) == 1
    assert len(items_of_kind(client, auth, PETE, jamie)) == 1
    assert items_of_kind(client, auth, DAN, jamie) == []
    assert items_of_kind(client, auth, HANA, jamie) == []
    assert not any("partner agency" in n for n in notices_of(client, auth, DAN))


def test_the_same_reference_twice_is_one_event(
    app: Caseroom, client: TestClient, auth: Tokens, police: dict[str, str], quiet: None
) -> None:
    first = client.post("/api/v1/agency-events", json=event(), headers=police)
    again = client.post("/api/v1/agency-events", json=event(), headers=police)
    assert (first.status_code, again.status_code) == (201, 200)
    assert again.json() == first.json()
    jamie = room_of(app, "Jamie").id
    assert len(items_of_kind(client, auth, SARAH, jamie)) == 1
    assert sum("partner agency" in n for n in notices_of(client, auth, DAN)) == 1
    with app.db.session() as session:
        assert len(session.exec(select(AgencyEvent)).all()) == 1
        repeats = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "send_agency_event", AuditEvent.purpose == "repeat"
            )
        ).all()
    assert len(repeats) == 1


def test_another_organisations_same_reference_is_another_event(
    client: TestClient, police: dict[str, str], hospital: dict[str, str], quiet: None
) -> None:
    one = client.post("/api/v1/agency-events", json=event(), headers=police)
    other = client.post("/api/v1/agency-events", json=event(), headers=hospital)
    assert (one.status_code, other.status_code) == (201, 201)
    assert one.json()["id"] != other.json()["id"]


@pytest.mark.parametrize(
    "child",
    [
        {"nhs_number": "943 476 5919"},
        {"upn": JAMIE_UPN.lower()},
        {"name": "jamie  CARTER", "date_of_birth": "2017-03-14"},
    ],
    ids=["spaced NHS number", "UPN in lower case", "name and date of birth"],
)
def test_the_child_is_matched_as_the_duplicate_check_matches(
    app: Caseroom, client: TestClient, police: dict[str, str], child: dict[str, str], quiet: None
) -> None:
    sent = client.post("/api/v1/agency-events", json=event(child=child), headers=police)
    assert sent.status_code == 201, sent.text
    assert sent.json()["known"] is True
    with app.db.session() as session:
        [stored] = session.exec(select(AgencyEvent)).all()
    assert stored.room_id == room_of(app, "Jamie").id


def test_a_name_is_not_matched_when_an_identifier_is_given(
    app: Caseroom, client: TestClient, police: dict[str, str], quiet: None
) -> None:
    """An NHS number we do not know, with Jamie's name and birthday: not Jamie (two children
    can share a name and a birthday; an identifier the sender has is what they are sure of)."""
    child = {"nhs_number": "9000000009", "name": "Jamie Carter", "date_of_birth": "2017-03-14"}
    sent = client.post("/api/v1/agency-events", json=event(child=child), headers=police)
    assert sent.status_code == 201, sent.text
    assert sent.json() == {"id": sent.json()["id"], "known": False}


def test_an_unknown_child_waits_for_the_front_door(
    app: Caseroom, client: TestClient, auth: Tokens, police: dict[str, str], quiet: None
) -> None:
    sent = client.post(
        "/api/v1/agency-events",
        json=event(child={"name": "Riley Stone", "date_of_birth": "2015-05-05"}, reference="NP-9"),
        headers=police,
    )
    assert sent.status_code == 201, sent.text
    assert sent.json() == {"id": sent.json()["id"], "known": False}
    with app.db.session() as session:
        [stored] = session.exec(select(AgencyEvent)).all()
        assert (stored.status, stored.room_id, stored.message_id) == ("queued", None, None)
        assert stored.child_name == "Riley Stone"
        assert session.exec(select(Message).where(Message.kind == "agency_event")).all() == []
        assert session.exec(select(AgencyAlert)).all() == []


def test_an_integration_account_reads_nothing(
    app: Caseroom, client: TestClient, auth: Tokens, police: dict[str, str], quiet: None
) -> None:
    sent = client.post("/api/v1/agency-events", json=event(), headers=police)
    message_id = items_of_kind(client, auth, SARAH, room_of(app, "Jamie").id)[0]["id"]
    jamie = room_of(app, "Jamie").id
    assert client.get("/api/v1/rooms", headers=police).json()["items"] == []
    for path in (
        f"/api/v1/rooms/{jamie}",
        f"/api/v1/rooms/{jamie}/messages",
        f"/api/v1/rooms/{jamie}/members",
        f"/api/v1/messages/{message_id}/history",
        f"/api/v1/messages/{message_id}/exposure",
    ):
        assert client.get(path, headers=police).status_code == 404, path
    assert (
        client.post(f"/api/v1/messages/{message_id}/acknowledge", headers=police).status_code == 404
    )
    with app.db.session() as session:
        sender = session.exec(select(User).where(User.email == POLICE_SYSTEM)).one()
        denied = session.exec(
            select(AuditEvent.action).where(
                AuditEvent.actor_id == sender.id, AuditEvent.outcome == "denied"
            )
        ).all()
    assert {"view", "list_messages", "list_members", "read", "acknowledge"} <= set(denied)
    assert sent.status_code == 201


def test_an_integration_account_cannot_be_made_a_member(
    app: Caseroom, client: TestClient, auth: Tokens, police: dict[str, str]
) -> None:
    added = client.post(
        f"/api/v1/rooms/{room_of(app, 'Jamie').id}/members",
        json={"email": POLICE_SYSTEM, "role": "member"},
        headers=auth(SARAH),
    )
    assert added.status_code in (403, 422), added.text


def test_an_integration_account_cannot_sign_in_to_the_web(
    app: Caseroom, client: TestClient, police: dict[str, str]
) -> None:
    page = submit_password(client, POLICE_SYSTEM, "a long enough passphrase 42")
    assert page.status_code != 303
    assert "API token" in page.text
    with app.db.session() as session:
        refused = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "login",
                AuditEvent.outcome == "denied",
                col(AuditEvent.purpose).contains("integration"),
            )
        ).all()
    assert len(refused) == 1


def test_only_an_integration_account_sends_events(
    app: Caseroom, client: TestClient, auth: Tokens
) -> None:
    sent = client.post("/api/v1/agency-events", json=event(), headers=auth(PETE))
    assert sent.status_code == 403
    with app.db.session() as session:
        assert session.exec(select(AgencyEvent)).all() == []
        [refused] = session.exec(
            select(AuditEvent).where(AuditEvent.action == "send_agency_event")
        ).all()
    assert refused.outcome == "denied"


def test_a_flood_of_events_from_one_account_is_rate_limited(
    app: Caseroom, client: TestClient, police: dict[str, str], hospital: dict[str, str], quiet: None
) -> None:
    limit = agency_events.send_limiter.limit
    child = {"name": "Riley Stone", "date_of_birth": "2015-05-05"}  # queued: quick
    for n in range(limit):
        sent = client.post(
            "/api/v1/agency-events", json=event(child=child, reference=f"F-{n}"), headers=police
        )
        assert sent.status_code == 201, (n, sent.text)
    flood = client.post(
        "/api/v1/agency-events", json=event(child=child, reference="F-over"), headers=police
    )
    assert flood.status_code == 429
    assert flood.json()["error"]["code"] == "rate_limited"
    other = client.post("/api/v1/agency-events", json=event(child=child), headers=hospital)
    assert other.status_code == 201  # another account is not held back
    with app.db.session() as session:
        assert (
            session.exec(select(AgencyEvent).where(AgencyEvent.reference == "F-over")).all() == []
        )
        limited = session.exec(select(AuditEvent).where(AuditEvent.purpose == "rate limited")).all()
    assert len(limited) == 1


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"type": "burglary"}, "type"),
        ({"child": {"nhs_number": "9434765918"}}, "child.nhs_number"),
        ({"child": {"nhs_number": "94347659AB"}}, "child.nhs_number"),
        ({"child": {"upn": "B950000178301"}}, "child.upn"),
        ({"child": {}}, "child"),
        ({"child": {"name": "Jamie Carter"}}, "child"),
        ({"child": {"name": "Jamie Carter", "date_of_birth": "2030-01-01"}}, "child.date_of_birth"),
        ({"occurred_at": (TEST_START + timedelta(days=1)).isoformat()}, "occurred_at"),
        ({"occurred_at": "last Tuesday"}, "occurred_at"),
        ({"summary": "x" * 2001}, "summary"),
        ({"summary": "   "}, "summary"),
        ({"place": "p" * 201}, "place"),
        ({"reference": "r" * 101}, "reference"),
        ({"reference": "NP\n42"}, "reference"),
        ({"sensitivity": "secret"}, "sensitivity"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_bad_input_is_refused_with_the_field_named_and_nothing_kept(
    app: Caseroom, client: TestClient, police: dict[str, str], change: dict[str, Any], field: str
) -> None:
    sent = client.post("/api/v1/agency-events", json=event(**change), headers=police)
    assert sent.status_code == 422, sent.text
    assert field in sent.json()["error"]["fields"], sent.json()
    with app.db.session() as session:
        assert session.exec(select(AgencyEvent)).all() == []


def test_the_deadline_shows_until_the_dsl_acknowledges(
    app: Caseroom, client: TestClient, auth: Tokens, police: dict[str, str], quiet: None
) -> None:
    client.post("/api/v1/agency-events", json=event(), headers=police)
    jamie = room_of(app, "Jamie").id
    [item] = items_of_kind(client, auth, DAN, jamie)
    assert item["alert"] == {"due_at": iso(DUE), "acknowledged_at": None}
    assert items_of_kind(client, auth, PETE, jamie)[0]["alert"] is None  # not told

    done = client.post(f"/api/v1/messages/{item['id']}/acknowledge", headers=auth(DAN))
    assert done.status_code == 200, done.text
    when = done.json()["acknowledged_at"]
    assert when.startswith("2026-11-25T12:00")
    again = client.post(f"/api/v1/messages/{item['id']}/acknowledge", headers=auth(DAN))
    assert again.json()["acknowledged_at"] == when  # the first acknowledgement stands
    [item] = items_of_kind(client, auth, DAN, jamie)
    assert item["alert"]["acknowledged_at"] == when
    with app.db.session() as session:
        recorded = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "acknowledge", AuditEvent.outcome == "allowed"
            )
        ).all()
    assert len(recorded) == 2 and recorded[0].resource_type == "agency_event"


def test_only_those_told_acknowledge(
    app: Caseroom, client: TestClient, auth: Tokens, police: dict[str, str], quiet: None
) -> None:
    client.post("/api/v1/agency-events", json=event(), headers=police)
    jamie = room_of(app, "Jamie").id
    message_id = items_of_kind(client, auth, SARAH, jamie)[0]["id"]
    assert (
        client.post(f"/api/v1/messages/{message_id}/acknowledge", headers=auth(PETE)).status_code
        == 403
    )
    assert (
        client.post(f"/api/v1/messages/{message_id}/acknowledge", headers=auth(OMAR)).status_code
        == 404
    )
    ordinary = client.post(
        f"/api/v1/rooms/{jamie}/messages", json={"body": "Visit done"}, headers=auth(SARAH)
    ).json()["id"]
    assert (
        client.post(f"/api/v1/messages/{ordinary}/acknowledge", headers=auth(SARAH)).status_code
        == 404
    )


def test_people_cannot_post_an_agency_event_themselves(
    app: Caseroom, client: TestClient, auth: Tokens
) -> None:
    posted = client.post(
        f"/api/v1/rooms/{room_of(app, 'Jamie').id}/messages",
        json={"body": "A made-up alert", "kind": "agency_event", "sensitivity": "room"},
        headers=auth(SARAH),
    )
    assert posted.status_code == 422


def test_the_event_arrives_live_for_those_who_may_read_it(
    app: Caseroom, live_server: LiveServer, auth: Tokens, police: dict[str, str], quiet: None
) -> None:
    jamie = room_of(app, "Jamie").id

    async def scenario() -> dict[str, list[Any]]:
        async with (
            connected(live_server, token_of(auth(SARAH))) as sarah,
            connected(live_server, token_of(auth(DAN))) as dan,
            connected(live_server, token_of(auth(OMAR))) as omar,
            connected(live_server, token_of(police)) as system,
        ):
            for who in (sarah, dan):
                assert (await who.client.call("join", {"room_id": jamie}))["ok"]
            for who in (omar, system):
                assert "error" in await who.client.call("join", {"room_id": jamie})
            async with httpx2.AsyncClient(base_url=live_server.url) as http:
                sent = await http.post("/api/v1/agency-events", json=event(), headers=police)
                assert sent.status_code == 201, sent.text
            for who in (sarah, dan):
                await who.wait_for("message", lambda m: m.get("kind") == "agency_event")
                await who.wait_for("notice", lambda n: "partner agency" in n["text"])
            for who in (omar, system):
                await round_trip(who)
            return {"omar": omar.of("message"), "system": system.of("message")}

    unheard = run_async(scenario())
    assert unheard == {"omar": [], "system": []}


def test_the_room_page_shows_the_dsl_the_deadline_until_they_acknowledge(
    app: Caseroom, client: TestClient, police: dict[str, str], password: str, quiet: None
) -> None:
    client.post("/api/v1/agency-events", json=event(), headers=police)
    jamie = room_of(app, "Jamie").id
    sign_in(client, DAN, password)
    page = client.get(f"/rooms/{jamie}").text
    assert "Domestic abuse incident on" in page and "their reference NP-2026-11-0042" in page
    assert f"You were asked to act on this {DEADLINE}" in page.replace("&#39;", "'")
    done = client.post(
        re.search(r'action="(/messages/[^"]+/acknowledge)"', page).group(1),  # type: ignore[union-attr]
        data={"csrf_token": form_value(page, "csrf_token")},
        follow_redirects=False,
    )
    assert done.status_code == 303
    assert done.headers["location"].startswith(f"/rooms/{jamie}#m-")
    page = client.get(f"/rooms/{jamie}").text
    assert "You acknowledged this alert on" in page
    assert "You were asked to act on this" not in page


def test_two_sends_of_one_reference_at_once_make_one_event(
    app: Caseroom, police: dict[str, str], live_server: LiveServer, quiet: None
) -> None:
    """A partner's retry racing its first attempt (two requests in flight at once)."""

    async def both() -> list[Any]:
        async with httpx2.AsyncClient(base_url=live_server.url) as http:
            return await asyncio.gather(
                *(
                    http.post("/api/v1/agency-events", json=event(), headers=police)
                    for _ in range(4)
                )
            )

    answers = run_async(both())
    assert sorted(a.status_code for a in answers) == [200, 200, 200, 201]
    assert len({a.json()["id"] for a in answers}) == 1
    with app.db.session() as session:
        assert len(session.exec(select(AgencyEvent)).all()) == 1
        assert len(session.exec(select(Message).where(Message.kind == "agency_event")).all()) == 1


def test_every_event_type_has_a_label() -> None:
    assert set(EVENT_LABELS) == set(get_args(EventType))
