"""A manager's home (issue #12 item 1): the rooms a team manager or IG lead oversees, for
supervision, without their content (rule 7: managers and IG leads read no case content
unless they are members).

What a row says is chosen so that none of it is case content: who the child is only by
initials and age, who leads, how recent the room's activity is, the plan's next statutory
deadline (dates, from the key dates) and how many of its actions are overdue (a count),
and how many guests' access ends soon. The plan is read by the system for those dates and
counts; its text is never returned.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func
from sqlmodel import col, select

from workspace.access import Access, Target
from workspace.clock import utc
from workspace.errors import Invalid
from workspace.facts import room_fact
from workspace.models import (
    Child,
    EncryptedFile,
    Membership,
    Message,
    Organisation,
    Plan,
    Room,
    User,
)
from workspace.pagination import Page, cursor_time, decode_cursor, encode_cursor
from workspace.services.plans import clocks
from workspace.services.plans.reading import draft_json
from workspace.services.rooms import age_on
from workspace.workdays import uk_date

# Guests whose access ends this soon are worth a manager's eye (as in the digests).
GUEST_HORIZON = timedelta(days=7)


@dataclass(frozen=True)
class NextDeadline:
    step: str
    due: str  # YYYY-MM-DD
    overdue: bool
    text: str  # clocks.describe: dates and what they were counted from


@dataclass(frozen=True)
class OverseenRoom:
    room: Room
    initials: str
    age: int
    lead: User
    lead_org: Organisation
    last_activity: datetime
    next_deadline: NextDeadline | None
    overdue_actions: int
    guests_ending: int
    guests_ending_first: datetime | None
    # The caller may open the room itself (a member, or by break-glass): link to it.
    may_open: bool
    may_review_access: bool  # "who has seen this child" (the lead's manager, the IG lead)
    may_subject_access: bool = False  # answer a subject access request (the IG lead)


def initials(name: str) -> str:
    """The child as an overseer sees them: "Jamie Carter" -> "J.C."."""
    return "".join(f"{part[0].upper()}." for part in name.split() if part)


def may_oversee(access: Access) -> bool:
    return access.may("oversee_rooms")


def list_overseen(
    access: Access, *, cursor: str | None = None, limit: int = 50, status: str | None = None
) -> Page[OverseenRoom]:
    """The rooms the caller oversees, newest first, filtered in the query by the policy
    (`oversee`). Someone who oversees no rooms at all (a practitioner) is refused: 404, as
    for a page that is not theirs. The list is one audit event."""
    access.require_user()
    if not may_oversee(access):
        access.require_workspace("oversee_rooms", conceal=True)
    if status not in (None, "open", "closed"):
        raise Invalid("status must be open or closed.")
    query = (
        select(Room, Child, User, Organisation)
        .join(Child, col(Child.id) == col(Room.child_id))
        .join(User, col(User.id) == col(Room.lead_user_id))
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .where(access.overseen_rooms_filter())
        .order_by(col(Room.created_at).desc(), col(Room.id).desc())
        .limit(limit + 1)
    )
    if status is not None:
        query = query.where(col(Room.status) == status)
    after = decode_cursor(access.app.keys, cursor, 2)
    if after is not None:
        at = cursor_time(after[0])
        query = query.where(
            (col(Room.created_at) < at) | ((col(Room.created_at) == at) & (col(Room.id) < after[1]))
        )
    rows = access.session.exec(query).all()
    access.record("list_overseen_rooms", Target("room"), purpose="supervision")
    page = rows[:limit]
    ids = [r.id for r, *_ in page]
    activity = _last_activity(access, ids)
    guests = _guests_ending(access, ids)
    today = uk_date(access.now)
    items: list[OverseenRoom] = []
    for room, child, lead, org in page:
        fact = room_fact(room, lead)
        deadline, overdue = _plan_clocks(access, room, today)
        count, first = guests.get(room.id, (0, None))
        items.append(
            OverseenRoom(
                room=room,
                initials=initials(child.name),
                age=age_on(child.date_of_birth, access.now.date()),
                lead=lead,
                lead_org=org,
                last_activity=activity.get(room.id, utc(room.created_at)),
                next_deadline=deadline,
                overdue_actions=overdue,
                guests_ending=count,
                guests_ending_first=first,
                may_open=access.allowed("view", fact),
                may_review_access=access.allowed("review_access", fact),
                may_subject_access=access.allowed("subject_access", fact),
            )
        )
    nxt = None
    if len(rows) > limit:
        last = page[-1][0]
        nxt = encode_cursor(access.app.keys, last.created_at.isoformat(), last.id)
    return Page(items, nxt)


def _last_activity(access: Access, room_ids: Sequence[str]) -> dict[str, datetime]:
    """The newest message, file or plan edit of each room. Restricted items are left out:
    when one was posted is itself something rule 2 keeps from people outside the author's
    organisation (a manager overseeing the room may be one)."""
    found: dict[str, datetime] = {}
    if not room_ids:
        return found
    queries = [
        select(Message.room_id, func.max(Message.created_at))
        .where(col(Message.room_id).in_(room_ids), col(Message.sensitivity) == "room")
        .group_by(col(Message.room_id)),
        select(EncryptedFile.room_id, func.max(EncryptedFile.created_at))
        .where(
            col(EncryptedFile.room_id).in_(room_ids),
            col(EncryptedFile.sensitivity) == "room",
            col(EncryptedFile.content_state) == "stored",
        )
        .group_by(col(EncryptedFile.room_id)),
        select(Plan.room_id, Plan.updated_at).where(col(Plan.room_id).in_(room_ids)),
    ]
    for query in queries:
        for room_id, at in access.session.exec(query).all():
            if at is None:
                continue
            at = utc(at)
            if room_id not in found or at > found[room_id]:
                found[room_id] = at
    return found


def _guests_ending(
    access: Access, room_ids: Sequence[str]
) -> dict[str, tuple[int, datetime | None]]:
    """Per room, the guests whose access ends within GUEST_HORIZON, and the first end."""
    if not room_ids:
        return {}
    rows = access.session.exec(
        select(Membership.room_id, func.count(), func.min(Membership.expires_at))
        .where(
            col(Membership.room_id).in_(room_ids),
            col(Membership.role) == "guest",
            col(Membership.revoked_at).is_(None),
            col(Membership.expires_at) > access.now,
            col(Membership.expires_at) <= access.now + GUEST_HORIZON,
        )
        .group_by(col(Membership.room_id))
    ).all()
    return {r: (int(n), utc(first) if first else None) for r, n, first in rows}


def _plan_clocks(access: Access, room: Room, today: date) -> tuple[NextDeadline | None, int]:
    """The plan's next statutory deadline and its overdue actions: a system read of the
    draft for dates and a count, nothing of its text. A closed room has no clocks running."""
    if room.status != "open":
        return None, 0
    plan = draft_json(access.app, access.session, room.id)
    if plan is None:
        return None, 0
    deadline = clocks.next_deadline(room.plan_type, plan.get("key_dates"), today)
    overdue = len(clocks.overdue_actions(plan, today))
    if deadline is None:
        return None, overdue
    return (
        NextDeadline(
            step=deadline.step,
            due=deadline.due.isoformat(),
            overdue=deadline.overdue,
            text=clocks.describe(deadline),
        ),
        overdue,
    )
