from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from workspace.ids import new_id


class OutboxEmail(SQLModel, table=True):
    """Written in the same transaction as the event that causes it; sent by the worker."""

    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    to: str = Field(max_length=320)
    subject: str = Field(max_length=300)
    text_body: str
    html_body: str | None = None
    created_at: datetime
    status: str = Field(default="pending", max_length=16, index=True)
    attempts: int = 0
    next_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    last_error: str | None = Field(default=None, max_length=1000)
