"""In-app notifications: the bell in the header. Content-free, like the emails: a room
reference, a person's name, a link; never what was said or anything about the child."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from workspace.ids import new_id


class Notice(SQLModel, table=True):
    __tablename__ = "notice"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=36)
    kind: str = Field(max_length=32)
    room_id: str | None = Field(default=None, foreign_key="room.id", max_length=36)
    text: str = Field(max_length=400)
    # A path in Caseroom; what it shows is decided (and audited) when it is opened.
    link: str = Field(max_length=300)
    created_at: datetime
    read_at: datetime | None = None
