"""What partner systems tell us (issue #14): a police domestic abuse incident for a school
(Operation Encompass), an emergency department attendance for the social worker (NHS CP-IS).

An event that matches a child's open room is an item of that room (a Message of kind
"agency_event", written by the sending organisation's integration account), so the policy,
lists, live delivery, search and the access log treat it as every other item; this row keeps
what the sender said about it. One that matches no room waits for the front door
(`status` "queued")."""

from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from workspace.ids import new_id

EVENT_TYPES = (
    "domestic_abuse_incident",
    "unscheduled_care_attendance",
    "missing_episode",
    "school_exclusion",
    "arrest",
    "other",
)
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
