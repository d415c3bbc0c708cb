"""The outbox: every email is a row written in the same transaction as the event that
causes it, and the worker (workspace/mail/worker.py) delivers it.

Delivery is at most once, and at least once unless a person decides otherwise:

1. A row is claimed (pending -> sending, with a claim time and token) and that is
   committed *before* SMTP is spoken.
2. Once the server has taken the envelope (MAIL, RCPT) and just before the message itself
   is handed over (DATA), the hand-over is committed (handed_at), under the claim token:
   a worker whose claim was lost meanwhile hands over nothing. Before this point the server
   cannot have the message; after it, it may.
3. After the server's answer the row is settled under the same claim token: sent; pending
   again with exponential backoff (4xx, or no connection), capped at 15 minutes and given
   up after 72 hours; dead at once on a 5xx.
4. A row still "sending" after the lease was left by a worker that died. Never handed over
   (it died connecting, or before DATA): certainly not delivered, so it is pending again
   and the next worker sends it. Handed over (it died between DATA and step 3): it may
   have been delivered, so it becomes "uncertain", never resent blindly; an administrator
   of the recipient's organisation may release it (admin page, audited).

No case data goes into a row: callers hand over room references, counts and links, and
the templates say nothing else. Subjects never name a child.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import or_, update
from sqlmodel import Session, col, func, select

from workspace.access import Access, Origin, Target
from workspace.ids import new_id
from workspace.mail.render import render
from workspace.mail.sender import Outcome, Result
from workspace.mail.tokens import make_token
from workspace.models import OutboxEmail, User
from workspace.state import Caseroom

GIVE_UP_AFTER = timedelta(hours=72)
RETRY_FIRST = timedelta(seconds=30)
RETRY_MAX = timedelta(minutes=15)
PROBLEM_STATES = ("dead", "uncertain")


# --- writing mail ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Recipient:
    """Who an email goes to. `user_id` is None only for someone with no account yet (an
    invitation): such mail names no user and cannot be unsubscribed from."""

    name: str
    email: str
    user_id: str | None = None

    @classmethod
    def of(cls, user: User) -> Recipient:
        return cls(user.name, user.email, user.id)


@dataclass(frozen=True)
class Mail:
    """An email a service wants sent to one person. `template` names
    templates/email/NAME.txt and .html; `context` must hold no case data. `room_id`: the
    recipient must still be able to view that room when it goes out. `unsubscribe`: the
    list a one-click unsubscribe takes them off (None for mail they cannot opt out of)."""

    to: Recipient
    kind: str
    subject: str
    template: str
    context: dict[str, Any] = field(default_factory=dict)
    room_id: str | None = None
    unsubscribe: str | None = None


def enqueue(access: Access, mail: Mail) -> OutboxEmail:
    """Add the email to the caller's unit of work: it is sent only if that commits."""
    app, now = access.app, access.now
    base = app.settings.base_url
    unsubscribe_url = None
    if mail.unsubscribe and mail.to.user_id is not None:
        token = make_token(app.keys, mail.to.user_id, mail.unsubscribe, now)
        unsubscribe_url = f"{base}/unsubscribe/{token}"
    context = {
        "base_url": base,
        "recipient_name": mail.to.name,
        "preferences_url": f"{base}/account#email",
        "unsubscribe_url": unsubscribe_url,
        **mail.context,
    }
    body = render(mail.template, context)
    row = OutboxEmail(
        id=new_id(),
        to=mail.to.email,
        subject=mail.subject,
        text_body=body.text,
        html_body=body.html,
        created_at=now,
        status="pending",
        next_attempt_at=now,
        give_up_at=now + GIVE_UP_AFTER,
        kind=mail.kind,
        user_id=mail.to.user_id,
        room_id=mail.room_id,
        list_unsubscribe=unsubscribe_url,
    )
    access.session.add(row)
    return row


def pending_exists(session: Session, user_id: str, kind: str, room_id: str | None) -> bool:
    """Whether the same kind of news for the same room still waits to go out (so a burst
    of mentions makes one email, not twenty)."""
    return (
        session.exec(
            select(OutboxEmail.id).where(
                col(OutboxEmail.user_id) == user_id,
                col(OutboxEmail.kind) == kind,
                col(OutboxEmail.room_id) == room_id,
                col(OutboxEmail.status) == "pending",
                col(OutboxEmail.attempts) == 0,
            )
        ).first()
        is not None
    )


# --- the worker's side ------------------------------------------------------------------------


@dataclass(frozen=True)
class Claim:
    row: OutboxEmail
    token: str


@dataclass(frozen=True)
class ExpiredLeases:
    requeued: int  # claimed, never handed over: pending again
    uncertain: int  # handed over, no answer recorded


def expire_leases(session: Session, now: datetime, lease: timedelta) -> ExpiredLeases:
    """Rows some worker claimed and never settled. Each UPDATE re-checks handed_at, so a
    worker handing a row over at this moment either wins (uncertain) or finds its claim
    gone and sends nothing (hand_over)."""
    stale = (col(OutboxEmail.status) == "sending", col(OutboxEmail.claimed_at) < now - lease)
    requeued = session.exec(  # type: ignore[call-overload]
        update(OutboxEmail)
        .where(*stale, col(OutboxEmail.handed_at).is_(None))
        .values(
            status="pending",
            next_attempt_at=now,
            claim_token=None,
            claimed_at=None,
            last_error="The sender stopped before handing it to the mail server; sent again.",
        )
    )
    uncertain = session.exec(  # type: ignore[call-overload]
        update(OutboxEmail)
        .where(*stale, col(OutboxEmail.handed_at).is_not(None))
        .values(
            status="uncertain",
            last_error="The sender stopped after handing it to the mail server, before "
            "recording the server's answer; it may have been delivered.",
        )
    )
    return ExpiredLeases(int(requeued.rowcount or 0), int(uncertain.rowcount or 0))


def hand_over(session: Session, claim: Claim, now: datetime) -> bool:
    """Record that the message is about to be handed to the server (the caller commits
    before it is). False: this worker's claim is gone (its lease ran out and the row went
    back to pending), so it must not send."""
    result = session.exec(  # type: ignore[call-overload]
        update(OutboxEmail)
        .where(
            col(OutboxEmail.id) == claim.row.id,
            col(OutboxEmail.status) == "sending",
            col(OutboxEmail.claim_token) == claim.token,
        )
        .values(handed_at=now)
    )
    return bool(result.rowcount == 1)


def claim_next(app: Caseroom, session: Session, now: datetime) -> Claim | None:
    """The next row due, claimed for this worker (the caller commits before sending).
    A row whose recipient may no longer see its room is withdrawn instead."""
    while True:
        row = session.exec(
            select(OutboxEmail)
            .where(
                col(OutboxEmail.status) == "pending",
                or_(
                    col(OutboxEmail.next_attempt_at).is_(None),
                    col(OutboxEmail.next_attempt_at) <= now,
                ),
            )
            .order_by(col(OutboxEmail.next_attempt_at), col(OutboxEmail.created_at))
            .limit(1)
        ).first()
        if row is None:
            return None
        if not _still_wanted(app, session, row):
            continue
        token = new_id()
        claimed = session.exec(  # type: ignore[call-overload]
            update(OutboxEmail)
            .where(col(OutboxEmail.id) == row.id, col(OutboxEmail.status) == "pending")
            .values(
                status="sending",
                claimed_at=now,
                claim_token=token,
                handed_at=None,
                attempts=col(OutboxEmail.attempts) + 1,
            )
        )
        if claimed.rowcount == 1:
            session.refresh(row)
            return Claim(row, token)


def _still_wanted(app: Caseroom, session: Session, row: OutboxEmail) -> bool:
    """News about a room goes only to someone who may still view it (the policy, asked
    again at send time); the withdrawal is audited."""
    if row.user_id is None:
        return True
    user = session.get(User, row.user_id)
    reason = None
    loaded = None
    if user is None or user.disabled:
        reason = "the account is disabled"
    elif row.room_id is not None:
        access = Access(app, session, user, Origin("email"), purpose="email notification")
        loaded = access.room_for_user(row.room_id)
        if loaded is None or not access.allowed("view", loaded.fact):
            reason = "the recipient may no longer see the room"
    if reason is None:
        return True
    session.exec(  # type: ignore[call-overload]
        update(OutboxEmail)
        .where(col(OutboxEmail.id) == row.id, col(OutboxEmail.status) == "pending")
        .values(status="withdrawn", last_error=f"Not sent: {reason}.")
    )
    Access(app, session, user, Origin("email")).record(
        "email_withdrawn",
        Target("email", row.id, row.room_id, loaded.child.id if loaded else None),
        outcome="denied",
        purpose=reason,
    )
    return False


def backoff(attempts: int) -> timedelta:
    """30 s, 1 min, 2 min, … capped at 15 min, plus up to 10% jitter so that many rows
    failing together do not retry in lockstep."""
    delay: timedelta = min(RETRY_FIRST * 2 ** max(attempts - 1, 0), RETRY_MAX)
    return delay + delay * (secrets.randbelow(100) / 1000)


def settle(session: Session, claim: Claim, result: Result, now: datetime) -> str:
    """Record what the server said, under this worker's claim. Returns the new status."""
    row = claim.row
    values: dict[str, Any]
    if result.outcome is Outcome.SENT:
        values = {"status": "sent", "sent_at": now, "last_error": None}
    elif result.outcome is Outcome.DEAD:
        values = {"status": "dead", "last_error": result.detail}
    elif result.outcome is Outcome.UNCERTAIN:
        values = {"status": "uncertain", "last_error": result.detail}
    elif now >= (row.give_up_at or row.created_at + GIVE_UP_AFTER):
        values = {"status": "dead", "last_error": f"Gave up after 72 hours. {result.detail}"}
    else:
        values = {
            "status": "pending",
            "next_attempt_at": now + backoff(row.attempts),
            "claim_token": None,
            "claimed_at": None,
            "handed_at": None,
            "last_error": result.detail,
        }
    if values.get("last_error"):
        values["last_error"] = values["last_error"][:1000]
    session.exec(  # type: ignore[call-overload]
        update(OutboxEmail)
        .where(col(OutboxEmail.id) == row.id, col(OutboxEmail.claim_token) == claim.token)
        .values(**values)
    )
    return str(values["status"])


# --- administrators: mail that needs a person -----------------------------------------------


@dataclass(frozen=True)
class ProblemMail:
    """What an administrator sees of an email: never its subject or body."""

    id: str
    to: str
    recipient_name: str
    kind: str
    status: str
    attempts: int
    created_at: datetime
    last_error: str | None
    handed_at: datetime | None  # when it went to the mail server (uncertain mail)


@dataclass(frozen=True)
class MailOverview:
    problems: list[ProblemMail]
    waiting: int


def overview(access: Access) -> MailOverview:
    """Dead and uncertain mail to people whose accounts the caller manages (rule 9)."""
    access.require_workspace("manage_mail")
    rows = access.session.exec(
        select(OutboxEmail, User)
        .join(User, col(User.id) == col(OutboxEmail.user_id))
        .where(col(OutboxEmail.status).in_(PROBLEM_STATES), access.accounts_filter())
        .order_by(col(OutboxEmail.created_at).desc())
        .limit(500)
    ).all()
    waiting = access.session.exec(
        select(func.count())
        .select_from(OutboxEmail)
        .join(User, col(User.id) == col(OutboxEmail.user_id))
        .where(col(OutboxEmail.status).in_(("pending", "sending")), access.accounts_filter())
    ).one()
    return MailOverview(
        [
            ProblemMail(
                m.id, m.to, u.name, m.kind, m.status, m.attempts, m.created_at,
                m.last_error, m.handed_at,
            )
            for m, u in rows
        ],
        int(waiting),
    )


def release(access: Access, mail_id: str) -> None:
    """Send a dead or uncertain email again (an uncertain one may arrive twice: the page
    says so). Anything else, or mail to someone else's organisation, is not found."""
    access.require_workspace("manage_mail")
    session = access.session
    row = session.get(OutboxEmail, mail_id)
    user = session.get(User, row.user_id) if row is not None and row.user_id else None
    if row is None or user is None or row.status not in PROBLEM_STATES:
        access.deny("release_mail", Target("email", mail_id), conceal=True)
        raise AssertionError("unreachable")
    access.account(user, "manage", audit_as="release_mail", target=Target("email", row.id))
    was = row.status
    row.status = "pending"
    row.attempts = 0
    row.next_attempt_at = access.now
    row.give_up_at = access.now + GIVE_UP_AFTER
    row.claim_token = None
    row.claimed_at = None
    row.handed_at = None
    row.last_error = f"Released by an administrator (was {was})."
    session.add(row)
