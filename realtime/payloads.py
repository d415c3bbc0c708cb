"""What every socket event handler shares: reading its payload, the shape of an error,
and when a socket's access to a room must be decided again."""

from __future__ import annotations

from typing import Any, TypeVar

from workspace.access import Access
from workspace.errors import CaseroomError, Invalid
from workspace.schemas import Strict
from workspace.web import validate

M = TypeVar("M", bound=Strict)


def error_of(exc: CaseroomError) -> dict[str, Any]:
    return {"error": {"code": exc.code, "message": exc.message}}


def payload(model: type[M], data: Any, event: str) -> M:
    """An event's payload, or Invalid saying what it needs (a client may send none)."""
    if not isinstance(data, dict):
        needed = [name for name, f in model.model_fields.items() if f.is_required()]
        raise Invalid(f"`{event}` needs an object with {', '.join(needed)}.")
    return validate(model, data)


def recheck_at(access: Access, room_id: str) -> float | None:
    """When this caller's access to the room lapses by itself (guest expiry, break-glass),
    so the sweeper decides again then. A schedule, not a decision: the policy decides."""
    principal = access.require_principal()
    times = [m.expires_ts for m in principal.memberships_in(room_id) if m.expires_ts]
    times += [g.expires_ts for g in principal.break_glass if g.room_id == room_id]
    return min(times) if times else None
