"""Telling people an action is overdue (issue #11 item 5): the owner and the room's lead,
in the app and through the outbox, once per action and due date (a new due date that
passes in its turn is told again). The emails are content-free: the room's reference and
the due date, never the action's words (workspace/services/notifications.py).

The worker's reminder (workspace/services/reminders.py) runs `remind` about every minute;
`plan_of(room_id)` gives a room's plan as the §6 JSON (None: the room has none), so this
module needs nothing of how plans are stored.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from workspace.access import Access, LoadedRoom, Origin
from workspace.models import Room, User
from workspace.services import notifications
from workspace.services.plans.clocks import overdue_actions
from workspace.state import Caseroom
from workspace.workdays import uk_date

# A room's plan as the §6 `plan` JSON, or None when it has none.
PlanOf = Callable[[str], Mapping[str, Any] | None]
# NotificationLog.ref holds "<action id>:<YYYY-MM-DD>" in 64 characters; a uuid4 is 36.
LONGEST_ACTION_ID = 48


def notify_overdue(access: Access, room: LoadedRoom, plan: Mapping[str, Any], today: date) -> int:
    """Tell the owner and the lead of each of the plan's overdue actions (each once per
    action and due date: notifications._once). Returns how many actions are overdue."""
    found = overdue_actions(plan, today)
    for item in found:
        action_id = item.action.get("id")
        if not isinstance(action_id, str) or not 0 < len(action_id) <= LONGEST_ACTION_ID:
            continue  # nothing to remember it by: an editor wrote garbage
        owner = _owner(access.session, item.action)
        if owner is not None:
            notifications.action_overdue(access, room, owner, action_id, item.due)
        notifications.action_overdue_for_lead(access, room, action_id, item.due, owner)
    return len(found)


def _owner(session: Session, action: Mapping[str, Any]) -> User | None:
    """The person the action names as owner; whether they may still see the room is the
    notification's to decide (someone removed since is not told)."""
    owner = action.get("owner")
    owner_id = owner.get("id") if isinstance(owner, dict) else None
    return session.get(User, owner_id) if isinstance(owner_id, str) else None


def remind(app: Caseroom, session: Session, now: datetime, plan_of: PlanOf) -> int:
    """The reminder: every open room's plan, against today's date in England (a closed
    room's actions are history). Returns how many overdue actions it found."""
    today = uk_date(now)
    access = Access(app, session, None, Origin("email"), purpose="reminder")
    found = 0
    room_ids = session.exec(
        select(Room.id).where(col(Room.status) == "open").order_by(col(Room.id))
    ).all()
    for room_id in room_ids:
        plan = plan_of(room_id)
        room = access.room_for_user(room_id) if plan is not None else None
        if plan is not None and room is not None:
            found += notify_overdue(access, room, plan, today)
    return found
