"""The policy's read rules as SQL, so lists are filtered in the query (DESIGN.md §3, §8).
Messages and files are items of a room: one clause serves both (`items_clause`).

Oso's own SQLAlchemy filtering gives wrong results, so these clauses are written by hand
from policy/caseroom.polar. Whatever can be asked of the policy is asked of it (the roles
a principal holds in a room, whether break-glass applies); what remains mirrors the
rules row by row. tests/test_list_filtering.py proves, for every demo actor, that each
list equals exactly the rows for which the policy's `is_allowed` is true.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import ColumnElement, and_, exists, false, or_, select, true
from sqlalchemy.orm import aliased
from sqlmodel import col

from policy.authorizer import Authorizer
from policy.subjects import WORKSPACE, AccountFact, Principal, RoomFact
from workspace.models import (
    AuditEvent,
    BreakGlass,
    EncryptedFile,
    Membership,
    Message,
    PlanVersion,
    Room,
    User,
)

_PLACEHOLDER_ROOM = RoomFact("", "open", "", "", None, "")


def rooms_clause(authorizer: Authorizer, p: Principal, now: datetime) -> ColumnElement[bool]:
    """Rule 1 (active membership; guests only while open) and rule 8 (break-glass)."""
    branches: list[ColumnElement[bool]] = []
    if authorizer.is_allowed(p, "join", _PLACEHOLDER_ROOM):
        not_expired = or_(col(Membership.expires_at).is_(None), col(Membership.expires_at) > now)
        role_counts = or_(
            col(Membership.role).in_(("lead", "member")),
            and_(col(Membership.role) == "guest", col(Room.status) == "open"),
        )
        branches.append(
            exists().where(
                col(Membership.room_id) == col(Room.id),
                col(Membership.user_id) == p.id,
                col(Membership.revoked_at).is_(None),
                not_expired,
                role_counts,
            )
        )
    if authorizer.is_allowed(p, "break_glass_search", WORKSPACE):
        branches.append(
            exists().where(
                col(BreakGlass.room_id) == col(Room.id),
                col(BreakGlass.user_id) == p.id,
                col(BreakGlass.expires_at) > now,
            )
        )
    return or_(false(), *branches)


@dataclass(frozen=True)
class ItemColumns:
    """The columns of a table of items (messages, files) that rules 2 and 3 read."""

    id: Any
    room_id: Any
    author_org_id: Any
    sensitivity: Any
    created_at: Any


MESSAGE_COLUMNS = ItemColumns(
    col(Message.id), col(Message.room_id), col(Message.author_org_id),
    col(Message.sensitivity), col(Message.created_at),
)  # fmt: skip
FILE_COLUMNS = ItemColumns(
    col(EncryptedFile.id), col(EncryptedFile.room_id), col(EncryptedFile.uploader_org_id),
    col(EncryptedFile.sensitivity), col(EncryptedFile.created_at),
)  # fmt: skip


def messages_clause(authorizer: Authorizer, p: Principal, room: RoomFact) -> ColumnElement[bool]:
    """Rules 2 and 3 for the messages of one room the caller may already view."""
    return items_clause(authorizer, p, room, MESSAGE_COLUMNS)


def files_clause(authorizer: Authorizer, p: Principal, room: RoomFact) -> ColumnElement[bool]:
    """The same rules for the files of that room: a file is an item like a message."""
    return items_clause(authorizer, p, room, FILE_COLUMNS)


def items_clause(
    authorizer: Authorizer, p: Principal, room: RoomFact, item: ItemColumns
) -> ColumnElement[bool]:
    roles = authorizer.roles(p, room)
    same_org_or_room = or_(item.sensitivity == "room", item.author_org_id == p.org_id)
    branches: list[ColumnElement[bool]] = []
    if "lead" in roles:
        branches.append(true())
    elif "member" in roles:
        branches.append(same_org_or_room)
    if "guest" in roles:
        # Items created since they joined under a current invitation (an ended one does
        # not count: `guest_may_see` asks `not_expired` of the same membership).
        since = [
            item.created_at >= _utc(m.joined_ts)
            for m in p.memberships_in(room.id)
            if m.role == "guest" and not m.revoked and authorizer.holds("not_expired", p, m)
        ]
        shared = item.id.in_(p.shared_item_ids) if p.shared_item_ids else false()
        branches.append(and_(same_org_or_room, or_(shared, *since)))
    if authorizer.holds("break_glass", p, room):
        branches.append(item.sensitivity == "room")
    return and_(item.room_id == room.id, or_(false(), *branches))


def plan_versions_clause(
    authorizer: Authorizer, p: Principal, room: RoomFact
) -> ColumnElement[bool]:
    """The published versions of a room's plan the caller may read (issue #11): all of them
    for the lead, members and break-glass readers; for a guest, those still the agreed plan
    when they joined (not replaced by then) and later, and those the lead shared."""
    roles = authorizer.roles(p, room)
    branches: list[ColumnElement[bool]] = []
    if "member" in roles or authorizer.holds("break_glass", p, room):
        branches.append(true())
    if "guest" in roles:
        following = aliased(PlanVersion)
        for m in p.memberships_in(room.id):
            if m.role != "guest" or m.revoked or not authorizer.holds("not_expired", p, m):
                continue
            replaced_before_joining = exists().where(
                col(following.room_id) == col(PlanVersion.room_id),
                col(following.version) == col(PlanVersion.version) + 1,
                col(following.signed_at) <= _utc(m.joined_ts),
            )
            branches.append(~replaced_before_joining)
        if p.shared_item_ids:
            branches.append(col(PlanVersion.id).in_(p.shared_item_ids))
    return and_(col(PlanVersion.room_id) == room.id, or_(false(), *branches))


def _utc(timestamp: float) -> datetime:
    return datetime.fromtimestamp(timestamp, UTC)


def audit_clause(p: Principal) -> ColumnElement[bool]:
    """Rule 7: managers by team, IG leads by organisation, leads for their own rooms
    (never an administrator, rule 9)."""
    lead = aliased(User)
    room_lead = (
        select(col(Room.id))
        .join(lead, col(lead.id) == col(Room.lead_user_id))
        .where(col(Room.id) == col(AuditEvent.room_id))
    )
    branches: list[ColumnElement[bool]] = []
    if p.org_role != "admin":  # rule 9: an admin recorded as lead reads nothing
        branches.append(exists(room_lead.where(col(Room.lead_user_id) == p.id)))
    if p.org_role == "manager" and p.managed_team_ids:
        teams = list(p.managed_team_ids)
        branches.append(col(AuditEvent.actor_team_id).in_(teams))
        branches.append(exists(room_lead.where(col(lead.team_id).in_(teams))))
    if p.org_role == "ig_lead":
        branches.append(col(AuditEvent.actor_org_id) == p.org_id)
        branches.append(exists(room_lead.where(col(lead.organisation_id) == p.org_id)))
    return or_(false(), *branches)


def overseen_rooms_clause(authorizer: Authorizer, p: Principal) -> ColumnElement[bool]:
    """Issue #12: the rooms the caller oversees, by who leads them. The policy is asked of
    a room led from each team the caller manages and of one led from their organisation;
    the clause keeps the rooms whose lead's team or organisation it said yes to."""
    teams = [
        team
        for team in p.managed_team_ids
        if authorizer.is_allowed(p, "oversee", RoomFact("", "open", "", "", team, ""))
    ]
    branches: list[ColumnElement[bool]] = []
    # An alias: the list's own query joins the lead as User to show them.
    person = aliased(User)
    lead = select(col(person.id)).where(col(person.id) == col(Room.lead_user_id))
    if teams:
        branches.append(exists(lead.where(col(person.team_id).in_(teams))))
    if authorizer.is_allowed(p, "oversee", RoomFact("", "open", "", p.org_id, None, "")):
        branches.append(exists(lead.where(col(person.organisation_id) == p.org_id)))
    return or_(false(), *branches)


def accounts_clause(authorizer: Authorizer, p: Principal) -> ColumnElement[bool]:
    """Rule 9: administrators manage the accounts of their own organisation. Asked of the
    policy for an account of the caller's organisation; nobody manages any other."""
    if authorizer.is_allowed(p, "manage", AccountFact("", p.org_id, "practitioner")):
        return col(User.organisation_id) == p.org_id
    return false()
