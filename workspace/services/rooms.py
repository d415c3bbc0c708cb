"""Case rooms: open one for a child, list mine, look at one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import NoReturn

from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from workspace.access import Access, LoadedRoom, RoomActions, Target
from workspace.errors import ChildHasRoom, RateLimited
from workspace.identifiers import child_keys
from workspace.models import Child, ChildKey, Membership, Organisation, Room, User
from workspace.pagination import Page, cursor_time, decode_cursor, encode_cursor
from workspace.ratelimit import RateLimiter
from workspace.schemas import RoomIn
from workspace.services import messages, notifications
from workspace.services.plans import store as plan_store

# Per user, the answers "this child has a room already". Someone opening rooms in good
# faith rarely meets one; many in an hour would be probing for which children have rooms
# (each answer also tells that room's lead who asked, and is in its access log).
existing_room_limiter = RateLimiter(limit=10, window_seconds=60 * 60)


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
    # What the caller may do here: `"close" in actions` (decided as asked).
    actions: RoomActions


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
    actions = access.room_actions(loaded)
    lead_org = access.session.get(Organisation, loaded.lead.organisation_id)
    assert lead_org is not None
    return RoomView(loaded.room, loaded.lead, lead_org, child_view, my_role, actions)


def create_room(access: Access, data: RoomIn) -> RoomView:
    """Open a room for a child, unless the child has an open room already (matched on NHS
    number, UPN, or normalised name with date of birth): then nothing is created, the
    asker learns who leads that room (ChildHasRoom) and the lead that they asked."""
    user = access.require_user()
    access.require_workspace("create_room")
    now = access.now
    given = data.child
    keys = child_keys(given.name, given.date_of_birth, given.nhs_number, given.upn)
    existing = open_room_for(access, keys)
    if existing is not None:
        _refuse_second_room(access, existing)
    child = Child(
        name=given.name,
        date_of_birth=given.date_of_birth,
        nhs_number=given.nhs_number,
        upn=given.upn,
        address=given.address,
        created_at=now,
    )
    room = Room(
        child_id=child.id,
        title=data.title or f"{given.name}",
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
    try:
        with access.session.begin_nested():
            access.session.add_all([child, room])
            access.session.flush()
            access.session.add(lead)
            # The keys are unique: of two requests for one child at once, the second
            # waits for the first and then fails here (PostgreSQL; SQLite serialises
            # writers, so it already saw the first room above).
            access.session.add_all([ChildKey(key=k, room_id=room.id) for k in keys])
            access.session.flush()
    except IntegrityError:
        existing = open_room_for(access, keys)
        if existing is None:
            raise
        _refuse_second_room(access, existing)
    # The room's plan, with its whole structure, made once (services/plans/document.py).
    plan_store.create(access.session, access.app.keys, room.id, room.plan_type, now)
    access.record("create_room", Target("room", room.id, room.id, child.id))
    access.refresh_principal()
    return view_of(access, access.room_for_user(room.id))  # type: ignore[arg-type]


def open_room_for(access: Access, keys: list[str]) -> str | None:
    """The open room of the child these identifiers name, if any. Each key belongs to one
    open room at most (it is the table's primary key). Identifiers that point at two
    different rooms (an NHS number of one child, the name and birthday of another) are
    taken in order of trust: NHS number, then UPN, then name with date of birth."""
    found = dict(
        access.session.exec(
            select(ChildKey.key, ChildKey.room_id).where(col(ChildKey.key).in_(keys))
        ).all()
    )
    for prefix in ("nhs:", "upn:", "name:"):
        for key in keys:
            if key.startswith(prefix) and key in found:
                return found[key]
    return None


def _refuse_second_room(access: Access, room_id: str) -> NoReturn:
    """Nothing of this request is kept. The asker is told the room exists and who leads it
    (name, organisation, email: never its content); the lead is told who asked (in the app
    and by email, content-free); both are in the room's access log."""
    user = access.require_user()
    access.session.rollback()
    loaded = access.room_for_user(room_id)
    assert loaded is not None
    if not existing_room_limiter.hit(user.id):
        access.record(
            "create_room", loaded.target, outcome="denied", purpose="child has a room: limited"
        )
        access.session.commit()
        raise RateLimited("Too many children you asked about have rooms already. Try later.")
    in_it = bool(access.roles_in(loaded))
    access.record(
        "create_room",
        loaded.target,
        outcome="denied",
        purpose="child has an open room: " + ("asker is in it" if in_it else "lead told"),
    )
    if not in_it:
        notifications.join_requested(access, loaded, user)
    access.session.commit()
    lead_org = access.session.get(Organisation, loaded.lead.organisation_id)
    lead = {
        "name": loaded.lead.name,
        "organisation": lead_org.name if lead_org else "",
        "email": loaded.lead.email,
    }
    if in_it:
        message = f"You are in this child's case room already ({loaded.room.reference})."
    else:
        message = (
            f"This child has a case room already ({loaded.room.reference}), led by "
            f"{lead['name']} ({lead['organisation']}). Nothing was created: ask the lead to "
            "add you. They have been told that you asked."
        )
    raise ChildHasRoom(message, reference=loaded.room.reference, lead=lead, in_room=in_it)


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
