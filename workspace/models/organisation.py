from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel, UniqueConstraint

from workspace.ids import new_id

ORG_KINDS = (
    "local_authority",
    "police",
    "health",
    "education",
    "housing",
    "youth_justice",
    "probation",
    "voluntary",
)


class Organisation(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    name: str = Field(max_length=200, unique=True)
    kind: str = Field(max_length=32)
    created_at: datetime
    # The team that triages what reaches the local authority and matches no room (its
    # multi-agency front door, MASH; issue #14). Not a foreign key: added in place so
    # the access epoch's triggers on this table stay (migration 0019).
    front_door_team_id: str | None = Field(default=None, max_length=36)


class Team(SQLModel, table=True):
    __table_args__ = (UniqueConstraint("organisation_id", "name"),)
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=36)
    name: str = Field(max_length=200)


class TeamManager(SQLModel, table=True):
    team_id: str = Field(foreign_key="team.id", primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user.id", primary_key=True, max_length=36)
