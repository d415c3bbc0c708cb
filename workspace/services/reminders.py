"""Reminders the worker looks for every minute or so: news that comes from the passing of
time rather than from someone's action.

Each reminder is a function (app, session, now) -> how many people (or things) it
considered; it calls workspace/services/notifications.py, which tells each person once.
Plans add "an action is overdue" (workspace/services/plans/overdue.py), reading each
room's plan through `PLAN_READER`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy.orm import aliased
from sqlmodel import Session, col, select

from workspace.access import Access, Origin
from workspace.models import Membership, Room, User
from workspace.services import notifications
from workspace.services.plans import overdue
from workspace.services.plans import reading as plan_reading
from workspace.state import Caseroom

GUEST_WARNING = timedelta(days=3)


def guest_access_ending(app: Caseroom, session: Session, now: datetime) -> int:
    """Guests whose access ends within 3 days (told once per end date: notifications)."""
    rows = session.exec(
        select(Membership, User)
        .join(User, col(User.id) == col(Membership.user_id))
        .where(
            col(Membership.role) == "guest",
            col(Membership.revoked_at).is_(None),
            col(Membership.expires_at) > now,
            col(Membership.expires_at) <= now + GUEST_WARNING,
            col(User.disabled).is_(False),
        )
    ).all()
    for membership, user in rows:
        access = Access(app, session, user, Origin("email"), purpose="reminder")
        room = access.room_for_user(membership.room_id)
        # Only while the guest may still see the room (a closed room has ended it already).
        if room is not None and access.allowed("view", room.fact):
            notifications.guest_access_ending(access, room, membership)
    return len(rows)


def guest_access_ending_for_lead(app: Caseroom, session: Session, now: datetime) -> int:
    """Leads of rooms where a guest's access ends within 3 days, told once per guest and
    end date (an extended guest is warned about again)."""
    lead_user, guest_user = aliased(User), aliased(User)
    rows = session.exec(
        select(Membership, Room, lead_user, guest_user)
        .join(Room, col(Room.id) == col(Membership.room_id))
        .join(lead_user, col(lead_user.id) == col(Room.lead_user_id))
        .join(guest_user, col(guest_user.id) == col(Membership.user_id))
        .where(
            col(Membership.role) == "guest",
            col(Membership.revoked_at).is_(None),
            col(Membership.expires_at) > now,
            col(Membership.expires_at) <= now + GUEST_WARNING,
            col(Room.status) == "open",
            col(lead_user.disabled).is_(False),
        )
    ).all()
    for membership, _room, lead, guest in rows:
        access = Access(app, session, lead, Origin("email"), purpose="reminder")
        room = access.room_for_user(membership.room_id)
        if room is not None and access.allowed("change_role", room.fact):
            notifications.guest_access_ending_for_lead(access, room, membership, guest)
    return len(rows)


# How the worker reads a room's plan as the §6 JSON (None: the room has none).
PlanReader = Callable[[Caseroom, Session, str], Mapping[str, Any] | None]
PLAN_READER: PlanReader = plan_reading.draft_json


def actions_overdue(app: Caseroom, session: Session, now: datetime) -> int:
    """Owners and leads of actions past their due date (told once per action and date)."""
    read = PLAN_READER
    return overdue.remind(app, session, now, plan_of=lambda room_id: read(app, session, room_id))


REMINDERS: list[Callable[[Caseroom, Session, datetime], int]] = [
    guest_access_ending,
    guest_access_ending_for_lead,
    actions_overdue,
]


def run_reminders(app: Caseroom) -> int:
    """Each reminder in its own unit of work, so one failing does not stop the others."""
    considered = 0
    for reminder in REMINDERS:
        with app.db.session() as session:
            considered += reminder(app, session, app.clock.now())
            session.commit()
    return considered
