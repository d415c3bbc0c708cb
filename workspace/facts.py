"""Turn database rows into the plain facts the policy reasons about (policy/subjects.py)."""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, NamedTuple

from sqlalchemy import event as sa_event
from sqlalchemy import select as sa_select
from sqlalchemy import text
from sqlalchemy.orm import ORMExecuteState, SessionTransaction
from sqlmodel import Session, col, select

from policy.subjects import (
    AccountFact,
    AgencyEventFact,
    AuditFact,
    BreakGlassFact,
    ChronologyEntryFact,
    ContactFact,
    ContactPhotoFact,
    FileFact,
    MembershipFact,
    MessageFact,
    PhotoOfferFact,
    PlanVersionFact,
    Principal,
    RoomFact,
)
from workspace.audit import Recorded
from workspace.clock import utc
from workspace.models import (
    AgencyEvent,
    AuditEvent,
    BreakGlass,
    Contact,
    ContactPhoto,
    EncryptedFile,
    Membership,
    Message,
    Organisation,
    PlanVersion,
    Room,
    SharingDecision,
    TeamManager,
    User,
)


def ts(dt: datetime) -> float:
    return utc(dt).timestamp()


def principal_for(session: Session, user: User, now: datetime) -> Principal:
    """The person as the policy sees them at `now` (normally the present; a past moment
    for access reviews: who could have read an item then)."""
    return remembered.rows(session, user).principal(user, now)


_EPOCH = text("SELECT token FROM access_epoch WHERE id = 1")
# The tables whose triggers change the token (migrations 0018, 0026: some of the user
# table's columns; any write to it counts here, which costs only a read of the token).
_WATCHED = frozenset(
    {"organisation", "membership", "teammanager", "breakglass", "sharingdecision", "user"}
)
# The token as this session's transaction read it: one read per transaction, not per
# question, until the transaction writes to a watched table (whose trigger changes it).
_EPOCH_READ = "caseroom.epoch_token"


def epoch_token(session: Session) -> str:
    kept = session.info.get(_EPOCH_READ)
    if kept is not None and kept[0] is session.get_transaction():
        token: str = kept[1]
        return token
    # On the session's connection, not through the ORM's execution (a third of the cost
    # of a live socket's holder, read at every event).
    token = session.connection().execute(_EPOCH).scalar_one()
    epoch_read(session, token)
    return token


def epoch_read(session: Session, token: str) -> None:
    """The token as a statement of this transaction read it (`accounts.person` reads it
    with the person, first of all)."""
    session.info[_EPOCH_READ] = (session.get_transaction(), token)


@sa_event.listens_for(Session, "after_transaction_end")
def _forget_token(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:
        session.info.pop(_EPOCH_READ, None)


@sa_event.listens_for(Session, "after_flush")
def _forget_token_after_own_change(session: Session, _context: Any) -> None:
    if _EPOCH_READ in session.info and any(
        getattr(type(row), "__tablename__", None) in _WATCHED
        for row in (*session.new, *session.dirty, *session.deleted)
    ):
        session.info.pop(_EPOCH_READ, None)


@sa_event.listens_for(Session, "do_orm_execute")
def _forget_token_after_own_statement(state: ORMExecuteState) -> None:
    """A statement that may write (DML on a watched table, or any SQL text) ends the
    token's use: the triggers will have changed it under this transaction."""
    if _EPOCH_READ not in state.session.info or state.is_select:
        return
    table = getattr(state.statement, "table", None)
    if table is None or getattr(table, "name", None) in _WATCHED:
        state.session.info.pop(_EPOCH_READ, None)


class RememberedRows:
    """What was read of each person (`PrincipalRows`, one person each) and of each room's
    guests, kept while the access epoch (workspace/models/epoch.py) has the token it was
    read with. The token is read first, in the caller's transaction: rows read after it
    are as new as it or newer, never older. One row read instead of five tables on every
    request and socket event; bounded, least recently used first out."""

    def __init__(self, size: int = 4096) -> None:
        self.size = size
        self._kept: OrderedDict[tuple[str, str], tuple[str, Any]] = OrderedDict()
        self._lock = threading.Lock()

    def rows(self, session: Session, user: User) -> PrincipalRows:
        # The user row is the caller's (read by the request, or remembered by a socket
        # while the epoch, which watches its columns since migration 0026, is unchanged):
        # their organisation is part of the key, as its kind is read with the rows.
        key = ("person", f"{user.id}/{user.organisation_id}")
        rows: PrincipalRows = self._remembered(
            session, key, lambda: PrincipalRows.load(session, [user])
        )
        return rows

    def guests(self, session: Session, room_id: str) -> tuple[GuestPlace, ...]:
        """The room's guests whose membership was not revoked, each with its end (asked on
        every post, edit and read receipt, for whom to tell by name)."""

        def load() -> tuple[GuestPlace, ...]:
            found = session.exec(_GUESTS.where(col(Membership.room_id) == room_id))
            return tuple(GuestPlace(user_id, ends) for user_id, ends in found)

        guests: tuple[GuestPlace, ...] = self._remembered(session, ("guests", room_id), load)
        return guests

    def _remembered(self, session: Session, key: tuple[str, str], load: Callable[[], Any]) -> Any:
        token = epoch_token(session)
        with self._lock:
            kept = self._kept.get(key)
            if kept is not None and kept[0] == token:
                self._kept.move_to_end(key)
                return kept[1]
        value = load()
        with self._lock:
            self._kept[key] = (token, value)
            self._kept.move_to_end(key)
            while len(self._kept) > self.size:
                self._kept.popitem(last=False)
        return value


class GuestPlace(NamedTuple):
    user_id: str
    expires_at: datetime | None


_GUESTS = select(Membership.user_id, Membership.expires_at).where(
    col(Membership.role) == "guest", col(Membership.revoked_at).is_(None)
)


remembered = RememberedRows()


def _shares_by_lead(people: list[str]) -> Any:
    """Rule 3: items "the lead explicitly shared" with these people. A share counts only
    if whoever decided it held the room's lead membership at that moment (lead transfers
    keep history)."""
    lead_then = (
        select(Membership.id)
        .where(
            Membership.room_id == SharingDecision.room_id,
            Membership.user_id == SharingDecision.decided_by_id,
            Membership.role == "lead",
            col(Membership.joined_at) <= col(SharingDecision.created_at),
            col(Membership.revoked_at).is_(None)
            | (col(Membership.revoked_at) > col(SharingDecision.created_at)),
        )
        .exists()
    )
    return select(
        SharingDecision.with_user_id, SharingDecision.item_id, SharingDecision.created_at
    ).where(
        col(SharingDecision.with_user_id).in_(people),
        SharingDecision.decision == "share",
        col(SharingDecision.item_id).is_not(None),
        lead_then,
    )


class MembershipRow(NamedTuple):
    id: str
    user_id: str
    room_id: str
    role: str
    joined_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None


class GlassRow(NamedTuple):
    id: str
    user_id: str
    room_id: str
    started_at: datetime
    expires_at: datetime


_MEMBERSHIPS = sa_select(
    *(col(c) for c in (Membership.id, Membership.user_id, Membership.room_id, Membership.role)),
    *(col(c) for c in (Membership.joined_at, Membership.expires_at, Membership.revoked_at)),
)
_GLASS = sa_select(
    *(col(c) for c in (BreakGlass.id, BreakGlass.user_id, BreakGlass.room_id)),
    *(col(c) for c in (BreakGlass.started_at, BreakGlass.expires_at)),
)


@dataclass(frozen=True)
class PrincipalRows:
    """What the policy needs to know of some people, read in five queries however many
    they are; `principal` then builds each of them as of any moment without the database
    (a page that asks the policy about every member, or about one member at the time of
    each file, reads these rows once). Plain values, not ORM objects, so they can be kept
    beyond the session that read them (`RememberedRows`)."""

    org_kinds: dict[str, str]
    # Each organisation's front-door (MASH) team, if it has one (issue #14).
    front_doors: dict[str, str | None]
    memberships: dict[str, list[MembershipRow]]
    managed: dict[str, list[str]]
    glass: dict[str, list[GlassRow]]
    shared: dict[str, list[tuple[str, datetime]]]

    @classmethod
    def load(cls, session: Session, users: Iterable[User]) -> PrincipalRows:
        users = list(users)
        people = list(dict.fromkeys(u.id for u in users))
        org_ids = list({u.organisation_id for u in users})
        org_kinds: dict[str, str] = {}
        front_doors: dict[str, str | None] = {}
        for org_id, kind, front_door in session.exec(
            select(Organisation.id, Organisation.kind, Organisation.front_door_team_id).where(
                col(Organisation.id).in_(org_ids)
            )
        ):
            org_kinds[org_id], front_doors[org_id] = kind, front_door
        memberships: dict[str, list[MembershipRow]] = {}
        for row in session.execute(_MEMBERSHIPS.where(col(Membership.user_id).in_(people))):
            m = MembershipRow(*row)
            memberships.setdefault(m.user_id, []).append(m)
        managed: dict[str, list[str]] = {}
        for user_id, team_id in session.exec(
            select(TeamManager.user_id, TeamManager.team_id).where(
                col(TeamManager.user_id).in_(people)
            )
        ):
            managed.setdefault(user_id, []).append(team_id)
        glass: dict[str, list[GlassRow]] = {}
        for row in session.execute(_GLASS.where(col(BreakGlass.user_id).in_(people))):
            g = GlassRow(*row)
            glass.setdefault(g.user_id, []).append(g)
        shared: dict[str, list[tuple[str, datetime]]] = {}
        for user_id, item_id, created_at in session.exec(_shares_by_lead(people)):
            if user_id and item_id:
                shared.setdefault(user_id, []).append((item_id, created_at))
        return cls(org_kinds, front_doors, memberships, managed, glass, shared)

    def principal(self, user: User, now: datetime) -> Principal:
        """In a fixed order (rows come back from the database in none), so the same facts
        make the same principal on every request and its remembered decisions are found
        again (policy/decision_cache.py)."""
        return Principal(
            id=user.id,
            org_id=user.organisation_id,
            org_kind=self.org_kinds[user.organisation_id],
            team_id=user.team_id,
            org_role=user.org_role,
            now_ts=ts(now),
            front_door=user.team_id is not None
            and self.front_doors.get(user.organisation_id) == user.team_id,
            managed_team_ids=tuple(sorted(self.managed.get(user.id, ()))),
            memberships=tuple(
                MembershipFact(
                    room_id=m.room_id,
                    role=m.role,
                    joined_ts=ts(m.joined_at),
                    expires_ts=ts(m.expires_at) if m.expires_at else None,
                    # As of `now`, so the same facts answer "could they read it then?"
                    revoked=m.revoked_at is not None and utc(m.revoked_at) <= now,
                )
                for m in sorted(
                    self.memberships.get(user.id, ()), key=lambda m: (m.room_id, m.joined_at, m.id)
                )
            ),
            break_glass=tuple(
                BreakGlassFact(g.room_id, ts(g.expires_at))
                for g in sorted(self.glass.get(user.id, ()), key=lambda g: (g.room_id, g.id))
                if utc(g.started_at) <= now < utc(g.expires_at)
            ),
            shared_item_ids=tuple(
                sorted(item for item, at in self.shared.get(user.id, ()) if utc(at) <= now)
            ),
        )


def room_fact(room: Room, lead: User) -> RoomFact:
    return RoomFact(
        id=room.id,
        status=room.status,
        lead_user_id=room.lead_user_id,
        lead_org_id=lead.organisation_id,
        lead_team_id=lead.team_id,
        child_id=room.child_id,
    )


def message_fact(message: Message, room: RoomFact) -> MessageFact:
    return MessageFact(
        id=message.id,
        room=room,
        author_id=message.author_id,
        author_org_id=message.author_org_id,
        sensitivity=message.sensitivity,
        created_ts=ts(message.created_at),
    )


def contact_fact(contact: Contact) -> ContactFact:
    return ContactFact(
        id=contact.id, org_id=contact.org_id, status=contact.status, reporter_id=contact.reporter_id
    )


def photo_offer_fact(
    photo: ContactPhotoFact, recipient: User, in_room: bool
) -> PhotoOfferFact:
    return PhotoOfferFact(photo, recipient.id, recipient.organisation_id, in_room)


def contact_photo_fact(
    photo: ContactPhoto, contact: ContactFact, item: MessageFact | None
) -> ContactPhotoFact:
    return ContactPhotoFact(id=photo.id, contact=contact, item=item)


def agency_event_fact(event: AgencyEvent, item: MessageFact) -> AgencyEventFact:
    return AgencyEventFact(id=event.id, event_type=event.event_type, item=item)


def chronology_fact(
    entry_id: str,
    room: RoomFact,
    author_id: str,
    agency_id: str,
    sensitivity: str,
    occurred_at: datetime,
) -> ChronologyEntryFact:
    """An entry of the chronology is an item: by its agency, at the time it happened."""
    return ChronologyEntryFact(
        id=entry_id, room=room, author_id=author_id, author_org_id=agency_id,
        sensitivity=sensitivity, created_ts=ts(occurred_at),
    )  # fmt: skip


def file_fact(file: EncryptedFile, room: RoomFact) -> FileFact:
    """A file is an item like a message; its author is the uploader."""
    return FileFact(
        id=file.id,
        room=room,
        author_id=file.uploader_id,
        author_org_id=file.uploader_org_id,
        sensitivity=file.sensitivity,
        created_ts=ts(file.created_at),
    )


def plan_version_fact(
    version: PlanVersion, replaced_at: datetime | None, room: RoomFact
) -> PlanVersionFact:
    """A published plan version; `replaced_at`: when the next version was signed off."""
    return PlanVersionFact(
        id=version.id,
        room=room,
        version=version.version,
        signed_ts=ts(version.signed_at),
        superseded_ts=ts(replaced_at) if replaced_at else None,
    )


def account_fact(user: User) -> AccountFact:
    return AccountFact(id=user.id, org_id=user.organisation_id, role=user.org_role)


def audit_fact(event: AuditEvent | Recorded, room: Room | None, lead: User | None) -> AuditFact:
    return AuditFact(
        actor_id=event.actor_id,
        actor_org_id=event.actor_org_id,
        actor_team_id=event.actor_team_id,
        room_id=event.room_id,
        room_lead_user_id=room.lead_user_id if room else None,
        room_lead_org_id=lead.organisation_id if lead else None,
        room_lead_team_id=lead.team_id if lead else None,
    )
