"""Immediate notifications (issue #4, part 3), through the outbox and content-free: you were
mentioned; you were added to a room; break-glass was used on a room you answer for; an
action you own is overdue (the hook plans will call); your guest access ends within 3
days. Each person chooses which come at once and which wait for the digest; a muted room
sends nothing; news about a room is withdrawn if the person may no longer see it by the
time it would go out."""

from __future__ import annotations

from datetime import timedelta

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
    Tokens,
    user_by_email,
)
from tests.mailbox import Mailbox
from tests.mailing import (
    add_member,
    assert_no_case_content,
    deliver,
    digest_to,
    post,
    room_of,
    rows,
    text_of,
    write_digests,
)
from workspace.access import Access, Origin, Target
from workspace.clock import clock, iso
from workspace.models import AuditEvent, BreakGlass, User
from workspace.services import notifications, reminders
from workspace.state import Caseroom

pytestmark = pytest.mark.mail


def events(app: Caseroom, action: str) -> list[AuditEvent]:
    with app.db.session() as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.action) == action)
                .order_by(col(AuditEvent.seq))
            ).all()
        )


def prefer(client: TestClient, auth: Tokens, who: str, **changes: object) -> None:
    response = client.put("/api/v1/me/preferences", headers=auth(who), json=changes)
    assert response.status_code == 200, response.text


# --- mentions ----------------------------------------------------------------------------------


def test_a_mention_is_emailed_at_once_without_the_message(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    post(client, auth, HANA, jamie.id, "@dan.dsl please confirm attendance for Thursday.")
    deliver(app)
    (received,) = mailbox.to(DAN)
    assert received.message["Subject"] == f"You were mentioned in case room {jamie.reference}"
    assert f"http://127.0.0.1:8000/rooms/{jamie.id}" in text_of(received)
    assert "Thursday" not in text_of(received) and "Hana" not in text_of(received)
    assert_no_case_content(app, received)
    assert mailbox.to(HANA) == []  # not to the author
    (queued,) = [e for e in events(app, "notification_queued") if e.purpose == "mention"]
    assert queued.actor_id == user_by_email(app, DAN).id
    assert (queued.channel, queued.room_id) == ("email", jamie.id)


def test_nobody_is_told_of_a_restricted_message_they_may_not_read(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    post(client, auth, PETE, jamie.id, "@dan.dsl @sarah.social police only.", "restricted")
    deliver(app)
    assert mailbox.to(DAN) == []
    assert len(mailbox.to(SARAH)) == 1  # the lead may read it


def test_a_burst_of_mentions_makes_one_email_until_it_has_gone(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    for n in range(3):
        post(client, auth, HANA, jamie.id, f"@dan.dsl point {n}")
    deliver(app)
    assert len(mailbox.to(DAN)) == 1
    post(client, auth, HANA, jamie.id, "@dan.dsl one more")
    deliver(app)
    assert len(mailbox.to(DAN)) == 2


def test_a_mention_can_wait_for_the_digest_instead(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    prefer(client, auth, DAN, immediate=["added", "guest_expiring", "action_overdue"])
    write_digests(app)
    deliver(app)
    mailbox.received.clear()
    clock.advance(timedelta(hours=1))
    jamie = room_of(app, "Jamie")
    post(client, auth, HANA, jamie.id, "@dan.dsl please confirm attendance.")
    deliver(app)
    assert mailbox.to(DAN) == []
    write_digests(app)
    deliver(app)
    (digest,) = digest_to(mailbox, DAN)
    assert "1 mention of you" in text_of(digest)


def test_a_muted_room_sends_no_mention(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    prefer(client, auth, DAN, muted_rooms=[jamie.id])
    post(client, auth, HANA, jamie.id, "@dan.dsl anything?")
    deliver(app)
    assert mailbox.to(DAN) == []


def test_news_about_a_room_is_withdrawn_if_the_person_was_removed_before_it_went(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    post(client, auth, HANA, jamie.id, "@dan.dsl please call me.")
    dan = user_by_email(app, DAN)
    assert (
        client.request(
            "DELETE",
            f"/api/v1/rooms/{jamie.id}/members/{dan.id}",
            headers=auth(SARAH),
            json=REMOVAL,
        ).status_code
        == 204
    )
    deliver(app)
    assert mailbox.to(DAN) == []
    (withdrawn,) = rows(app, to=DAN, kind="mention")
    assert withdrawn.status == "withdrawn"
    (event,) = events(app, "email_withdrawn")
    assert (event.actor_id, event.outcome, event.room_id) == (dan.id, "denied", jamie.id)


# --- being added, guest access ending ---------------------------------------------------------


def test_being_added_to_a_room_is_emailed_with_the_role_and_when_guest_access_ends(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    lily = room_of(app, "Lily")
    ends = clock.now() + timedelta(days=20)
    add_member(client, auth, lily.id, HOLLY, role="guest", expires_at=iso(ends))
    deliver(app)
    (received,) = mailbox.to(HOLLY)
    text = text_of(received)
    assert received.message["Subject"] == f"You have been added to case room {lily.reference}"
    assert "as a guest" in text and "Your access ends on" in text
    assert_no_case_content(app, received)


def test_a_guest_is_told_once_that_their_access_ends_within_3_days(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie, lily = room_of(app, "Jamie"), room_of(app, "Lily")
    add_member(client, auth, jamie.id, HOLLY, role="guest",
               expires_at=iso(clock.now() + timedelta(days=2)))  # fmt: skip
    add_member(client, auth, lily.id, OMAR, role="guest",
               expires_at=iso(clock.now() + timedelta(days=10)))  # fmt: skip
    deliver(app)
    mailbox.received.clear()
    reminders.run_reminders(app)
    reminders.run_reminders(app)  # the worker looks every minute: still once
    deliver(app)
    (received,) = mailbox.to(HOLLY)
    assert received.message["Subject"] == f"Your access to case room {jamie.reference} ends soon"
    assert mailbox.to(OMAR) == []  # ten days away
    clock.advance(timedelta(days=8))
    reminders.run_reminders(app)
    deliver(app)
    assert len(mailbox.to(OMAR)) == 1 and len(mailbox.to(HOLLY)) == 1


# --- the hooks for break-glass and plans --------------------------------------------------------


def test_break_glass_is_told_to_the_lead_the_managers_and_the_ig_lead_never_the_reason(
    app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    """Priya (police manager) opens Lily's room by break-glass: Sarah (the lead), Mark
    (manager of the lead's team) and Iris (the council's IG lead) are told at once — the
    people the policy lets read that audit event. Nobody else; not the reason given."""
    lily = room_of(app, "Lily")
    reason = "A&E reported Lily Morgan, DOB 02/07/2020, with a head injury"
    priya = user_by_email(app, PRIYA)
    with app.db.session() as session:
        access = Access(app, session, priya, Origin("web"), purpose=reason)
        room = access.room_for_user(lily.id)
        assert room is not None
        glass = BreakGlass(
            user_id=priya.id, room_id=lily.id, reason=reason,
            started_at=access.now, expires_at=access.now + timedelta(hours=4),
        )  # fmt: skip
        session.add(glass)
        event = access.record("break_glass", Target("room", lily.id, lily.id, room.child.id))
        told = notifications.break_glass_opened(access, room, glass, event)
        session.commit()
    emails = {e: user_by_email(app, e).id for e in (SARAH, MARK, IRIS)}
    assert sorted(told) == sorted(emails.values())
    deliver(app)
    assert {r.recipients[0] for r in mailbox.received} == {SARAH, MARK, IRIS}
    for received in mailbox.received:
        assert received.message["Subject"] == f"Break-glass access to case room {lily.reference}"
        assert "DS Priya Shah" in text_of(received) and "List-Unsubscribe" not in received.message
        assert "head injury" not in text_of(received)
        assert_no_case_content(app, received)


def test_break_glass_alerts_cannot_be_turned_off(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    response = client.put(
        "/api/v1/me/preferences", headers=auth(SARAH), json={"immediate": ["break_glass"]}
    )
    assert response.status_code == 422


def test_the_overdue_action_hook_tells_the_owner_once_and_says_nothing_of_the_action(
    app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    due = (clock.now() - timedelta(days=1)).date()
    with app.db.session() as session:
        hana = session.exec(select(User).where(User.email == HANA)).one()
        access = Access(app, session, None, Origin("email"), purpose="reminder")
        room = access.room_for_user(jamie.id)
        assert room is not None
        for _ in range(2):
            notifications.action_overdue(access, room, hana, "action-42", due)
            session.flush()
        session.commit()
    deliver(app)
    (received,) = mailbox.to(HANA)
    assert received.message["Subject"] == (
        f"An action you own in case room {jamie.reference} is overdue"
    )
    assert "was due on Tuesday 24 November 2026" in text_of(received)
    assert_no_case_content(app, received)
