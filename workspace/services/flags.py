"""Flags that draw a manager's eye (issue #12, item 4), each told in a sentence.

Worked out from the access log each time they are asked for (nothing is stored but a
manager's review of one), for the rooms the caller may review by the policy
(`review_access`: a manager, the rooms their team leads; an IG lead, their organisation's),
over the last `WINDOW_DAYS`:

- break_glass: someone opened a room by break-glass.
- denied: someone was refused something in a room.
- out_of_hours: someone viewed a room outside working hours (UK time, the
  `CASEROOM_WORKING_HOURS` setting) or at a weekend; one flag per person, room and day.
- many_rooms: someone viewed more rooms in a day than usual for them (MANY_ROOMS_RULE).
- restricted: someone opened a restricted item (a message or file meant for one
  organisation and the lead).
- guest_ending: a guest viewed a room in the last `GUEST_LAST_DAYS` days of their access.

A flag's id is a digest of its kind and what it stands for (an event, or a person, room
and day), so a review stays attached to the same flag on every reading. Only managers and IG leads
(`review_audit`) read or review flags; a review is audited, the note kept beside it.
"""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, and_, case, func
from sqlalchemy import select as sa_select
from sqlmodel import col, select

from workspace.access import Access, Target
from workspace.clock import utc
from workspace.facts import room_fact
from workspace.models import (
    AuditEvent,
    EncryptedFile,
    FlagReview,
    Membership,
    Message,
    Room,
    User,
)
from workspace.services.viewers import VIEW_ACTIONS
from workspace.workdays import ENGLAND, uk_date

WINDOW_DAYS = 14
BASELINE_DAYS = 28
GUEST_LAST_DAYS = 3
MANY_ROOMS_AT_LEAST = 3
MANY_ROOMS_RULE = (
    f"a day counts as unusual when someone views at least {MANY_ROOMS_AT_LEAST} rooms and "
    f"more than twice their daily average over the {BASELINE_DAYS} days before it"
)
KINDS = ("break_glass", "denied", "out_of_hours", "many_rooms", "restricted", "guest_ending")
LIST = "list_flags"
REVIEW = "review_flag"


class FlagReviewIn(BaseModel):
    note: str = Field(min_length=1, max_length=2000)


@dataclass(frozen=True)
class Flag:
    id: str
    kind: str
    explanation: str
    at: datetime
    actor: User | None
    room_id: str | None
    reviewed: FlagReview | None = None


def _flag_id(kind: str, *parts: str) -> str:
    """Stable (the same events give the same id on every reading) and shaped like any
    id in a path (workspace/web.py: PATH_ID)."""
    return hashlib.blake2b("|".join((kind, *parts)).encode(), digest_size=16).hexdigest()


def _reviewable_rooms(access: Access) -> dict[str, Room]:
    """The rooms whose access the caller reviews: candidates by the lead's team or
    organisation, each confirmed by the policy."""
    principal = access.require_principal()
    query = select(Room, User).join(User, col(User.id) == col(Room.lead_user_id))
    if principal.org_role == "manager" and principal.managed_team_ids:
        query = query.where(col(User.team_id).in_(principal.managed_team_ids))
    elif principal.org_role == "ig_lead":
        query = query.where(col(User.organisation_id) == principal.org_id)
    else:
        return {}
    return {
        room.id: room
        for room, lead in access.session.exec(query)
        if access.allowed("review_access", room_fact(room, lead))
    }


def _working(settings_hours: tuple[int, int], at: datetime) -> bool:
    local = at.astimezone(ENGLAND)
    start, end = settings_hours
    return local.weekday() < 5 and start <= local.hour < end


def _compute(access: Access) -> list[Flag]:
    rooms = _reviewable_rooms(access)
    if not rooms:
        return []
    session = access.session
    since = access.now - timedelta(days=WINDOW_DAYS)
    in_rooms = col(AuditEvent.room_id).in_(list(rooms))
    names: dict[str, User | None] = {}

    def person(user_id: str | None) -> User | None:
        if user_id and user_id not in names:
            names[user_id] = session.get(User, user_id)
        return names.get(user_id) if user_id else None

    def who(user_id: str | None) -> str:
        user = person(user_id)
        return user.name if user else "Someone"

    def ref(room_id: str | None) -> str:
        room = rooms.get(room_id or "")
        return room.reference if room else "a room"

    flags: list[Flag] = []
    # Break-glass openings and refusals: one flag per event.
    for e in session.exec(
        select(AuditEvent).where(
            in_rooms,
            col(AuditEvent.at) >= since,
            (col(AuditEvent.action) == "break_glass") | (col(AuditEvent.outcome) == "denied"),
        )
    ):
        if e.outcome == "denied":
            kind = "denied"
            text = (
                f"{who(e.actor_id)} was refused “{e.action.replace('_', ' ')}” in room "
                f"{ref(e.room_id)}: they tried to reach something the policy does not give them."
            )
        else:
            kind = "break_glass"
            reason = (e.purpose or "").removeprefix("break-glass: ")
            text = (
                f"{who(e.actor_id)} opened room {ref(e.room_id)} by break-glass, giving the "
                f"reason “{reason}”; check that the reason justified it."
            )
        flag_id = _flag_id(kind, e.id)
        flags.append(Flag(flag_id, kind, text, utc(e.at), person(e.actor_id), e.room_id))

    # Restricted items opened: the read joined to the item's sensitivity.
    for table, noun in ((Message, "message"), (EncryptedFile, "file")):
        for e in session.exec(
            select(AuditEvent)
            .join(table, col(table.id) == col(AuditEvent.resource_id))
            .where(
                in_rooms,
                col(AuditEvent.at) >= since,
                col(AuditEvent.outcome) == "allowed",
                col(AuditEvent.resource_type) == noun,
                col(AuditEvent.action).in_(("read", "download_file")),
                col(table.sensitivity) == "restricted",
            )
        ):
            flags.append(
                Flag(
                    _flag_id("restricted", e.id), "restricted",
                    f"{who(e.actor_id)} opened a restricted {noun} in room {ref(e.room_id)}; "
                    "restricted items are for the author's organisation and the lead only.",
                    utc(e.at), person(e.actor_id), e.room_id,
                )
            )  # fmt: skip

    # Views: out of hours, many rooms in a day. Counted in the database by person, room and
    # hour (a UTC hour is one UK hour: the offset is whole hours), over the window and the
    # baseline before it, so a busy month is thousands of rows, not every event.
    hours = access.app.settings.working_hours
    late: dict[tuple[str, str, date], tuple[int, datetime]] = {}
    per_day: dict[tuple[str, date], set[str]] = defaultdict(set)
    for actor_id, room_id, hour, recent, views, last in _views_by_hour(
        access, list(rooms), since - timedelta(days=BASELINE_DAYS), since
    ):
        day = uk_date(hour)
        per_day[(actor_id, day)].add(room_id)
        if recent and not _working(hours, hour):
            earlier, latest = late.get((actor_id, room_id, day), (0, last))
            late[(actor_id, room_id, day)] = (earlier + views, max(latest, last))
    start, end = hours
    for (actor_id, room_id, day), (times, last) in late.items():
        flags.append(
            Flag(
                _flag_id("out_of_hours", actor_id, room_id, day.isoformat()), "out_of_hours",
                f"{who(actor_id)} viewed room {ref(room_id)} {times} time(s) on "
                f"{day:%A %-d %b} outside working hours ({start:02d}:00–{end:02d}:00 UK time, "
                "Monday to Friday).",
                last, person(actor_id), room_id,
            )
        )  # fmt: skip
    first_day = uk_date(since)
    for (actor_id, day), seen in per_day.items():
        if day < first_day or len(seen) < MANY_ROOMS_AT_LEAST:
            continue
        before = [
            len(per_day.get((actor_id, day - timedelta(days=n)), ()))
            for n in range(1, BASELINE_DAYS + 1)
        ]
        average = sum(before) / BASELINE_DAYS
        if len(seen) > 2 * average:
            flags.append(
                Flag(
                    _flag_id("many_rooms", actor_id, day.isoformat()), "many_rooms",
                    f"{who(actor_id)} viewed {len(seen)} rooms on {day:%A %-d %b}, against an "
                    f"average of {average:.1f} a day over the {BASELINE_DAYS} days before "
                    f"({MANY_ROOMS_RULE}).",
                    datetime.combine(day, datetime.min.time(), ENGLAND), person(actor_id), None,
                )
            )  # fmt: skip

    # A guest's views in the last days of their access: the membership they viewed under.
    guests = session.exec(
        select(Membership).where(
            col(Membership.room_id).in_(list(rooms)),
            col(Membership.role) == "guest",
            col(Membership.expires_at).is_not(None),
            col(Membership.expires_at) >= since,
        )
    ).all()
    guest_views = _views_of(access, guests, since) if guests else []
    for m in guests:
        assert m.expires_at is not None
        ends = utc(m.expires_at)
        ending = [
            at
            for actor_id, room_id, at in guest_views
            if actor_id == m.user_id and room_id == m.room_id
            and max(ends - timedelta(days=GUEST_LAST_DAYS), utc(m.joined_at)) <= at < ends
            and (m.revoked_at is None or at < utc(m.revoked_at))
        ]  # fmt: skip
        if ending:
            flags.append(
                Flag(
                    _flag_id("guest_ending", m.id), "guest_ending",
                    f"{who(m.user_id)}, a guest whose access ends "
                    f"{ends.astimezone(ENGLAND):%-d %b %Y %H:%M}, viewed room "
                    f"{ref(m.room_id)} {len(ending)} time(s) in the last "
                    f"{GUEST_LAST_DAYS} days of their access.",
                    max(ending), person(m.user_id), m.room_id,
                )
            )  # fmt: skip

    reviews: dict[str, FlagReview] = {}
    if flags:
        for r in session.exec(
            select(FlagReview)
            .where(col(FlagReview.flag_id).in_([f.id for f in flags]))
            .order_by(col(FlagReview.reviewed_at))
        ):
            reviews[r.flag_id] = r  # the latest review counts
    flags = [
        Flag(f.id, f.kind, f.explanation, f.at, f.actor, f.room_id, reviews.get(f.id))
        for f in flags
    ]
    flags.sort(key=lambda f: (f.reviewed is not None, -f.at.timestamp(), f.id))
    return flags


def _views(room_ids: list[str], since: datetime) -> ColumnElement[bool]:
    """Allowed views of these rooms by someone since `since`."""
    return and_(
        col(AuditEvent.room_id).in_(room_ids),
        col(AuditEvent.at) >= since,
        col(AuditEvent.outcome) == "allowed",
        col(AuditEvent.action).in_(VIEW_ACTIONS),
        col(AuditEvent.actor_id).is_not(None),
    )


def _views_by_hour(
    access: Access, room_ids: list[str], since: datetime, recent_from: datetime
) -> Iterator[tuple[str, str, datetime, bool, int, datetime]]:
    """(person, room, the UTC hour, whether at or after `recent_from`, views, the last)."""
    at = col(AuditEvent.at)
    if access.session.get_bind().dialect.name == "postgresql":
        hour: ColumnElement[Any] = func.date_trunc("hour", at)
    else:
        hour = func.strftime("%Y-%m-%d %H:00:00", at)
    recent = case((at >= recent_from, 1), else_=0)
    columns: list[Any] = [
        col(AuditEvent.actor_id), col(AuditEvent.room_id), hour, recent, func.count(), func.max(at)
    ]  # fmt: skip
    rows = access.session.execute(
        sa_select(*columns)
        .where(_views(room_ids, since))
        .group_by(col(AuditEvent.actor_id), col(AuditEvent.room_id), hour, recent)
    )
    for actor_id, room_id, start, is_recent, count, last in rows:
        when = start if isinstance(start, datetime) else datetime.fromisoformat(start)
        yield actor_id, room_id, utc(when), bool(is_recent), int(count), utc(last)


def _views_of(
    access: Access, memberships: Sequence[Membership], since: datetime
) -> list[tuple[str, str, datetime]]:
    """Each view by these members of their rooms since `since`: (person, room, when)."""
    pairs = {(m.user_id, m.room_id) for m in memberships}
    rows = access.session.execute(
        select(AuditEvent.actor_id, AuditEvent.room_id, AuditEvent.at).where(
            _views(list({r for _, r in pairs}), since),
            col(AuditEvent.actor_id).in_({u for u, _ in pairs}),
        )
    )
    return [(a, r, utc(at)) for a, r, at in rows if (a, r) in pairs]


def _refuse_unless_reviewer(access: Access, action: str, target: Target) -> None:
    access.require_user()
    if not access.may("review_audit"):
        access.deny(action, target, conceal=True)


def list_flags(access: Access) -> list[Flag]:
    """Open flags first, newest first. Reading them is audited once."""
    _refuse_unless_reviewer(access, LIST, Target("audit"))
    flags = _compute(access)
    access.record(LIST, Target("audit"), purpose="access review")
    return flags


def open_count(access: Access) -> int:
    """How many flags await review, for the manager's home (not audited: a number, and
    the home's own view is)."""
    if access.user is None or not access.may("review_audit"):
        return 0
    return sum(1 for f in _compute(access) if f.reviewed is None)


def review(access: Access, flag_id: str, data: FlagReviewIn) -> Flag:
    """Mark a flag reviewed with a note. A flag the caller cannot see is as if unknown."""
    asked = Target("flag", flag_id)
    _refuse_unless_reviewer(access, REVIEW, asked)
    flag = next((f for f in _compute(access) if f.id == flag_id), None)
    if flag is None:
        access.deny(REVIEW, asked, conceal=True)
        raise AssertionError("unreachable")
    user = access.require_user()
    room = access.session.get(Room, flag.room_id) if flag.room_id else None
    target = Target("flag", flag.id, flag.room_id, room.child_id if room else None)
    record = FlagReview(
        flag_id=flag.id, room_id=flag.room_id, reviewer_id=user.id, note=data.note,
        reviewed_at=access.now,
    )  # fmt: skip
    access.session.add(record)
    access.record(REVIEW, target, purpose="flag reviewed")
    return Flag(flag.id, flag.kind, flag.explanation, flag.at, flag.actor, flag.room_id, record)
