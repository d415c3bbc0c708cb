"""Sharing decisions (golden rule 7): the lead re-shares an earlier item with a guest or
a newer member; anyone in the room records a decision *not* to share; the lead and
members read the room's record and export it as CSV (an audited export)."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Annotated, Any, Literal, Protocol

from pydantic import ConfigDict, field_validator
from pydantic.types import StringConstraints
from sqlalchemy.orm import aliased
from sqlmodel import col, select

from workspace.access import Access, LoadedFile, LoadedRoom, Target
from workspace.clock import iso
from workspace.errors import Invalid
from workspace.events import MessageShared
from workspace.models import Organisation, PlanVersion, SharingDecision, User
from workspace.models.sharing import LAWFUL_BASES
from workspace.schemas import Consent, LawfulBasis, LongText, Strict, Text
from workspace.services import messages, notifications

Id = Annotated[str, StringConstraints(min_length=1, max_length=36)]
Reason = Annotated[str, StringConstraints(max_length=1000)]


class _Reasons(Strict):
    purpose: LongText
    lawful_basis: LawfulBasis
    consent: Consent
    consent_reason: Reason | None = None

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)

    @field_validator("purpose", "lawful_basis", "consent", mode="before")
    @classmethod
    def _strings(cls, value: object) -> object:
        if not isinstance(value, str):
            raise ValueError("must be a string")
        return value


class ShareIn(_Reasons):
    item_type: Literal["message", "file", "plan_version"]
    item_id: Id
    user_id: Id


class NotShareIn(_Reasons):
    decision: Literal["not_share"]
    what: Text
    with_organisation: Id | None = None


class FileShareReasons(Protocol):
    """Why the lead shares a file (workspace/services/files/inputs.py WrapIn)."""

    @property
    def purpose(self) -> str | None: ...
    @property
    def lawful_basis(self) -> str | None: ...
    @property
    def consent(self) -> str | None: ...
    @property
    def consent_reason(self) -> str | None: ...


@dataclass(frozen=True)
class DecisionView:
    decision: SharingDecision
    decided_by: User
    with_user: User | None
    with_organisation: Organisation | None


def _consent_reason(data: _Reasons) -> None:
    if data.consent == "not_sought" and not data.consent_reason:
        raise Invalid(
            "Say why consent was not sought.",
            fields={"consent_reason": "required when consent is not sought"},
        )


def share_item(access: Access, room_id: str, data: ShareIn) -> SharingDecision:
    """Rule 3: the lead shares an earlier item with someone in the room who cannot read it
    yet. Restricted items stay with the author's organisation: sharing cannot widen that."""
    loaded = access.room(room_id, "share_item")
    if data.item_type == "file":
        # Only someone holding the file key can share it: the key is wrapped for them.
        raise Invalid(
            "Share a file by wrapping its key for them: POST /files/{id}/keys.",
            fields={"item_type": "use POST /files/{id}/keys"},
        )
    _consent_reason(data)
    if data.item_type == "plan_version":
        return _share_plan_version(access, loaded, data)
    item = access.message(data.item_id, "read")
    if item.room.room.id != loaded.room.id:
        access.deny("share_item", Target("message", data.item_id, loaded.room.id), conceal=True)
    if item.message.retracted_at is not None:
        raise Invalid("A retracted message cannot be shared.", fields={"item_id": "retracted"})
    recipient = access.session.get(User, data.user_id)
    if recipient is None or not access.user_may(recipient, "view", loaded.fact):
        raise Invalid("They are not in this room.", fields={"user_id": "not in this room"})
    if access.user_may(recipient, "read", item.fact):
        raise Invalid("They can read it already.", fields={"item_id": "already visible to them"})
    decision = _decided_to_share(
        access, loaded.room.id, "message", item.message.id, recipient,
        data.purpose, data.lawful_basis, data.consent, data.consent_reason,
    )  # fmt: skip
    if not access.user_may(recipient, "read", item.fact):
        raise Invalid(
            "A restricted item stays with its author's organisation and the lead.",
            fields={"item_id": "restricted"},
        )
    access.record(
        "item_shared",
        Target("message", item.message.id, loaded.room.id, loaded.child.id),
        purpose=data.purpose,
    )
    # What the recipient's open pages receive: the item as they see it (they cannot edit).
    view = messages.view_of(access, item.message, can_edit=False)
    access.emit(MessageShared(loaded.room.id, recipient.id, messages.payload(view)))
    notifications.item_shared(access, loaded, recipient, item.message.id)
    return decision


def _share_plan_version(access: Access, room: LoadedRoom, data: ShareIn) -> SharingDecision:
    """Rule 3 for plans: a guest reads the versions from the one agreed when they joined;
    the lead shares an earlier one with them (its id: `GET /rooms/{id}/plan/versions`)."""
    row = access.session.get(PlanVersion, data.item_id)
    if row is None or row.room_id != room.room.id:
        access.deny("share_item", Target("plan_version", data.item_id, room.room.id),
                    conceal=True)  # fmt: skip
        raise AssertionError("unreachable")
    version = access.plan_version(room.room.id, row.version, "read")
    recipient = access.session.get(User, data.user_id)
    if recipient is None or not access.user_may(recipient, "view", room.fact):
        raise Invalid("They are not in this room.", fields={"user_id": "not in this room"})
    if access.user_may(recipient, "read", version.fact):
        raise Invalid("They can read it already.", fields={"item_id": "already visible to them"})
    decision = _decided_to_share(
        access, room.room.id, "plan_version", row.id, recipient,
        data.purpose, data.lawful_basis, data.consent, data.consent_reason,
    )  # fmt: skip
    access.record("item_shared", version.target, purpose=data.purpose)
    notifications.item_shared(
        access, room, recipient, row.id, what="plan version",
        link=f"/rooms/{room.room.id}/plan/versions/{row.version}",
    )  # fmt: skip
    return decision


def _decided_to_share(
    access: Access,
    room_id: str,
    what: str,
    item_id: str,
    recipient: User,
    purpose: str,
    lawful_basis: str,
    consent: str,
    consent_reason: str | None,
) -> SharingDecision:
    """The record of the lead's decision to give someone an earlier item (rule 3)."""
    decision = SharingDecision(
        room_id=room_id,
        decided_by_id=access.require_user().id,
        decision="share",
        what=what,
        item_id=item_id,
        with_user_id=recipient.id,
        with_organisation_id=recipient.organisation_id,
        purpose=purpose,
        lawful_basis=lawful_basis,
        consent=consent,
        consent_reason=consent_reason,
        created_at=access.now,
    )
    access.session.add(decision)
    access.session.flush()
    return decision


def share_file(
    access: Access, loaded: LoadedFile, recipient: User, reasons: FileShareReasons
) -> SharingDecision:
    """Rule 3 for files: the lead gives an earlier file to someone who was not entitled
    when it was uploaded (a guest, a newer member), by wrapping its key for them
    (workspace/services/files/wrapping.py). Recorded like a message's re-share."""
    room = access.room(loaded.room.room.id, "share_item")
    missing = {
        name: "required when sharing with someone new"
        for name in ("purpose", "lawful_basis", "consent")
        if not getattr(reasons, name)
    }
    if missing:
        raise Invalid(
            f"{recipient.name} was not entitled to this file when it was shared: say why "
            "you share it (purpose, lawful basis, consent).",
            fields=missing,
        )
    if reasons.consent == "not_sought" and not reasons.consent_reason:
        raise Invalid(
            "Say why consent was not sought.",
            fields={"consent_reason": "required when consent is not sought"},
        )
    assert reasons.purpose and reasons.lawful_basis and reasons.consent
    decision = _decided_to_share(
        access, room.room.id, "file", loaded.file.id, recipient,
        reasons.purpose, reasons.lawful_basis, reasons.consent, reasons.consent_reason,
    )  # fmt: skip
    access.record("item_shared", loaded.target, purpose=reasons.purpose)
    notifications.item_shared(access, room, recipient, loaded.file.id, what="file")
    return decision


def record_not_to_share(access: Access, room_id: str, data: NotShareIn) -> SharingDecision:
    loaded = access.room(room_id, "record_sharing_decision")
    user = access.require_user()
    _consent_reason(data)
    org_id = organisation_named(access, data.with_organisation)
    decision = SharingDecision(
        room_id=loaded.room.id,
        decided_by_id=user.id,
        decision="not_share",
        what=data.what,
        with_organisation_id=org_id,
        purpose=data.purpose,
        lawful_basis=data.lawful_basis,
        consent=data.consent,
        consent_reason=data.consent_reason,
        created_at=access.now,
    )
    recorded(access, loaded, decision, data.purpose)
    return decision


def guided_by(access: Access, room: LoadedRoom, decision_id: str | None) -> dict[str, Any]:
    """For a share that follows the caller's "Should I share?" decision in this room: the
    link to it and its answers, as fields of the share's own SharingDecision."""
    if not decision_id:
        return {}
    guided = access.session.get(SharingDecision, decision_id)
    if (
        guided is None
        or guided.room_id != room.room.id
        or guided.decided_by_id != access.require_user().id
        or guided.guidance_version is None
        or guided.decision != "share"
    ):
        raise Invalid(
            "That is not a decision to share you reached with \"Should I share?\" here.",
            fields={"guided_by": "not your decision to share in this room"},
        )
    return {"guided_by_id": guided.id, "guidance_version": guided.guidance_version,
            "dialogue": guided.dialogue}  # fmt: skip


def organisation_named(access: Access, organisation_id: str | None) -> str | None:
    """The organisation a decision names, if it names one (422 for an unknown id)."""
    if not organisation_id:
        return None
    org = access.session.get(Organisation, organisation_id)
    if org is None:
        raise Invalid("No such organisation.", fields={"with_organisation": "unknown"})
    return org.id


def recorded(
    access: Access, room: LoadedRoom, decision: SharingDecision, purpose: str
) -> SharingDecision:
    """Keep a decision made in `room`, and say so in the access log."""
    access.session.add(decision)
    access.session.flush()
    access.record(
        "sharing_decision_recorded",
        Target("sharing_decision", decision.id, room.room.id, room.child.id),
        purpose=purpose,
    )
    return decision


def decision_view(access: Access, decision: SharingDecision) -> DecisionView:
    session = access.session
    by = session.get(User, decision.decided_by_id)
    assert by is not None
    with_user = session.get(User, decision.with_user_id) if decision.with_user_id else None
    org_id = decision.with_organisation_id
    org = session.get(Organisation, org_id) if org_id else None
    return DecisionView(decision, by, with_user, org)


def list_decisions(
    access: Access, room_id: str, *, audit_as: str | None = None
) -> list[DecisionView]:
    """Every decision recorded in the room, oldest first (the policy says who reads it)."""
    loaded = access.room(room_id, "read_sharing_record", audit_as=audit_as)
    by, to = aliased(User), aliased(User)
    rows = access.session.exec(
        select(SharingDecision, by, to, Organisation)
        .join(by, col(by.id) == col(SharingDecision.decided_by_id))
        .outerjoin(to, col(to.id) == col(SharingDecision.with_user_id))
        .outerjoin(Organisation, col(Organisation.id) == col(SharingDecision.with_organisation_id))
        .where(SharingDecision.room_id == loaded.room.id)
        .order_by(col(SharingDecision.created_at), col(SharingDecision.id))
    ).all()
    return [DecisionView(d, b, t, o) for d, b, t, o in rows]


CSV_COLUMNS = (
    "when", "decision", "decided by", "what", "item id", "with person", "with organisation",
    "purpose", "lawful basis", "consent", "consent reason",
)  # fmt: skip


def csv_cell(value: str | None) -> str:
    """Spreadsheets run cells that start with = + - @ (or tab, CR) as formulas."""
    text = value or ""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _row(v: DecisionView) -> list[str]:
    d = v.decision
    return [
        csv_cell(x)
        for x in (
            iso(d.created_at),
            d.decision,
            v.decided_by.name,
            d.what,
            d.item_id,
            v.with_user.name if v.with_user else None,
            v.with_organisation.name if v.with_organisation else None,
            d.purpose,
            LAWFUL_BASES.get(d.lawful_basis, d.lawful_basis),
            d.consent,
            d.consent_reason,
        )
    ]


def export_csv(access: Access, room_id: str) -> tuple[str, str]:
    """(file name, CSV text); audited as an export of the sharing record."""
    views = list_decisions(access, room_id, audit_as="export_sharing_record")
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(_row(v) for v in views)
    reference = access.room_for_user(room_id)
    name = f"sharing-record-{reference.room.reference if reference else room_id}.csv"
    return name, out.getvalue()
