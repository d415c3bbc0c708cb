"""Case rooms: open one for a child, list mine, look at one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlmodel import col, select

from workspace.access import Access, LoadedRoom, Target
from workspace.models import Child, Membership, Organisation, Room, User
from workspace.pagination import Page, cursor_time, decode_cursor, encode_cursor
from workspace.schemas import RoomIn
from workspace.services import messages


@dataclass(frozen=True)
class ChildView:
    name: str
    age: int
    date_of_birth: date | None = None
    nhs_number: str | None = None
    upn: str | None = None
    address: str | None = None


@dataclass(frozen=True)
class RoomView:
    room: Room
    lead: User
    lead_org: Organisation
    child: ChildView
    my_role: str | None
    actions: frozenset[str]


def age_on(dob: date, today: date) -> int:
    return today.year - dob.year - ((today.month, today.day) < (dob.month, dob.day))


def view_of(access: Access, loaded: LoadedRoom) -> RoomView:
    """What the caller may see of a room they may view (rule 3: guests get name and age)."""
    child = loaded.child
    age = age_on(child.date_of_birth, access.now.date())
    if access.allowed("see_child_identifiers", loaded.fact):
        child_view = ChildView(
            child.name, age, child.date_of_birth, child.nhs_number, child.upn, child.address
        )
    else:
        child_view = ChildView(child.name, age)
    roles = access.roles_in(loaded)
    my_role = next((r for r in ("lead", "member", "guest") if r in roles), None)
    actions = access.allowed_actions(loaded)
    lead_org = access.session.get(Organisation, loaded.lead.organisation_id)
    assert lead_org is not None
    return RoomView(loaded.room, loaded.lead, lead_org, child_view, my_role, actions)


def create_room(access: Access, data: RoomIn) -> RoomView:
    user = access.require_user()
    access.require_workspace("create_room")
    now = access.now
    child = Child(
        name=data.child.name,
        date_of_birth=data.child.date_of_birth,
        nhs_number=data.child.nhs_number,
        upn=data.child.upn,
        address=data.child.address,
        created_at=now,
    )
    room = Room(
        child_id=child.id,
        title=data.title or f"{data.child.name}",
        plan_type=data.plan_type,
        lead_user_id=user.id,
        created_at=now,
    )
    lead = Membership(
        room_id=room.id,
        user_id=user.id,
        role="lead",
        joined_at=now,
        invited_by_id=user.id,
        purpose="Lead professional",
        lawful_basis="public_task",
    )
    access.session.add_all([child, room])
    access.session.flush()
    access.session.add(lead)
    access.session.flush()
    access.record("create_room", Target("room", room.id, room.id, child.id))
    access.refresh_principal()
    return view_of(access, access.room_for_user(room.id))  # type: ignore[arg-type]


def get_room(access: Access, room_id: str) -> RoomView:
    return view_of(access, access.room(room_id, "view"))


@dataclass(frozen=True)
class RoomSummary:
    room: Room
    child_name: str
    lead: User
    lead_org: Organisation
    unread: messages.Unread


def list_rooms(
    access: Access, *, cursor: str | None = None, limit: int = 50, status: str | None = None
) -> Page[RoomSummary]:
    """My rooms, filtered in the query by the policy (rule 1). The list is one audit event."""
    access.require_user()
    query = (
        select(Room, Child.name, User, Organisation)
        .join(Child, Child.id == Room.child_id)  # type: ignore[arg-type]
        .join(User, User.id == Room.lead_user_id)  # type: ignore[arg-type]
        .join(Organisation, Organisation.id == User.organisation_id)  # type: ignore[arg-type]
        .where(access.rooms_filter())
        .order_by(col(Room.created_at).desc(), col(Room.id).desc())
        .limit(limit + 1)
    )
    if status in ("open", "closed"):
        query = query.where(Room.status == status)
    after = decode_cursor(access.app.keys, cursor, 2)
    if after is not None:
        at = cursor_time(after[0])
        query = query.where(
            (col(Room.created_at) < at) | ((Room.created_at == at) & (col(Room.id) < after[1]))
        )
    rows = access.session.exec(query).all()
    access.record("list_rooms", Target("room"))
    items = [
        RoomSummary(r, name, lead, org, messages.unread_counts(access, r, lead))
        for r, name, lead, org in rows[:limit]
    ]
    nxt = None
    if len(rows) > limit:
        last = items[-1].room
        nxt = encode_cursor(access.app.keys, last.created_at.isoformat(), last.id)
    return Page(items, nxt)
