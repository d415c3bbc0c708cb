"""What the version, compare and PDF routes show (issue #11, items 4 and 6). Everything is
read through `versions` and `reading`, which authorize and audit (a version's view as
`view_plan`, its PDF as `export_plan`); this module only chooses what to read and puts
the two sides of a comparison together."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from workspace.access import Access, LoadedRoom, Target
from workspace.models import User
from workspace.services.plans import compare, reading, versions
from workspace.services.plans.views import ShownVersion

# A version number as a URL carries it; anything else names no version.
_NUMBER = re.compile(r"[1-9][0-9]{0,8}")
DRAFT = "draft"


def version_number(access: Access, room_id: str, raw: str) -> int:
    """A malformed number is refused like a malformed id (workspace/web.py): audited, 404."""
    if not _NUMBER.fullmatch(raw):
        access.deny("lookup", Target("plan_version", room_id=room_id), conceal=True)
    return int(raw)


@dataclass(frozen=True)
class Printed:
    """A published version, and who is looking at (or printing) it when."""

    published: ShownVersion
    printed_by: User
    printed_at: datetime


def version(access: Access, room_id: str, raw: str) -> Printed:
    found = versions.get(access, room_id, version_number(access, room_id, raw))
    return Printed(found, access.require_user(), access.now)


def export(access: Access, room_id: str, raw: str) -> Printed:
    """The same, audited as an export (the PDF)."""
    found = versions.export(access, room_id, version_number(access, room_id, raw))
    return Printed(found, access.require_user(), access.now)


@dataclass(frozen=True)
class Side:
    """One side of a comparison: a published version, or the draft."""

    param: str  # as the URL says it: "3" or "draft"
    published: ShownVersion | None
    plan: dict[str, Any]
    plan_type: str
    room: LoadedRoom

    @property
    def label(self) -> str:
        return f"version {self.published.version}" if self.published else "the draft"


def side(access: Access, room_id: str, raw: str) -> Side:
    wanted = raw.strip().lower()
    if wanted == DRAFT:
        draft = reading.draft(access, room_id)
        return Side(DRAFT, None, draft.plan, draft.plan_type, draft.room)
    found = versions.get(access, room_id, version_number(access, room_id, wanted))
    return Side(str(found.version), found, found.plan, found.plan_type, found.room)


@dataclass(frozen=True)
class Comparison:
    newer: Side
    older: Side | None  # not chosen yet: the page asks which
    diff: compare.PlanDiff | None

    @property
    def room(self) -> LoadedRoom:
        return self.newer.room

    @property
    def count(self) -> int:
        return compare.changes(self.diff) if self.diff else 0

    @property
    def parts(self) -> list[str]:
        return compare.describe(self.diff) if self.diff else []


def comparison(access: Access, room_id: str, older: str | None, newer: str | None) -> Comparison:
    """`older` and `newer`: version numbers or "draft" (newer: the draft unless given).
    The newer side is read first, so someone who may not read the plan is refused before
    anything else is looked at."""
    later = side(access, room_id, newer or DRAFT)
    if not older:
        return Comparison(later, None, None)
    earlier = side(access, room_id, older)
    return Comparison(later, earlier, compare.compare(earlier.plan, later.plan))
