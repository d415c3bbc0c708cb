"""Reading the access log (rule 7): filtered in the query, and itself audited."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from workspace import audit
from workspace.access import Access, Target
from workspace.errors import Invalid
from workspace.models import AuditEvent, Organisation, Room, User
from workspace.pagination import BadCursor, Page, decode_cursor, encode_cursor
from workspace.schemas import parse_when


@dataclass(frozen=True)
class AuditFilters:
    room_id: str | None = None
    actor_id: str | None = None
    action: str | None = None
    outcome: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    @classmethod
    def parse(cls, params: dict[str, str]) -> AuditFilters:
        outcome = params.get("outcome") or None
        if outcome not in (None, "allowed", "denied"):
            raise Invalid("outcome must be allowed or denied.")
        return cls(
            room_id=params.get("room_id") or None,
            actor_id=params.get("actor_id") or None,
            action=params.get("action") or None,
            outcome=outcome,
            since=parse_when("since", params.get("since")),
            until=parse_when("until", params.get("until")),
        )


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    actor: User | None
    organisation: Organisation | None
    room_reference: str | None


def list_events(
    access: Access, filters: AuditFilters, *, cursor: str | None = None, limit: int = 50
) -> Page[AuditRow]:
    access.require_user()
    query = (
        select(AuditEvent, User, Organisation, Room.reference)
        .outerjoin(User, User.id == AuditEvent.actor_id)  # type: ignore[arg-type]
        .outerjoin(Organisation, Organisation.id == User.organisation_id)  # type: ignore[arg-type]
        .outerjoin(Room, Room.id == AuditEvent.room_id)  # type: ignore[arg-type]
        .where(access.audit_filter())
        .order_by(col(AuditEvent.seq).desc())
    )
    for column, value in (
        (AuditEvent.room_id, filters.room_id),
        (AuditEvent.actor_id, filters.actor_id),
        (AuditEvent.action, filters.action),
        (AuditEvent.outcome, filters.outcome),
    ):
        if value is not None:
            query = query.where(column == value)
    if filters.since:
        query = query.where(col(AuditEvent.at) >= filters.since)
    if filters.until:
        query = query.where(col(AuditEvent.at) < filters.until)
    before = decode_cursor(access.app.keys, cursor, 1)
    if before is not None:
        if not isinstance(before[0], int):
            raise BadCursor()
        query = query.where(col(AuditEvent.seq) < before[0])
    rows = access.session.exec(query.limit(limit + 1)).all()
    access.record("list_audit", Target("audit", None, filters.room_id), purpose="access review")
    items = [AuditRow(e, u, o, ref) for e, u, o, ref in rows[:limit]]
    nxt = encode_cursor(access.app.keys, items[-1].event.seq) if len(rows) > limit else None
    return Page(items, nxt)


def verify_chain(access: Access) -> audit.VerifyResult:
    """The review is recorded and committed first; the chain is then read from a snapshot
    that holds no lock, so a long verify never stalls audited requests."""
    access.require_workspace("review_audit")
    access.session.commit()
    with access.app.db.read_only_session() as snapshot:
        return audit.verify(snapshot, access.app.keys, access.app.audit.witness)
