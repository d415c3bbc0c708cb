"""A room's plan (issue #11): a CRDT document kept as the updates that made it, compacted
now and then into a snapshot, and the versions the lead published (immutable).

The server reads plan text (deadlines, overdue actions, exports), so plans are sealed at
rest with a server key (workspace/crypto.py `seal_bytes`), not end to end (DESIGN.md §8).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, LargeBinary
from sqlmodel import Field, SQLModel, UniqueConstraint

from workspace.ids import new_id


class Plan(SQLModel, table=True):
    """One per room, made once with the document's structure (its first update). Its row
    is the lock appends and compaction take, and `last_seq` hands out update numbers."""

    room_id: str = Field(foreign_key="room.id", primary_key=True, max_length=36)
    last_seq: int = 0
    # The last update the newest snapshot covers (0: no snapshot yet).
    snapshot_seq: int = 0
    created_at: datetime
    updated_at: datetime


class PlanUpdate(SQLModel, table=True):
    """One Yjs update, as an editor or the JSON API made it, sealed."""

    __tablename__ = "plan_update"
    room_id: str = Field(foreign_key="room.id", primary_key=True, max_length=36)
    seq: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # Who made it (None: the server, creating the document's structure).
    user_id: str | None = Field(default=None, foreign_key="user.id", max_length=36)
    created_at: datetime


class PlanSnapshot(SQLModel, table=True):
    """The document as one update, covering every update up to `seq` (which are deleted
    when it is written: DESIGN.md §8, compact by replaying, not with merge_updates)."""

    __tablename__ = "plan_snapshot"
    room_id: str = Field(foreign_key="room.id", primary_key=True, max_length=36)
    seq: int = Field(primary_key=True)
    data: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    created_at: datetime


class PlanVersion(SQLModel, table=True):
    """A published version: what the lead signed off, as JSON (owners named as they were)
    and as the Y document's state. Immutable: no code path updates or deletes one, and the
    database refuses both (triggers of migration 0014)."""

    __tablename__ = "plan_version"
    __table_args__ = (UniqueConstraint("room_id", "version"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    room_id: str = Field(foreign_key="room.id", index=True, max_length=36)
    version: int
    plan_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    state_sealed: bytes = Field(sa_column=Column(LargeBinary, nullable=False))
    # The draft's last update number when it was published.
    seq: int
    signed_by_id: str = Field(foreign_key="user.id", max_length=36)
    signed_at: datetime
