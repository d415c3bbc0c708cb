"""The lead professional's duties (rule 5): change a member's role, extend a guest's
access, hand the lead role on, close the room (rule 6). Each is decided by the policy
through Access, audited, and tells live sockets to re-decide (AccessChanged).

Role changes and lead transfers end the old membership row and start a new one, so the
history of who held which role when stays in the database (facts.py relies on it to
honour only shares made by whoever was lead at the time). Widening someone's access
(guest to member, a later end date) is a sharing decision (golden rule 7)."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from typing import Annotated, Literal

from pydantic import ConfigDict, field_validator
from pydantic.types import StringConstraints
from sqlalchemy import delete
from sqlmodel import col, select

from workspace.access import Access, LoadedRoom, Target
from workspace.clock import utc
from workspace.errors import Conflict, Invalid
from workspace.events import AccessChanged
from workspace.models import ChildKey, Membership, Organisation, SharingDecision, User
from workspace.schemas import Consent, LawfulBasis, LongText, Strict, When
from workspace.services import accounts, notifications
from workspace.services.guest_access import access_end, guest_end, no_end_unless_guest
from workspace.services.members import MemberView, active_membership


class MemberChangeIn(Strict):
    """PATCH a membership: a new role, a new end date for a guest, or both. Widening
    access needs the reasons of a sharing decision."""

    role: Literal["member", "guest"] | None = None
    expires_at: When | None = None
    purpose: LongText | None = None
    lawful_basis: LawfulBasis | None = None
    consent: Consent | None = None
    consent_reason: Annotated[str, StringConstraints(max_length=1000)] | None = None

    model_config = ConfigDict(extra="forbid", strict=False, str_strip_whitespace=True)

    @field_validator("role", "purpose", "lawful_basis", "consent", mode="before")
    @classmethod
    def _strings(cls, value: object) -> object:
        if value is not None and not isinstance(value, str):
            raise ValueError("must be a string")
        return value


class LeadIn(Strict):
    user_id: Annotated[str, StringConstraints(min_length=1, max_length=36)]


def _active(access: Access, room_id: str, user_id: str) -> Membership:
    membership = active_membership(access, room_id, user_id)
    if membership is None:
        raise Invalid("That person is not a member of this room.")
    return membership


def _succeed(access: Access, old: Membership, role: str, expires_at: datetime | None) -> Membership:
    """End `old` now and start its successor with `role`."""
    lead = access.require_user()
    old.revoked_at = access.now
    new = Membership(
        room_id=old.room_id,
        user_id=old.user_id,
        role=role,
        joined_at=access.now,
        expires_at=expires_at,
        invited_by_id=lead.id,
        purpose=old.purpose,
        lawful_basis=old.lawful_basis,
    )
    access.session.add_all([old, new])
    return new


def _decision(
    access: Access, loaded: LoadedRoom, user: User, what: str, data: MemberChangeIn
) -> SharingDecision:
    missing = {
        name: "required when access is widened"
        for name in ("purpose", "lawful_basis", "consent")
        if getattr(data, name) is None
    }
    if missing:
        raise Invalid("Record why: purpose, lawful basis and consent.", fields=missing)
    if data.consent == "not_sought" and not data.consent_reason:
        raise Invalid(
            "Say why consent was not sought.",
            fields={"consent_reason": "required when consent is not sought"},
        )
    decision = SharingDecision(
        room_id=loaded.room.id,
        decided_by_id=access.require_user().id,
        decision="share",
        what=what,
        with_user_id=user.id,
        with_organisation_id=user.organisation_id,
        purpose=data.purpose or "",
        lawful_basis=data.lawful_basis or "",
        consent=data.consent or "",
        consent_reason=data.consent_reason,
        created_at=access.now,
    )
    access.session.add(decision)
    return decision


def change_member(access: Access, room_id: str, user_id: str, data: MemberChangeIn) -> MemberView:
    loaded = access.room(room_id, "change_role")
    session = access.session
    membership = _active(access, loaded.room.id, user_id)
    if membership.role == "lead":
        raise Conflict("The lead's role changes only by transferring the lead role.")
    if data.role is None and data.expires_at is None:
        raise Invalid("Give a new role, a new end date, or both.", fields={"role": "missing"})
    user = session.get(User, user_id)
    assert user is not None
    role = data.role or membership.role
    no_end_unless_guest(role, data.expires_at)
    target = Target("membership", membership.id, loaded.room.id, loaded.child.id)
    if role != membership.role:
        expires_at = access_end(access.now, role, data.expires_at)
        if role == "member":  # wider: everything in the room, no end date
            _decision(access, loaded, user, "room access as member", data)
        membership = _succeed(access, membership, role, expires_at)
        if role == "guest":
            accounts.second_factor_from_now(access, user)
        session.flush()
        target = Target("membership", membership.id, loaded.room.id, loaded.child.id)
        access.record("member_role_changed", target, purpose=f"now {role}")
        until = f" until {utc(expires_at):%-d %b %Y}" if expires_at else ""
        notifications.access_changed(access, loaded, user, f"you are now a {role}{until}.")
    elif data.expires_at is not None:
        end = guest_end(access.now, data.expires_at)
        current = utc(membership.expires_at) if membership.expires_at else None
        if current is None or end > current:
            _decision(access, loaded, user, "room access as guest, extended", data)
            action = "guest_extended"
        else:
            action = "guest_shortened"
        membership.expires_at = end
        session.add(membership)
        session.flush()
        access.record(action, target, purpose=f"until {end.isoformat()}")
        notifications.access_changed(access, loaded, user, f"it now ends on {end:%-d %b %Y}.")
    access.emit(AccessChanged(loaded.room.id, user_id, "role_changed"))
    org = session.get(Organisation, user.organisation_id)
    assert org is not None
    return MemberView(membership, user, org)


def lead_candidates(access: Access, room_id: str) -> list[MemberView]:
    """Whom the lead may hand the lead role to: the room's members whom the policy allows
    to lead it (none for anyone who may not transfer it). For choosing what to offer, so
    unaudited; transfer_lead decides again."""
    loaded = access.room_for_user(room_id)
    if loaded is None or not access.allowed("transfer_lead", loaded.fact):
        return []
    rows = access.session.exec(
        select(Membership, User, Organisation)
        .join(User, col(User.id) == col(Membership.user_id))
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .where(
            Membership.room_id == loaded.room.id,
            Membership.role == "member",
            col(Membership.revoked_at).is_(None),
            col(Membership.expires_at).is_(None) | (col(Membership.expires_at) > access.now),
        )
        .order_by(col(User.name))
    ).all()
    people = access.people(u for _, u, _ in rows)
    return [MemberView(m, u, o) for m, u, o in rows if people.may(u, "become_lead", loaded.fact)]


def transfer_lead(access: Access, room_id: str, user_id: str) -> None:
    """Hand the lead role to a member the policy allows to lead (a local-authority
    member); the outgoing lead stays on as a member. Room.lead_user_id moves with it."""
    loaded = access.room(room_id, "transfer_lead")
    session = access.session
    outgoing = _active(access, loaded.room.id, access.require_user().id)
    incoming = _active(access, loaded.room.id, user_id)
    if incoming.role == "lead":
        raise Conflict("They are already the lead professional.")
    candidate = session.get(User, user_id)
    assert candidate is not None
    if incoming.role != "member" or not access.user_may(candidate, "become_lead", loaded.fact):
        raise Invalid(
            "The lead role goes to a local-authority member of the room.",
            fields={"user_id": "cannot lead this room"},
        )
    _succeed(access, outgoing, "member", None)
    new_lead = _succeed(access, incoming, "lead", None)
    loaded.room.lead_user_id = candidate.id
    session.add(loaded.room)
    session.flush()
    access.record(
        "lead_transferred",
        Target("membership", new_lead.id, loaded.room.id, loaded.child.id),
        purpose=f"to {candidate.id}",
    )
    notifications.access_changed(access, loaded, candidate, "you are now the lead professional.")
    # Restricted items follow the lead role: both people's sockets are re-decided.
    access.emit(AccessChanged(loaded.room.id, None, "lead_transferred"))
    access.refresh_principal()


def close_room(access: Access, room_id: str) -> None:
    """Rule 6: read-only for members from now on; guests lose access, live sockets too.
    Closing it again is a conflict, told only to whoever could have closed it while open
    (the policy decides `close` for open rooms only); anyone else is refused as before."""
    closed = access.room_for_user(room_id)
    if (
        closed is not None
        and closed.room.status != "open"
        and access.allowed("close", replace(closed.fact, status="open"))
    ):
        _refuse_closed_already(access, closed)
    loaded = access.room(room_id, "close")
    loaded.room.status = "closed"
    loaded.room.closed_at = access.now
    access.session.add(loaded.room)
    # A closed room does not stop the child having a new one (rooms.create_room).
    access.session.exec(delete(ChildKey).where(col(ChildKey.room_id) == loaded.room.id))  # type: ignore[call-overload]
    access.session.flush()
    access.record("room_closed", loaded.target)
    access.emit(AccessChanged(loaded.room.id, None, "room_closed"))


def _refuse_closed_already(access: Access, loaded: LoadedRoom) -> None:
    """Audit the refusal on its own (as Access.deny does) and answer 409."""
    access.session.rollback()
    access.record("close", loaded.target, outcome="denied", purpose="room closed already")
    access.session.commit()
    raise Conflict("This room is closed already.")
