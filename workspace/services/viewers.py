"""Who has seen this child (issue #12, item 3): for one room, each person who viewed the
room or anything in it, how they had access then (lead, member, guest, or break-glass with
its reason), their first and last view and how many.

Read from the audit log: allowed views, lists and reads recorded against the room or its
items. How each view came about is the membership in force at that moment (a role change
ends one row and starts the next, so a person whose role changed appears once per role),
or, failing one, the break-glass then in force. Both are picked per event inside the query
and the views are counted there: a busy room's thousands of views never come back as rows.

Who reads it: the policy (`review_access`: the room's lead, the lead's team manager, the
lead organisation's IG lead). Anyone else is told the room does not exist; both outcomes
are audited, a reading once.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from sqlalchemy import and_, case, func, or_
from sqlmodel import col, select

from workspace.access import Access, Target
from workspace.clock import utc
from workspace.models import AuditEvent, BreakGlass, Membership, Organisation, User

# What reads the room or an item in it, by its audit name (workspace/access.py callers,
# realtime/). The lead tools, posts and the access review itself are not views.
VIEW_ACTIONS = (
    "view", "join", "list_members", "list_messages", "search_messages", "list_files", "read",
    "download_file", "view_plan", "view_plan_version", "list_plan_versions", "export_plan",
    "read_sharing_record", "export_sharing_record", "read_room_history", "break_glass",
)  # fmt: skip
REVIEW = "list_viewers"

Via = Literal["lead", "member", "guest", "break_glass"]
ROLE_WORDS: dict[str, str] = {
    "lead": "Lead professional",
    "member": "Member",
    "guest": "Guest",
    "break_glass": "Break-glass (read-only)",
}


@dataclass(frozen=True)
class Viewer:
    user: User
    organisation: Organisation
    # None: no membership or break-glass was in force (an event recorded before the
    # membership it came with, say); shown, not hidden.
    via: Via | None
    first_view: datetime
    last_view: datetime
    views: int
    reason: str | None = None  # break-glass only: the reason its reader gave

    @property
    def role_then(self) -> str:
        return ROLE_WORDS.get(self.via or "", "No access recorded")


@dataclass(frozen=True)
class ViewersReport:
    room_id: str
    room_reference: str
    viewers: list[Viewer]
    # Whether to link to the room itself (a manager who is no member may not open it).
    may_open_room: bool = False


def viewers(access: Access, room_id: str) -> ViewersReport:
    """Most recent viewer first."""
    access.require_user()
    loaded = access.room_for_user(room_id)
    if loaded is None:
        access.deny(REVIEW, Target("room", room_id, room_id), conceal=True)
        raise AssertionError("unreachable")
    if not access.allowed("review_access", loaded.fact):
        access.deny(REVIEW, loaded.target, conceal=True)
    access.record(REVIEW, loaded.target, purpose="access review")

    event = AuditEvent
    role = (
        select(Membership.role)
        .where(
            col(Membership.room_id) == event.room_id,
            col(Membership.user_id) == event.actor_id,
            col(Membership.joined_at) <= event.at,
            or_(col(Membership.revoked_at).is_(None), col(Membership.revoked_at) > event.at),
            or_(col(Membership.expires_at).is_(None), col(Membership.expires_at) > event.at),
        )
        .order_by(col(Membership.joined_at).desc())
        .limit(1)
        .correlate(event)
        .scalar_subquery()
    )
    glass = (
        select(BreakGlass.id)
        .where(
            col(BreakGlass.room_id) == event.room_id,
            col(BreakGlass.user_id) == event.actor_id,
            and_(col(BreakGlass.started_at) <= event.at, col(BreakGlass.expires_at) > event.at),
        )
        .order_by(col(BreakGlass.started_at).desc())
        .limit(1)
        .correlate(event)
        .scalar_subquery()
    )
    views = (
        select(
            col(event.actor_id).label("actor_id"),
            col(event.at).label("at"),
            role.label("role"),
            glass.label("glass"),
        )
        .where(
            col(event.room_id) == loaded.room.id,
            col(event.outcome) == "allowed",
            col(event.action).in_(VIEW_ACTIONS),
            col(event.actor_id).is_not(None),
        )
        .subquery()
    )
    # The break-glass record counts only where no membership was in force.
    glass_id = case((views.c.role.is_(None), views.c.glass), else_=None)
    rows = access.session.exec(
        select(  # type: ignore[call-overload]
            views.c.actor_id,
            views.c.role,
            glass_id,
            func.min(views.c.at),
            func.max(views.c.at),
            func.count(),
        )
        .group_by(views.c.actor_id, views.c.role, glass_id)
        .order_by(func.max(views.c.at).desc(), views.c.actor_id)
    ).all()

    session = access.session
    user_ids = {r[0] for r in rows}
    users = {u.id: u for u in session.exec(select(User).where(col(User.id).in_(user_ids)))}
    orgs = {
        o.id: o
        for o in session.exec(
            select(Organisation).where(
                col(Organisation.id).in_({u.organisation_id for u in users.values()})
            )
        )
    }
    glass_ids = {r[2] for r in rows if r[2]}
    reasons = {
        g.id: g.reason
        for g in session.exec(select(BreakGlass).where(col(BreakGlass.id).in_(glass_ids)))
    }
    result = []
    for actor_id, role_then, glass_then, first, last, count in rows:
        user = users.get(actor_id)
        if user is None:
            continue
        via: Via | None = role_then or ("break_glass" if glass_then else None)
        result.append(
            Viewer(
                user, orgs[user.organisation_id], via, utc(first), utc(last), int(count),
                reasons.get(glass_then) if via == "break_glass" else None,
            )
        )  # fmt: skip
    return ViewersReport(
        loaded.room.id, loaded.room.reference, result, access.allowed("view", loaded.fact)
    )
