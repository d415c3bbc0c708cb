from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from workspace.ids import new_id

MESSAGE_KINDS = ("fact", "opinion", "decision", "note")
SENSITIVITIES = ("room", "restricted")


class Message(SQLModel, table=True):
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
    created_at: datetime = Field(index=True)
    edited_at: datetime | None = None
    retracted_at: datetime | None = None


class MessageEdit(SQLModel, table=True):
    """The previous text of a message, kept whenever it is edited or retracted."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    message_id: str = Field(foreign_key="message.id", index=True, max_length=36)
    body: str = Field(max_length=10000)
    replaced_at: datetime
