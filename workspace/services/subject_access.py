"""Subject access (issue #15 item 3; DOMAIN.md "Subject access"): for one child, the IG
lead of the organisation that leads the room produces the whole record as one document
ordered in time — the chronology, then every item of the room (messages, agency events,
files, plan versions) — with what needs a redaction decision marked: third-party
information, and the names of other agencies' staff.

Producing it is the policy's `subject_access` on the room (the one exception to "IG leads
do not read case content"), recorded with the request's reference; the document is the
IG lead's working copy for redaction, not something to send as it is. Messages come with
their earlier versions, plan versions with the plan as signed off. Encrypted files cannot
be read here (nobody but their recipients holds the keys): the document lists them so the
IG lead can ask a holder for them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any

from pydantic import StringConstraints
from sqlmodel import col, select
from weasyprint import Document

from workspace.access import Access, LoadedRoom
from workspace.clock import utc
from workspace.models import (
    EncryptedFile,
    Message,
    MessageEdit,
    Organisation,
    PlanVersion,
    User,
)
from workspace.models.chronology import TYPE_LABELS
from workspace.models.message import KIND_LABELS
from workspace.pdf import layout
from workspace.schemas import Strict
from workspace.services import chronology
from workspace.services.files import recipients
from workspace.services.plans import versions
from workspace.templating import env

ACTION = "subject_access"
# What someone else told us: the source may need protecting (DOMAIN.md "Records").
THIRD_PARTY_KINDS = ("third_party", "agency_event")


class RequestIn(Strict):
    """The request being answered: its reference (a case-management or FOI/SAR number)."""

    reference: Annotated[
        str, StringConstraints(strip_whitespace=True, min_length=3, max_length=64)
    ]


@dataclass(frozen=True)
class Line:
    """One item of the record, with what the IG lead must decide about it."""

    at: datetime
    what: str  # "Message: fact", "Agency event", "File", "Plan version 2"
    text: str
    author: User | None
    organisation: Organisation | None
    third_party: bool
    redact_name: bool  # another agency's member of staff
    restricted: bool
    # A message's earlier versions (when each was replaced, and its text); a plan
    # version's plan as signed off.
    earlier: tuple[tuple[datetime, str], ...] = ()
    plan: dict[str, Any] | None = None


@dataclass(frozen=True)
class Bundle:
    room: LoadedRoom
    reference: str
    produced_by: User
    produced_by_org: Organisation
    produced_at: datetime
    chronology: list[chronology.Entry]
    record: list[Line]

    def redact_name(self, organisation: Organisation | None) -> bool:
        return organisation is not None and organisation.id != self.produced_by_org.id


def produce(access: Access, room_id: str, data: RequestIn) -> Bundle:
    room = access.room(room_id, ACTION, purpose=f"subject access request {data.reference}")
    me = access.require_user()
    mine = access.session.get(Organisation, me.organisation_id)
    assert mine is not None
    lines = [*_messages(access, room, mine), *_files(access, room, mine),
             *_versions(access, room, mine)]  # fmt: skip
    lines.sort(key=lambda line: utc(line.at))
    return Bundle(room, data.reference, me, mine, access.now, chronology.whole(access, room),
                  lines)  # fmt: skip


def _people(access: Access, ids: set[str]) -> dict[str, tuple[User, Organisation]]:
    return {u.id: (u, o) for u, o, _ in recipients.people(access, col(User.id).in_(ids))}


def _messages(access: Access, room: LoadedRoom, mine: Organisation) -> list[Line]:
    found = access.session.exec(
        select(Message).where(col(Message.room_id) == room.room.id)
    ).all()
    people = _people(access, {m.author_id for m in found})
    earlier: dict[str, list[tuple[datetime, str]]] = {}
    for edit in access.session.exec(
        select(MessageEdit)
        .where(col(MessageEdit.message_id).in_([m.id for m in found]))
        .order_by(col(MessageEdit.replaced_at))
    ).all():
        earlier.setdefault(edit.message_id, []).append((edit.replaced_at, edit.body))
    out = []
    for m in found:
        author, org = people[m.author_id]
        label = "Agency event" if m.kind == "agency_event" else (
            f"Message: {KIND_LABELS.get(m.kind, m.kind)}")  # fmt: skip
        text = "(retracted by its author)" if m.retracted_at else m.body
        out.append(Line(m.created_at, label, text, author, org, m.kind in THIRD_PARTY_KINDS,
                        org.id != mine.id, m.sensitivity == "restricted",
                        tuple(earlier.get(m.id, ()))))  # fmt: skip
    return out


def _files(access: Access, room: LoadedRoom, mine: Organisation) -> list[Line]:
    found = access.session.exec(
        select(EncryptedFile).where(
            col(EncryptedFile.room_id) == room.room.id,
            col(EncryptedFile.content_state) == "stored",
        )
    ).all()
    people = _people(access, {f.uploader_id for f in found})
    out = []
    for f in found:
        author, org = people[f.uploader_id]
        text = ("An end-to-end encrypted file: its name and content can be read only by "
                "the people it was shared with. Ask one of them for it.")  # fmt: skip
        out.append(Line(f.created_at, f"File: {KIND_LABELS.get(f.kind, f.kind)}", text, author,
                        org, f.kind in THIRD_PARTY_KINDS, org.id != mine.id,
                        f.sensitivity == "restricted"))  # fmt: skip
    return out


def _versions(access: Access, room: LoadedRoom, mine: Organisation) -> list[Line]:
    found = access.session.exec(
        select(PlanVersion).where(col(PlanVersion.room_id) == room.room.id)
    ).all()
    people = _people(access, {v.signed_by_id for v in found})
    plans = versions.contents(access, room)
    out = []
    for v in found:
        author, org = people[v.signed_by_id]
        text = f"The plan as signed off (version {v.version}):"
        out.append(Line(v.signed_at, f"Plan version {v.version}", text, author, org, False,
                        org.id != mine.id, False, plan=plans.get(v.version)))  # fmt: skip
    return out


def filename(bundle: Bundle) -> str:
    """subject-access-CR-7K2M9P-REF.pdf: the room's reference and the request's."""
    safe = re.sub(r"[^A-Za-z0-9-]", "", f"{bundle.room.room.reference}-{bundle.reference}")
    return f"subject-access-{safe}.pdf"


def document(bundle: Bundle) -> Document:
    html = env.get_template("subject_access_pdf.html").render(
        bundle=bundle, labels=TYPE_LABELS, plan_type=bundle.room.room.plan_type
    )
    return layout(html)


def render_pdf(bundle: Bundle) -> bytes:
    drawn: bytes = document(bundle).write_pdf()
    return drawn
