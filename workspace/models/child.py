from __future__ import annotations

from datetime import date, datetime

from sqlmodel import Field, SQLModel

from workspace.ids import new_id


class Child(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200)
    date_of_birth: date
    nhs_number: str | None = Field(default=None, max_length=10, index=True)
    upn: str | None = Field(default=None, max_length=13)
    address: str | None = Field(default=None, max_length=500)
    created_at: datetime


class ChildKey(SQLModel, table=True):
    """One open room per child (issue #9): each identifier of the child of an open room
    (NHS number, UPN, normalised name + date of birth; workspace/identifiers.child_keys)
    is a key here, unique, so a second room for the same child cannot be created even by
    two requests at once. Written with the room, deleted when it closes."""

    __tablename__ = "child_key"
    key: str = Field(primary_key=True, max_length=260)
    room_id: str = Field(foreign_key="room.id", index=True, max_length=36)
