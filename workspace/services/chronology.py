"""The child's chronology (issue #15 item 1): one timeline per room of significant events
across agencies, each with when it happened and when it was recorded, the agency it comes
from, who recorded it, its type and a one-line summary.

What members mark significant is kept (`ChronologyEntry`); the rest is read from where the
product records it already: agency events, published plan versions, the plan's deadlines
met or missed, who joined and left the core group, sharing decisions, break-glass. Every
entry is an item to the policy (`ChronologyEntry`, read by the item rules: rule 2's
sensitivity and agency, rule 3's "a guest sees what came after they joined"), so each
viewer sees exactly what the policy lets them; reading it is one audited
`read_chronology`, printing it an audited `export_chronology`.
"""

from __future__ import annotations

import re
from collections.abc import Generator, Iterator, Mapping
from dataclasses import dataclass
from datetime import date, datetime, time
from typing import Annotated, Any

from pydantic import ConfigDict, Field, StringConstraints, field_validator
from sqlalchemy.orm import aliased
from sqlmodel import col, select
from weasyprint import Document

from workspace.access import Access, LoadedRoom
from workspace.clock import utc
from workspace.errors import Conflict, Invalid
from workspace.facts import chronology_fact, message_fact, plan_version_fact
from workspace.models import (
    AgencyEvent,
    BreakGlass,
    ChronologyEntry,
    Membership,
    Message,
    Organisation,
    PlanVersion,
    SharingDecision,
    User,
)
from workspace.models.agency import EVENT_LABELS
from workspace.models.chronology import ENTRY_TYPES, TYPE_LABELS
from workspace.pdf import layout
from workspace.schemas import Sensitivity, Strict, When
from workspace.services.audit_log import uk_day
from workspace.services.plans import clocks
from workspace.services.plans import document as plan_document
from workspace.services.plans.reading import opened
from workspace.templating import env
from workspace.workdays import ENGLAND, add_working_days, uk_date

READ = "read_chronology"
ADD = "add_to_chronology"
EXPORT = "export_chronology"


@dataclass(frozen=True)
class Entry:
    """One line of the chronology. `id` is the entry's own, or `<kind>:<id>` for an event
    read from elsewhere; `item_id` the room's item it is about, if any."""

    id: str
    occurred_at: datetime
    recorded_at: datetime
    entry_type: str
    summary: str
    sensitivity: str
    agency: Organisation | None
    author: User | None
    item_id: str | None = None
    # The author's organisation, when it is not the agency (a member marking an item of
    # another agency's).
    author_org: Organisation | None = None

    @property
    def late(self) -> bool:
        """Recorded after the working day following the event (chronologies say so)."""
        return uk_date(self.recorded_at) > add_working_days(uk_date(self.occurred_at), 1)


@dataclass(frozen=True)
class Filters:
    agency: str | None = None  # an organisation's id
    entry_type: str | None = None
    since: date | None = None
    until: date | None = None

    @classmethod
    def parse(cls, params: Mapping[str, str]) -> Filters:
        """From a query string (`agency`, `type`, `since`, `until`): a bookmarkable view."""
        kind = params.get("type") or None
        if kind is not None and kind not in TYPE_LABELS:
            raise Invalid(
                f"type is one of: {', '.join(TYPE_LABELS)}.", fields={"type": "unknown type"}
            )
        return cls(
            agency=params.get("agency") or None,
            entry_type=kind,
            since=uk_day("since", params.get("since")),
            until=uk_day("until", params.get("until")),
        )

    @property
    def active(self) -> bool:
        return any((self.agency, self.entry_type, self.since, self.until))

    def keep(self, entry: Entry) -> bool:
        day = uk_date(entry.occurred_at)
        return (
            (self.agency is None or (entry.agency is not None and entry.agency.id == self.agency))
            and (self.entry_type is None or entry.entry_type == self.entry_type)
            and (self.since is None or day >= self.since)
            and (self.until is None or day <= self.until)
        )


@dataclass(frozen=True)
class Chronology:
    room: LoadedRoom
    entries: list[Entry]
    # Every agency among the entries the caller may see (for the filter), by name.
    agencies: list[Organisation]
    filters: Filters
    may_add: bool
    reader: User
    read_at: datetime


def read(access: Access, room_id: str, filters: Filters, *, audit_as: str = READ) -> Chronology:
    loaded = access.room(room_id, READ, audit_as=audit_as)
    seen = [entry for entry, fact in _candidates(access, loaded) if access.allowed("read", fact)]
    seen.sort(key=lambda e: (utc(e.occurred_at), utc(e.recorded_at), e.id))
    agencies = {e.agency.id: e.agency for e in seen if e.agency is not None}
    return Chronology(
        loaded,
        [e for e in seen if filters.keep(e)],
        sorted(agencies.values(), key=lambda o: o.name),
        filters,
        access.allowed(ADD, loaded.fact),
        access.require_user(),
        access.now,
    )


# --- where the entries come from --------------------------------------------------------


Candidate = tuple[Entry, Any]  # the entry, and the fact the policy is asked of


def _candidates(access: Access, room: LoadedRoom, *, whole: bool = False) -> Iterator[Candidate]:
    marked = yield from _marked(access, room)
    yield from _agency_events(access, room, marked)
    yield from _plan(access, room)
    yield from _membership(access, room)
    if whole or access.allowed("read_sharing_record", room.fact):
        yield from _sharing(access, room)
    yield from _break_glass(access, room)


def whole(access: Access, room: LoadedRoom) -> list[Entry]:
    """Every entry, whoever may see it: only for a subject access request the policy has
    allowed on this room (workspace/services/subject_access.py), which records it."""
    found = [entry for entry, _ in _candidates(access, room, whole=True)]
    return sorted(found, key=lambda e: (utc(e.occurred_at), utc(e.recorded_at), e.id))


def _with_person(model: Any, person: Any, room_of: Any, room: LoadedRoom) -> Any:
    """`model`'s rows of the room, each with the person `person` names and their
    organisation (the agency an event comes from)."""
    return (
        select(model, User, Organisation)
        .join(User, col(User.id) == col(person))
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .where(col(room_of) == room.room.id)
    )


def _event_fact(room: LoadedRoom, entry: Entry, author: User, sensitivity: str = "room") -> Any:
    """An event recorded elsewhere, as an item: by `author`'s organisation, at its time."""
    return chronology_fact(entry.id, room.fact, author.id, author.organisation_id, sensitivity,
                           entry.occurred_at)  # fmt: skip


def _marked(access: Access, room: LoadedRoom) -> Generator[Candidate, None, set[str]]:
    """What members marked significant. Returns the items marked (the mark is the entry)."""
    author_org = aliased(Organisation)
    rows = access.session.exec(
        select(ChronologyEntry, User, Organisation, author_org)
        .join(User, col(User.id) == col(ChronologyEntry.author_id))
        .join(Organisation, col(Organisation.id) == col(ChronologyEntry.source_org_id))
        .join(author_org, col(author_org.id) == col(User.organisation_id))
        .where(col(ChronologyEntry.room_id) == room.room.id)
    ).all()
    for e, author, source, theirs in rows:
        entry = Entry(e.id, e.occurred_at, e.recorded_at, e.entry_type, e.summary,
                      e.sensitivity, source, author, e.item_id, theirs)  # fmt: skip
        yield entry, entry_fact(e, room)
    return {e.item_id for e, _, _, _ in rows if e.item_id}


def entry_fact(entry: ChronologyEntry, room: LoadedRoom) -> Any:
    return chronology_fact(entry.id, room.fact, entry.author_id, entry.source_org_id,
                           entry.sensitivity, entry.occurred_at)  # fmt: skip


def _agency_events(access: Access, room: LoadedRoom, marked: set[str]) -> Iterator[Candidate]:
    """A partner system's event about the child: a third-party report, read as its item is
    (never its content here: the type, where, and who sent it)."""
    rows = access.session.exec(
        select(AgencyEvent, Message, User, Organisation)
        .join(Message, col(Message.id) == col(AgencyEvent.message_id))
        .join(User, col(User.id) == col(AgencyEvent.sender_id))
        .join(Organisation, col(Organisation.id) == col(AgencyEvent.sender_org_id))
        .where(col(AgencyEvent.room_id) == room.room.id)
    ).all()
    for event, message, sender, org in rows:
        if message.id in marked:
            continue
        what = EVENT_LABELS.get(event.event_type, event.event_type)
        summary = f"{what}{', ' + event.place if event.place else ''} (reported by {org.name})"
        entry = Entry(
            f"agency_event:{event.id}", event.occurred_at, event.received_at, "agency_event",
            summary, message.sensitivity, org, sender, message.id,
        )  # fmt: skip
        yield entry, message_fact(message, room.fact)


def _plan(access: Access, room: LoadedRoom) -> Iterator[Candidate]:
    """Plan versions signed off, and the plan's deadlines once met or missed."""
    rows = access.session.exec(
        _with_person(PlanVersion, PlanVersion.signed_by_id, PlanVersion.room_id, room)
        .order_by(col(PlanVersion.version))
    ).all()
    for i, (version, signer, org) in enumerate(rows):
        replaced = rows[i + 1][0].signed_at if i + 1 < len(rows) else None
        signed, what = version.signed_at, f"Plan version {version.version} signed off"
        entry = Entry(f"plan_version:{version.id}", signed, signed, "plan", what, "room", org,
                      signer)  # fmt: skip
        yield entry, plan_version_fact(version, replaced, room.fact)
    today = uk_date(access.now)
    key_dates = plan_document.key_dates_json(opened(access, room).doc)
    lead_org = access.session.get(Organisation, room.lead.organisation_id)
    for deadline in clocks.deadlines(room.room.plan_type, key_dates, today):
        held = deadline.held_on
        if held is not None and held <= today:
            when = held
        elif deadline.overdue:
            when = deadline.due
        else:
            continue  # not due yet: the plan's page shows what is coming
        at = datetime.combine(when, time(9), tzinfo=ENGLAND)
        entry = Entry(f"deadline:{deadline.step}", at, at, "deadline", clocks.describe(deadline),
                      "room", lead_org, None)  # fmt: skip
        yield entry, _event_fact(room, entry, room.lead)


def _membership(access: Access, room: LoadedRoom) -> Iterator[Candidate]:
    """Who joined and left the core group; a change of role reads as one."""
    rows = access.session.exec(
        _with_person(Membership, Membership.user_id, Membership.room_id, room)
        .order_by(col(Membership.joined_at), col(Membership.id))
    ).all()
    ends = {(m.user_id, utc(m.revoked_at)) for m, _, _ in rows if m.revoked_at}
    starts = {(m.user_id, utc(m.joined_at)) for m, _, _ in rows}
    for m, user, org in rows:
        changed = (m.user_id, utc(m.joined_at)) in ends
        what = f"became {_role(m.role)}" if changed else f"joined as {_role(m.role)}"
        entry = Entry(f"membership:{m.id}", m.joined_at, m.joined_at, "membership",
                      f"{user.name} ({org.name}) {what}", "room", org, user)  # fmt: skip
        yield entry, _event_fact(room, entry, user)
        expired = m.expires_at if m.expires_at and utc(m.expires_at) <= access.now else None
        ended = m.revoked_at or expired
        if ended is not None and (m.user_id, utc(ended)) not in starts:
            left = "left the core group" if m.revoked_at else "guest access ended"
            entry = Entry(f"membership:{m.id}:end", ended, ended, "membership",
                          f"{user.name} ({org.name}) {left}", "room", org, user)  # fmt: skip
            yield entry, _event_fact(room, entry, user)


def _role(role: str) -> str:
    return {"lead": "lead professional", "member": "a member", "guest": "a guest"}.get(role, role)


def _sharing(access: Access, room: LoadedRoom) -> Iterator[Candidate]:
    """Golden rule 7's records, for those who read the room's sharing record."""
    rows = access.session.exec(
        _with_person(SharingDecision, SharingDecision.decided_by_id, SharingDecision.room_id, room)
    ).all()
    for d, by, org in rows:
        verb = "not to share" if d.decision == "not_share" else "to share"
        entry = Entry(f"sharing:{d.id}", d.created_at, d.created_at, "sharing",
                      f"{by.name} decided {verb} {d.what}", "room", org, by)  # fmt: skip
        yield entry, _event_fact(room, entry, by)


def _break_glass(access: Access, room: LoadedRoom) -> Iterator[Candidate]:
    """Emergency access, shown to the lead and the organisation of whoever used it."""
    rows = access.session.exec(
        _with_person(BreakGlass, BreakGlass.user_id, BreakGlass.room_id, room)
    ).all()
    for g, user, org in rows:
        entry = Entry(f"break_glass:{g.id}", g.started_at, g.started_at, "break_glass",
                      f"{user.name} ({org.name}) opened the room by break-glass",
                      "restricted", org, user)  # fmt: skip
        yield entry, _event_fact(room, entry, user, "restricted")


# --- marking an event significant -------------------------------------------------------


Summary = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]


class EntryIn(Strict):
    """`POST /rooms/{id}/chronology` (DESIGN.md §6 "Chronology")."""

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)

    item_id: Annotated[str, StringConstraints(min_length=1, max_length=36)] | None = None
    occurred_at: When
    type: str = Field(description=f"One of: {', '.join(ENTRY_TYPES)}")
    summary: Summary
    sensitivity: Sensitivity | None = None

    @field_validator("type")
    @classmethod
    def _known(cls, value: str) -> str:
        if value not in ENTRY_TYPES:
            raise ValueError(f"must be one of: {', '.join(ENTRY_TYPES)}")
        return value

    @field_validator("occurred_at")
    @classmethod
    def _past(cls, value: datetime) -> datetime:
        from workspace.clock import clock  # the app's clock, so tests and server agree

        if value > clock.now():
            raise ValueError("cannot be in the future")
        return value


def add(access: Access, room_id: str, data: EntryIn) -> Entry:
    loaded = access.room(room_id, ADD)
    me = access.require_user()
    sensitivity: str = data.sensitivity or "room"
    source_org = me.organisation_id
    if data.item_id is not None:
        item = access.message(data.item_id, "read")
        if item.room.room.id != loaded.room.id:
            raise Invalid("That item is not in this room.", fields={"item_id": "not in this room"})
        # The entry is as sensitive as its item and comes from the item's agency.
        sensitivity, source_org = item.message.sensitivity, item.message.author_org_id
        taken = access.session.exec(
            select(ChronologyEntry.id).where(
                col(ChronologyEntry.room_id) == loaded.room.id,
                col(ChronologyEntry.item_id) == data.item_id,
            )
        ).first()
        if taken is not None:
            raise Conflict("That item is in the chronology already.", code="already_marked")
    entry = ChronologyEntry(
        room_id=loaded.room.id, item_id=data.item_id, occurred_at=data.occurred_at,
        recorded_at=access.now, entry_type=data.type, summary=_one_line(data.summary),
        sensitivity=sensitivity, author_id=me.id, source_org_id=source_org,
    )  # fmt: skip
    access.session.add(entry)
    access.session.flush()
    source = access.session.get(Organisation, source_org)
    mine = access.session.get(Organisation, me.organisation_id)
    return Entry(entry.id, entry.occurred_at, entry.recorded_at, entry.entry_type,
                 entry.summary, entry.sensitivity, source, me, entry.item_id, mine)  # fmt: skip


def _one_line(text: str) -> str:
    return re.sub(r"\s+", " ", text).strip()


# --- on paper -----------------------------------------------------------------------------


def filename(shown: Chronology) -> str:
    """chronology-CR-7K2M9P.pdf: the room's reference, never the child's name."""
    return f"chronology-{re.sub(r'[^A-Za-z0-9-]', '', shown.room.room.reference)}.pdf"


def document(shown: Chronology) -> Document:
    """Laid out, not yet written: its pages' text can be read back (tests do)."""
    html = env.get_template("chronology_pdf.html").render(chronology=shown, labels=TYPE_LABELS)
    return layout(html)


def render_pdf(shown: Chronology) -> bytes:
    drawn: bytes = document(shown).write_pdf()
    return drawn
