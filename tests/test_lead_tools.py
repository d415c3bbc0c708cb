"""The lead's duties (issue #5, part 2; DESIGN.md §3 rules 5 and 6): change a member's
role, extend a guest, hand the lead role on, close the room. Only the lead may; each is
audited and shows in the room's history; widening access records a sharing decision;
closing makes the room read-only, and guests lose it at once, live sockets included."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from typing import Any

import httpx2
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import (
    DAN,
    HANA,
    HOLLY,
    OMAR,
    PETE,
    REMOVAL,
    SARAH,
    LiveServer,
    Tokens,
    give_second_factor,
    user_by_email,
)  # fmt: skip
from tests.mailing import add_member
from tests.test_chat_sockets import connected, jamie, token_of
from tests.test_sign_in import sign_in_fully
from workspace.clock import clock, iso
from workspace.models import AuditEvent, Membership, Notice, OutboxEmail, Room, SharingDecision
from workspace.services import reminders
from workspace.state import Caseroom

REASONS = {"purpose": "Housing support plan", "lawful_basis": "public_task", "consent": "given"}


def audited(app: Caseroom, action: str, room_id: str) -> list[AuditEvent]:
    with app.db.session() as session:
        return list(
            session.exec(
                select(AuditEvent).where(AuditEvent.action == action, AuditEvent.room_id == room_id)
            ).all()
        )


def decisions(app: Caseroom, room_id: str, with_email: str) -> list[SharingDecision]:
    who = user_by_email(app, with_email)
    with app.db.session() as session:
        return list(
            session.exec(
                select(SharingDecision)
                .where(SharingDecision.room_id == room_id, SharingDecision.with_user_id == who.id)
                .order_by(col(SharingDecision.created_at))
            ).all()
        )


def member_of(client: TestClient, auth: Tokens, room_id: str, email: str) -> dict[str, Any]:
    items = client.get(f"/api/v1/rooms/{room_id}/members", headers=auth(SARAH)).json()["items"]
    return next(m for m in items if m["user"]["email"] == email)


def holly_as_guest(client: TestClient, auth: Tokens, room_id: str, days: int = 10) -> None:
    add_member(client, auth, room_id, HOLLY, role="guest",
               expires_at=iso(clock.now() + timedelta(days=days)))  # fmt: skip


# --- change a role, extend a guest ----------------------------------------------------------


def test_the_lead_extends_a_guest_and_the_extension_is_a_recorded_sharing_decision(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    holly_as_guest(client, auth, room_id)
    holly = user_by_email(app, HOLLY).id
    later = clock.now() + timedelta(days=40)
    response = client.patch(
        f"/api/v1/rooms/{room_id}/members/{holly}",
        headers=auth(SARAH),
        json={"expires_at": iso(later), **REASONS},
    )
    assert response.status_code == 200, response.text
    assert response.json()["expires_at"][:10] == later.date().isoformat()
    _invitation, extended = decisions(app, room_id, HOLLY)
    assert extended.decision == "share" and extended.what == "room access as guest, extended"
    assert (extended.purpose, extended.lawful_basis, extended.consent) == (
        "Housing support plan", "public_task", "given",
    )  # fmt: skip
    assert len(audited(app, "guest_extended", room_id)) == 1


def test_an_extension_without_its_reasons_is_refused(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    holly_as_guest(client, auth, room_id)
    holly = user_by_email(app, HOLLY).id
    response = client.patch(
        f"/api/v1/rooms/{room_id}/members/{holly}",
        headers=auth(SARAH),
        json={"expires_at": iso(clock.now() + timedelta(days=40))},
    )
    assert response.status_code == 422
    assert set(response.json()["error"]["fields"]) == {"purpose", "lawful_basis", "consent"}
    assert len(decisions(app, room_id, HOLLY)) == 1  # only the invitation


def test_a_guest_made_a_member_loses_the_end_date_and_a_decision_is_recorded(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    holly_as_guest(client, auth, room_id)
    holly = user_by_email(app, HOLLY).id
    response = client.patch(
        f"/api/v1/rooms/{room_id}/members/{holly}",
        headers=auth(SARAH),
        json={"role": "member", **REASONS},
    )
    assert response.status_code == 200, response.text
    assert member_of(client, auth, room_id, HOLLY)["role"] == "member"
    assert member_of(client, auth, room_id, HOLLY)["expires_at"] is None
    assert decisions(app, room_id, HOLLY)[-1].what == "room access as member"
    assert len(audited(app, "member_role_changed", room_id)) == 1
    # Now a member: the child's identifiers are hers to see.
    room = client.get(f"/api/v1/rooms/{room_id}", headers=auth(HOLLY)).json()
    assert "date_of_birth" in room["child"]


def test_a_member_made_a_guest_gets_an_end_date_and_no_identifiers(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    dan = user_by_email(app, DAN).id
    give_second_factor(app, DAN)  # a guest must have one (issue #5)
    response = client.patch(
        f"/api/v1/rooms/{room_id}/members/{dan}", headers=auth(SARAH), json={"role": "guest"}
    )
    assert response.status_code == 200, response.text
    assert response.json()["role"] == "guest" and response.json()["expires_at"] is not None
    room = client.get(f"/api/v1/rooms/{room_id}", headers=auth(DAN)).json()
    assert set(room["child"]) == {"name", "age"}
    # The old membership is ended, not rewritten: the history of roles is kept.
    with app.db.session() as session:
        rows = session.exec(
            select(Membership).where(Membership.room_id == room_id, Membership.user_id == dan)
        ).all()
    assert sorted((m.role, m.revoked_at is None) for m in rows) == [
        ("guest", True), ("member", False),
    ]  # fmt: skip


def test_only_the_lead_changes_roles_and_refusals_are_audited(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    dan = user_by_email(app, DAN).id
    as_member = client.patch(
        f"/api/v1/rooms/{room_id}/members/{dan}", headers=auth(PETE), json={"role": "guest"}
    )
    as_outsider = client.patch(
        f"/api/v1/rooms/{room_id}/members/{dan}", headers=auth(OMAR), json={"role": "guest"}
    )
    assert (as_member.status_code, as_outsider.status_code) == (403, 404)
    denied = [e for e in audited(app, "change_role", room_id) if e.outcome == "denied"]
    assert len(denied) == 2


def test_only_a_guests_access_ends_so_adding_a_member_with_an_end_date_is_refused(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    added_before = len(audited(app, "member_added", room_id))
    response = client.post(
        f"/api/v1/rooms/{room_id}/members",
        headers=auth(SARAH),
        json={"email": OMAR, "role": "member",
              "expires_at": iso(clock.now() + timedelta(days=10)), **REASONS},
    )  # fmt: skip
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "Only a guest's access ends."
    assert set(response.json()["error"]["fields"]) == {"expires_at"}
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(OMAR)).status_code == 404
    assert decisions(app, room_id, OMAR) == []
    assert len(audited(app, "member_added", room_id)) == added_before


# --- transfer the lead role ------------------------------------------------------------------


def test_the_lead_role_goes_to_a_local_authority_member_and_the_old_lead_stays_a_member(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    add_member(client, auth, room_id, OMAR)
    omar = user_by_email(app, OMAR).id
    response = client.post(
        f"/api/v1/rooms/{room_id}/lead", headers=auth(SARAH), json={"user_id": omar}
    )
    assert response.status_code == 204, response.text
    room = client.get(f"/api/v1/rooms/{room_id}", headers=auth(OMAR)).json()
    assert room["lead"]["email"] == OMAR and room["my_role"] == "lead"
    assert member_of(client, auth, room_id, SARAH)["role"] == "member"
    with app.db.session() as session:
        assert session.get(Room, room_id).lead_user_id == omar  # type: ignore[union-attr]
    assert len(audited(app, "lead_transferred", room_id)) == 1
    # Sarah's lead duties have gone with the role.
    refused = client.post(f"/api/v1/rooms/{room_id}/close", headers=auth(SARAH))
    assert refused.status_code == 403


def test_the_lead_role_cannot_go_to_police_or_to_someone_outside_the_room(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    for email in (PETE, HOLLY):
        response = client.post(
            f"/api/v1/rooms/{room_id}/lead",
            headers=auth(SARAH),
            json={"user_id": user_by_email(app, email).id},
        )
        assert response.status_code == 422, response.text
    by_member = client.post(
        f"/api/v1/rooms/{room_id}/lead",
        headers=auth(HANA),
        json={"user_id": user_by_email(app, HANA).id},
    )
    assert by_member.status_code == 403
    assert audited(app, "lead_transferred", room_id) == []


# --- close the room --------------------------------------------------------------------------


def test_closing_makes_the_room_read_only_members_still_read_and_guests_lose_it(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    holly_as_guest(client, auth, room_id)
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(HOLLY)).status_code == 200
    assert client.post(f"/api/v1/rooms/{room_id}/close", headers=auth(HANA)).status_code == 403
    closed = client.post(f"/api/v1/rooms/{room_id}/close", headers=auth(SARAH))
    assert closed.status_code == 204, closed.text
    assert len(audited(app, "room_closed", room_id)) == 1
    room = client.get(f"/api/v1/rooms/{room_id}", headers=auth(HANA)).json()
    assert room["status"] == "closed"
    assert client.get(f"/api/v1/rooms/{room_id}/messages", headers=auth(HANA)).status_code == 200
    note = {"body": "After closing", "kind": "note", "sensitivity": "room"}
    for who in (SARAH, HANA):
        posted = client.post(f"/api/v1/rooms/{room_id}/messages", headers=auth(who), json=note)
        assert posted.status_code == 403
    again = client.post(f"/api/v1/rooms/{room_id}/close", headers=auth(SARAH))
    assert again.status_code == 409
    added = client.post(
        f"/api/v1/rooms/{room_id}/members",
        headers=auth(SARAH),
        json={"email": OMAR, **REASONS},
    )
    assert added.status_code == 403
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(HOLLY)).status_code == 404


def test_a_guests_socket_is_removed_within_a_second_of_closing(
    live_server: LiveServer, auth: Tokens, client: TestClient
) -> None:
    room_id = jamie(client, auth)
    holly_as_guest(client, auth, room_id)

    async def scenario() -> tuple[float, list[Any]]:
        async with (
            connected(live_server, token_of(auth(HOLLY))) as holly,
            connected(live_server, token_of(auth(HANA))) as hana,
        ):
            assert (await holly.client.call("join", {"room_id": room_id}))["ok"]
            assert (await hana.client.call("join", {"room_id": room_id}))["ok"]
            loop = asyncio.get_running_loop()
            started = loop.time()
            async with httpx2.AsyncClient(base_url=live_server.url) as http:
                closed = await http.post(f"/api/v1/rooms/{room_id}/close", headers=auth(SARAH))
                assert closed.status_code == 204
                await holly.wait_for("member_removed", timeout=1.0)
                elapsed = loop.time() - started
            await asyncio.sleep(0.3)
            return elapsed, hana.of("member_removed")

    elapsed, hana_removed = run_async(scenario())
    assert elapsed < 1.0
    assert hana_removed == []  # members keep (read-only) access


def test_removing_a_guest_invited_again_ends_the_current_invitation(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    holly_as_guest(client, auth, room_id, days=2)
    clock.advance(timedelta(days=3))  # the first invitation has ended
    holly_as_guest(client, auth, room_id)
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(HOLLY)).status_code == 200
    holly = user_by_email(app, HOLLY).id
    removed = client.request(
        "DELETE", f"/api/v1/rooms/{room_id}/members/{holly}", headers=auth(SARAH), json=REMOVAL
    )
    assert removed.status_code == 204, removed.text
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(HOLLY)).status_code == 404
    again = client.request(
        "DELETE", f"/api/v1/rooms/{room_id}/members/{holly}", headers=auth(SARAH), json=REMOVAL
    )
    assert again.status_code == 422


def test_closing_a_closed_room_again_is_a_conflict_and_is_audited(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    assert client.post(f"/api/v1/rooms/{room_id}/close", headers=auth(SARAH)).status_code == 204
    again = client.post(f"/api/v1/rooms/{room_id}/close", headers=auth(SARAH))
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "This room is closed already."
    [refused] = [e for e in audited(app, "close", room_id) if e.outcome == "denied"]
    assert refused.purpose == "room closed already"
    assert len(audited(app, "room_closed", room_id)) == 1
    # Only the lead learns that: a member is refused as before, an outsider sees no room.
    assert client.post(f"/api/v1/rooms/{room_id}/close", headers=auth(HANA)).status_code == 403
    assert client.post(f"/api/v1/rooms/{room_id}/close", headers=auth(OMAR)).status_code == 404


# --- the lead is reminded before a guest's access ends ---------------------------------------


def test_the_lead_is_emailed_once_three_days_before_a_guest_expires(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    holly_as_guest(client, auth, room_id, days=2)
    sarah = user_by_email(app, SARAH)
    reminders.run_reminders(app)
    reminders.run_reminders(app)
    with app.db.session() as session:
        mails = session.exec(
            select(OutboxEmail).where(
                OutboxEmail.user_id == sarah.id, OutboxEmail.kind == "guest_expiring_lead"
            )
        ).all()
    assert len(mails) == 1
    assert "ends soon" in mails[0].subject and "Jamie" not in mails[0].subject


# --- the room page -------------------------------------------------------------------------


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


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found
    return found.group(1)


def test_the_lead_sees_the_tools_and_closes_the_room_from_the_page(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)
    sign_in(client, SARAH, password)
    page = client.get(f"/rooms/{room_id}")
    for tool in ("lead-change", "lead-transfer", "lead-close"):
        assert f'data-testid="{tool}"' in page.text
    unconfirmed = client.post(f"/rooms/{room_id}/close", data={"csrf_token": csrf_of(page.text)})
    assert unconfirmed.status_code == 422 and audited(app, "room_closed", room_id) == []
    closed = client.post(
        f"/rooms/{room_id}/close",
        data={"csrf_token": csrf_of(page.text), "confirm": "yes"},
        follow_redirects=False,
    )
    assert closed.status_code == 303
    after = client.get(f"/rooms/{room_id}")
    assert "This room is closed and read-only." in after.text
    assert 'data-testid="lead-close"' not in after.text
    assert [e.channel for e in audited(app, "room_closed", room_id)] == ["web"]


def test_members_get_no_lead_tools_and_a_guest_sees_when_access_ends(
    client: TestClient, auth: Tokens, password: str
) -> None:
    room_id = jamie(client, auth)
    holly_as_guest(client, auth, room_id)
    sign_in(client, HANA, password)
    page = client.get(f"/rooms/{room_id}")
    assert "lead-change" not in page.text and "guest-expiry" not in page.text
    assert f"/rooms/{room_id}/sharing" in page.text
    client.cookies.clear()
    sign_in_fully(client, auth.app, HOLLY, password)
    page = client.get(f"/rooms/{room_id}")
    assert 'data-testid="guest-expiry"' in page.text
    assert f"/rooms/{room_id}/sharing" not in page.text  # the record is for the lead and members


def test_the_lead_extends_a_guest_from_the_page(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)
    holly_as_guest(client, auth, room_id)
    holly = user_by_email(app, HOLLY).id
    sign_in(client, SARAH, password)
    page = client.get(f"/rooms/{room_id}")
    later = (clock.now() + timedelta(days=30)).date().isoformat()
    changed = client.post(
        f"/rooms/{room_id}/members/{holly}/change",
        data={"csrf_token": csrf_of(page.text), "expires_at": later, **REASONS},
        follow_redirects=False,
    )
    assert changed.status_code == 303, changed.text
    assert member_of(client, auth, room_id, HOLLY)["expires_at"][:10] == later
    assert len(decisions(app, room_id, HOLLY)) == 2


def test_after_an_extension_lead_and_guest_are_reminded_again_before_the_new_end(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    holly_as_guest(client, auth, room_id, days=2)
    holly, sarah = user_by_email(app, HOLLY).id, user_by_email(app, SARAH).id
    reminders.run_reminders(app)
    extended = client.patch(
        f"/api/v1/rooms/{room_id}/members/{holly}",
        headers=auth(SARAH),
        json={"expires_at": iso(clock.now() + timedelta(days=20)), **REASONS},
    )
    assert extended.status_code == 200, extended.text
    clock.advance(timedelta(days=18))
    reminders.run_reminders(app)
    reminders.run_reminders(app)
    with app.db.session() as session:
        for who, kind in ((sarah, "guest_expiring_lead"), (holly, "guest_expiring")):
            mails = session.exec(
                select(OutboxEmail).where(OutboxEmail.user_id == who, OutboxEmail.kind == kind)
            ).all()
            told = session.exec(
                select(Notice).where(Notice.user_id == who, Notice.kind == kind)
            ).all()
            assert len(mails) == len(told) == 2, kind  # the guest is warned again too


def test_the_lead_role_is_offered_only_to_members_the_policy_lets_lead(
    client: TestClient, auth: Tokens, password: str
) -> None:
    room_id = jamie(client, auth)  # members: police, health and school
    sign_in(client, SARAH, password)
    nobody = client.get(f"/rooms/{room_id}")
    assert 'data-testid="lead-transfer-none"' in nobody.text
    assert 'id="lead-user"' not in nobody.text
    add_member(client, auth, room_id, OMAR)  # a council practitioner
    page = client.get(f"/rooms/{room_id}")
    offered = re.search(r'<select id="lead-user" name="user_id">(.*?)</select>', page.text, re.S)
    assert offered, page.text
    assert "Omar" in offered.group(1)
    assert "Pete" not in offered.group(1)
    assert 'data-testid="lead-transfer-none"' not in page.text
