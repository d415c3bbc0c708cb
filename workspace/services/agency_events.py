"""Agency events (issue #14): what partner systems tell us about a child, and who must act.

A police force's system reports a domestic abuse incident; an emergency department's
reports that a child was seen. Each sends with the API token of its organisation's
*integration* account (`caseroom user add … --role integration`), which the policy lets
send and nothing else: it holds no membership, so it reads no room, item or log.

- The child is matched against open rooms as the duplicate check matches them (exact NHS
  number or UPN; name and date of birth only when neither is given).
- Matched: the event becomes an item of the room (kind "agency_event", written by the
  sending organisation; rules 2 and 3 decide who reads it), delivered live like a post.
  Everyone the policy says must be told (`be_told`: the lead of every event they may read;
  for a domestic abuse incident the school in the room, its DSL) gets an alert in the app
  and a content-free email at once, and acknowledges it; a school's alert shows its
  deadline (Operation Encompass: before the start of the next school day) until then.
- Unmatched: the event waits for the front door (status "queued").
- The sender learns only whether the child is known and, if so, who leads the room and
  how to reach them (as NHS CP-IS answers a clinician), never content.
- The sender's reference makes a retry harmless: the same reference from the same
  organisation is one event (200 with the first answer).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator
from sqlalchemy.exc import IntegrityError
from sqlmodel import col, select

from workspace.access import Access, LoadedRoom, Target
from workspace.clock import utc
from workspace.errors import RateLimited
from workspace.facts import agency_event_fact, message_fact
from workspace.identifiers import match_keys
from workspace.models import AgencyAlert, AgencyEvent, Membership, Message, Organisation, User
from workspace.models.agency import EventType
from workspace.models.message import AGENCY_EVENT
from workspace.ratelimit import RateLimiter
from workspace.schemas import (
    ChildIdentifiersIn,
    OptionalName,
    Sensitivity,
    Strict,
    Text,
    When,
)
from workspace.services import front_door, messages, notifications, rooms
from workspace.workdays import next_school_day_start

SEND = "send_agency_event"
ACKNOWLEDGE = "acknowledge"
# A partner's clock may run a little ahead of ours; more than this is a wrong date.
CLOCK_LEEWAY = timedelta(minutes=5)
MAX_SUMMARY = 2000

# Per sending account: a busy force sends a few a minute; a loop sending thousands is a
# fault to stop before it floods the rooms and the DSLs' inboxes.
send_limiter = RateLimiter(limit=60, window_seconds=60)

Summary = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=MAX_SUMMARY)
]
Reference = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=100, pattern=r"^[A-Za-z0-9][\w./:-]*$"
    ),
]


class EventChildIn(ChildIdentifiersIn):
    """The child as the sender knows them: an NHS number, a UPN, or a name with a date of
    birth (at least one of these)."""

    name: OptionalName | None = None

    @model_validator(mode="after")
    def _identified(self) -> EventChildIn:
        if bool(self.name) != (self.date_of_birth is not None):
            raise ValueError("give the child's name and date of birth together")
        if not (self.nhs_number or self.upn or self.name):
            raise ValueError("give an NHS number, a UPN, or the child's name and date of birth")
        return self


class AgencyEventIn(Strict):
    """`POST /api/v1/agency-events` (DESIGN.md §6, front door)."""

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)

    type: EventType
    occurred_at: When
    place: Text | None = None
    child: EventChildIn
    summary: Summary = Field(description="A short factual summary (at most 2000 characters).")
    sensitivity: Sensitivity
    reference: Reference = Field(description="The sender's own reference for the event.")

    @field_validator("occurred_at")
    @classmethod
    def _not_in_the_future(cls, value: datetime) -> datetime:
        from workspace.clock import clock  # the app's clock, so tests and server agree

        if value > clock.now() + CLOCK_LEEWAY:
            raise ValueError("cannot be in the future")
        return value


@dataclass(frozen=True)
class LeadContact:
    name: str
    organisation: str
    contact: str


@dataclass(frozen=True)
class Receipt:
    """All the sender learns: the event's id, whether the child is known and who leads."""

    id: str
    known: bool
    lead: LeadContact | None


def receive(access: Access, data: AgencyEventIn) -> tuple[Receipt, bool]:
    """Take an event from a partner system; True when it is new (False: a repeat)."""
    sender = access.require_user()
    if not access.may(SEND):
        access.deny(SEND, Target("workspace"), conceal=False, purpose="not an integration account")
    if not send_limiter.hit(sender.id):
        access.session.rollback()
        access.record(SEND, Target("workspace"), outcome="denied", purpose="rate limited")
        access.session.commit()
        raise RateLimited("Too many events from this account. Wait a minute and try again.")
    earlier = _earlier(access, sender, data.reference)
    if earlier is not None:
        return _repeat(access, earlier), False
    child = data.child
    room_id = rooms.open_room_for(
        access, match_keys(child.name, child.date_of_birth, child.nhs_number, child.upn)
    )
    loaded = access.room_for_user(room_id) if room_id else None
    event = AgencyEvent(
        sender_id=sender.id,
        sender_org_id=sender.organisation_id,
        reference=data.reference,
        event_type=data.type,
        occurred_at=data.occurred_at,
        place=data.place,
        child_name=child.name,
        child_date_of_birth=child.date_of_birth,
        nhs_number=child.nhs_number,
        upn=child.upn,
        summary=data.summary,
        sensitivity=data.sensitivity,
        status="matched" if loaded else "queued",
        room_id=loaded.room.id if loaded else None,
        received_at=access.now,
    )
    try:
        with access.session.begin_nested():
            access.session.add(event)
            access.session.flush()
    except IntegrityError:
        # The same reference sent twice at once (on PostgreSQL; SQLite's write lock makes
        # the second wait and find the first above): the other request's event stands.
        found = _earlier(access, sender, data.reference)
        assert found is not None
        return _repeat(access, found), False
    if loaded is None:
        front_door.queue_agency_event(access, event)
        access.record(SEND, Target("agency_event", event.id), purpose="queued")
        return Receipt(event.id, False, None), True
    access.record(SEND, _target(event, loaded), purpose="matched")
    deliver(access, loaded, sender, event)
    return Receipt(event.id, True, _lead_of(access, loaded)), True


def _earlier(access: Access, sender: User, reference: str) -> AgencyEvent | None:
    return access.session.exec(
        select(AgencyEvent).where(
            col(AgencyEvent.sender_org_id) == sender.organisation_id,
            col(AgencyEvent.reference) == reference,
        )
    ).first()


def _repeat(access: Access, event: AgencyEvent) -> Receipt:
    """A reference sent before: the same answer, as things stand now; nobody told again."""
    loaded = access.room_for_user(event.room_id) if event.room_id else None
    access.record(SEND, _target(event, loaded), purpose="repeat")
    if loaded is None or loaded.room.status != "open":
        return Receipt(event.id, False, None)
    return Receipt(event.id, True, _lead_of(access, loaded))


def _target(event: AgencyEvent, loaded: LoadedRoom | None) -> Target:
    if loaded is None:
        return Target("agency_event", event.id)
    return Target("agency_event", event.id, loaded.room.id, loaded.child.id)


def _lead_of(access: Access, loaded: LoadedRoom) -> LeadContact:
    organisation = access.session.get(Organisation, loaded.lead.organisation_id)
    assert organisation is not None
    return LeadContact(loaded.lead.name, organisation.name, loaded.lead.email)


def deliver(access: Access, loaded: LoadedRoom, sender: User, event: AgencyEvent) -> Message:
    """The event as an item of the room, live to those who may read it, and the alerts."""
    message = messages.insert_item(
        access, loaded, sender, body=event.summary, kind=AGENCY_EVENT, sensitivity=event.sensitivity
    )
    event.message_id = message.id
    access.session.add(event)
    messages.announce(access, loaded, message)
    _tell(access, loaded, event, message)
    return message


def _tell(access: Access, loaded: LoadedRoom, event: AgencyEvent, message: Message) -> None:
    """Everyone in the room the policy says must be told of this event, at once."""
    assert event.message_id is not None
    fact = agency_event_fact(event, message_fact(message, loaded.fact))
    people = access.session.exec(
        select(User)
        .join(Membership, col(Membership.user_id) == col(User.id))
        .where(
            col(Membership.room_id) == loaded.room.id,
            col(Membership.revoked_at).is_(None),
            col(User.disabled).is_(False),
        )
    ).all()
    people = list({p.id: p for p in people}.values())
    decide = access.people(people)
    school_deadline = next_school_day_start(access.now)
    for person in people:
        if not decide.may(person, "be_told", fact):
            continue
        # Operation Encompass: the school acts before its next day starts.
        due = (
            school_deadline
            if event.event_type == "domestic_abuse_incident"
            and decide.principal(person).org_kind == "education"
            else None
        )
        access.session.add(
            AgencyAlert(
                agency_event_id=event.id,
                user_id=person.id,
                room_id=loaded.room.id,
                due_at=due,
                told_at=access.now,
            )
        )
        notifications.agency_event(access, loaded, person, event.message_id, due)


# --- acknowledging --------------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """An agency event the caller acknowledged: where it is, and by when it was due."""

    room_id: str
    message_id: str
    due_at: datetime | None
    acknowledged_at: datetime | None


def acknowledge(access: Access, message_id: str) -> Alert:
    """The caller has seen the event and acts on it (recorded; again is no change)."""
    user = access.require_user()
    loaded = access.agency_event(message_id, ACKNOWLEDGE)
    alert = access.session.exec(
        select(AgencyAlert).where(
            col(AgencyAlert.agency_event_id) == loaded.event.id,
            col(AgencyAlert.user_id) == user.id,
        )
    ).first()
    if alert is None:
        # Allowed now but not told then (they joined the room since): their acknowledgement
        # is recorded all the same.
        alert = AgencyAlert(
            agency_event_id=loaded.event.id,
            user_id=user.id,
            room_id=loaded.message.room.room.id,
            told_at=access.now,
        )
    if alert.acknowledged_at is None:
        alert.acknowledged_at = access.now
        access.session.add(alert)
        access.session.flush()
    return Alert(
        alert.room_id,
        message_id,
        utc(alert.due_at) if alert.due_at else None,
        utc(alert.acknowledged_at) if alert.acknowledged_at else None,
    )
