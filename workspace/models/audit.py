from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index
from sqlmodel import Field, SQLModel

from workspace.ids import new_id


class AuditEvent(SQLModel, table=True):
    """One row per view, list, write, login, denial (DESIGN.md §4). Append-only: the
    application has no update or delete path, and PostgreSQL rejects both by trigger."""

    __tablename__ = "audit_event"
    # The access log's "denied only" pages by keyset (migration 0016), and one person over
    # a date range (0017).
    __table_args__ = (
        Index("ix_audit_event_outcome_seq", "outcome", "seq"),
        Index("ix_audit_event_actor_at", "actor_id", "at"),
    )
    seq: int = Field(primary_key=True)
    id: str = Field(default_factory=new_id, unique=True, max_length=36)
    at: datetime = Field(index=True)
    actor_id: str | None = Field(default=None, index=True, max_length=36)
    actor_org_id: str | None = Field(default=None, index=True, max_length=36)
    actor_team_id: str | None = Field(default=None, index=True, max_length=36)
    action: str = Field(max_length=64, index=True)
    resource_type: str = Field(max_length=32)
    resource_id: str | None = Field(default=None, max_length=64)
    room_id: str | None = Field(default=None, index=True, max_length=36)
    child_id: str | None = Field(default=None, max_length=36)
    outcome: str = Field(max_length=16)
    purpose: str | None = Field(default=None, max_length=2000)
    channel: str = Field(max_length=16)
    request_id: str | None = Field(default=None, max_length=64)
    ip: str | None = Field(default=None, max_length=64)
    user_agent: str | None = Field(default=None, max_length=500)
    key_id: str = Field(max_length=16)
    prev_mac: str = Field(max_length=64)
    mac: str = Field(max_length=64)


class AuditHead(SQLModel, table=True):
    """The single chain head every append locks, so appends are serialised."""

    __tablename__ = "audit_head"
    id: int = Field(default=1, primary_key=True)
    seq: int = 0
    mac: str = Field(default="0" * 64, max_length=64)


class AuditCheckpoint(SQLModel, table=True):
    """A signed (Ed25519) statement of the chain head and count, so truncation or a rewrite
    by someone who holds the HMAC key is caught too."""

    __tablename__ = "audit_checkpoint"
    seq: int = Field(primary_key=True)
    mac: str = Field(max_length=64)
    signed_at: datetime
    key_id: str = Field(max_length=16)
    signature: str = Field(max_length=128)
