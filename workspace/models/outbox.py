from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from workspace.ids import new_id

# pending   waiting for its next attempt (next_attempt_at)
# sending   claimed by a worker (claimed_at, claim_token), committed before SMTP is spoken;
#           handed_at is set (committed) just before the message itself goes to the server
# sent      the server accepted it
# uncertain handed to the server and then no answer recorded (a lost reply, or "sending"
#           with handed_at past the lease): it may have been delivered, so it is never sent
#           again blindly; an administrator may release it. A row still "sending" past the
#           lease but never handed over is certainly not delivered: it is pending again.
# dead      refused for good (5xx), or still failing at give_up_at
# withdrawn the recipient may no longer see the room it is about: never sent
OUTBOX_STATES = ("pending", "sending", "sent", "uncertain", "dead", "withdrawn")


class OutboxEmail(SQLModel, table=True):
    """Written in the same transaction as the event that causes it; sent by the worker.

    Carries no case data by construction: room references and counts, never a child's
    details or a message (workspace/services/outbox.py)."""

    __table_args__ = (Index("ix_outboxemail_due", "status", "next_attempt_at"),)
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
    # What it is (digest, mention, added, break_glass, …; "notice" for account notices).
    kind: str = Field(default="notice", max_length=32)
    user_id: str | None = Field(default=None, foreign_key="user.id", index=True, max_length=36)
    # The recipient must still be able to view this room when it is sent.
    room_id: str | None = Field(default=None, foreign_key="room.id", max_length=36)
    # RFC 8058 one-click unsubscribe URL (List-Unsubscribe), when the mail is optional.
    list_unsubscribe: str | None = Field(default=None, max_length=500)
    claimed_at: datetime | None = None
    claim_token: str | None = Field(default=None, max_length=36)
    # When this claim began handing the message to the SMTP server (before DATA): from
    # here on the server may have it. None: claimed, not handed over (yet).
    handed_at: datetime | None = None
    # Retries stop here (created + 72 h, or release + 72 h).
    give_up_at: datetime | None = None
