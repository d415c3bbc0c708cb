"""Raising a concern, and the local authority's front door (issue #14).

A practitioner raises a concern about a child from a phone (what happened, when, where,
who told them, the child's own words, what they did). If they are in the child's open room
it goes straight there, as an item. Otherwise, like an agency event that matched no room,
it becomes a *contact* at the front door (MASH) of the local authority: the team it set up
to triage (`caseroom org front-door ORG --team TEAM`). Triagers rate each contact (RAG),
see how long it has waited against the target (`CASEROOM_FRONT_DOOR_TARGET_DAYS` working
days), the open room it matches (who leads it, as the duplicate check tells anyone), and
decide: open a room (the child's details filled in; the duplicate check applies), attach it
to the matching room (it becomes an item there and the lead is told), or close it with a
recorded reason. Moving a contact into a room is a sharing decision (golden rule 7), kept
in the room's sharing record. Who may do each is the policy's (`raise_concern`, `triage`,
and `read` / `decide` of a Contact); every read and decision is audited.
"""

from __future__ import annotations

import dataclasses
import secrets
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator
from sqlmodel import col, select

from workspace.access import Access, LoadedRoom, Target
from workspace.clock import utc
from workspace.errors import Conflict, Invalid
from workspace.facts import contact_fact
from workspace.identifiers import match_keys
from workspace.models import AgencyEvent, Contact, Message, Organisation, SharingDecision, User
from workspace.models.agency import CLOSE_REASONS
from workspace.schemas import (
    ChildIdentifiersIn,
    ChildIn,
    Name,
    RoomIn,
    Sensitivity,
    Strict,
    Text,
    When,
)
from workspace.services import messages, notifications, rooms, should_i_share
from workspace.services.files import photos
from workspace.services.files.photos import PhotoView
from workspace.workdays import ENGLAND, add_working_days, uk_date

RAISE = "raise_concern"
TRIAGE = "triage"

Words = Annotated[str, StringConstraints(strip_whitespace=True, max_length=2000)]


class ConcernChildIn(ChildIdentifiersIn):
    """Whatever the reporter knows of the child: a name is enough to raise a concern."""

    name: Name


class ConcernIn(Strict):
    """`POST /api/v1/concerns` and the "Raise a concern" page."""

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)

    child: ConcernChildIn
    what_happened: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=1, max_length=4000)
    ]
    happened_at: When | None = None
    place: Text | None = None
    who_told: Annotated[str, StringConstraints(strip_whitespace=True, max_length=500)] | None = None
    child_words: Words | None = Field(default=None, description="What the child said, as said.")
    action_taken: Words | None = None
    sensitivity: Sensitivity = "room"
    # The reporter's answers to "Should I share?" ("question:answer", in order), if they
    # worked through it first: kept with the concern as their sharing decision.
    should_i_share: list[Annotated[str, StringConstraints(max_length=80)]] | None = Field(
        default=None, max_length=20
    )

    @field_validator("happened_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime | None) -> datetime | None:
        from workspace.clock import clock  # the app's clock, so tests and server agree

        if value is not None and value > clock.now():
            raise ValueError("cannot be in the future")
        return value


@dataclass(frozen=True)
class ConcernReceipt:
    """What the reporter is told: the reference to quote, and where the concern went."""

    reference: str
    went_to: Literal["room", "front_door"]
    room_id: str | None
    # For adding photos to it (POST /concerns/{id}/photos), which only the reporter may.
    contact_id: str


def raise_concern(access: Access, data: ConcernIn) -> ConcernReceipt:
    reporter = access.require_user()
    access.require_workspace(RAISE)
    child = data.child
    keys = match_keys(child.name, child.date_of_birth, child.nhs_number, child.upn)
    room_id = rooms.open_room_for(access, keys) if keys else None
    loaded = access.room_for_user(room_id) if room_id else None
    version, dialogue = should_i_share.kept_for_concern(access, data.should_i_share or []) or (
        None, None)  # fmt: skip
    contact = Contact(
        reference=_new_reference(access),
        org_id=_front_door_org(access),
        source="concern",
        reporter_id=reporter.id,
        reporter_org_id=reporter.organisation_id,
        child_name=child.name,
        child_date_of_birth=child.date_of_birth,
        nhs_number=child.nhs_number,
        upn=child.upn,
        what_happened=data.what_happened,
        happened_at=data.happened_at,
        place=data.place,
        who_told=data.who_told or None,
        child_words=data.child_words or None,
        action_taken=data.action_taken or None,
        sensitivity=data.sensitivity,
        received_at=access.now,
        guidance_version=version,
        dialogue=dialogue,
    )
    if loaded is not None and access.allowed("post_message", loaded.fact):
        # The reporter is in the child's room: the concern is theirs to put there.
        access.record("post_message", loaded.target, purpose=f"concern {contact.reference}")
        contact.status, contact.org_id = "in_room", None
        access.session.add(contact)
        message = _into_room(access, contact, loaded)
        notifications.concern_in_room(access, loaded, message.id)
        return ConcernReceipt(contact.reference, "room", loaded.room.id, contact.id)
    access.session.add(contact)
    access.session.flush()
    access.record(RAISE, Target("contact", contact.id), purpose="to the front door")
    return ConcernReceipt(contact.reference, "front_door", None, contact.id)


def queue_agency_event(access: Access, event: AgencyEvent) -> Contact:
    """An agency event that matched no room waits at the front door."""
    contact = Contact(
        reference=_new_reference(access),
        org_id=_front_door_org(access),
        source="agency_event",
        agency_event_id=event.id,
        reporter_id=event.sender_id,
        reporter_org_id=event.sender_org_id,
        child_name=event.child_name,
        child_date_of_birth=event.child_date_of_birth,
        nhs_number=event.nhs_number,
        upn=event.upn,
        what_happened=event.summary,
        happened_at=event.occurred_at,
        place=event.place,
        sensitivity=event.sensitivity,
        received_at=access.now,
    )
    access.session.add(contact)
    return contact


def _new_reference(access: Access) -> str:
    alphabet = "ABCDEFGHJKLMNPQRTUVWXYZ2346789"  # nothing read two ways (O/0, I/1, S/5)
    while True:
        reference = "C-" + "".join(secrets.choice(alphabet) for _ in range(6))
        taken = access.session.exec(select(Contact.id).where(Contact.reference == reference))
        if taken.first() is None:
            return reference


def _front_door_org(access: Access) -> str | None:
    """The local authority whose front door takes what matches no room: the one that set
    up a front-door team (by name, if more than one has: one deployment, one authority
    in practice). None until one has: the contact waits and the README says how."""
    found = access.session.exec(
        select(Organisation.id)
        .where(
            col(Organisation.kind) == "local_authority",
            col(Organisation.front_door_team_id).is_not(None),
        )
        .order_by(col(Organisation.name))
    ).first()
    return found


# --- the queue ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Match:
    """The open room a contact's child matches, as the duplicate check tells anyone: who
    leads it. `visible`: the triager may open it themselves."""

    room_id: str
    reference: str
    lead_name: str
    lead_organisation: str
    visible: bool


@dataclass(frozen=True)
class ContactView:
    contact: Contact
    reporter: User
    reporter_organisation: Organisation
    due_at: datetime
    match: Match | None
    may_decide: bool
    overdue: bool
    photos: tuple[PhotoView, ...] = ()


def list_queue(access: Access, *, include_decided: bool = False) -> list[ContactView]:
    """The caller's front door: waiting contacts oldest first (then, if asked, decided)."""
    access.require_workspace(TRIAGE, conceal=True)
    user = access.require_user()
    query = select(Contact).where(col(Contact.org_id) == user.organisation_id)
    if not include_decided:
        query = query.where(col(Contact.status) == "waiting")
    found = access.session.exec(query.order_by(col(Contact.received_at))).all()
    views = [_view(access, c) for c in found if access.allowed("read", contact_fact(c))]
    access.record("list_contacts", Target("workspace"), purpose=f"{len(views)} contacts")
    return views


def read_contact(access: Access, contact_id: str) -> ContactView:
    """One contact, with the photos the reporter added (their keys are the caller's)."""
    contact = access.contact(contact_id, "read", audit_as="read_contact").contact
    view = _view(access, contact)
    return dataclasses.replace(view, photos=tuple(photos.views_of(access, contact)))


def _view(access: Access, contact: Contact) -> ContactView:
    reporter = access.session.get(User, contact.reporter_id)
    organisation = access.session.get(Organisation, contact.reporter_org_id)
    assert reporter is not None and organisation is not None
    received = utc(contact.received_at)
    local = received.astimezone(ENGLAND)
    due_day = add_working_days(uk_date(received), access.app.settings.front_door_target_days)
    due = datetime.combine(due_day, local.time(), tzinfo=ENGLAND)
    return ContactView(
        contact,
        reporter,
        organisation,
        utc(due),
        _match(access, contact),
        access.allowed("decide", contact_fact(contact)),
        contact.status == "waiting" and access.now > utc(due),
    )


def _match(access: Access, contact: Contact) -> Match | None:
    keys = match_keys(
        contact.child_name, contact.child_date_of_birth, contact.nhs_number, contact.upn
    )
    room_id = rooms.open_room_for(access, keys) if keys else None
    loaded = access.room_for_user(room_id) if room_id else None
    if loaded is None or contact.status != "waiting":
        return None
    # What the duplicate check would tell them, recorded in the room's access log as it is.
    access.record("lookup", loaded.target, purpose=f"front door: contact {contact.reference}")
    organisation = access.session.get(Organisation, loaded.lead.organisation_id)
    return Match(
        loaded.room.id,
        loaded.room.reference,
        loaded.lead.name,
        organisation.name if organisation else "",
        access.allowed("view", loaded.fact),
    )


class RatingIn(Strict):
    """`POST /api/v1/front-door/{id}/rating`: the triager's red, amber or green."""

    rag: Literal["red", "amber", "green"]


def set_rating(access: Access, contact_id: str, rag: Literal["red", "amber", "green"]) -> Contact:
    contact = access.contact(contact_id, "decide").contact
    contact.rag = rag
    access.session.add(contact)
    return contact


# --- decisions ------------------------------------------------------------------------------


class DecisionIn(Strict):
    """`POST /api/v1/front-door/{id}/decision`."""

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)

    decision: Literal["open_room", "attach", "close"]
    # open_room: the room to open (defaults to the contact's child and a child-in-need plan).
    room: RoomIn | None = None
    # close: why (one of CLOSE_REASONS), with an optional note.
    reason: str | None = None
    note: Annotated[str, StringConstraints(strip_whitespace=True, max_length=1000)] | None = None

    @model_validator(mode="after")
    def _reason_to_close(self) -> DecisionIn:
        if self.decision == "close" and self.reason not in CLOSE_REASONS:
            raise ValueError(f"reason must be one of: {', '.join(CLOSE_REASONS)}")
        return self


def room_for(contact: Contact) -> RoomIn | None:
    """The form to open a room, filled in from the contact (None: not enough to open one:
    a room needs the child's name and date of birth)."""
    if not contact.child_name or contact.child_date_of_birth is None:
        return None
    return RoomIn(
        title=None,
        plan_type="child_in_need",
        child=ChildIn(
            name=contact.child_name,
            date_of_birth=contact.child_date_of_birth,
            nhs_number=contact.nhs_number,
            upn=contact.upn,
        ),
    )


def decide(access: Access, contact_id: str, data: DecisionIn) -> ContactView:
    loaded = access.contact(contact_id, "decide")
    contact = loaded.contact
    user = access.require_user()
    if data.decision == "close":
        contact.status, contact.close_reason = "closed", data.reason
    elif data.decision == "open_room":
        wanted = data.room or room_for(contact)
        if wanted is None:
            raise Invalid(
                "Give the child's name and date of birth to open a room.",
                fields={"room": "required: the contact does not name the child fully"},
            )
        opened = rooms.create_room(access, wanted)  # the duplicate check applies
        room = access.room_for_user(opened.room.id)
        assert room is not None
        _moved(access, contact, room, with_user=None, what="opened a room")
        contact.status = "opened"
    else:
        match = _match(access, contact)
        if match is None:
            raise Conflict("The child has no open room to attach this to; open one instead.")
        room = access.room_for_user(match.room_id)
        assert room is not None
        moved = _moved(access, contact, room, with_user=room.lead, what="attached to the room")
        notifications.contact_attached(access, room, moved.id)
        contact.status = "attached"
    contact.decided_by_id, contact.decided_at = user.id, access.now
    contact.decision_note = data.note or None
    access.session.add(contact)
    access.record(
        f"front_door_{data.decision}", loaded.target, purpose=contact.close_reason or None
    )
    return _view(access, contact)


def _moved(
    access: Access, contact: Contact, room: LoadedRoom, *, with_user: User | None, what: str
) -> Message:
    """The contact becomes an item of the room, and the move is a sharing decision."""
    message = _into_room(access, contact, room)
    access.session.add(
        SharingDecision(
            room_id=room.room.id,
            decided_by_id=access.require_user().id,
            what=f"front-door contact {contact.reference}",
            item_id=message.id,
            with_user_id=with_user.id if with_user else None,
            with_organisation_id=with_user.organisation_id if with_user else None,
            purpose=f"Front door: {what} (safeguarding)",
            lawful_basis="safeguarding",
            consent="not_sought",
            created_at=access.now,
        )
    )
    return message


def _into_room(access: Access, contact: Contact, room: LoadedRoom) -> Message:
    """Put what the contact says into the room as an item by whoever sent it: an agency
    event as itself (its alerts follow), a concern as the reporter's account (with their
    "Should I share?" decision, if they made one, in the room's sharing record)."""
    if contact.agency_event_id:
        from workspace.services import agency_events  # it queues here: import at use

        event = access.session.get(AgencyEvent, contact.agency_event_id)
        sender = access.session.get(User, contact.reporter_id)
        assert event is not None and sender is not None
        event.status, event.room_id = "matched", room.room.id
        message = agency_events.deliver(access, room, sender, event)
    else:
        reporter = access.session.get(User, contact.reporter_id)
        assert reporter is not None
        message = messages.insert_item(
            access,
            room,
            reporter,
            body=concern_text(contact),
            kind="third_party" if contact.who_told else "fact",
            sensitivity=contact.sensitivity,
        )
        messages.announce(access, room, message)
        if contact.guidance_version and contact.dialogue:
            access.session.add(
                should_i_share.decision_for_concern(
                    room, reporter.id, f"concern {contact.reference}", message.id,
                    contact.guidance_version, contact.dialogue, contact.received_at,
                )
            )  # fmt: skip
    contact.room_id, contact.message_id = room.room.id, message.id
    return message


def concern_text(contact: Contact) -> str:
    """The concern as one item: each part the reporter gave, under its question."""
    parts = [f"Concern raised ({contact.reference}): {contact.what_happened}"]
    if contact.happened_at:
        parts.append(f"When: {utc(contact.happened_at).astimezone(ENGLAND):%d %b %Y, %H:%M}")
    for label, value in (
        ("Where", contact.place),
        ("Who told me", contact.who_told),
        ("In the child's words", f"“{contact.child_words}”" if contact.child_words else None),
        ("What I did", contact.action_taken),
    ):
        if value:
            parts.append(f"{label}: {value}")
    return "\n".join(parts)
