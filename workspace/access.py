"""THE choke point. Every read and write of case data asks the policy here and writes an
audit event here, allowed or denied. Nothing else imports the policy.

Services receive an `Access` and load case data only through it: `room()`, `message()`,
`file()`, `require()` and the list filters. A denial is audited and committed before NotFound or
Forbidden is raised; an allowed event joins the caller's transaction, so if the audit
write fails the read or write fails with it.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, bindparam
from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session, col, select

from policy.authorizer import Authorizer
from policy.subjects import (
    WORKSPACE,
    AgencyEventFact,
    ContactFact,
    ContactPhotoFact,
    FileFact,
    ItemFact,
    MessageFact,
    PlanVersionFact,
    Principal,
    RoomFact,
)
from workspace import audience, visibility
from workspace.audit import Recorded
from workspace.clock import utc
from workspace.errors import AuditUnavailable, Forbidden, NotFound, Unauthorized
from workspace.events import LiveEvent
from workspace.facts import (
    PrincipalRows,
    account_fact,
    agency_event_fact,
    contact_fact,
    contact_photo_fact,
    file_fact,
    message_fact,
    plan_version_fact,
    principal_for,
    remembered,
    room_fact,
)
from workspace.models import (
    AgencyEvent,
    Child,
    Contact,
    ContactPhoto,
    EncryptedFile,
    Message,
    PlanVersion,
    Room,
    User,
)
from workspace.state import Caseroom

CHANNELS = ("web", "api", "socket", "email", "cli")


@dataclass(frozen=True)
class Origin:
    """Where a request came from, for the audit record."""

    channel: str
    request_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True)
class Target:
    resource_type: str
    resource_id: str | None = None
    room_id: str | None = None
    child_id: str | None = None


@dataclass(frozen=True)
class LoadedRoom:
    room: Room
    child: Child
    lead: User
    fact: RoomFact

    @property
    def target(self) -> Target:
        return Target("room", self.room.id, self.room.id, self.child.id)


@dataclass(frozen=True)
class LoadedMessage:
    message: Message
    room: LoadedRoom
    fact: MessageFact


@dataclass(frozen=True)
class LoadedAgencyEvent:
    event: AgencyEvent
    message: LoadedMessage
    fact: AgencyEventFact


@dataclass(frozen=True)
class LoadedContact:
    contact: Contact
    fact: ContactFact

    @property
    def target(self) -> Target:
        return Target("contact", self.contact.id, self.contact.room_id)


@dataclass(frozen=True)
class LoadedPhoto:
    """A photo on a concern (issue #14), with its concern and, once the concern is an
    item of a room, that room."""

    photo: ContactPhoto
    contact: LoadedContact
    room: LoadedRoom | None
    fact: ContactPhotoFact

    @property
    def target(self) -> Target:
        room = self.room
        return Target(
            "contact_photo",
            self.photo.id,
            room.room.id if room else None,
            room.child.id if room else None,
        )


@dataclass(frozen=True)
class LoadedFile:
    file: EncryptedFile
    room: LoadedRoom
    fact: FileFact

    @property
    def target(self) -> Target:
        return Target("file", self.file.id, self.room.room.id, self.room.child.id)


@dataclass(frozen=True)
class LoadedVersion:
    """A published version of a room's plan (issue #11)."""

    version: PlanVersion
    room: LoadedRoom
    fact: PlanVersionFact

    @property
    def target(self) -> Target:
        return Target("plan_version", self.version.id, self.room.room.id, self.room.child.id)


class RoomActions(Collection[str]):
    """What the caller may do in a room, for choosing what to offer (unaudited, like
    `Access.allowed`). `"close" in actions` asks the policy about that action alone, once:
    a page asks about a dozen of a room's two dozen permissions, and the policy's list of
    them all (`Access.allowed_actions`, what iterating gives) costs more than those dozen
    questions. The principal and the room are those of when it was made, so asking later
    (as a template does) gives the answers of then. `ask` decides some actions at once,
    so that a page's template, rendered on the event loop, finds them decided."""

    def __init__(self, authorizer: Authorizer, principal: Principal, room: RoomFact) -> None:
        self._authorizer = authorizer
        self._principal = principal
        self._room = room
        self._answers: dict[str, bool] = {}
        self._all: frozenset[str] | None = None

    def ask(self, *actions: str) -> RoomActions:
        for action in actions:
            _ = action in self
        return self

    def __contains__(self, action: object) -> bool:
        if not isinstance(action, str):
            return False
        if self._all is not None:
            return action in self._all
        if action not in self._answers:
            self._answers[action] = self._authorizer.is_allowed(self._principal, action, self._room)
        return self._answers[action]

    def _everything(self) -> frozenset[str]:
        if self._all is None:
            self._all = frozenset(self._authorizer.allowed_actions(self._principal, self._room))
        return self._all

    def __iter__(self) -> Iterator[str]:
        return iter(self._everything())

    def __len__(self) -> int:
        return len(self._everything())


class People:
    """Other people as the policy sees them, for one service call that asks about several
    of them (a room's member list, read receipts, whom a file waits for): what the policy
    needs of them is read in one go (workspace/facts.py `PrincipalRows`) instead of once
    per question. The answers are those of `Access.user_may`, `user_may_at` and
    `messages_filter_for`; like them, for choosing what to show, recording nothing. Made
    for one call and dropped with it: it does not see changes made after it was read."""

    def __init__(self, access: Access, users: Iterable[User]) -> None:
        self._access = access
        self._rows = PrincipalRows.load(access.session, users)
        self._principals: dict[tuple[str, datetime], Principal] = {}
        self._rooms: dict[str, LoadedRoom | None] = {}

    def principal(self, user: User, at: datetime | None = None) -> Principal:
        when = at or self._access.now
        key = (user.id, when)
        if key not in self._principals:
            self._principals[key] = self._rows.principal(user, when)
        return self._principals[key]

    def may(self, user: User, action: str, fact: Any) -> bool:
        """As `Access.user_may`."""
        return self._access.app.authorizer.is_allowed(self.principal(user), action, fact)

    def may_at(self, user: User, action: str, item: Message | EncryptedFile, at: datetime) -> bool:
        """As `Access.user_may_at`."""
        if item.room_id not in self._rooms:
            self._rooms[item.room_id] = self._access.room_for_user(item.room_id)
        fact = self._access._item_fact_at(item, at, self._rooms[item.room_id])
        if fact is None:
            return False
        return self._access.app.authorizer.is_allowed(self.principal(user, at), action, fact)

    def files_filter(self, user: User, room: LoadedRoom) -> ColumnElement[bool]:
        """The files of the room they may read now (the policy in the query, as
        `Access.files_filter` is the caller's): many `may(user, "read", file)` in one."""
        return visibility.files_clause(self._access.app.authorizer, self.principal(user), room.fact)

    def messages_filter(self, user: User, room: LoadedRoom) -> ColumnElement[bool]:
        """As `Access.messages_filter_for`: what they may read in the room (for the
        caller, their own filter, which is the same)."""
        me = self._access.user
        if me is not None and user.id == me.id:
            return self._access.messages_filter(room)
        return visibility.messages_clause(
            self._access.app.authorizer, self.principal(user), room.fact
        )


# Built once: loading a room is on the path of nearly every request and socket event.
_LOAD_ROOM = (
    select(Room, Child, User)
    .join(Child, col(Child.id) == col(Room.child_id))
    .join(User, col(User.id) == col(Room.lead_user_id))
    .where(col(Room.id) == bindparam("room_id"))
)


class Access:
    def __init__(
        self,
        app: Caseroom,
        session: Session,
        user: User | None,
        origin: Origin,
        purpose: str | None = None,
        *,
        savepoint: SessionTransaction | None = None,
    ) -> None:
        self.app = app
        self.session = session
        # Set when this unit of work shares its transaction with others (socket events
        # written together, realtime/group_commit.py): what it alone wrote is undone there.
        self.savepoint = savepoint
        self.user = user
        self.origin = origin
        self.purpose = purpose
        self.now = app.clock.now()
        # Live events to publish once this unit of work has committed.
        self.events: list[LiveEvent] = []
        self.principal: Principal | None = (
            principal_for(session, user, self.now) if user is not None else None
        )
        # The caller's list filters, by room as it was loaded: built from the principal
        # and the room's facts alone, so kept until the principal changes.
        self._filters: dict[tuple[str, RoomFact], ColumnElement[bool]] = {}

    def emit(self, event: LiveEvent) -> None:
        self.events.append(event)

    # --- identity ---------------------------------------------------------------------

    def require_user(self) -> User:
        if self.user is None:
            raise Unauthorized()
        return self.user

    def require_principal(self) -> Principal:
        if self.principal is None:
            raise Unauthorized()
        return self.principal

    def refresh_principal(self) -> None:
        """After a membership change inside this unit of work."""
        if self.user is not None:
            self.principal = principal_for(self.session, self.user, self.now)
            self._filters.clear()

    # --- audit ------------------------------------------------------------------------

    def record(
        self,
        action: str,
        target: Target,
        *,
        outcome: str = "allowed",
        purpose: str | None = None,
        actor: User | None = None,
    ) -> Recorded:
        """Record an event in this unit of work's transaction; it is written into the
        chain when the transaction commits (workspace/audit.py `AuditWriter.record`)."""
        actor = actor or self.user
        try:
            return self.app.audit.record(
                self.session,
                actor_id=actor.id if actor else None,
                actor_org_id=actor.organisation_id if actor else None,
                actor_team_id=actor.team_id if actor else None,
                action=action,
                resource_type=target.resource_type,
                resource_id=target.resource_id,
                room_id=target.room_id,
                child_id=target.child_id,
                outcome=outcome,
                purpose=purpose or self.purpose,
                channel=self.origin.channel,
                request_id=self.origin.request_id,
                ip=self.origin.ip,
                user_agent=(self.origin.user_agent or "")[:500] or None,
            )
        except Exception as exc:
            raise AuditUnavailable() from exc

    def deny(
        self, action: str, target: Target, *, conceal: bool, purpose: str | None = None
    ) -> None:
        """Record the refusal on its own (nothing else of this unit of work survives) and
        raise. `conceal`: the caller may not know the thing exists, so answer 404."""
        self.record_refusal(action, target, purpose=purpose)
        raise NotFound() if conceal else Forbidden()

    def record_refusal(
        self, action: str, target: Target, *, purpose: str | None = None,
        actor: User | None = None,
    ) -> None:  # fmt: skip
        """Undo this unit of work and keep only the refusal, committed; the caller raises
        what the refused party is told."""
        # Sharing its transaction (group commit), only this unit's work is undone and the
        # refusal is committed with the group.
        (self.savepoint or self.session).rollback()
        self.record(action, target, outcome="denied", purpose=purpose, actor=actor)
        if self.savepoint is None:
            self.session.commit()

    # --- decisions --------------------------------------------------------------------

    def allowed(self, action: str, fact: Any) -> bool:
        """A decision without an audit record: only for choosing what to offer (buttons,
        links), never for releasing data."""
        return self.principal is not None and self.app.authorizer.is_allowed(
            self.principal, action, fact
        )

    def holds(self, rule: str, *args: Any) -> bool:
        """Whether a named rule of the policy holds of plain values, e.g.
        `grantable_role("manager")`: what may be chosen, not access to anything (that is
        decided, and audited, by `require`/`account`)."""
        return self.app.authorizer.holds(rule, *args)

    def may(self, action: str) -> bool:
        """A workspace-wide decision (open a room, review the log), for choosing what to
        offer; unaudited like `allowed`."""
        return self.allowed(action, WORKSPACE)

    def user_may(self, other: User, action: str, fact: Any) -> bool:
        """What the policy says of someone else (e.g. whether they may join a room)."""
        principal = principal_for(self.session, other, self.now)
        return self.app.authorizer.is_allowed(principal, action, fact)

    def user_may_at(
        self, other: User, action: str, item: Message | EncryptedFile, at: datetime
    ) -> bool:
        """What the policy said of someone and an item at a past moment (access review; who
        was entitled to a file when it was uploaded): their memberships, and the room's
        status, as they were then."""
        fact = self._item_fact_at(item, at, self._load_room(item.room_id))
        if fact is None:
            return False
        principal = principal_for(self.session, other, at)
        return self.app.authorizer.is_allowed(principal, action, fact)

    def _item_fact_at(
        self, item: Message | EncryptedFile, at: datetime, loaded: LoadedRoom | None
    ) -> ItemFact | None:
        """An item as the policy saw it at `at`: in its room as the room was then."""
        if loaded is None:
            return None
        closed = loaded.room.closed_at is not None and utc(loaded.room.closed_at) <= at
        room = replace(loaded.fact, status="closed" if closed else "open")
        return message_fact(item, room) if isinstance(item, Message) else file_fact(item, room)

    def people(self, users: Iterable[User]) -> People:
        """Several other people as the policy sees them, read from the database at once:
        for a service that asks the same question of each of them (see `People`)."""
        return People(self, users)

    def roles_in(self, room: LoadedRoom) -> set[str]:
        return self.app.authorizer.roles(self.require_principal(), room.fact)

    def allowed_actions(self, room: LoadedRoom) -> frozenset[str]:
        return frozenset(self.app.authorizer.allowed_actions(self.require_principal(), room.fact))

    def room_actions(self, room: LoadedRoom) -> RoomActions:
        """What the caller may do in a room, decided as it is asked (see RoomActions)."""
        return RoomActions(self.app.authorizer, self.require_principal(), room.fact)

    def require(
        self,
        action: str,
        fact: Any,
        target: Target,
        *,
        conceal: bool = False,
        audit_as: str | None = None,
    ) -> None:
        if self.allowed(action, fact):
            self.record(audit_as or action, target)
        else:
            self.deny(audit_as or action, target, conceal=conceal)

    def require_workspace(
        self, action: str, *, conceal: bool = False, audit_as: str | None = None
    ) -> None:
        self.require(action, WORKSPACE, Target("workspace"), conceal=conceal, audit_as=audit_as)

    # --- loading case data ------------------------------------------------------------

    def room(
        self,
        room_id: str,
        action: str = "view",
        *,
        audit_as: str | None = None,
        purpose: str | None = None,
    ) -> LoadedRoom:
        """Load a room for `action` (recorded as `audit_as` when the use is more specific,
        e.g. a search is a `list_messages`). Unknown and invisible rooms look the same: 404."""
        name = audit_as or action
        loaded = self._load_room(room_id)
        if loaded is None:
            self.deny(name, Target("room", room_id, room_id), conceal=True, purpose=purpose)
            raise AssertionError("unreachable")
        if not self.allowed(action, loaded.fact):
            self.deny(
                name,
                loaded.target,
                conceal=not self.allowed("view", loaded.fact),
                purpose=purpose,
            )
        self.record(name, loaded.target, purpose=purpose)
        return loaded

    def room_in_session(self, room_id: str, action: str, *, audit_as: str) -> LoadedRoom:
        """As `room()`, for an event of a live session whose start was recorded (a socket
        joined to a plan): decided by the policy on every event, every refusal recorded,
        but an allowed event is not recorded again (a plan's edits are audited once per
        person per editing session, not per keystroke; DESIGN.md §4)."""
        loaded = self._load_room(room_id)
        if loaded is None:
            self.deny(audit_as, Target("room", room_id, room_id), conceal=True)
            raise AssertionError("unreachable")
        if not self.allowed(action, loaded.fact):
            self.deny(audit_as, loaded.target, conceal=not self.allowed("view", loaded.fact))
        return loaded

    def message(self, message_id: str, action: str = "read") -> LoadedMessage:
        message = self.session.get(Message, message_id)
        loaded = self._load_room(message.room_id) if message else None
        if message is None or loaded is None:
            self.deny(action, Target("message", message_id), conceal=True)
            raise AssertionError("unreachable")
        fact = message_fact(message, loaded.fact)
        target = Target("message", message.id, loaded.room.id, loaded.child.id)
        if not self.allowed(action, fact):
            self.deny(action, target, conceal=not self.allowed("read", fact))
        self.record(action, target)
        return LoadedMessage(message, loaded, fact)

    def contact(
        self, contact_id: str, action: str, *, audit_as: str | None = None
    ) -> LoadedContact:
        """A contact at the front door (issue #14), for `action` (read, decide, add_photo).
        Unknown and not the caller's to read look the same: 404; decided already: 403."""
        name = audit_as or action
        contact = self.session.get(Contact, contact_id)
        if contact is None:
            self.deny(name, Target("contact", contact_id), conceal=True)
            raise AssertionError("unreachable")
        loaded = LoadedContact(contact, contact_fact(contact))
        if not self.allowed(action, loaded.fact):
            self.deny(name, loaded.target, conceal=not self.allowed("read", loaded.fact))
        self.record(name, loaded.target)
        return loaded

    def contact_photo(
        self, photo_id: str, action: str = "read", *, audit_as: str | None = None
    ) -> LoadedPhoto:
        """A photo on a concern, for `action` (read, wrap_key), as `file()` loads a file:
        unknown, unreadable and not yet uploaded (but by its uploader) all answer 404."""
        name = audit_as or action
        photo = self.session.get(ContactPhoto, photo_id)
        contact = self.session.get(Contact, photo.contact_id) if photo else None
        unfinished = (
            photo is not None
            and photo.content_state != "stored"
            and (self.user is None or photo.uploader_id != self.user.id)
        )
        if photo is None or contact is None or unfinished:
            self.deny(name, Target("contact_photo", photo_id), conceal=True)
            raise AssertionError("unreachable")
        loaded = self.loaded_photo(photo, contact)
        if not self.allowed(action, loaded.fact):
            self.deny(name, loaded.target, conceal=not self.allowed("read", loaded.fact))
        self.record(name, loaded.target)
        return loaded

    def loaded_photo(self, photo: ContactPhoto, contact: Contact) -> LoadedPhoto:
        """Load without deciding (a prototype's facts, to ask who may read it)."""
        return self._photos([photo], contact)[0]

    def _photos(self, photos: Sequence[ContactPhoto], contact: Contact) -> list[LoadedPhoto]:
        """Photos of one concern, with the concern and the item it became (read once)."""
        held = LoadedContact(contact, contact_fact(contact))
        message = self.session.get(Message, contact.message_id) if contact.message_id else None
        room = self._load_room(message.room_id) if message else None
        item = message_fact(message, room.fact) if message and room else None
        return [LoadedPhoto(p, held, room, contact_photo_fact(p, held.fact, item)) for p in photos]

    def photos_of(self, contact: Contact) -> list[LoadedPhoto]:
        """The stored photos of a concern the caller may read (unaudited, like `allowed`:
        for the page that shows the concern, which audited reading it)."""
        found = self.session.exec(
            select(ContactPhoto)
            .where(
                col(ContactPhoto.contact_id) == contact.id,
                col(ContactPhoto.content_state) == "stored",
            )
            .order_by(col(ContactPhoto.created_at), col(ContactPhoto.id))
        ).all()
        return [p for p in self._photos(found, contact) if self.allowed("read", p.fact)]

    def agency_event(self, message_id: str, action: str) -> LoadedAgencyEvent:
        """The agency event an item of a room is (issue #14), for `action` (acknowledge):
        unknown, not an agency event, and not readable all look the same: 404."""
        message = self.session.get(Message, message_id)
        loaded = self._load_room(message.room_id) if message else None
        event = (
            self.session.exec(
                select(AgencyEvent).where(col(AgencyEvent.message_id) == message_id)
            ).first()
            if message
            else None
        )
        if message is None or loaded is None or event is None:
            self.deny(action, Target("message", message_id), conceal=True)
            raise AssertionError("unreachable")
        item = message_fact(message, loaded.fact)
        fact = agency_event_fact(event, item)
        target = Target("agency_event", event.id, loaded.room.id, loaded.child.id)
        if not self.allowed(action, fact):
            self.deny(action, target, conceal=not self.allowed("read", item))
        self.record(action, target)
        return LoadedAgencyEvent(event, LoadedMessage(message, loaded, item), fact)

    def file(
        self, file_id: str, action: str = "read", *, audit_as: str | None = None
    ) -> LoadedFile:
        """Load an encrypted file for `action`, as `message()` does a message (a download
        is audited as `download_file`, a view of the file). A file whose ciphertext has not
        arrived yet is not an item of the room: only its uploader knows of it."""
        name = audit_as or action
        file = self.session.get(EncryptedFile, file_id)
        loaded = self._load_room(file.room_id) if file else None
        unfinished = (
            file is not None
            and file.content_state != "stored"
            and (self.user is None or file.uploader_id != self.user.id)
        )
        if file is None or loaded is None or unfinished:
            self.deny(name, Target("file", file_id), conceal=True)
            raise AssertionError("unreachable")
        fact = file_fact(file, loaded.fact)
        result = LoadedFile(file, loaded, fact)
        if not self.allowed(action, fact):
            self.deny(name, result.target, conceal=not self.allowed("read", fact))
        self.record(name, result.target)
        return result

    def plan_version(
        self, room_id: str, number: int, action: str = "read", *, audit_as: str | None = None
    ) -> LoadedVersion:
        """Load version `number` of a room's plan for `action`, as `message()` does a
        message: an unknown version, or one the caller may not read (rule 3: a guest and the
        versions replaced before they joined), looks the same: 404."""
        name = audit_as or action
        loaded = self._load_room(room_id)
        version = (
            self.session.exec(
                select(PlanVersion).where(
                    col(PlanVersion.room_id) == room_id, col(PlanVersion.version) == number
                )
            ).first()
            if loaded is not None
            else None
        )
        if loaded is None or version is None:
            child_id = loaded.child.id if loaded else None
            self.deny(name, Target("plan_version", None, room_id, child_id), conceal=True)
            raise AssertionError("unreachable")
        replaced_at = self.session.exec(
            select(PlanVersion.signed_at).where(
                col(PlanVersion.room_id) == room_id, col(PlanVersion.version) == number + 1
            )
        ).first()
        fact = plan_version_fact(version, replaced_at, loaded.fact)
        result = LoadedVersion(version, loaded, fact)
        if not self.allowed(action, result.fact):
            self.deny(name, result.target, conceal=True)
        self.record(name, result.target)
        return result

    def account(
        self,
        user: User,
        action: str = "manage",
        *,
        audit_as: str | None = None,
        target: Target | None = None,
        purpose: str | None = None,
    ) -> None:
        """Decide an action on someone's account (rule 9). Refused: the caller learns
        nothing of it (404). Both outcomes are audited (with `purpose`: why)."""
        name = audit_as or action
        target = target or Target("user", user.id)
        if not self.allowed(action, account_fact(user)):
            self.deny(name, target, conceal=True, purpose=purpose)
        self.record(name, target, purpose=purpose)

    def room_for_user(self, room_id: str) -> LoadedRoom | None:
        """Load without deciding: for services that authorise the result themselves."""
        return self._load_room(room_id)

    def _load_room(self, room_id: str) -> LoadedRoom | None:
        row = self.session.exec(_LOAD_ROOM, params={"room_id": room_id}).first()
        if row is None:
            return None
        room, child, lead = row
        return LoadedRoom(room, child, lead, room_fact(room, lead))

    # --- list filters (the policy in the query) ---------------------------------------

    def rooms_filter(self) -> ColumnElement[bool]:
        return visibility.rooms_clause(self.app.authorizer, self.require_principal(), self.now)

    def overseen_rooms_filter(self) -> ColumnElement[bool]:
        """The rooms the caller oversees (issue #12): whom they may know about, not what
        is in them."""
        return visibility.overseen_rooms_clause(self.app.authorizer, self.require_principal())

    def messages_filter(self, room: LoadedRoom | RoomFact) -> ColumnElement[bool]:
        fact = room.fact if isinstance(room, LoadedRoom) else room
        key = ("messages", fact)
        if key not in self._filters:  # a page asks it of several of its parts
            self._filters[key] = visibility.messages_clause(
                self.app.authorizer, self.require_principal(), fact
            )
        return self._filters[key]

    def files_filter(self, room: LoadedRoom | RoomFact) -> ColumnElement[bool]:
        """The files of a room the caller may read: the message rules, on the file table."""
        fact = room.fact if isinstance(room, LoadedRoom) else room
        key = ("files", fact)
        if key not in self._filters:
            self._filters[key] = visibility.files_clause(
                self.app.authorizer, self.require_principal(), fact
            )
        return self._filters[key]

    def plan_versions_filter(self, room: LoadedRoom) -> ColumnElement[bool]:
        """The published versions of the room's plan the caller may read (rule 3)."""
        return visibility.plan_versions_clause(
            self.app.authorizer, self.require_principal(), room.fact
        )

    def messages_filter_for(self, user: User, room: LoadedRoom) -> ColumnElement[bool]:
        """What someone else may read in a room (for read receipts shown to the caller)."""
        principal = principal_for(self.session, user, self.now)
        return visibility.messages_clause(self.app.authorizer, principal, room.fact)

    def live_subscriptions(self, room: LoadedRoom) -> frozenset[str]:
        """The socket channels of this room the caller's sockets may listen on."""
        return audience.subscriptions(self.app.authorizer, self.require_principal(), room.fact)

    def guest_readers(self, item: ItemFact) -> tuple[str, ...]:
        """The guests of the item's room who may read it now: guests join no item channel
        (workspace/audience.py), so news of an item reaches each of them by name. Asked
        on every post, edit and read receipt: who they are is remembered (workspace/facts.py)."""
        readers = set()
        for guest_id, ends in remembered.guests(self.session, item.room.id):
            if ends is not None and utc(ends) <= self.now:
                continue
            guest = self.session.get(User, guest_id)
            if guest is not None and self.user_may(guest, "read", item):
                readers.add(guest.id)
        return tuple(sorted(readers))

    def accounts_filter(self) -> ColumnElement[bool]:
        """The people (a clause on User) whose accounts the caller manages (rule 9)."""
        return visibility.accounts_clause(self.app.authorizer, self.require_principal())

    def audit_filter(self) -> ColumnElement[bool]:
        return visibility.audit_clause(self.require_principal())
