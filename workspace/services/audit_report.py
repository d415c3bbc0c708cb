"""The access log's current filter as a printable report (issue #12, item 5): a PDF an IG
lead can file, saying what was asked, by whom and when, and whether the chain holds over
the records it shows. Producing it is audited as an export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from weasyprint import Document

from workspace import audit, pdf
from workspace.access import Access
from workspace.clock import iso
from workspace.models import Organisation, User
from workspace.services import audit_log
from workspace.services.audit_actions import CHANNELS, action_label
from workspace.templating import env

# A printed report is for reading: beyond this many events, the CSV export is the way.
REPORT_LIMIT = 2000


@dataclass(frozen=True)
class Report:
    """The current filter as a printable report (item 5): what was asked, by whom and
    when, the chain checked over the records it holds, and the visits themselves."""

    filters: list[tuple[str, str]]  # the filter in words: (name, value)
    visits: list[audit_log.Visit]
    events: int
    more: bool  # the filter matched more events than a report holds
    span: audit.SpanResult | None
    produced_by: User
    produced_by_org: Organisation | None
    produced_at: datetime


def describe(access: Access, filters: audit_log.AuditFilters) -> list[tuple[str, str]]:
    """The filter in the words of the page's form."""
    said: list[tuple[str, str]] = []
    org = access.session.get(Organisation, filters.organisation) if filters.organisation else None
    for name, value in (
        ("Person", filters.person),
        ("Person (id)", filters.actor_id),
        ("Room", filters.room),
        ("Room (id)", filters.room_id),
        ("Organisation", org.name if org else filters.organisation),
        ("Action", action_label(filters.action) if filters.action else None),
        ("Outcome", filters.outcome),
        ("Channel", CHANNELS.get(filters.channel, filters.channel) if filters.channel else None),
        ("Visit", filters.visit),
        ("From (UK date)", filters.from_day.isoformat() if filters.from_day else None),
        ("To (UK date)", filters.to_day.isoformat() if filters.to_day else None),
        ("Since", iso(filters.since)),
        ("Until", iso(filters.until)),
    ):
        if value:
            said.append((name, value))
    return said


def report(access: Access, filters: audit_log.AuditFilters) -> Report:
    """For managers and IG leads (404 for anyone else), audited as an export."""
    user = access.require_user()
    if not access.may("review_audit"):
        access.deny("export_audit", filters.target(), conceal=True)
    access.record(
        "export_audit", filters.target(), purpose=f"printable report; {filters.purpose()}"
    )
    query = audit_log.events_query(access, filters)
    rows = access.session.exec(query.limit(REPORT_LIMIT + 1)).all()
    items = [audit_log.AuditRow(e, u, o, ref) for e, u, o, ref in rows[:REPORT_LIMIT]]
    visits = audit_log.group_visits(items)
    return Report(
        filters=describe(access, filters),
        visits=visits,
        events=len(items),
        more=len(rows) > REPORT_LIMIT,
        span=audit_log.verify_shown(access, visits),
        produced_by=user,
        produced_by_org=access.session.get(Organisation, user.organisation_id),
        produced_at=access.now,
    )


def document(report: Report) -> Document:
    """Laid out, not yet written: its pages' text can be read back (tests do)."""
    html = env.get_template("audit_report.html").render(
        report=report, channels=CHANNELS, span=report.span
    )
    return pdf.layout(html)


def render(report: Report) -> bytes:
    drawn: bytes = document(report).write_pdf()
    return drawn
