"""Reading the access log (rule 7): filtered in the query, paged by keyset on the chain's
sequence (never OFFSET), grouped into visits, exported as a stream, and itself audited —
one event per page read, one per export."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, fields
from datetime import date, datetime, time, timedelta
from urllib.parse import urlencode

from sqlalchemy import ColumnElement, and_, func, or_
from sqlmodel import col, select
from sqlmodel.sql.expression import Select

from workspace import audit
from workspace.access import Access, Target
from workspace.clock import iso, utc
from workspace.errors import Invalid
from workspace.models import AuditEvent, Organisation, Room, User
from workspace.pagination import BadCursor, Page, decode_cursor, encode_cursor
from workspace.schemas import parse_when
from workspace.services.audit_actions import ACTION_LABELS, CHANNELS, action_label
from workspace.services.sharing import csv_cell
from workspace.workdays import ENGLAND

EXPORT_BATCH = 1000
_DAY = re.compile(r"\d{4}-\d{2}-\d{2}")


def uk_day(name: str, raw: str | None) -> date | None:
    """A query parameter that is a day (YYYY-MM-DD), or a 422 naming it."""
    if not raw:
        return None
    try:
        if not _DAY.fullmatch(raw):
            raise ValueError(raw)
        day = date.fromisoformat(raw)
        if day.year < 1900:
            raise ValueError(raw)
        return day
    except ValueError as exc:
        raise Invalid(
            f"{name} must be a date (YYYY-MM-DD).", fields={name: "must be a date (YYYY-MM-DD)"}
        ) from exc


def _uk_midnight(day: date) -> datetime:
    return utc(datetime.combine(day, time(0), tzinfo=ENGLAND))


@dataclass(frozen=True)
class AuditFilters:
    """What the reviewer asked for; each field is a query parameter of the same name
    (`from`/`to` are `from_day`/`to_day`), so a filter is a URL that can be bookmarked."""

    room_id: str | None = None
    room: str | None = None  # a room's id or reference
    actor_id: str | None = None
    person: str | None = None  # a name (part of it) or an email address
    organisation: str | None = None  # an organisation's id
    action: str | None = None
    outcome: str | None = None
    channel: str | None = None
    visit: str | None = None  # a request id: one visit's events
    from_day: date | None = None  # UK dates, `to` inclusive
    to_day: date | None = None
    since: datetime | None = None  # exact instants (the API's older filters)
    until: datetime | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> AuditFilters:
        def text(name: str) -> str | None:
            value = (params.get(name) or "").strip()
            return value[:200] or None

        outcome = text("outcome")
        if outcome not in (None, "allowed", "denied"):
            raise Invalid("outcome must be allowed or denied.", fields={"outcome": "unknown"})
        action = text("action")
        if action is not None and action not in ACTION_LABELS:
            raise Invalid(
                f"There is no action called “{action}”. Choose one from the Action list.",
                fields={"action": "not an action the log records"},
            )
        channel = text("channel")
        if channel is not None and channel not in CHANNELS:
            raise Invalid(
                f"channel must be one of {', '.join(CHANNELS)}.", fields={"channel": "unknown"}
            )
        return cls(
            room_id=text("room_id"),
            room=text("room"),
            actor_id=text("actor_id"),
            person=text("person"),
            organisation=text("organisation"),
            action=action,
            outcome=outcome,
            channel=channel,
            visit=text("visit"),
            from_day=uk_day("from", params.get("from")),
            to_day=uk_day("to", params.get("to")),
            since=parse_when("since", params.get("since")),
            until=parse_when("until", params.get("until")),
        )

    def params(self) -> dict[str, str]:
        """The filter as query parameters (for links that keep it: paging, export)."""
        out: dict[str, str] = {}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            name = {"from_day": "from", "to_day": "to"}.get(f.name, f.name)
            out[name] = iso(value) or "" if isinstance(value, datetime) else str(value)
        return out

    def query(self, **extra: str | None) -> str:
        """The filter as a query string, with `extra` (a cursor, a page size) where given."""
        return urlencode({**self.params(), **{k: v for k, v in extra.items() if v}})

    def clause(self) -> ColumnElement[bool]:
        conditions: list[ColumnElement[bool]] = []
        for column, value in (
            (AuditEvent.room_id, self.room_id),
            (AuditEvent.actor_id, self.actor_id),
            (AuditEvent.actor_org_id, self.organisation),
            (AuditEvent.action, self.action),
            (AuditEvent.outcome, self.outcome),
            (AuditEvent.channel, self.channel),
            (AuditEvent.request_id, self.visit),
        ):
            if value is not None:
                conditions.append(col(column) == value)
        if self.room is not None:
            rooms = select(col(Room.id)).where(
                or_(col(Room.id) == self.room, col(Room.reference) == self.room.upper())
            )
            conditions.append(col(AuditEvent.room_id).in_(rooms))
        if self.person is not None:
            needle = self.person.lower()
            people = select(col(User.id)).where(
                or_(
                    func.lower(col(User.name)).contains(needle, autoescape=True),
                    func.lower(col(User.email)) == needle,
                )
            )
            conditions.append(col(AuditEvent.actor_id).in_(people))
        if self.from_day is not None:
            conditions.append(col(AuditEvent.at) >= _uk_midnight(self.from_day))
        if self.to_day is not None:
            conditions.append(col(AuditEvent.at) < _uk_midnight(self.to_day + timedelta(1)))
        if self.since is not None:
            conditions.append(col(AuditEvent.at) >= self.since)
        if self.until is not None:
            conditions.append(col(AuditEvent.at) < self.until)
        return and_(*conditions) if conditions else and_(True)

    def target(self) -> Target:
        return Target("audit", None, self.room_id)

    def purpose(self) -> str:
        """Recorded with each page read: whose activity the reviewer looked at."""
        asked = self.query()
        return f"access review: {asked}" if asked else "access review"


@dataclass(frozen=True)
class AuditRow:
    event: AuditEvent
    actor: User | None
    organisation: Organisation | None
    room_reference: str | None

    @property
    def label(self) -> str:
        return action_label(self.event.action)


@dataclass(frozen=True)
class Visit:
    """One request's events (a page view and the reads it made), newest first; an event
    with no request id is a visit of its own."""

    rows: list[AuditRow]

    def integrity(self, span: audit.SpanResult | None) -> str:
        """The worst state of the visit's records in the verified span ("broken", "after")."""
        states = {span.state(r.event.seq) for r in self.rows} if span else set()
        return "broken" if "broken" in states else "after" if "after" in states else ""

    @property
    def first(self) -> AuditRow:
        """The event that names the visit: the page view (the earliest event)."""
        return self.rows[-1]

    @property
    def denied(self) -> bool:
        return any(r.event.outcome == "denied" for r in self.rows)


def group_visits(rows: list[AuditRow]) -> list[Visit]:
    visits: list[Visit] = []
    for row in rows:
        rid = row.event.request_id
        if visits and rid is not None and visits[-1].rows[0].event.request_id == rid:
            visits[-1].rows.append(row)
        else:
            visits.append(Visit([row]))
    return visits


def events_query(
    access: Access, filters: AuditFilters
) -> Select[AuditEvent, User, Organisation, str]:
    return (
        select(AuditEvent, User, Organisation, Room.reference)
        .outerjoin(User, col(User.id) == col(AuditEvent.actor_id))
        .outerjoin(Organisation, col(Organisation.id) == col(User.organisation_id))
        .outerjoin(Room, col(Room.id) == col(AuditEvent.room_id))
        .where(access.audit_filter(), filters.clause())
        .order_by(col(AuditEvent.seq).desc())
    )


def _before(access: Access, cursor: str | None) -> int | None:
    before = decode_cursor(access.app.keys, cursor, 1)
    if before is None:
        return None
    if not isinstance(before[0], int):
        raise BadCursor()
    return before[0]


def list_events(
    access: Access, filters: AuditFilters, *, cursor: str | None = None, limit: int = 50
) -> Page[AuditRow]:
    access.require_user()
    query = events_query(access, filters)
    before = _before(access, cursor)
    if before is not None:
        query = query.where(col(AuditEvent.seq) < before)
    rows = access.session.exec(query.limit(limit + 1)).all()
    access.record("list_audit", filters.target(), purpose=filters.purpose())
    items = [AuditRow(e, u, o, ref) for e, u, o, ref in rows[:limit]]
    nxt = encode_cursor(access.app.keys, items[-1].event.seq) if len(rows) > limit else None
    return Page(items, nxt)


def list_visits(
    access: Access, filters: AuditFilters, *, cursor: str | None = None, limit: int = 100
) -> Page[Visit]:
    """A page of visits. A visit the page boundary would cut is left whole for the next
    page (unless it is the only one: a visit longer than a page is shown in parts)."""
    page = list_events(access, filters, cursor=cursor, limit=limit)
    visits = group_visits(page.items)
    if page.next is not None and len(visits) > 1:
        visits.pop()
        last = visits[-1].rows[-1].event.seq
        return Page(visits, encode_cursor(access.app.keys, last))
    return Page(visits, page.next)


CSV_COLUMNS = (
    "when (UTC)", "person", "organisation", "action", "action code", "resource type",
    "resource id", "room", "outcome", "purpose", "channel", "visit (request id)", "ip",
    "record", "hash",
)  # fmt: skip


def _csv_row(r: AuditRow) -> list[str]:
    e = r.event
    return [
        csv_cell(x)
        for x in (
            iso(e.at),
            r.actor.name if r.actor else None,
            r.organisation.name if r.organisation else None,
            r.label,
            e.action,
            e.resource_type,
            e.resource_id,
            r.room_reference,
            e.outcome,
            e.purpose,
            e.channel,
            e.request_id,
            e.ip,
            str(e.seq),
            e.mac,
        )
    ]


def export_csv(access: Access, filters: AuditFilters) -> Iterator[str]:
    """The filtered log as CSV text chunks, for managers and IG leads (404 for anyone
    else). Authorised and audited now; the rows are then read lazily, a keyset page at a
    time, each from a snapshot of its own, so a year of events never sits in memory and
    no transaction is held open while the client downloads."""
    access.require_user()
    if not access.may("review_audit"):
        access.deny("export_audit", filters.target(), conceal=True)
    access.record("export_audit", filters.target(), purpose=filters.purpose())
    query = events_query(access, filters)
    db = access.app.db

    def chunks() -> Iterator[str]:
        out = io.StringIO()
        writer = csv.writer(out)
        writer.writerow(CSV_COLUMNS)
        before: int | None = None
        while True:
            page = query if before is None else query.where(col(AuditEvent.seq) < before)
            with db.read_only_session() as session:
                rows = session.exec(page.limit(EXPORT_BATCH)).all()
                writer.writerows(_csv_row(AuditRow(e, u, o, ref)) for e, u, o, ref in rows)
                before = rows[-1][0].seq if len(rows) == EXPORT_BATCH else None
            yield out.getvalue()
            out.seek(0)
            out.truncate()
            if before is None:
                return

    return chunks()


def export_name(now: datetime, suffix: str = "csv") -> str:
    return f"access-log-{now.astimezone(ENGLAND).date().isoformat()}.{suffix}"


def offered_organisations(access: Access) -> list[Organisation]:
    """The organisations the Organisation list offers."""
    return list(access.session.exec(select(Organisation).order_by(col(Organisation.name))).all())


def verify_shown(access: Access, visits: list[Visit]) -> audit.SpanResult | None:
    """The chain verified over the span of records a page shows (item 6). The page's read
    is recorded and committed first, and the span is read from a snapshot that holds no
    lock, as `verify_chain` does."""
    access.session.commit()
    shown = [r.event.seq for v in visits for r in v.rows]
    with access.app.db.read_only_session() as snapshot:
        return audit.verify_span(snapshot, access.app.keys, access.app.audit.witness, shown)


def verify_chain(access: Access) -> audit.VerifyResult:
    """The review is recorded and committed first; the chain is then read from a snapshot
    that holds no lock, so a long verify never stalls audited requests."""
    access.require_workspace("review_audit")
    access.session.commit()
    with access.app.db.read_only_session() as snapshot:
        return audit.verify(snapshot, access.app.keys, access.app.audit.witness)
