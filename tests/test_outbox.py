"""The outbox (issue #4, part 1): every email is a row written in the same transaction as
the event that caused it, and `caseroom worker` delivers it with aiosmtplib to a real SMTP
server (aiosmtpd, in-process):

- at most once: a row is claimed (committed) before SMTP is spoken and settled after; a row
  still "sending" after the lease may have been delivered, so it becomes "uncertain" and is
  never resent blindly — even when the worker is killed between the server's acceptance
  and its own record of it;
- and nothing is lost: 4xx and an unreachable server are retried with exponential backoff
  capped at 15 minutes, for 72 hours; 5xx is dead at once;
- dead and uncertain mail shows on an administrator's page (rule 9: who, state, error —
  never content), where it can be sent again; both are authorised by the policy and audited.
"""

from __future__ import annotations

import dataclasses
import email.utils
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

import workspace
from tests.aio import run_async
from tests.conftest import ALEX, DAN, HANA, OMAR, PETE, SARAH, Tokens, user_by_email
from tests.mailbox import Mailbox, Tls
from tests.mailing import deliver, rows, write_digests
from tests.support import Cli
from tests.test_sign_in import enrol, form_value, sign_in, submit_password
from workspace.access import Access, Origin
from workspace.audit import Recorded
from workspace.clock import clock, utc
from workspace.facts import account_fact
from workspace.mail import worker
from workspace.mail.smtp_url import MailConfigError, SmtpConfig, parse_smtp_url
from workspace.mail.worker import checkpoint_audit
from workspace.models import AuditEvent, Membership, OutboxEmail, Room, User
from workspace.services import outbox
from workspace.services.signed_head import send_signed_head
from workspace.settings import Settings
from workspace.state import Caseroom

pytestmark = pytest.mark.mail

# --- the world of these tests ----------------------------------------------------------------





def row(app: Caseroom, row_id: str) -> OutboxEmail:
    with app.db.session() as session:
        found = session.get(OutboxEmail, row_id)
        assert found is not None
        return found


def lily_room(app: Caseroom) -> str:
    with app.db.session() as session:
        room = session.exec(select(Room).where(col(Room.title).startswith("Lily"))).one()
        return room.id


def add_to_lily(client: TestClient, auth: Tokens, app: Caseroom, who: str = OMAR) -> OutboxEmail:
    """Sarah adds someone to Lily's room: they are told by email (an "added" notification)."""
    response = client.post(
        f"/api/v1/rooms/{lily_room(app)}/members",
        headers=auth(SARAH),
        json={
            "email": who,
            "role": "member",
            "purpose": "Core group",
            "lawful_basis": "safeguarding",
            "consent": "given",
        },
    )
    assert response.status_code == 201, response.text
    (mail,) = rows(app, to=who, status="pending")
    return mail


def assert_each_sent_once(app: Caseroom, mailbox: Mailbox) -> None:
    ids = [r.message["Message-ID"] for r in mailbox.received]
    assert len(ids) == len(set(ids)), "an email arrived twice"
    sent = {f"<{r.id}@caseroom.local>" for r in rows(app, status="sent")}
    assert set(ids) <= sent
    assert rows(app, status="pending") == [] and rows(app, status="sending") == []


# --- delivery --------------------------------------------------------------------------------


def test_an_email_is_written_with_its_event_and_delivered_once_as_multipart_mime(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    mail = add_to_lily(client, auth, app)
    assert mail.kind == "added" and mail.attempts == 0

    stats = deliver(app)
    assert stats.sent == 1
    (received,) = mailbox.to(OMAR)
    message = received.message
    assert message.get_content_type() == "multipart/alternative"
    assert message.get_body(("plain",)) is not None and message.get_body(("html",)) is not None
    assert "<img" not in message.get_body(("html",)).get_content().lower()  # no pixels
    # The same Message-ID on every attempt; the Date it was written.
    assert message["Message-ID"] == f"<{mail.id}@caseroom.local>"
    sent_date = email.utils.parsedate_to_datetime(message["Date"])
    assert abs(sent_date - utc(mail.created_at)) < timedelta(seconds=1)
    assert message["From"] == "Caseroom <no-reply@caseroom.local>"
    assert message["To"] == OMAR
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["List-Unsubscribe"].startswith("<http://127.0.0.1:8000/unsubscribe/")
    assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    assert received.sender == "no-reply@caseroom.local"

    done = row(app, mail.id)
    assert done.status == "sent" and done.sent_at is not None and done.attempts == 1
    assert deliver(app).sent == 0
    assert len(mailbox.to(OMAR)) == 1


def test_an_account_notice_goes_out_like_any_email_with_no_way_to_opt_out(
    client: TestClient, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    """The lockout email (DESIGN.md §9) is a security notice: written through the same
    outbox, text and HTML like any other, but nobody may unsubscribe from it."""
    for attempt in range(5):
        submit_password(client, SARAH, f"wrong-password-{attempt}")
    deliver(app)
    (notice,) = mailbox.to(SARAH)
    assert notice.message.get_content_type() == "multipart/alternative"
    assert "locked" in str(notice.message["Subject"]).lower()
    assert "List-Unsubscribe" not in notice.message


def test_no_email_is_written_when_its_event_is_rolled_back(
    client: TestClient, auth: Tokens, app: Caseroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The email and its cause are one unit of work: if the audit write of the
    notification fails, the membership is not kept and no email is queued."""
    real = app.audit._write

    def failing(session: Any, events: Sequence[Recorded]) -> None:
        if any(e.action == "notification_queued" for e in events):
            raise RuntimeError("audit store unavailable")
        real(session, events)

    monkeypatch.setattr(app.audit, "_write", failing)
    response = client.post(
        f"/api/v1/rooms/{lily_room(app)}/members",
        headers=auth(SARAH),
        json={"email": OMAR, "role": "member", "purpose": "Core group",
              "lawful_basis": "safeguarding", "consent": "given"},
    )  # fmt: skip
    assert response.status_code == 503
    assert rows(app, to=OMAR) == []
    with app.db.session() as session:
        omar = session.exec(select(User).where(User.email == OMAR)).one()
        assert session.exec(select(Membership).where(Membership.user_id == omar.id)).all() == []


# --- failures: retry, give up, never twice ---------------------------------------------------


def test_an_smtp_server_down_for_an_hour_loses_nothing_and_sends_each_email_once(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    add_to_lily(client, auth, app, OMAR)
    mailbox.stop()
    add_to_lily(client, auth, app, PETE)

    first = deliver(app)  # cannot connect: the first email waits, the round stops
    assert first.retrying == 1 and first.sent == 0
    waiting = rows(app, status="pending")
    assert len(waiting) == 2
    tried = [r for r in waiting if r.attempts]
    assert len(tried) == 1 and "Connect" in (tried[0].last_error or "")

    delays: list[timedelta] = []
    for _ in range(12):  # an hour of rounds while the server is away
        clock.advance(timedelta(minutes=5))
        deliver(app)
        for r in rows(app, status="pending"):
            if r.next_attempt_at is not None and r.attempts:
                delays.append(utc(r.next_attempt_at) - clock.now())
    assert rows(app, status="dead") == []
    assert max(delays) <= timedelta(minutes=15) * 1.1  # backoff is capped

    mailbox.start()
    clock.advance(timedelta(minutes=16))
    deliver(app)
    assert {r.to for r in rows(app, status="sent")} >= {OMAR, PETE}
    assert len(mailbox.to(OMAR)) == 1 and len(mailbox.to(PETE)) == 1
    assert_each_sent_once(app, mailbox)


def test_a_temporary_refusal_is_retried_with_growing_backoff(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    mail = add_to_lily(client, auth, app)
    mailbox.refuse[OMAR] = "451 4.3.0 Mailbox busy, try again later"
    waits = []
    for _attempt in range(4):
        assert deliver(app).retrying == 1
        current = row(app, mail.id)
        assert current.status == "pending" and "451" in (current.last_error or "")
        waits.append(utc(current.next_attempt_at) - clock.now())  # type: ignore[arg-type]
        clock.advance(waits[-1] + timedelta(seconds=1))
    # 30 s, 1, 2, 4 minutes (each plus up to 10% jitter; minus the moments the test took)
    assert waits == sorted(waits)
    assert timedelta(seconds=29) < waits[0] <= timedelta(seconds=33)
    assert timedelta(minutes=3, seconds=59) < waits[-1] <= timedelta(minutes=4.4)

    del mailbox.refuse[OMAR]
    assert deliver(app).sent == 1
    assert len(mailbox.to(OMAR)) == 1 and row(app, mail.id).attempts == 5


def test_a_permanent_refusal_is_dead_at_once_and_never_retried(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    mail = add_to_lily(client, auth, app)
    mailbox.refuse[OMAR] = "550 5.1.1 No such mailbox"
    assert deliver(app).dead == 1
    dead = row(app, mail.id)
    assert dead.status == "dead" and "550" in (dead.last_error or "")
    clock.advance(timedelta(hours=1))
    del mailbox.refuse[OMAR]
    deliver(app)
    assert mailbox.to(OMAR) == [] and row(app, mail.id).status == "dead"


def test_an_email_still_failing_after_72_hours_is_dead(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    mail = add_to_lily(client, auth, app)
    mailbox.refuse[OMAR] = "421 4.7.0 Try again later"
    deliver(app)
    clock.advance(timedelta(hours=71))
    deliver(app)
    assert row(app, mail.id).status == "pending"
    clock.advance(timedelta(hours=2))
    deliver(app)
    dead = row(app, mail.id)
    assert dead.status == "dead" and "72 hours" in (dead.last_error or "")


@pytest.mark.parametrize("limit", ["smtp timeout", "attempt deadline"])
def test_a_reply_lost_after_the_message_was_sent_makes_it_uncertain_never_resent(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None, limit: str
) -> None:
    """The server took the message but its answer never came in time (the SMTP timeout,
    or the whole attempt's deadline, which stays inside the outbox lease). It may have
    been delivered: no blind retry."""
    mail = add_to_lily(client, auth, app)
    if limit == "smtp timeout":
        slow = dataclasses.replace(app.settings, smtp_url=f"{mailbox.url}?timeout=0.5")
    else:
        slow = dataclasses.replace(app.settings, mail_lease_seconds=1)  # deadline 0.75 s
    patient = Caseroom.build(slow)
    mailbox.on_data = lambda _raw: time.sleep(0.9)  # type: ignore[func-returns-value]
    try:
        assert deliver(patient).uncertain == 1
    finally:
        patient.db.dispose()
    mailbox.wait_for(1)  # the server did take it, after the client had given up
    mailbox.on_data = None
    assert row(app, mail.id).status == "uncertain"
    clock.advance(timedelta(hours=1))
    deliver(app)
    assert len(mailbox.to(OMAR)) == 1 and row(app, mail.id).status == "uncertain"


@pytest.mark.parametrize("start", [None, "07:30 UK"])
def test_a_row_claimed_by_a_worker_that_died_before_handing_it_over_is_sent_after_the_lease(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None,
    start: str | None,
) -> None:
    """Claimed but never handed to the SMTP server: certainly not delivered, so once the
    lease runs out it is pending again and the next worker sends it, once. `start`: the
    same at 07:30 UK time, when the two hours below cross the 08:00 digests (this test
    used to fail then: issue #9)."""
    if start:
        clock.start_at(datetime(2026, 11, 26, 7, 30, tzinfo=UTC))
    mail = add_to_lily(client, auth, app)
    message_id = f"<{mail.id}@caseroom.local>"
    with app.db.session() as session:  # a worker claims it, then dies before sending
        claim = outbox.claim_next(app, session, clock.now())
        session.commit()
    assert claim is not None and claim.row.id == mail.id

    run_async(worker.run_once(app))  # within the lease: left alone
    assert row(app, mail.id).status == "sending" and mailbox.with_message_id(message_id) == []
    clock.advance(timedelta(seconds=app.settings.mail_lease_seconds + 1))
    stats = run_async(worker.run_once(app))
    assert (stats.requeued, stats.lost_leases) == (1, 0)
    sent = row(app, mail.id)
    assert sent.status == "sent" and sent.attempts == 2
    clock.advance(timedelta(hours=2))  # (at 07:30 this crosses 08:00: digests go out)
    run_async(worker.run_once(app))
    assert len(mailbox.with_message_id(message_id)) == 1


def test_a_row_handed_to_the_server_by_a_worker_that_died_becomes_uncertain(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    mail = add_to_lily(client, auth, app)
    with app.db.session() as session:  # claimed, handed over, and then the worker died
        claim = outbox.claim_next(app, session, clock.now())
        session.commit()
        assert claim is not None and outbox.hand_over(session, claim, clock.now())
        session.commit()
    clock.advance(timedelta(seconds=app.settings.mail_lease_seconds + 1))
    stats = run_async(worker.run_once(app))
    assert (stats.requeued, stats.lost_leases) == (0, 1)
    assert row(app, mail.id).status == "uncertain"
    clock.advance(timedelta(hours=2))
    run_async(worker.run_once(app))
    assert mailbox.with_message_id(f"<{mail.id}@caseroom.local>") == []


def test_a_worker_whose_claim_ran_out_before_hand_over_sends_nothing(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    """A worker too slow to reach DATA within its lease finds, at the hand-over, that the
    row went back to pending (and another worker may hold it): it must not send."""
    mail = add_to_lily(client, auth, app)
    with app.db.session() as session:
        slow = outbox.claim_next(app, session, clock.now())
        session.commit()
    assert slow is not None
    clock.advance(timedelta(seconds=app.settings.mail_lease_seconds + 1))
    worker.expire_leases(app, worker.Stats())
    with app.db.session() as session:
        assert outbox.hand_over(session, slow, clock.now()) is False
    assert deliver(app).sent == 1
    with app.db.session() as session:
        assert outbox.hand_over(session, slow, clock.now()) is False  # nor after
    assert len(mailbox.with_message_id(f"<{mail.id}@caseroom.local>")) == 1


# --- the real `caseroom worker` process --------------------------------------------------------


def worker_env(settings: Settings, mailbox: Mailbox, lease: int = 1) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEROOM_")}
    env.update(
        CASEROOM_DATA_DIR=str(settings.data_dir),
        CASEROOM_DATABASE_URL=settings.database_url,
        CASEROOM_SECRET_KEY=settings.secret_key or "",
        CASEROOM_SMTP_URL=mailbox.url,
        CASEROOM_MAIL_LEASE_SECONDS=str(lease),
        # The test's time, not the wall's; a little ahead, so that what the test writes
        # after the process started (its clock starts when it does) is already due.
        CASEROOM_CLOCK_START=(clock.now() + timedelta(seconds=5)).isoformat(),
        PYTHONPATH=str(Path(workspace.__file__).resolve().parent.parent),
    )
    return env


CASEROOM = str(Path(sys.executable).parent / "caseroom")


def test_a_worker_killed_between_send_and_mark_never_sends_twice(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, settings: Settings
) -> None:
    """`caseroom worker --once` is killed (-9) by the SMTP server the moment it has the
    message, before the worker can record that it was sent. Restarted, the worker finds
    the row still claimed past its lease: "uncertain", never a second copy."""
    add_to_lily(client, auth, app, OMAR)
    env = worker_env(settings, mailbox)
    victims: list[bytes] = []
    with subprocess.Popen([CASEROOM, "worker", "--once"], env=env) as process:

        def kill_the_worker(raw: bytes) -> None:
            if not victims:
                victims.append(raw)
                os.kill(process.pid, signal.SIGKILL)

        mailbox.on_data = kill_the_worker
        assert process.wait(timeout=30) == -signal.SIGKILL
    mailbox.on_data = None
    (first,) = mailbox.received
    killed_id = first.message["Message-ID"]
    assert [r.status for r in rows(app) if f"<{r.id}@caseroom.local>" == killed_id] == ["sending"]

    clock.advance(timedelta(seconds=2))  # the lease (1 s here) runs out
    again = subprocess.run(
        [CASEROOM, "worker", "--once"],
        env=worker_env(settings, mailbox),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert again.returncode == 0, again.stderr
    assert "1 found unsettled after a crash" in again.stdout
    assert len(mailbox.with_message_id(killed_id)) == 1  # exactly one copy, ever
    statuses = {f"<{r.id}@caseroom.local>": r.status for r in rows(app)}
    assert statuses.pop(killed_id) in ("uncertain", "sent")
    assert set(statuses.values()) == {"sent"}  # the others went, each once
    ids = [r.message["Message-ID"] for r in mailbox.received]
    assert len(ids) == len(set(ids))


def test_a_worker_killed_before_handing_over_leaves_an_email_the_next_worker_sends(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, settings: Settings,
    quiet: None,
) -> None:
    """`caseroom worker --once` is killed (-9) when it has claimed an email and given the
    server its envelope, but not yet the message. Nothing can have been delivered: after
    the lease the next worker sends it, exactly once (issue #9: it used to stay
    "uncertain" until an administrator sent it again)."""
    mail = add_to_lily(client, auth, app, OMAR)
    message_id = f"<{mail.id}@caseroom.local>"
    with subprocess.Popen(
        [CASEROOM, "worker", "--once"], env=worker_env(settings, mailbox)
    ) as process:

        def kill_the_worker(_address: str) -> None:
            if process.returncode is None:
                os.kill(process.pid, signal.SIGKILL)

        mailbox.on_rcpt = kill_the_worker
        assert process.wait(timeout=30) == -signal.SIGKILL
    mailbox.on_rcpt = None
    assert mailbox.received == []
    killed = row(app, mail.id)
    assert killed.status == "sending" and killed.handed_at is None

    clock.advance(timedelta(seconds=2))  # the lease (1 s here) runs out
    again = subprocess.run(
        [CASEROOM, "worker", "--once"],
        env=worker_env(settings, mailbox),
        capture_output=True,
        text=True,
        timeout=30,
    )
    assert again.returncode == 0, again.stderr
    assert "1 found never handed over after a crash (queued again)" in again.stdout
    assert "0 found unsettled after a crash" in again.stdout
    assert len(mailbox.with_message_id(message_id)) == 1
    assert row(app, mail.id).status == "sent"
    assert_each_sent_once(app, mailbox)


def test_two_workers_at_once_deliver_each_email_exactly_once(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, settings: Settings,
    quiet: None,
) -> None:
    """Two `caseroom worker` processes (as the README allows) drain one outbox together:
    every email arrives once, and both take part."""
    env = worker_env(settings, mailbox, lease=120)
    # The IG leads have had today's signed head of the audit log already, so the workers
    # write no other (the count below is exact).
    checkpoint_audit(app)
    assert send_signed_head(app) >= 1
    with app.db.session() as session:
        for head in session.exec(select(OutboxEmail).where(OutboxEmail.kind == "audit_head")):
            head.status, head.sent_at = "sent", clock.now()
            session.add(head)
        session.commit()
    command = [CASEROOM, "worker", "--interval", "0.1"]
    workers = [
        subprocess.Popen(command, env=env, stderr=subprocess.PIPE, text=True) for _ in range(2)
    ]
    try:
        for process in workers:  # both are polling before there is anything to send
            assert process.stderr is not None
            for line in process.stderr:
                if "worker started" in line:
                    break
        mailbox.on_data = lambda _raw: time.sleep(0.05)  # type: ignore[func-returns-value]
        written = write_digests(app).written
        for who in (OMAR, PETE, DAN):
            response = client.post(
                f"/api/v1/rooms/{lily_room(app)}/members",
                headers=auth(SARAH),
                json={"email": who, "role": "member", "purpose": "Core group",
                      "lawful_basis": "safeguarding", "consent": "given"},
            )  # fmt: skip
            assert response.status_code == 201, response.text
        expected = written + 3
        assert expected >= 6
        mailbox.wait_for(expected, timeout=60)
    finally:
        logs = []
        for process in workers:
            process.send_signal(signal.SIGTERM)
            _out, err = process.communicate(timeout=30)
            assert process.returncode == 0, err
            logs.append(err)
    mailbox.on_data = None
    sent_by = [sum(int(n) for n in re.findall(r"(\d+) sent,", log)) for log in logs]
    assert sum(sent_by) == expected and all(sent_by), sent_by
    assert len(mailbox.received) == expected
    assert_each_sent_once(app, mailbox)
    assert {r.status for r in rows(app)} == {"sent"}


def test_the_worker_finishes_the_email_in_flight_on_sigterm_then_exits(
    app: Caseroom, mailbox: Mailbox, settings: Settings
) -> None:
    env = worker_env(settings, mailbox, lease=120)
    stopped: list[bool] = []
    with subprocess.Popen(
        [CASEROOM, "worker", "--interval", "0.2"], env=env, stderr=subprocess.PIPE, text=True
    ) as process:

        def stop_mid_send(_raw: bytes) -> None:
            if not stopped:
                stopped.append(True)
                process.send_signal(signal.SIGTERM)
                time.sleep(0.3)  # the worker is waiting for our answer meanwhile

        mailbox.on_data = stop_mid_send  # the demo's welcome emails are waiting
        try:
            _out, err = process.communicate(timeout=30)
        finally:
            process.kill()
        assert process.returncode == 0, err
        assert "worker stopped" in err
    (received,) = mailbox.received  # it finished that one, and started no other
    sent = rows(app, status="sent")
    assert [f"<{r.id}@caseroom.local>" for r in sent] == [received.message["Message-ID"]]
    assert rows(app, status="sending") == []


# --- TLS and authentication --------------------------------------------------------------------


@pytest.mark.parametrize("scheme", ["smtp+starttls", "smtps"])
def test_mail_goes_over_verified_tls_with_authentication(
    client: TestClient,
    auth: Tokens,
    app: Caseroom,
    tmp_path: Path,
    scheme: str,
) -> None:
    tls = Tls.make(tmp_path)
    secure = Mailbox(tls=tls, implicit_tls=scheme == "smtps", logins={"relay": "s3cret pass"})
    with secure:
        url = f"{scheme}://relay:s3cret%20pass@127.0.0.1:{secure.port}?cafile={tls.cert}"
        mail = add_to_lily(client, auth, app)
        tls_app = Caseroom.build(dataclasses.replace(app.settings, smtp_url=url))
        try:
            deliver(tls_app)
        finally:
            tls_app.db.dispose()
        assert len(secure.to(OMAR)) == 1
        assert row(app, mail.id).status == "sent"


def test_a_wrong_password_or_an_untrusted_certificate_is_retried_not_lost(
    client: TestClient, auth: Tokens, app: Caseroom, tmp_path: Path
) -> None:
    tls = Tls.make(tmp_path)
    with Mailbox(tls=tls, logins={"relay": "right"}) as secure:
        mail = add_to_lily(client, auth, app)
        for url in (
            # (aiosmtpd answers aiosmtplib's fallback to AUTH LOGIN slowly: a short timeout)
            f"smtp+starttls://relay:wrong@127.0.0.1:{secure.port}?cafile={tls.cert}&timeout=1",
            f"smtp+starttls://relay:right@127.0.0.1:{secure.port}",  # not our CA
        ):
            other = Caseroom.build(dataclasses.replace(app.settings, smtp_url=url))
            try:
                assert deliver(other).retrying == 1
            finally:
                other.db.dispose()
            clock.advance(timedelta(minutes=20))
        assert secure.received == []
        assert row(app, mail.id).status == "pending"


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("smtp://mail.example:2525", SmtpConfig("mail.example", 2525)),
        ("smtp://127.0.0.1", SmtpConfig("127.0.0.1", 25)),
        (
            "smtp+starttls://me%40org:p%3Ass@mail.example",
            SmtpConfig("mail.example", 587, "starttls", "me@org", "p:ss"),
        ),
        (
            "smtps://u:p@mail.example:465?cafile=/etc/ca.pem&timeout=10",
            SmtpConfig("mail.example", 465, "tls", "u", "p", "/etc/ca.pem", 10.0),
        ),
    ],
)
def test_the_smtp_url_says_where_and_how_securely(url: str, expected: SmtpConfig) -> None:
    assert parse_smtp_url(url) == expected
    assert "p:ss" not in str(parse_smtp_url(url))  # never the password in logs


@pytest.mark.parametrize(
    "url",
    [
        "smtp://user:password@mail.example:25",  # a password in clear
        "http://mail.example",
        "smtp://",
        "smtps://mail.example?verify=no",
        "smtp://mail.example:99999",
    ],
)
def test_an_unusable_smtp_url_is_refused(url: str) -> None:
    with pytest.raises(MailConfigError):
        parse_smtp_url(url)


def test_the_worker_will_not_start_with_an_unusable_smtp_url(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    cli = Cli(monkeypatch, capsys, settings)
    monkeypatch.setenv("CASEROOM_SMTP_URL", "smtp://relay:secret@mail.example:25")
    result = cli("worker", "--once")
    assert result.code == 2 and "plain SMTP" in result.err
    assert "secret" not in result.err


# --- administrators ----------------------------------------------------------------------------


@pytest.fixture
def alex(client: TestClient, password: str) -> TestClient:
    """Alex, the council's administrator, signed in with a second factor."""
    sign_in(client, ALEX, password)
    enrol(client)
    return client


def _dead_mail_to(app: Caseroom, email_address: str) -> str:
    user = user_by_email(app, email_address)
    with app.db.session() as session:
        access = Access(app, session, user, Origin("cli"))
        mail = outbox.enqueue(
            access,
            outbox.Mail(
                to=outbox.Recipient.of(user), kind="mention",
                subject="You were mentioned in case room CR-SECRET",
                template="mention",
                context={"reference": "CR-SECRET", "room_url": "http://127.0.0.1:8000/"},
            ),
        )  # fmt: skip
        mail.status, mail.last_error = "dead", "550 5.1.1 No such mailbox"
        session.commit()
        return mail.id


def test_an_administrator_sees_undelivered_mail_of_their_organisation_without_its_content(
    alex: TestClient, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    omars = _dead_mail_to(app, OMAR)  # council, like Alex
    petes = _dead_mail_to(app, PETE)  # police
    page = alex.get("/admin/mail")
    assert page.status_code == 200
    assert OMAR in page.text and "550 5.1.1" in page.text
    assert PETE not in page.text  # another organisation's accounts
    assert "CR-SECRET" not in page.text and "mentioned" not in page.text.lower()
    assert page.headers["cache-control"] == "no-store"

    token = form_value(page.text, "csrf_token")
    refused = alex.post(f"/admin/mail/{petes}/release", data={"csrf_token": token})
    assert refused.status_code == 404
    done = alex.post(
        f"/admin/mail/{omars}/release", data={"csrf_token": token}, follow_redirects=False
    )
    assert done.status_code == 303
    released = row(app, omars)
    assert released.status == "pending" and released.attempts == 0
    assert row(app, petes).status == "dead"

    deliver(app)
    assert len(mailbox.to(OMAR)) == 1 and mailbox.to(PETE) == []
    with app.db.session() as session:
        events = session.exec(
            select(AuditEvent).where(col(AuditEvent.action) == "release_mail")
        ).all()
    assert [(e.resource_id, e.outcome) for e in events] == [(petes, "denied"), (omars, "allowed")]


def test_the_mail_page_says_when_an_uncertain_email_was_handed_to_the_server(
    alex: TestClient, client: TestClient, auth: Tokens, app: Caseroom, quiet: None
) -> None:
    mail = add_to_lily(client, auth, app, OMAR)
    with app.db.session() as session:  # handed over, then the worker died
        claim = outbox.claim_next(app, session, clock.now())
        session.commit()
        assert claim is not None and outbox.hand_over(session, claim, clock.now())
        session.commit()
    clock.advance(timedelta(seconds=app.settings.mail_lease_seconds + 1))
    worker.expire_leases(app, worker.Stats())
    page = alex.get("/admin/mail")
    assert OMAR in page.text and "handed to the server" in page.text
    assert "may have been delivered" in page.text
    token = form_value(page.text, "csrf_token")
    alex.post(f"/admin/mail/{mail.id}/release", data={"csrf_token": token})
    released = row(app, mail.id)
    assert released.status == "pending" and released.handed_at is None


def test_sending_again_needs_the_csrf_token(alex: TestClient, app: Caseroom) -> None:
    omars = _dead_mail_to(app, OMAR)
    assert alex.post(f"/admin/mail/{omars}/release", data={}).status_code == 403
    assert row(app, omars).status == "dead"


@pytest.mark.parametrize("who", [SARAH, HANA])
def test_nobody_but_an_administrator_opens_the_mail_page_and_the_refusal_is_audited(
    client: TestClient, app: Caseroom, password: str, who: str
) -> None:
    sign_in(client, who, password)
    assert client.get("/admin/mail").status_code == 403
    user = user_by_email(app, who)
    with app.db.session() as session:
        refused = session.exec(
            select(AuditEvent).where(
                col(AuditEvent.action) == "manage_mail", col(AuditEvent.actor_id) == user.id
            )
        ).all()
    assert [e.outcome for e in refused] == ["denied"]


def test_the_accounts_an_administrator_manages_are_exactly_what_the_policy_allows(
    app: Caseroom,
) -> None:
    """The mail page's list is filtered in SQL (Access.accounts_filter); for every demo
    person it equals the accounts for which the policy answers "manage"."""
    managed = 0
    with app.db.session() as session:
        people = session.exec(select(User)).all()
        for person in people:
            access = Access(app, session, person, Origin("cli"))
            listed = set(session.exec(select(User.id).where(access.accounts_filter())).all())
            allowed = {u.id for u in people if access.allowed("manage", account_fact(u))}
            assert listed == allowed, person.email
            managed += len(listed)
    assert managed == 6  # Alex: the six council accounts; nobody else any
