"""What a digest counts in one room, as numbers only.

Each counter is a small query made through the recipient's `Access`, with the same policy
filters the app uses (messages_filter), so nothing the recipient may not read is ever
counted (rule 2). The plan is counted by its published versions (the agreed plan is what
a digest refers to, never the draft) and by the recipient's own overdue actions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import or_
from sqlmodel import col, func, select
from sqlmodel.sql.expression import SelectOfScalar

from workspace.access import Access, LoadedRoom
from workspace.models import (
    EncryptedFile,
    Membership,
    Mention,
    Message,
    PlanVersion,
    ReadMarker,
)
from workspace.services.plans import clocks
from workspace.services.plans import reading as plan_reading
from workspace.workdays import uk_date

EXPIRY_HORIZON = timedelta(days=7)


@dataclass(frozen=True)
class RoomWindow:
    """One room, for one recipient, between their last digest and now."""

    access: Access
    room: LoadedRoom
    roles: frozenset[str]  # the recipient's roles here, as the policy grants them
    since: datetime
    now: datetime

    @property
    def user_id(self) -> str:
        return self.access.require_user().id

    def last_read_seq(self) -> int:
        marker = self.access.session.get(ReadMarker, (self.room.room.id, self.user_id))
        return marker.last_read_seq if marker else 0


@dataclass(frozen=True)
class Counter:
    key: str
    count: Callable[[RoomWindow], int]
    describe: Callable[[int], str]


def _plural(n: int, one: str, many: str) -> str:
    return f"{n} {one if n == 1 else many}"


def _unread_since(w: RoomWindow) -> SelectOfScalar[str]:
    """Messages the recipient may read, did not write, has not read, and that were written
    since their last digest (retracted ones have nothing left to read)."""
    return select(Message.id).where(
        w.access.messages_filter(w.room),
        col(Message.author_id) != w.user_id,
        col(Message.seq) > w.last_read_seq(),
        col(Message.created_at) > w.since,
        col(Message.retracted_at).is_(None),
    )


def new_messages(w: RoomWindow) -> int:
    query = _unread_since(w).subquery()
    return int(w.access.session.exec(select(func.count()).select_from(query)).one())


def mentions(w: RoomWindow) -> int:
    return int(
        w.access.session.exec(
            select(func.count())
            .select_from(Mention)
            .where(
                col(Mention.user_id) == w.user_id,
                col(Mention.message_id).in_(_unread_since(w)),
            )
        ).one()
    )


def new_files(w: RoomWindow) -> int:
    """Files the recipient may read (the message rules: workspace/visibility.py), shared by
    someone else since their last digest. A count only: never a name (they are encrypted)."""
    return int(
        w.access.session.exec(
            select(func.count())
            .select_from(EncryptedFile)
            .where(
                w.access.files_filter(w.room),
                col(EncryptedFile.content_state) == "stored",
                col(EncryptedFile.uploader_id) != w.user_id,
                # Stored since: a file whose content arrived after the last digest is news
                # then, however long ago its upload began.
                col(EncryptedFile.stored_at) > w.since,
            )
        ).one()
    )


def added(w: RoomWindow) -> int:
    """1 when someone else added the recipient to this room since their last digest
    (opening a room yourself is not news to you)."""
    joined = w.access.session.exec(
        select(Membership.id).where(
            col(Membership.room_id) == w.room.room.id,
            col(Membership.user_id) == w.user_id,
            col(Membership.revoked_at).is_(None),
            col(Membership.joined_at) > w.since,
            or_(
                col(Membership.invited_by_id).is_(None),
                col(Membership.invited_by_id) != w.user_id,
            ),
        )
    ).first()
    return 1 if joined else 0


def new_plan_versions(w: RoomWindow) -> int:
    """Versions of the plan agreed since the last digest that the recipient may read (one
    they signed off themselves is not news to them)."""
    return int(
        w.access.session.exec(
            select(func.count())
            .select_from(PlanVersion)
            .where(
                w.access.plan_versions_filter(w.room),
                col(PlanVersion.signed_at) > w.since,
                col(PlanVersion.signed_by_id) != w.user_id,
            )
        ).one()
    )


def my_overdue_actions(w: RoomWindow) -> int:
    """The recipient's own actions in the room's plan that are past their due date."""
    if not w.access.allowed("read_plan", w.room.fact):
        return 0
    plan = plan_reading.draft_json(w.access.app, w.access.session, w.room.room.id)
    today = uk_date(w.now)
    return sum(
        1 for o in clocks.overdue_actions(plan, today)
        if isinstance(o.action.get("owner"), dict) and o.action["owner"].get("id") == w.user_id
    )  # fmt: skip


def _guests_ending(w: RoomWindow, user_id: str | None) -> int:
    query = (
        select(func.count())
        .select_from(Membership)
        .where(
            col(Membership.room_id) == w.room.room.id,
            col(Membership.role) == "guest",
            col(Membership.revoked_at).is_(None),
            col(Membership.expires_at) > w.now,
            col(Membership.expires_at) <= w.now + EXPIRY_HORIZON,
        )
    )
    if user_id is not None:
        query = query.where(col(Membership.user_id) == user_id)
    return int(w.access.session.exec(query).one())


def guests_expiring(w: RoomWindow) -> int:
    """For the lead professional, who may extend or end them."""
    return _guests_ending(w, None) if "lead" in w.roles else 0


def my_access_ending(w: RoomWindow) -> int:
    return _guests_ending(w, w.user_id) if "guest" in w.roles else 0


COUNTERS: list[Counter] = [
    Counter("added", added, lambda _n: "You were added to this room"),
    Counter("messages", new_messages, lambda n: _plural(n, "new message", "new messages")),
    Counter("mentions", mentions, lambda n: _plural(n, "mention of you", "mentions of you")),
    Counter("files", new_files, lambda n: _plural(n, "new file", "new files")),
    Counter(
        "plan", new_plan_versions,
        lambda n: _plural(n, "new agreed version of the plan", "new agreed versions of the plan"),
    ),
    Counter(
        "actions", my_overdue_actions,
        lambda n: _plural(n, "action of yours is overdue", "actions of yours are overdue"),
    ),
    Counter(
        "guests_expiring",
        guests_expiring,
        lambda n: _plural(n, "guest's access ends", "guests' access ends") + " within 7 days",
    ),
    Counter("my_access_ending", my_access_ending, lambda _n: "Your access ends within 7 days"),
]
