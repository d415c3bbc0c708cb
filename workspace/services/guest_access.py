"""How long a guest (an external agency) may have access: one rule for invitations,
additions, role changes and extensions (DESIGN.md §3 rule 3; the issue: default 30 days,
at most 90). Only a guest's access ends: an end date asked for anyone else is refused,
never silently dropped."""

from __future__ import annotations

from datetime import datetime, timedelta

from workspace.clock import utc
from workspace.errors import Invalid

GUEST_DEFAULT_DAYS = 30
GUEST_MAX_DAYS = 90


def guest_end(now: datetime, wanted: datetime | None) -> datetime:
    """When a guest's access ends: the date asked for, or 30 days; never past, never
    more than 90 days ahead (invitations, additions and extensions alike)."""
    end = utc(wanted) if wanted else now + timedelta(days=GUEST_DEFAULT_DAYS)
    if end <= now:
        raise Invalid("A guest's access must end in the future.", fields={"expires_at": "past"})
    if end > now + timedelta(days=GUEST_MAX_DAYS):
        raise Invalid(
            f"Guest access can last at most {GUEST_MAX_DAYS} days.",
            fields={"expires_at": "too far ahead"},
        )
    return end


def no_end_unless_guest(role: str, wanted: datetime | None) -> None:
    """Refuse an end date for any role but guest (a member's access does not end)."""
    if role != "guest" and wanted is not None:
        raise Invalid("Only a guest's access ends.", fields={"expires_at": "for guests only"})


def access_end(now: datetime, role: str, wanted: datetime | None) -> datetime | None:
    """When access in `role`, starting now, ends: a guest's by `guest_end`, anyone else's
    never (an end date asked for them is refused)."""
    no_end_unless_guest(role, wanted)
    return guest_end(now, wanted) if role == "guest" else None
