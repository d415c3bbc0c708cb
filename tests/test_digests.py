"""Digests (issue #4, part 2): per person, off / daily at a chosen hour / weekly on a chosen
day (Europe/London; default daily at 08:00), muted rooms. A digest lists, per room the
person may still view, counts only — new messages, mentions of them, guests' access ending
— by room reference, never by child, with a link; it is filtered by the policy when it is
written, audited, and not sent at all when there is nothing to say."""

from __future__ import annotations

import email.policy
from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests import mailing
from tests.conftest import DAN, HANA, HOLLY, PETE, REMOVAL, SARAH, Tokens, user_by_email
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
from tests.support import Cli
from workspace.clock import clock, iso
from workspace.models import AuditEvent, EmailPreference, EncryptedFile
from workspace.services import digests
from workspace.settings import Settings
from workspace.state import Caseroom

pytestmark = pytest.mark.mail


@pytest.fixture
def caught_up(app: Caseroom, mailbox: Mailbox) -> None:
    """Everyone has had a digest and every email has gone; an hour passes."""
    write_digests(app)
    mailing.empty_outbox(app, mailbox)
    clock.advance(timedelta(hours=1))


def the_digest(app: Caseroom, mailbox: Mailbox, address: str) -> str:
    write_digests(app)
    deliver(app)
    (received,) = digest_to(mailbox, address)
    return text_of(received)


# --- what a digest says -----------------------------------------------------------------------


def test_a_digest_arrives_with_the_right_counts_as_valid_mime_and_no_case_content(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, caught_up: None
) -> None:
    jamie, lily = room_of(app, "Jamie"), room_of(app, "Lily")
    post(client, auth, SARAH, jamie.id, "Core group moved to Thursday 10am at the school.")
    post(client, auth, SARAH, jamie.id, "Please bring the attendance figures.")
    post(client, auth, HANA, jamie.id, "@dan.dsl can you confirm Jamie's attendance?")
    post(client, auth, PETE, jamie.id, "Police only: bail conditions changed.", "restricted")
    post(client, auth, SARAH, lily.id, "Lily's nursery place confirmed.")

    assert write_digests(app).written >= 3
    deliver(app)
    (digest,) = digest_to(mailbox, DAN)
    # Valid MIME, both parts, parsed the way a mail client would.
    parsed = email.message_from_bytes(digest.raw, policy=email.policy.default)
    assert isinstance(parsed, email.message.EmailMessage)
    assert parsed.get_content_type() == "multipart/alternative"
    plain, html = parsed.get_body(("plain",)), parsed.get_body(("html",))
    assert plain is not None and html is not None
    text, markup = str(plain.get_content()), str(html.get_content())
    # Dan's counts in Jamie's room: three messages he may read (not the police-only one),
    # one of which mentions him. Lily's room is not his.
    assert jamie.reference in text and jamie.reference in markup
    assert "3 new messages" in text and "1 mention of you" in text
    assert "3 new messages" in markup
    assert f"http://127.0.0.1:8000/rooms/{jamie.id}" in text
    assert lily.reference not in text and lily.id not in text
    assert parsed["Subject"] == "Your Caseroom digest: news in 1 room"
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert "<img" not in markup.lower()
    assert_no_case_content(app, digest)
    for address in (SARAH, HANA, DAN):  # and nobody's digest carries any
        for received in digest_to(mailbox, address):
            assert_no_case_content(app, received)


def test_restricted_messages_are_counted_only_for_those_who_may_read_them(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, caught_up: None
) -> None:
    jamie = room_of(app, "Jamie")
    post(client, auth, PETE, jamie.id, "Police only: intelligence update.", "restricted")
    post(client, auth, DAN, jamie.id, "Attendance 82% this half term.")
    write_digests(app)
    deliver(app)
    counts = {who: text_of(digest_to(mailbox, who)[0]) for who in (SARAH, HANA, PETE)}
    assert "2 new messages" in counts[SARAH]  # the lead reads restricted items
    assert "1 new message\n" in counts[HANA]  # health does not
    assert "1 new message\n" in counts[PETE]  # his own is not news to him


def test_files_are_counted_only_for_those_who_may_read_them(
    app: Caseroom, mailbox: Mailbox, caught_up: None
) -> None:
    """Issue #10: a file is an item like a message (rule 2); counted, never named."""
    jamie = room_of(app, "Jamie")
    with app.db.session() as session:
        for who, sensitivity in ((PETE, "restricted"), (DAN, "room"), (DAN, "room")):
            person = user_by_email(app, who)
            session.add(EncryptedFile(
                room_id=jamie.id, uploader_id=person.id, uploader_org_id=person.organisation_id,
                sensitivity=sensitivity, kind="fact", size=17, sha256="0" * 64, manifest="{}",
                signature="-", sign_public="-", encrypted_name="-", content_state="stored",
                created_at=clock.now(), stored_at=clock.now(),
            ))  # fmt: skip
        session.commit()
    write_digests(app)
    deliver(app)
    counts = {who: text_of(digest_to(mailbox, who)[0]) for who in (SARAH, HANA, PETE)}
    assert "3 new files" in counts[SARAH]  # the lead reads restricted items
    assert "2 new files" in counts[HANA]  # health does not
    assert "2 new files" in counts[PETE]  # his own is not news to him
    assert digest_to(mailbox, DAN) == []  # nothing but his own: no email


def test_nothing_to_say_means_no_email(app: Caseroom, mailbox: Mailbox, caught_up: None) -> None:
    run = write_digests(app)
    assert run.written == 0 and run.quiet > 0
    deliver(app)
    assert mailbox.received == []


def test_messages_already_read_are_not_news(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, caught_up: None
) -> None:
    jamie = room_of(app, "Jamie")
    message = post(client, auth, SARAH, jamie.id, "Strategy meeting notes uploaded.")
    assert (
        client.post(f"/api/v1/messages/{message['id']}/read", headers=auth(DAN)).status_code == 204
    )
    write_digests(app)
    deliver(app)
    assert digest_to(mailbox, DAN) == []
    assert len(digest_to(mailbox, HANA)) == 1


def test_a_removed_member_s_next_digest_omits_the_room(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, caught_up: None
) -> None:
    jamie, lily = room_of(app, "Jamie"), room_of(app, "Lily")
    post(client, auth, SARAH, jamie.id, "Conference date set.")
    post(client, auth, SARAH, lily.id, "Review booked.")
    hana = user_by_email(app, HANA)
    removed = client.request(
        "DELETE", f"/api/v1/rooms/{jamie.id}/members/{hana.id}", headers=auth(SARAH), json=REMOVAL
    )
    assert removed.status_code == 204
    text = the_digest(app, mailbox, HANA)
    assert lily.reference in text
    assert jamie.reference not in text and jamie.id not in text


def test_muted_rooms_are_left_out_and_digests_can_be_turned_off(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, caught_up: None
) -> None:
    jamie, lily = room_of(app, "Jamie"), room_of(app, "Lily")
    muted = client.put(
        "/api/v1/me/preferences", headers=auth(HANA), json={"muted_rooms": [lily.id]}
    )
    assert muted.status_code == 200, muted.text
    post(client, auth, SARAH, jamie.id, "Conference date set.")
    post(client, auth, SARAH, lily.id, "Review booked.")
    text = the_digest(app, mailbox, HANA)
    assert jamie.reference in text and lily.reference not in text

    off = client.put("/api/v1/me/preferences", headers=auth(HANA), json={"digest": "off"})
    assert off.status_code == 200
    clock.advance(timedelta(hours=1))
    post(client, auth, SARAH, jamie.id, "Another update.")
    write_digests(app)
    deliver(app)
    assert len(digest_to(mailbox, HANA)) == 1  # still only the first


def test_being_added_is_news_but_opening_a_room_yourself_is_not(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, caught_up: None
) -> None:
    created = client.post(
        "/api/v1/rooms",
        headers=auth(SARAH),
        json={"child": {"name": "Sam Lee", "date_of_birth": "2019-05-01"}},
    )
    assert created.status_code == 201, created.text
    add_member(client, auth, created.json()["id"], HANA)
    write_digests(app)
    deliver(app)
    assert digest_to(mailbox, SARAH) == []
    (hana,) = digest_to(mailbox, HANA)
    assert "You were added to this room" in text_of(hana)
    assert_no_case_content(app, hana)


def test_the_lead_hears_of_guests_whose_access_ends_within_7_days(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, caught_up: None
) -> None:
    jamie = room_of(app, "Jamie")
    ends = iso(clock.now() + timedelta(days=5))
    add_member(client, auth, jamie.id, HOLLY, role="guest", expires_at=ends)
    write_digests(app)
    deliver(app)
    sarah = text_of(digest_to(mailbox, SARAH)[0])
    assert "1 guest's access ends within 7 days" in sarah
    holly = text_of(digest_to(mailbox, HOLLY)[0])
    assert "You were added to this room" in holly and "Your access ends within 7 days" in holly
    others = [text_of(r) for r in mailbox.received if SARAH not in r.recipients]
    assert not any("guest's access" in text for text in others)  # the lead's concern only


def test_each_digest_is_audited_for_the_recipient_on_the_email_channel(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, caught_up: None
) -> None:
    jamie = room_of(app, "Jamie")
    post(client, auth, SARAH, jamie.id, "Conference date set.")
    write_digests(app)
    dan = user_by_email(app, DAN)
    (mail,) = rows(app, to=DAN, kind="digest", status="pending")
    with app.db.session() as session:
        events = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.actor_id) == dan.id, col(AuditEvent.channel) == "email")
            .order_by(col(AuditEvent.seq))
        ).all()
    sent = [e for e in events if e.action == "digest_sent"]
    per_room = [e for e in events if e.action == "digest_room"]
    assert [(e.resource_id, e.outcome) for e in sent][-1] == (mail.id, "allowed")
    assert per_room[-1].room_id == jamie.id and per_room[-1].purpose == "messages=1"


# --- when ------------------------------------------------------------------------------------


def at(year: int, month: int, day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(year, month, day, hour, minute, tzinfo=UTC)


@pytest.mark.parametrize(
    ("digest", "hour", "day", "now", "slot"),
    [
        # daily at 08:00 UK time: 07:00 UTC in summer (BST), 08:00 UTC in winter (GMT)
        ("daily", 8, 0, at(2027, 6, 14, 7, 30), at(2027, 6, 14, 7)),
        ("daily", 8, 0, at(2027, 6, 14, 6, 59), at(2027, 6, 13, 7)),
        ("daily", 8, 0, at(2027, 1, 11, 8, 0), at(2027, 1, 11, 8)),
        ("daily", 8, 0, at(2027, 1, 11, 7, 59), at(2027, 1, 10, 8)),
        ("daily", 0, 0, at(2027, 3, 28, 23, 30), at(2027, 3, 28, 23)),  # after the clocks go on
        # weekly on Wednesday (2) at 17:00: 2027-06-16 is a Wednesday
        ("weekly", 17, 2, at(2027, 6, 16, 16, 0), at(2027, 6, 16, 16)),
        ("weekly", 17, 2, at(2027, 6, 16, 15, 59), at(2027, 6, 9, 16)),
        ("weekly", 17, 2, at(2027, 6, 20, 12, 0), at(2027, 6, 16, 16)),
        ("off", 8, 0, at(2027, 6, 14, 7, 30), None),
    ],
)
def test_the_schedule_is_kept_in_uk_time(
    digest: str, hour: int, day: int, now: datetime, slot: datetime | None
) -> None:
    pref = EmailPreference(
        user_id="x", digest=digest, digest_hour=hour, digest_day=day, updated_at=now
    )
    assert digests.latest_slot(pref, now) == slot


def test_the_worker_writes_a_digest_at_the_chosen_hour_and_not_before(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox
) -> None:
    def travel_to(moment: datetime) -> None:
        clock.advance(moment - clock.now())

    jamie = room_of(app, "Jamie")
    tomorrow = (clock.now() + timedelta(days=1)).date()
    assert (
        client.put(
            "/api/v1/me/preferences", headers=auth(DAN), json={"digest": "daily", "digest_hour": 17}
        ).status_code
        == 200
    )
    travel_to(datetime.combine(tomorrow, datetime.min.time(), tzinfo=digests.LOCAL))
    digests.send_digests(app)  # yesterday's 17:00 passes for everyone: caught up
    deliver(app)
    mailbox.received.clear()

    travel_to(datetime(tomorrow.year, tomorrow.month, tomorrow.day, 16, 59, tzinfo=digests.LOCAL))
    post(client, auth, SARAH, jamie.id, "Conference at 2pm.")
    digests.send_digests(app)
    deliver(app)
    assert digest_to(mailbox, DAN) == []
    clock.advance(timedelta(minutes=1))
    assert digests.send_digests(app).written >= 1
    digests.send_digests(app)  # the same slot is never handled twice
    deliver(app)
    assert len(digest_to(mailbox, DAN)) == 1


# --- the command ---------------------------------------------------------------------------


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    monkeypatch.setenv("CASEROOM_SMTP_URL", settings.smtp_url)
    return Cli(monkeypatch, capsys, settings)


def test_caseroom_digest_send_now_and_worker_once(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, cli: Cli
) -> None:
    result = cli("digest", "send", "--now")
    assert result.code == 0, result.err
    assert "digest(s) written to the outbox" in result.out
    written = int(result.out.split()[0])
    assert written == len(rows(app, kind="digest"))
    assert written >= 4  # the demo is news to everyone in a room

    again = cli("digest", "send", "--now")
    assert again.out.startswith("0 digest(s)")  # nothing new since

    drained = cli("worker", "--once")
    assert drained.code == 0, drained.err
    heads = len(rows(app, kind="audit_head"))  # the IG leads' daily signed audit head
    assert f"{written + 4 + heads} sent" in drained.out  # the digests, the demo's welcomes
    assert len([r for r in mailbox.received if "digest" in str(r.message["Subject"])]) == written
    assert cli("worker", "--once").out.startswith("Outbox drained once: 0 sent")


def test_the_plan_is_counted_by_its_agreed_versions_and_the_readers_own_overdue_actions(
    app: Caseroom, mailbox: Mailbox, client: TestClient, auth: Tokens, caught_up: None
) -> None:
    """Issue #11: a digest refers to the agreed (published) plan, never the draft, and
    tells the owner of an overdue action, by numbers only."""
    jamie = room_of(app, "Jamie")
    plan = f"/api/v1/rooms/{jamie.id}/plan"
    hana = user_by_email(app, HANA).id
    outcome = client.post(f"{plan}/outcomes", headers=auth(SARAH), json={"text": "Jamie thrives"})
    action = client.post(
        f"{plan}/outcomes/{outcome.json()['id']}/actions", headers=auth(SARAH),
        json={"text": "Weigh Jamie at clinic", "owner_id": hana, "due": "2026-11-24"},
    )  # fmt: skip
    assert action.status_code == 201, action.text
    assert client.post(f"{plan}/versions", headers=auth(SARAH)).status_code == 201
    clock.advance(timedelta(hours=1))
    write_digests(app)
    deliver(app)
    to_hana, to_pete = (text_of(digest_to(mailbox, who)[0]) for who in (HANA, PETE))
    assert "1 new agreed version of the plan" in to_hana
    assert "1 action of yours is overdue" in to_hana
    assert "1 new agreed version of the plan" in to_pete and "overdue" not in to_pete
    for text in (to_hana, to_pete):
        assert "Weigh Jamie" not in text and "Jamie thrives" not in text
    assert all("agreed version" not in text_of(m) for m in digest_to(mailbox, SARAH))
