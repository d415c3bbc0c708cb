"""Break-glass (DESIGN.md §3 rule 8): a safeguarding partner who finds a child's room by an
exact identifier (NHS number, or name + date of birth) may open it read-only for 4 hours
after giving a reason.

- Who may search is the policy's `break_glass_search`; what an open room grants is the
  policy's `break_glass(user, room)` (view, members, "room" messages; never posting).
- Not allowed, no match, or a near miss all answer the same NotFound, and are audited as
  denied. Every search is audited with *how* it searched, never the identifier searched.
- Searches are rate-limited per user.
- Opening writes a BreakGlass row, an audit event carrying the reason, and tells the lead,
  the managers and the IG leads concerned (notifications.break_glass_opened).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Annotated

from pydantic import ConfigDict, Field, StringConstraints, field_validator, model_validator
from sqlalchemy import func
from sqlmodel import col, select

from workspace.access import Access, LoadedRoom, Target
from workspace.errors import Conflict, RateLimited
from workspace.identifiers import is_valid_nhs_number, normalise_name, normalise_nhs_number
from workspace.models import BreakGlass, Child, ChildKey, Organisation, Room, SharingDecision
from workspace.ratelimit import RateLimiter
from workspace.schemas import OptionalName, Strict
from workspace.services import notifications

DURATION = timedelta(hours=4)
MIN_REASON = 10
SEARCH = "break_glass_search"
OPEN = "break_glass"

# Per user: enough for a few honest retries (a typo in a number), too few to trawl.
search_limiter = RateLimiter(limit=10, window_seconds=15 * 60)

Reason = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=MIN_REASON, max_length=2000)
]


class ChildQuery(Strict):
    """An exact child identifier: an NHS number, or a name with a date of birth."""

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)

    nhs_number: str | None = Field(default=None, max_length=14)
    name: OptionalName | None = None
    date_of_birth: date | None = Field(default=None, description="YYYY-MM-DD")

    @field_validator("nhs_number", "name", "date_of_birth", mode="before")
    @classmethod
    def _text(cls, value: object) -> object:
        if value is not None and not isinstance(value, str | date):
            raise ValueError("must be a string")
        return value

    @field_validator("nhs_number")
    @classmethod
    def _nhs(cls, value: str | None) -> str | None:
        if not value:
            return None
        value = normalise_nhs_number(value)
        if not is_valid_nhs_number(value):
            raise ValueError("is not a valid NHS number (10 digits with a mod-11 check digit)")
        return value

    @model_validator(mode="after")
    def _one_identifier(self) -> ChildQuery:
        by_name = bool(self.name) or self.date_of_birth is not None
        if self.nhs_number and by_name:
            raise ValueError("give either an NHS number, or a name and a date of birth")
        if not self.nhs_number and not (self.name and self.date_of_birth):
            raise ValueError("give an NHS number, or the child's full name and date of birth")
        return self

    @property
    def how(self) -> str:
        """What the audit log keeps of the search: its kind, never its terms."""
        return "by NHS number" if self.nhs_number else "by name and date of birth"


class BreakGlassIn(ChildQuery):
    """`POST /api/v1/break-glass`: the identifier and the reason for looking."""

    reason: Reason


@dataclass(frozen=True)
class Found:
    """What a search shows of a room: that it exists, never its content."""

    room_id: str
    reference: str
    status: str
    lead_org: str


@dataclass(frozen=True)
class Opened:
    room_id: str
    reference: str
    expires_at: datetime
    told: tuple[str, ...]


@dataclass(frozen=True)
class Active:
    room_id: str
    reference: str
    expires_at: datetime
    minutes_left: int


def _normal_name(name: str) -> str:
    return re.sub(r"\s+", " ", name.strip()).lower()


def find(access: Access, query: ChildQuery) -> tuple[Found, LoadedRoom]:
    """Decide, rate-limit, match exactly, audit. Any failure is one neutral NotFound."""
    user = access.require_user()
    purpose = f"search {query.how}"
    if not access.may(SEARCH):
        access.deny(SEARCH, Target("workspace"), conceal=True, purpose=f"{purpose}: not allowed")
    if not search_limiter.hit(user.id):
        access.session.rollback()
        access.record(SEARCH, Target("workspace"), outcome="denied", purpose=f"{purpose}: limited")
        access.session.commit()
        raise RateLimited("Too many searches. Wait a few minutes and try again.")
    # A child has at most one open room (rooms.create_room keeps it so): that one, found
    # by its key (the key is unique: nothing to choose). Else the child's rooms are all
    # closed (or were opened before keys existed, migration 0006): open first, newest first.
    if query.nhs_number:
        key = f"nhs:{query.nhs_number}"
    else:
        assert query.name and query.date_of_birth
        key = f"name:{normalise_name(query.name)}|{query.date_of_birth.isoformat()}"
    room_ids = list(access.session.exec(select(ChildKey.room_id).where(ChildKey.key == key)).all())
    assert len(room_ids) <= 1  # the key is the primary key: one open room per identifier
    if not room_ids:
        stmt = select(Room.id).join(Child, col(Child.id) == col(Room.child_id))
        if query.nhs_number:
            stmt = stmt.where(col(Child.nhs_number) == query.nhs_number)
        else:
            stmt = stmt.where(
                func.lower(col(Child.name)) == _normal_name(query.name or ""),
                col(Child.date_of_birth) == query.date_of_birth,
            )
        room_ids = list(
            access.session.exec(
                stmt.order_by(col(Room.status).desc(), col(Room.created_at).desc())
            ).all()
        )
    loaded = access.room_for_user(room_ids[0]) if room_ids else None
    if loaded is None:
        access.deny(SEARCH, Target("workspace"), conceal=True, purpose=f"{purpose}: no match")
        raise AssertionError("unreachable")
    access.record(SEARCH, loaded.target, purpose=f"{purpose}: match")
    org = access.session.get(Organisation, loaded.lead.organisation_id)
    room = loaded.room
    return Found(room.id, room.reference, room.status, org.name if org else ""), loaded


def offer(access: Access) -> None:
    """Opening the search page: refused like a search (404, audited) for anyone the
    policy does not let search; an allowed visit records nothing (nothing was read)."""
    access.require_user()
    if not access.may(SEARCH):
        access.deny(SEARCH, Target("workspace"), conceal=True, purpose="search page: not allowed")


def search(access: Access, query: ChildQuery) -> Found:
    return find(access, query)[0]


def open_room(access: Access, data: BreakGlassIn) -> Opened:
    """Search again (the identifier is the key, not a room id) and open what it finds."""
    user = access.require_user()
    _found, loaded = find(access, data)
    if access.roles_in(loaded):
        # Breaking the glass would give a guest more than rule 3 allows, and a member
        # nothing: refused (and recorded) with a clear answer, since they know the room.
        access.record(OPEN, loaded.target, outcome="denied", purpose="in the room already")
        access.session.commit()
        raise Conflict(
            "You are in this room already: open it from My rooms. A guest sees what the "
            "lead professional shares with them; ask the lead for anything more."
        )
    now = access.now
    glass = BreakGlass(
        user_id=user.id,
        room_id=loaded.room.id,
        reason=data.reason,
        started_at=now,
        expires_at=now + DURATION,
    )
    access.session.add(glass)
    access.session.flush()
    access.refresh_principal()
    if not access.allowed("view", loaded.fact):  # the policy has the last word
        access.deny(OPEN, loaded.target, conceal=True, purpose="break-glass refused")
    # Golden rule 7: looking without being invited is a sharing decision too, the
    # opener's own, in the room's sharing record beside the lead's.
    access.session.add(
        SharingDecision(
            room_id=loaded.room.id,
            decided_by_id=user.id,
            decision="share",
            what="room access by break-glass (read-only, 4 h)",
            with_user_id=user.id,
            with_organisation_id=user.organisation_id,
            # The reason itself stays in the access log: it is for the lead, the
            # opener's manager and the IG leads, not for every member reading this record.
            purpose="Emergency access; the reason given is in the access log",
            lawful_basis="safeguarding",
            consent="not_sought",
            consent_reason="Emergency access (break-glass): consent is not sought before looking.",
            created_at=now,
        )
    )
    event = access.record(OPEN, loaded.target, purpose=f"break-glass: {data.reason}")
    told = notifications.break_glass_opened(access, loaded, glass, event)
    return Opened(loaded.room.id, loaded.room.reference, glass.expires_at, tuple(told))


def active(access: Access) -> list[Active]:
    """The caller's running break-glass sessions, for the banner on every page."""
    now = access.now
    user = access.require_user()
    rows = access.session.exec(
        select(BreakGlass.room_id, BreakGlass.expires_at, Room.reference)
        .join(Room, col(Room.id) == col(BreakGlass.room_id))
        .where(
            col(BreakGlass.user_id) == user.id,
            col(BreakGlass.started_at) <= now,
            col(BreakGlass.expires_at) > now,
        )
    ).all()
    latest: dict[str, Active] = {}
    for room_id, expires_at, reference in rows:
        expires = expires_at if expires_at.tzinfo else expires_at.replace(tzinfo=now.tzinfo)
        left = int((expires - now).total_seconds() // 60)
        if room_id not in latest or latest[room_id].expires_at < expires:
            latest[room_id] = Active(room_id, reference, expires, left)
    return sorted(latest.values(), key=lambda a: a.expires_at)


@dataclass(frozen=True)
class Banner:
    """What every page shows a signed-in person about break-glass: whether to offer
    "Find a child" (the policy's answer, unaudited: it only chooses a link) and the
    sessions still running, with the time left."""

    may_search: bool
    sessions: tuple[Active, ...]

    def expiry_of(self, room_id: str) -> Active | None:
        return next((a for a in self.sessions if a.room_id == room_id), None)


def banner(access: Access) -> Banner:
    """Worked out inside the page's own unit of work (web.call), never on the event loop."""
    may = access.may(SEARCH)
    return Banner(may, tuple(active(access)) if may else ())
