"""What partner systems tell us (issue #14): a police domestic abuse incident for a school
(Operation Encompass), an emergency department attendance for the social worker (NHS CP-IS).

An event that matches a child's open room is an item of that room (a Message of kind
"agency_event", written by the sending organisation's integration account), so the policy,
lists, live delivery, search and the access log treat it as every other item; this row keeps
what the sender said about it. One that matches no room waits for the front door
(`status` "queued")."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from sqlmodel import Field, SQLModel, UniqueConstraint

from workspace.ids import new_id

EventType = Literal[
    "domestic_abuse_incident",
    "unscheduled_care_attendance",
    "missing_episode",
    "school_exclusion",
    "arrest",
    "other",
]
EVENT_LABELS = {
    "domestic_abuse_incident": "Domestic abuse incident",
    "unscheduled_care_attendance": "Unscheduled care attendance",
    "missing_episode": "Missing episode",
    "school_exclusion": "School exclusion",
    "arrest": "Arrest",
    "other": "Agency event",
}


class AgencyEvent(SQLModel, table=True):
    __tablename__ = "agency_event"
    # The sender's own reference, once per sending organisation: the same event sent
    # twice (a retry after a timeout) is one event.
    __table_args__ = (UniqueConstraint("sender_org_id", "reference"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    sender_id: str = Field(foreign_key="user.id", max_length=36)
    sender_org_id: str = Field(foreign_key="organisation.id", max_length=36)
    reference: str = Field(max_length=100)
    event_type: str = Field(max_length=32)
    occurred_at: datetime
    place: str | None = Field(default=None, max_length=200)
    # The child as the sender named them (the front door matches by hand what we did not).
    child_name: str | None = Field(default=None, max_length=200)
    child_date_of_birth: date | None = None
    nhs_number: str | None = Field(default=None, max_length=10)
    upn: str | None = Field(default=None, max_length=13)
    summary: str = Field(max_length=2000)
    sensitivity: str = Field(max_length=16)
    status: str = Field(max_length=16)  # "matched" or "queued"
    room_id: str | None = Field(default=None, foreign_key="room.id", index=True, max_length=36)
    message_id: str | None = Field(
        default=None, foreign_key="message.id", unique=True, max_length=36
    )
    received_at: datetime = Field(index=True)


class AgencyAlert(SQLModel, table=True):
    """Someone the policy says must be told of an event at once, and whether they have
    acknowledged it (a DSL's Operation Encompass notice has a deadline: `due_at`)."""

    __tablename__ = "agency_alert"
    __table_args__ = (UniqueConstraint("agency_event_id", "user_id"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    agency_event_id: str = Field(foreign_key="agency_event.id", index=True, max_length=36)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=36)
    room_id: str = Field(foreign_key="room.id", index=True, max_length=36)
    due_at: datetime | None = None
    told_at: datetime
    acknowledged_at: datetime | None = None


CONTACT_SOURCES = ("agency_event", "concern")
RAG_RATINGS = ("red", "amber", "green")
# How the front door ends a contact (DOMAIN.md: the MASH decides within a working day).
CLOSE_REASONS = {
    "no_further_action": "No further action",
    "early_help": "Signposted to early help",
    "universal_services": "Signposted to universal services",
    "advice_given": "Advice given to the referrer",
    "other_area": "Passed to another local authority",
}


class Contact(SQLModel, table=True):
    """Something that reached the local authority's front door (MASH) and matched no
    room: an agency event, or a concern a practitioner raised (issue #14). It waits for a
    triager's decision: open a room, attach it to an existing room, or close it."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    # What the reporter is given to quote ("C-7F3K2Q").
    reference: str = Field(max_length=16, unique=True)
    # The local authority whose front door has it (None: no front door is set up yet).
    org_id: str | None = Field(
        default=None, foreign_key="organisation.id", index=True, max_length=36
    )
    source: str = Field(max_length=16)
    agency_event_id: str | None = Field(default=None, foreign_key="agency_event.id", max_length=36)
    reporter_id: str = Field(foreign_key="user.id", max_length=36)
    reporter_org_id: str = Field(foreign_key="organisation.id", max_length=36)
    child_name: str | None = Field(default=None, max_length=200)
    child_date_of_birth: date | None = None
    nhs_number: str | None = Field(default=None, max_length=10)
    upn: str | None = Field(default=None, max_length=13)
    what_happened: str = Field(max_length=4000)
    happened_at: datetime | None = None
    place: str | None = Field(default=None, max_length=200)
    who_told: str | None = Field(default=None, max_length=500)
    child_words: str | None = Field(default=None, max_length=2000)
    action_taken: str | None = Field(default=None, max_length=2000)
    sensitivity: str = Field(default="room", max_length=16)
    received_at: datetime = Field(index=True)
    rag: str | None = Field(default=None, max_length=8)
    status: str = Field(default="waiting", max_length=16)  # waiting, opened, attached, closed
    decided_by_id: str | None = Field(default=None, foreign_key="user.id", max_length=36)
    decided_at: datetime | None = None
    close_reason: str | None = Field(default=None, max_length=32)
    decision_note: str | None = Field(default=None, max_length=1000)
    room_id: str | None = Field(default=None, foreign_key="room.id", max_length=36)
    message_id: str | None = Field(
        default=None, foreign_key="message.id", index=True, max_length=36
    )
    # The reporter worked through "Should I share?" first (issue #15): the guidance's
    # version and the transcript (JSON), kept with the concern until it reaches a room,
    # where it becomes the reporter's SharingDecision.
    guidance_version: str | None = Field(default=None, max_length=64)
    dialogue: str | None = Field(default=None, max_length=20000)


class ContactPhoto(SQLModel, table=True):
    """A photo the reporter added to a concern (issue #14 item 2), end-to-end encrypted in
    their browser with the file format (DESIGN.md §5) to whoever may read the concern when
    it was sent: the front-door team, or the readers of the room it went to. Its manifest
    and chunks are bound to the contact's id (the manifest's `room_id`), so it stays the
    concern's wherever the concern goes; who may read it follows the concern (policy)."""

    __tablename__ = "contact_photo"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    contact_id: str = Field(foreign_key="contact.id", index=True, max_length=36)
    uploader_id: str = Field(foreign_key="user.id", max_length=36)
    size: int  # of the ciphertext
    sha256: str = Field(max_length=64)  # hex, of the ciphertext
    manifest: str = Field(max_length=20000)  # canonical JSON, signed by the uploader
    signature: str = Field(max_length=128)
    sign_public: str = Field(max_length=64)  # the key that verified the manifest
    encrypted_name: str = Field(max_length=4000)
    content_state: str = Field(default="pending", max_length=16)
    created_at: datetime
    stored_at: datetime | None = None


class ContactPhotoKey(SQLModel, table=True):
    """A photo's key sealed to one reader's public key."""

    __tablename__ = "contact_photo_key"
    photo_id: str = Field(foreign_key="contact_photo.id", primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user.id", primary_key=True, index=True, max_length=36)
    sealed_key: str = Field(max_length=256)
    box_public: str = Field(max_length=64)
    wrapped_by_id: str = Field(foreign_key="user.id", max_length=36)
    created_at: datetime
