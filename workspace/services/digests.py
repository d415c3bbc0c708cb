"""Digests: per person, off / daily at a chosen hour / weekly on a chosen day, in
Europe/London time (default: daily at 08:00).

A digest is composed when it is due, through an `Access` for the recipient on the "email"
channel: rooms come from the same policy filter as their room list (someone removed since
the last digest gets nothing for that room), counts from the same message filter as their
message list. It names rooms by reference (CR-…), never by child, and holds counts and
links only. Each digest written is one audit event (`digest_sent`), plus one per room it
reports on (`digest_room`, so the room's access log shows it). Nothing to say: no email.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from workspace.access import Access, Origin, Target
from workspace.clock import utc
from workspace.models import EmailPreference, OutboxEmail, Room, User
from workspace.services import outbox, preferences
from workspace.services.digest_counts import COUNTERS, RoomWindow
from workspace.state import Caseroom

log = logging.getLogger("caseroom.mail")
LOCAL = ZoneInfo("Europe/London")
PERIOD = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}


# --- when ------------------------------------------------------------------------------------


def latest_slot(pref: EmailPreference, now: datetime) -> datetime | None:
    """The most recent scheduled moment at or before `now` (None: digests are off)."""
    if pref.digest not in PERIOD:
        return None
    local = now.astimezone(LOCAL)
    day = local.date()
    if pref.digest == "weekly":
        day -= timedelta(days=(day.weekday() - pref.digest_day) % 7)
    slot = datetime.combine(day, time(pref.digest_hour), tzinfo=LOCAL)
    if slot > local:
        day -= PERIOD[pref.digest]
        slot = datetime.combine(day, time(pref.digest_hour), tzinfo=LOCAL)
    return slot


def is_due(pref: EmailPreference, user: User, now: datetime) -> bool:
    slot = latest_slot(pref, now)
    baseline = pref.digest_checked_at or user.created_at
    return slot is not None and slot > utc(baseline)


def schedule_text(pref: EmailPreference) -> str:
    at = f"{pref.digest_hour:02d}:00 (UK time)"
    if pref.digest == "weekly":
        return f"every {preferences.DAYS[pref.digest_day].capitalize()} at {at}"
    return f"every day at {at}"


# --- what --------------------------------------------------------------------------------


@dataclass(frozen=True)
class RoomDigest:
    room_id: str
    child_id: str
    reference: str
    lines: tuple[tuple[str, int, str], ...]  # (counter key, count, what it says)


def collect(access: Access, since: datetime) -> list[RoomDigest]:
    """Per room the recipient may view now (and has a role in: a break-glass look is not
    a subscription), the counts that are not zero. Muted rooms are left out."""
    user = access.require_user()
    muted = preferences.muted_room_ids(access.session, user.id)
    room_ids = access.session.exec(
        select(Room.id).where(access.rooms_filter()).order_by(col(Room.created_at))
    ).all()
    found: list[RoomDigest] = []
    for room_id in room_ids:
        if room_id in muted:
            continue
        loaded = access.room_for_user(room_id)
        if loaded is None or not access.allowed("view", loaded.fact):
            continue
        roles = frozenset(access.roles_in(loaded))
        if not roles:
            continue
        window = RoomWindow(access, loaded, roles, since, access.now)
        lines = []
        for counter in COUNTERS:
            n = counter.count(window)
            if n:
                lines.append((counter.key, n, counter.describe(n)))
        if lines:
            found.append(
                RoomDigest(loaded.room.id, loaded.child.id, loaded.room.reference, tuple(lines))
            )
    return found


def write_digest(access: Access, pref: EmailPreference, since: datetime) -> OutboxEmail | None:
    """Compose and enqueue one person's digest in the caller's unit of work."""
    user = access.require_user()
    rooms = collect(access, since)
    if not rooms:
        return None
    base = access.app.settings.base_url
    n = len(rooms)
    row = outbox.enqueue(
        access,
        outbox.Mail(
            to=outbox.Recipient.of(user),
            kind="digest",
            subject=f"Your Caseroom digest: news in {n} {'room' if n == 1 else 'rooms'}",
            template="digest",
            context={
                "since": since,
                "schedule": schedule_text(pref),
                "rooms": [
                    {
                        "reference": r.reference,
                        "url": f"{base}/rooms/{r.room_id}",
                        "lines": [text for _key, _n, text in r.lines],
                    }
                    for r in rooms
                ],
            },
            unsubscribe="digest",
        ),
    )
    for r in rooms:
        access.record(
            "digest_room",
            Target("room", r.room_id, r.room_id, r.child_id),
            purpose=", ".join(f"{key}={count}" for key, count, _ in r.lines),
        )
    access.record("digest_sent", Target("email", row.id), purpose=f"{n} rooms")
    return row


# --- the run ---------------------------------------------------------------------------------


@dataclass(frozen=True)
class DigestRun:
    written: int
    quiet: int  # due, but nothing to say
    failed: int = 0  # logged; tried again at the next run


def send_digests(app: Caseroom, *, force: bool = False) -> DigestRun:
    """Write every due digest (`force`: everyone whose digest is on, whatever the
    schedule) to the outbox, one unit of work per person."""
    now = app.clock.now()
    with app.db.session() as session:
        people = session.exec(
            select(User, EmailPreference)
            .outerjoin(EmailPreference, col(EmailPreference.user_id) == col(User.id))
            .where(col(User.disabled).is_(False))
            .order_by(col(User.created_at))
        ).all()
    written = quiet = failed = 0
    for user, pref in people:
        current = pref or EmailPreference(user_id=user.id, updated_at=now)
        if current.digest == "off" or not (force or is_due(current, user, now)):
            continue
        try:
            with app.db.session() as session:
                if not _take_slot(session, user.id, pref, now):
                    session.rollback()
                    continue
                row = _write_for(app, session, user.id, now)
                session.commit()
        except Exception:  # one person's failure must not hold up everyone after them
            log.exception("the digest for user %s could not be written", user.id)
            failed += 1
            continue
        written += row is not None
        quiet += row is None
    return DigestRun(written, quiet, failed)


def _take_slot(session: Session, user_id: str, seen: EmailPreference | None, now: datetime) -> bool:
    """Mark this person's slot as handled, unless another worker got there first."""
    if seen is None:
        try:
            with session.begin_nested():
                session.add(EmailPreference(user_id=user_id, digest_checked_at=now, updated_at=now))
        except IntegrityError:
            return False
        return True
    checked = col(EmailPreference.digest_checked_at)
    result = session.exec(  # type: ignore[call-overload]
        update(EmailPreference)
        .where(
            col(EmailPreference.user_id) == user_id,
            checked.is_(None)
            if seen.digest_checked_at is None
            else checked == seen.digest_checked_at,
        )
        .values(digest_checked_at=now)
    )
    return bool(result.rowcount == 1)


def _write_for(app: Caseroom, session: Session, user_id: str, now: datetime) -> OutboxEmail | None:
    user = session.get(User, user_id)
    pref = session.get(EmailPreference, user_id)
    assert user is not None and pref is not None
    if pref.digest not in PERIOD:  # turned off a moment ago
        return None
    since = (
        utc(pref.last_digest_at)
        if pref.last_digest_at
        else now - PERIOD.get(pref.digest, PERIOD["daily"])
    )
    access = Access(app, session, user, Origin("email"), purpose="email digest")
    row = write_digest(access, pref, since)
    if row is not None:
        pref.last_digest_at = now
        session.add(pref)
    return row
