"""Reading a plan: the view pages and the API show (audited as `view_plan`), and the Yjs
sync of a socket joined to it (y-protocols: the server's sync step 1 at join, its step 2
in answer to the client's step 1)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from pycrdt import create_sync_message, handle_sync_message
from sqlmodel import Session, col, select

from workspace import serialize
from workspace.access import Access, LoadedRoom
from workspace.errors import Invalid
from workspace.models import Membership, Organisation, User
from workspace.services.plans import clocks, document, store, versions
from workspace.services.plans.views import Clocks, Draft, PlanView, people_of
from workspace.state import Caseroom
from workspace.workdays import uk_date

# y-protocols message types (the first two bytes of every sync message).
SYNC = 0
SYNC_STEP1, SYNC_STEP2, SYNC_UPDATE = 0, 1, 2


def plan_clocks(plan_type: str, draft: dict[str, Any], now: datetime) -> Clocks:
    """workspace/services/plans/clocks.py on the draft: the statutory deadlines of the
    plan's key dates and its overdue actions, in working days (`deadlines` items: {"step",
    "due", "basis", "overdue"}; `overdue_actions`: action JSON)."""
    today = uk_date(now)
    return Clocks(
        deadlines=[d.as_json() for d in clocks.deadlines(plan_type, draft.get("key_dates"), today)],
        overdue_actions=[o.action for o in clocks.overdue_actions(draft, today)],
    )


def opened(access: Access, room: LoadedRoom) -> store.Stored:
    """The room's plan document, made first if it has none yet."""
    return store.open_plan(
        access.session, access.app.keys, room.room.id, room.room.plan_type, access.now
    )


def view_of(access: Access, room: LoadedRoom) -> PlanView:
    stored = opened(access, room)
    draft = document.to_json(stored.doc, people_of(access, room))
    published = versions.published(access, room)
    return PlanView(
        room=room,
        plan_type=room.room.plan_type,
        draft=draft,
        published=published,
        latest=versions.latest(access, room, published),
        clocks=plan_clocks(room.room.plan_type, draft, access.now),
        can_edit=access.allowed("edit_plan", room.fact),
        can_publish=access.allowed("publish_plan", room.fact),
    )


def get_plan(access: Access, room_id: str) -> PlanView:
    """The plan as the caller may see it: one audited `view_plan`."""
    return view_of(access, access.room(room_id, "read_plan", audit_as="view_plan"))


def draft_json(app: Caseroom, session: Session, room_id: str) -> dict[str, Any] | None:
    """A room's draft for the worker's reminders (None: the room has no plan yet). Nobody
    is shown it: whom an overdue action is told to is decided, and audited, by
    notifications through the policy."""
    if not store.exists(session, room_id):
        return None
    rows = session.exec(
        select(User, Organisation)
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .join(Membership, col(Membership.user_id) == col(User.id))
        .where(col(Membership.room_id) == room_id)
    ).all()
    people = {user.id: serialize.user(user, org) for user, org in rows}
    return document.to_json(store.load(session, app.keys, room_id).doc, people)


@dataclass(frozen=True)
class Summary:
    """What the room page says of its plan: the agreed version, the next statutory
    deadline and every overdue action, in words."""

    agreed: int | None
    next_deadline: str | None
    overdue: list[str]


def summary(access: Access, room_id: str) -> Summary:
    """From the plan as the caller may read it (one audited `view_plan`, as `get_plan`):
    its draft and the versions the caller may read, without what only the plan's own
    page shows (the newest version in full, whether the caller may edit or sign off)."""
    room = access.room(room_id, "read_plan", audit_as="view_plan")
    draft = document.to_json(opened(access, room).doc, people_of(access, room))
    published = versions.published(access, room)
    today = uk_date(access.now)
    upcoming = clocks.next_deadline(room.room.plan_type, draft.get("key_dates"), today)
    return Summary(
        agreed=published[-1].version if published else None,
        next_deadline=clocks.describe(upcoming) if upcoming else None,
        overdue=[
            clocks.describe_overdue(o.action, today) for o in clocks.overdue_actions(draft, today)
        ],
    )


def draft(access: Access, room_id: str) -> Draft:
    """The draft for a comparison (one audited `view_plan`)."""
    view = get_plan(access, room_id)
    return Draft(view.draft, view.plan_type, view.room)


# --- over a socket ---------------------------------------------------------------------


@dataclass(frozen=True)
class Joined:
    can_edit: bool
    sync_step1: bytes  # the server's state vector, for the client to answer with step 2


def join(access: Access, room_id: str) -> Joined:
    """`plan:join`: a view of the plan (audited), and the start of an editing session."""
    loaded = access.room(room_id, "read_plan", audit_as="view_plan")
    stored = opened(access, loaded)
    return Joined(access.allowed("edit_plan", loaded.fact), create_sync_message(stored.doc))


def sync_kind(message: bytes, event: str) -> int:
    """The y-protocols sync message type of `message` (0: step 1, 1: step 2, 2: update),
    or 422 for anything that is not a sync message."""
    if len(message) < 3 or message[0] != SYNC or message[1] not in (0, 1, 2):
        raise Invalid(
            f"`{event}` takes a y-protocols sync message: [0, type, ...] (type 0 step 1, "
            "1 step 2, 2 update).",
            fields={"message": "not a y-protocols sync message"},
        )
    return message[1]


def sync_step2(access: Access, room_id: str, message: bytes, *, in_session: bool) -> bytes:
    """The answer to a client's sync step 1: what it lacks of the plan. A read: audited as
    a view unless the socket is joined to the plan (its join was)."""
    if in_session:
        loaded = access.room_in_session(room_id, "read_plan", audit_as="view_plan")
    else:
        loaded = access.room(room_id, "read_plan", audit_as="view_plan")
    stored = opened(access, loaded)
    try:
        reply = handle_sync_message(message[1:], stored.doc)
    except (ValueError, AssertionError, IndexError) as exc:
        raise Invalid(
            "The sync step 1 could not be read.", fields={"message": "malformed"}
        ) from exc
    assert reply is not None
    return reply
