from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from workspace.ids import new_id


class FlagReview(SQLModel, table=True):
    """A manager's review of an access flag (issue #12). Flags themselves are worked out
    from the access log each time; only that someone looked, when and what they noted is
    kept. `flag_id` names the flag (its kind and the events it stands for)."""

    __tablename__ = "flag_review"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    flag_id: str = Field(index=True, max_length=200)
    room_id: str | None = Field(default=None, foreign_key="room.id", index=True, max_length=36)
    reviewer_id: str = Field(foreign_key="user.id", max_length=36)
    note: str = Field(max_length=2000)
    reviewed_at: datetime
