from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from workspace.ids import new_id, room_reference

PLAN_TYPES = ("child_protection", "child_in_need", "early_help")
ROOM_ROLES = ("lead", "member", "guest")


class Room(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    reference: str = Field(default_factory=room_reference, max_length=16, unique=True)
    child_id: str = Field(foreign_key="child.id", index=True, max_length=36)
    title: str = Field(max_length=200)
    status: str = Field(default="open", max_length=16)
    # Kept equal to the membership with role "lead"; services change both together.
    lead_user_id: str = Field(foreign_key="user.id", index=True, max_length=36)
    plan_type: str = Field(default="child_in_need", max_length=32)
    # The last message seq handed out in this room (see Message.seq).
    last_seq: int = 0
    created_at: datetime
    closed_at: datetime | None = None


class Membership(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    room_id: str = Field(foreign_key="room.id", index=True, max_length=36)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=36)
    role: str = Field(max_length=16)
    joined_at: datetime
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    invited_by_id: str | None = Field(default=None, foreign_key="user.id", max_length=36)
    purpose: str = Field(default="", max_length=1000)
    lawful_basis: str = Field(default="", max_length=64)
    # Why the lead removed them (set with revoked_at by a removal; a role change or a
    # lead transfer also ends a row, with no reason: the next row says what it became).
    removal_reason: str | None = Field(default=None, max_length=1000)


class BreakGlass(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=36)
    room_id: str = Field(foreign_key="room.id", index=True, max_length=36)
    reason: str = Field(max_length=2000)
    started_at: datetime
    expires_at: datetime
