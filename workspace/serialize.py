"""The JSON shapes of DESIGN.md §6 (field names are the contract)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from workspace.clock import iso
from workspace.models import EncryptedFile, Notice, Organisation, User
from workspace.models.agency import EVENT_LABELS

if TYPE_CHECKING:  # services build live payloads with these shapes, so no import cycle
    from workspace.services.audit_log import AuditRow
    from workspace.services.chronology import Entry as ChronologyEntry
    from workspace.services.exposure import ExposureReport
    from workspace.services.flags import Flag
    from workspace.services.front_door import ContactView
    from workspace.services.invitations import InvitationView
    from workspace.services.members import MemberView
    from workspace.services.messages import MessageView
    from workspace.services.oversight import OverseenRoom
    from workspace.services.room_history import Entry as HistoryEntry
    from workspace.services.rooms import RoomSummary, RoomView
    from workspace.services.sharing import DecisionView
    from workspace.services.viewers import Viewer


def organisation(org: Organisation) -> dict[str, Any]:
    return {"id": org.id, "name": org.name, "kind": org.kind}


def user(u: User, org: Organisation) -> dict[str, Any]:
    return {"id": u.id, "name": u.name, "email": u.email, "organisation": organisation(org)}


def room(view: RoomView) -> dict[str, Any]:
    child = view.child
    child_out: dict[str, Any] = {"name": child.name, "age": child.age}
    if child.date_of_birth is not None:
        child_out.update(
            date_of_birth=child.date_of_birth.isoformat(),
            nhs_number=child.nhs_number,
            upn=child.upn,
            address=child.address,
        )
    return {
        "id": view.room.id,
        "reference": view.room.reference,
        "title": view.room.title,
        "status": view.room.status,
        "plan_type": view.room.plan_type,
        "created_at": iso(view.room.created_at),
        "child": child_out,
        "lead": user(view.lead, view.lead_org),
        "my_role": view.my_role,
    }


def room_summary(s: RoomSummary) -> dict[str, Any]:
    return {
        "id": s.room.id,
        "reference": s.room.reference,
        "title": s.room.title,
        "status": s.room.status,
        "plan_type": s.room.plan_type,
        "created_at": iso(s.room.created_at),
        "child": {"name": s.child_name},
        "lead": user(s.lead, s.lead_org),
        "unread": s.unread.messages,
        "unread_mentions": s.unread.mentions,
    }


def overseen_room(o: OverseenRoom) -> dict[str, Any]:
    """A room as its overseer sees it (issue #12): no child's name, nothing of its content."""
    deadline = o.next_deadline
    next_deadline = None
    if deadline is not None:
        next_deadline = {
            "step": deadline.step,
            "due": deadline.due,
            "overdue": deadline.overdue,
            "text": deadline.text,
        }
    return {
        "id": o.room.id,
        "reference": o.room.reference,
        "status": o.room.status,
        "plan_type": o.room.plan_type,
        "child": {"initials": o.initials, "age": o.age},
        "lead": user(o.lead, o.lead_org),
        "last_activity": iso(o.last_activity),
        "next_deadline": next_deadline,
        "overdue_actions": o.overdue_actions,
        "guests_ending": {"count": o.guests_ending, "first": iso(o.guests_ending_first)},
        "may_open": o.may_open,
    }


def member(v: MemberView) -> dict[str, Any]:
    m = v.membership
    return {
        "user": user(v.user, v.organisation),
        "role": m.role,
        "joined_at": iso(m.joined_at),
        "expires_at": iso(m.expires_at),
        "purpose": m.purpose,
        "lawful_basis": m.lawful_basis,
    }


def message(v: MessageView) -> dict[str, Any]:
    m = v.message
    retracted = m.retracted_at is not None
    return {
        "id": m.id,
        "room_id": m.room_id,
        "author": user(v.author, v.organisation),
        "body": None if retracted else m.body,
        "kind": m.kind,
        "sensitivity": m.sensitivity,
        "created_at": iso(m.created_at),
        "thread_id": m.thread_id,
        "client_id": m.client_id,
        "edited": m.edited_at is not None,
        "edited_at": iso(m.edited_at),
        "retracted": retracted,
        "seen_by": [{"id": r.id, "name": r.name} for r in v.seen_by],
        "mentions": [{"id": r.id, "name": r.name} for r in v.mentions],
        "not_notified": list(v.not_notified),
        # What a partner system said of the event this item is (issue #14); its source
        # organisation is the author's.
        "agency_event": None
        if v.agency is None
        else {
            "type": v.agency.event_type,
            "label": EVENT_LABELS.get(v.agency.event_type, v.agency.event_type),
            "occurred_at": iso(v.agency.occurred_at),
            "place": v.agency.place,
            "reference": v.agency.reference,
        },
        # For whoever the policy said must be told of it: by when, and whether they have
        # acknowledged it (a live payload goes to many, so it never carries this).
        "alert": None
        if v.agency is None or v.agency.told is None
        else {
            "due_at": iso(v.agency.told.due_at),
            "acknowledged_at": iso(v.agency.told.acknowledged_at),
        },
    }


def contact(v: ContactView) -> dict[str, Any]:
    """A contact at the front door (issue #14), for its triagers."""
    c = v.contact
    born = c.child_date_of_birth
    child = {"name": c.child_name, "nhs_number": c.nhs_number, "upn": c.upn,
             "date_of_birth": born.isoformat() if born else None}  # fmt: skip
    match = v.match
    return {
        "id": c.id,
        "reference": c.reference,
        "source": c.source,
        "reporter": user(v.reporter, v.reporter_organisation),
        "child": child,
        "what_happened": c.what_happened,
        "happened_at": iso(c.happened_at),
        "place": c.place,
        "who_told": c.who_told,
        "child_words": c.child_words,
        "action_taken": c.action_taken,
        "sensitivity": c.sensitivity,
        "received_at": iso(c.received_at),
        "due_at": iso(v.due_at),
        "overdue": v.overdue,
        "rag": c.rag,
        "status": c.status,
        "decided_at": iso(c.decided_at),
        "close_reason": c.close_reason,
        "room_id": c.room_id,
        # The open room the child has: who leads it (as the duplicate check tells anyone);
        # its id only to a triager who may open it.
        "match": None
        if match is None
        else {
            "room_id": match.room_id if match.visible else None,
            "reference": match.reference,
            "lead": {"name": match.lead_name, "organisation": match.lead_organisation},
        },
        "may_decide": v.may_decide,
        # End-to-end encrypted photos the reporter added (only in a single contact's view).
        "photos": [p.json() for p in v.photos],
    }


def audit_event(row: AuditRow) -> dict[str, Any]:
    e = row.event
    return {
        "id": e.id,
        "seq": e.seq,
        "at": iso(e.at),
        "actor": user(row.actor, row.organisation) if row.actor and row.organisation else None,
        "action": e.action,
        "resource_type": e.resource_type,
        "resource_id": e.resource_id,
        "room_id": e.room_id,
        "room_reference": row.room_reference,
        "outcome": e.outcome,
        "purpose": e.purpose,
        "channel": e.channel,
        "request_id": e.request_id,
        "ip": e.ip,
        "hash": e.mac,
    }


def exposure(report: ExposureReport) -> dict[str, Any]:
    """Who could have seen an item: its metadata, never its text or its key. A message's
    report names it `message`; a file's, `file`, and says of each person whether they
    hold its key and how often they downloaded it."""
    item = report.item
    about: dict[str, Any] = {
        "id": item.id,
        "room_id": item.room_id,
        "room_reference": report.room_reference,
        "created_at": iso(item.created_at),
        "sensitivity": item.sensitivity,
        "kind": item.kind,
        ("author" if report.kind == "message" else "uploader"): user(
            report.author, report.author_org
        ),
    }
    if isinstance(item, EncryptedFile):
        about["size"] = item.size
    items = []
    for e in report.people:
        row: dict[str, Any] = {
            "user": user(e.user, e.organisation),
            "could_read_from": iso(e.could_read_from),
            "can_read_now": e.can_read_now,
            "views": e.views,
            "last_view_at": iso(e.last_view_at),
        }
        if report.kind == "file":
            row.update(
                holds_key=e.key_since is not None,
                key_since=iso(e.key_since),
                downloads=e.downloads,
                last_download_at=iso(e.last_download_at),
            )
        items.append(row)
    return {report.kind: about, "items": items, "next": None}


def notice(n: Notice) -> dict[str, Any]:
    return {
        "id": n.id,
        "kind": n.kind,
        "text": n.text,
        "link": n.link,
        "room_id": n.room_id,
        "created_at": iso(n.created_at),
        "read": n.read_at is not None,
    }


def invitation(view: InvitationView) -> dict[str, Any]:
    """No token and no link: those go to the invited person only, by email."""
    i = view.invitation
    return {
        "id": i.id,
        "room_id": i.room_id,
        "email": i.email,
        "role": i.role,
        "organisation": organisation(view.organisation),
        "status": i.status,
        "expires_at": iso(i.access_expires_at),
        "link_expires_at": iso(i.link_expires_at),
        "created_at": iso(i.created_at),
        "purpose": i.purpose,
        "lawful_basis": i.lawful_basis,
        "sharing_decision_id": i.sharing_decision_id,
    }


def sharing_decision(v: DecisionView) -> dict[str, Any]:
    d = v.decision
    return {
        "id": d.id,
        "decision": d.decision,
        "what": d.what,
        "item_id": d.item_id,
        "decided_by": {"id": v.decided_by.id, "name": v.decided_by.name},
        "with_user": {"id": v.with_user.id, "name": v.with_user.name} if v.with_user else None,
        "with_organisation": (
            {"id": v.with_organisation.id, "name": v.with_organisation.name}
            if v.with_organisation
            else None
        ),
        "purpose": d.purpose,
        "lawful_basis": d.lawful_basis,
        "consent": d.consent,
        "consent_reason": d.consent_reason,
        "created_at": iso(d.created_at),
    }


def history_entry(e: HistoryEntry) -> dict[str, Any]:
    return {"at": iso(e.at), "action": e.action, "text": e.text}


def viewer(v: Viewer) -> dict[str, Any]:
    """One person who viewed a room (DESIGN.md §6, access review)."""
    row: dict[str, Any] = {
        "user": user(v.user, v.organisation),
        "role_then": v.role_then,
        "via": v.via,
        "first_view": iso(v.first_view),
        "last_view": iso(v.last_view),
        "views": v.views,
    }
    if v.reason is not None:
        row["reason"] = v.reason
    return row


def flag(f: Flag) -> dict[str, Any]:
    """An access flag (DESIGN.md §6, access review): `reviewed` is null or who, when, note."""
    reviewed = None
    if f.reviewed is not None:
        reviewed = {
            "by": f.reviewed.reviewer_id,
            "at": iso(f.reviewed.reviewed_at),
            "note": f.reviewed.note,
        }
    return {
        "id": f.id,
        "kind": f.kind,
        "explanation": f.explanation,
        "at": iso(f.at),
        "actor": {"id": f.actor.id, "name": f.actor.name} if f.actor else None,
        "room_id": f.room_id,
        "reviewed": reviewed,
    }


def chronology_entry(e: ChronologyEntry) -> dict[str, Any]:
    """An entry of a room's chronology (DESIGN.md §6 "Chronology"). An author is a person
    (null for what the product recorded itself, such as a deadline); `agency` the
    organisation the information comes from."""
    return {
        "id": e.id,
        "occurred_at": iso(e.occurred_at),
        "recorded_at": iso(e.recorded_at),
        "late": e.late,
        "agency": organisation(e.agency) if e.agency else None,
        "author": user(e.author, org) if e.author and (org := e.author_org or e.agency) else None,
        "type": e.entry_type,
        "summary": e.summary,
        "sensitivity": e.sensitivity,
        "item_id": e.item_id,
    }
