"""Who could have seen a message (DESIGN.md §4, chat issue §7).

Deliveries to sockets are not audited one by one (a busy room would write a row per
listener per message). What is audited is each socket `join`, each list or sync of
messages and each page view, and memberships keep when they began and ended. From those,
this answers the reviewer's question for one message without showing its content: for
each person who ever held access to the room, the first moment the policy let them read
it (asked of the policy as of that moment), whether they still may, and the audited views
of the room they made since.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from workspace.access import Access, LoadedRoom, Target
from workspace.clock import utc
from workspace.errors import NotFound
from workspace.facts import message_fact
from workspace.models import AuditEvent, BreakGlass, Membership, Message, Organisation, User

VIEW_ACTIONS = ("view", "join", "list_messages", "search_messages")


@dataclass(frozen=True)
class Exposure:
    user: User
    organisation: Organisation
    could_read_from: datetime
    can_read_now: bool
    views: int
    last_view_at: datetime | None


@dataclass(frozen=True)
class ExposureReport:
    message: Message
    author: User
    author_org: Organisation
    room_reference: str
    people: list[Exposure]


def who_could_have_seen(access: Access, message_id: str) -> ExposureReport:
    session = access.session
    message = session.get(Message, message_id)
    if message is None:
        access.deny("review_access", Target("message", message_id), conceal=True)
        raise NotFound()
    loaded = _room_for_review(access, message)
    created = utc(message.created_at)
    memberships = session.exec(
        select(Membership).where(col(Membership.room_id) == message.room_id)
    ).all()
    glass = session.exec(select(BreakGlass).where(col(BreakGlass.room_id) == message.room_id)).all()
    # Moments at which someone's access to the message could have begun.
    starts: dict[str, set[datetime]] = {}
    for m in memberships:
        starts.setdefault(m.user_id, set()).add(max(created, utc(m.joined_at)))
    for g in glass:
        starts.setdefault(g.user_id, set()).add(max(created, utc(g.started_at)))
    people: list[Exposure] = []
    for user_id, moments in starts.items():
        user = session.get(User, user_id)
        if user is None:
            continue
        first = next(
            (
                t
                for t in sorted(moments)
                if t <= access.now and _could_read(access, user, message, t)
            ),
            None,
        )
        if first is None:
            continue
        views = session.exec(
            select(AuditEvent.at)
            .where(
                col(AuditEvent.actor_id) == user_id,
                col(AuditEvent.room_id) == message.room_id,
                col(AuditEvent.outcome) == "allowed",
                col(AuditEvent.action).in_(VIEW_ACTIONS),
                col(AuditEvent.at) >= first,
            )
            .order_by(col(AuditEvent.at))
        ).all()
        org = session.get(Organisation, user.organisation_id)
        assert org is not None
        people.append(
            Exposure(
                user, org, first, _could_read(access, user, message, access.now),
                len(views), views[-1] if views else None,
            )
        )  # fmt: skip
    author = session.get(User, message.author_id)
    author_org = session.get(Organisation, message.author_org_id)
    assert author is not None and author_org is not None
    people.sort(key=lambda e: (e.could_read_from, e.user.name))
    return ExposureReport(message, author, author_org, loaded.room.reference, people)


def _room_for_review(access: Access, message: Message) -> LoadedRoom:
    """The room, if the caller may review who saw its messages. Refused: a 403 only to
    someone who may read this very message; to anyone else (a member kept from a
    restricted item, an outsider) the message does not exist, as a random id would not."""
    loaded = access.room_for_user(message.room_id)
    if loaded is not None and access.allowed("review_access", loaded.fact):
        access.record("review_exposure", loaded.target)
        return loaded
    target = Target("message", message.id, message.room_id, loaded.child.id if loaded else None)
    readable = loaded is not None and access.allowed("read", message_fact(message, loaded.fact))
    access.deny("review_exposure", target, conceal=not readable)
    raise AssertionError("unreachable")


def _could_read(access: Access, user: User, message: Message, at: datetime) -> bool:
    return access.user_may_at(user, "read", message, at)
