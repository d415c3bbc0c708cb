from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, Index, SQLModel, UniqueConstraint

from workspace.ids import new_id

# What an entry is (DOMAIN.md "Records"): reviews keep finding opinion recorded as fact, and
# the child's own words lost among the professionals'. Stored as these keys (16 characters
# at most); shown with KIND_LABELS.
MESSAGE_KINDS = ("fact", "opinion", "voice_of_child", "third_party", "decision", "note")
KIND_LABELS = {
    "fact": "fact",
    "opinion": "opinion",
    "voice_of_child": "voice of the child",
    "third_party": "third-party report",
    "decision": "decision",
    "note": "note",
}
# An item no person writes: what a partner system sent (issue #14), a third-party report
# by nature. Listed and filtered like the kinds above; never offered for posting.
AGENCY_EVENT = "agency_event"
ITEM_KINDS = (*MESSAGE_KINDS, AGENCY_EVENT)
KIND_LABELS[AGENCY_EVENT] = "agency event (third-party report)"
SENSITIVITIES = ("room", "restricted")


class Message(SQLModel, table=True):
    __table_args__ = (
        UniqueConstraint("room_id", "seq"),
        # A post's retry check (messages.next_position), on every post: without it, a
        # scan of the room's messages.
        Index("ix_message_room_author_client", "room_id", "author_id", "client_id"),
    )
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    room_id: str = Field(foreign_key="room.id", index=True, max_length=36)
    author_id: str = Field(foreign_key="user.id", max_length=36)
    # The organisation at the time of writing: restricted items stay with it.
    author_org_id: str = Field(foreign_key="organisation.id", max_length=36)
    body: str = Field(max_length=10000)
    kind: str = Field(max_length=16)
    sensitivity: str = Field(max_length=16)
    thread_id: str | None = Field(default=None, foreign_key="message.id", max_length=36)
    client_id: str | None = Field(default=None, max_length=64)
    # Position in the room, assigned under the room's row lock: the order readers see,
    # and what a reconnecting client asks "since".
    seq: int = 0
    created_at: datetime = Field(index=True)
    edited_at: datetime | None = None
    retracted_at: datetime | None = None


class MessageEdit(SQLModel, table=True):
    """The previous text of a message, kept whenever it is edited or retracted."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    message_id: str = Field(foreign_key="message.id", index=True, max_length=36)
    body: str = Field(max_length=10000)
    replaced_at: datetime


class ReadMarker(SQLModel, table=True):
    """How far a person has read in a room (read receipts, unread counts)."""

    __tablename__ = "read_marker"
    room_id: str = Field(foreign_key="room.id", primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user.id", primary_key=True, max_length=36)
    last_read_seq: int = 0
    updated_at: datetime


class Mention(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    message_id: str = Field(foreign_key="message.id", index=True, max_length=36)
    room_id: str = Field(foreign_key="room.id", max_length=36)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=36)
    created_at: datetime
