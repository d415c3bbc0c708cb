"""What the plan services return, and their JSON (DESIGN.md §6 "Plans")."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlmodel import col, select

from workspace import serialize
from workspace.access import Access, LoadedRoom, Target
from workspace.clock import iso
from workspace.models import Membership, Organisation, User


def plan_target(room: LoadedRoom) -> Target:
    """A plan in the audit log: one per room, named by the room."""
    return Target("plan", room.room.id, room.room.id, room.child.id)


def people_of(access: Access, room: LoadedRoom) -> dict[str, dict[str, Any]]:
    """Everyone who has been in the room (user JSON by id): owners of actions are named
    even after they left it."""
    rows = access.session.exec(
        select(User, Organisation)
        .join(Membership, col(Membership.user_id) == col(User.id))
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .where(col(Membership.room_id) == room.room.id)
    ).all()
    return {u.id: serialize.user(u, o) for u, o in rows}


@dataclass(frozen=True)
class VersionSummary:
    """A published version in a list: who signed it off, and when."""

    version: int
    signed_by: dict[str, Any]  # user JSON
    signed_at: datetime
    id: str  # what the lead's share of an earlier version with a guest names

    def json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "version": self.version,
            "signed_by": self.signed_by,
            "signed_at": iso(self.signed_at),
        }


@dataclass(frozen=True)
class PublishedPlan:
    """A published version in full: the plan as signed off, and the Y document's state
    then (for comparing, printing, or opening it in an editor read-only)."""

    summary: VersionSummary
    plan: dict[str, Any]
    state: bytes = field(repr=False)

    def json(self) -> dict[str, Any]:
        return {**self.summary.json(), "plan": self.plan}


@dataclass(frozen=True)
class ShownVersion:
    """A published version as its page, its PDF and a comparison show it: the plan as
    signed off, who signed it (and their organisation) and when, in which room."""

    version: int
    signed_by: User
    signed_by_org: Organisation
    signed_at: datetime
    plan: dict[str, Any]
    plan_type: str
    room: LoadedRoom


@dataclass(frozen=True)
class Draft:
    """The draft as a comparison shows it."""

    plan: dict[str, Any]
    plan_type: str
    room: LoadedRoom


@dataclass(frozen=True)
class Clocks:
    """Statutory deadlines and overdue actions, in working days (workspace/services/plans/
    clocks.py fills these; `reading.plan_clocks` is where it plugs in)."""

    deadlines: list[dict[str, Any]] = field(default_factory=list)
    overdue_actions: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True)
class PlanView:
    """A room's plan as the caller may see it: the draft (everyone in the room), the
    published versions they may read (rule 3), the newest of those in full (so a page can
    say "draft since version N: K changes" with compare.py), and what they may do."""

    room: LoadedRoom
    plan_type: str
    draft: dict[str, Any]
    published: list[VersionSummary]
    latest: PublishedPlan | None
    clocks: Clocks
    can_edit: bool
    can_publish: bool

    @property
    def next_version(self) -> int:
        return (self.published[-1].version if self.published else 0) + 1

    def json(self) -> dict[str, Any]:
        return {
            "type": self.plan_type,
            "draft": self.draft,
            "published": [v.json() for v in self.published],
            "deadlines": self.clocks.deadlines,
            "overdue_actions": self.clocks.overdue_actions,
            "can_edit": self.can_edit,
            "can_publish": self.can_publish,
        }
