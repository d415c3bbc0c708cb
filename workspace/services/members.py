"""Who is in a room. Only the lead adds and removes (rule 5); every addition records a
sharing decision (golden rule 7)."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, select

from workspace.access import Access, Target
from workspace.errors import Conflict, Invalid
from workspace.events import AccessChanged
from workspace.models import Membership, Organisation, SharingDecision, User
from workspace.schemas import MemberIn, RemovalIn
from workspace.services import accounts, invitations, notifications, sharing
from workspace.services.files import keys as file_keys
from workspace.services.guest_access import access_end, no_end_unless_guest


@dataclass(frozen=True)
class MemberView:
    membership: Membership
    user: User
    organisation: Organisation


def active_membership(access: Access, room_id: str, user_id: str) -> Membership | None:
    """The membership that holds now: not revoked, not past its end. (Ended rows stay as
    history; a guest invited again has one ended row and one active.)"""
    return access.session.exec(
        select(Membership).where(
            Membership.room_id == room_id,
            Membership.user_id == user_id,
            col(Membership.revoked_at).is_(None),
            (col(Membership.expires_at).is_(None)) | (col(Membership.expires_at) > access.now),
        )
    ).first()


def list_members(access: Access, room_id: str) -> list[MemberView]:
    loaded = access.room(room_id, "list_members")
    now = access.now
    rows = access.session.exec(
        select(Membership, User, Organisation)
        .join(User, User.id == Membership.user_id)  # type: ignore[arg-type]
        .join(Organisation, Organisation.id == User.organisation_id)  # type: ignore[arg-type]
        .where(
            Membership.room_id == loaded.room.id,
            col(Membership.revoked_at).is_(None),
            (col(Membership.expires_at).is_(None)) | (col(Membership.expires_at) > now),
        )
        .order_by(col(Membership.joined_at))
    ).all()
    order = {"lead": 0, "member": 1, "guest": 2}
    # Whose membership still counts is the policy's call (e.g. guests of a closed room).
    people = access.people(u for _, u, _ in rows)
    views = [MemberView(m, u, o) for m, u, o in rows if people.may(u, "view", loaded.fact)]
    return sorted(views, key=lambda v: order.get(v.membership.role, 9))


def add_member(
    access: Access, room_id: str, data: MemberIn
) -> MemberView | invitations.InvitationView:
    loaded = access.room(room_id, "add_member")
    lead = access.require_user()
    session, now = access.session, access.now
    no_end_unless_guest(data.role, data.expires_at)  # for an invitation as for an addition
    candidate = session.exec(select(User).where(User.email == data.email)).first()
    if candidate is None:
        # No account yet: invite them by email; the membership starts when they accept.
        return invitations.invite(access, loaded, data)
    if candidate.disabled:
        raise Invalid(
            "There is no Caseroom account for that email address.",
            fields={"email": "no account with this address"},
        )
    if not access.user_may(candidate, "join", loaded.fact):
        raise Invalid(
            "Administrators manage accounts and cannot join case rooms.",
            fields={"email": "an administrator cannot be a member"},
        )
    if data.consent == "not_sought" and not data.consent_reason:
        raise Invalid(
            "Say why consent was not sought.",
            fields={"consent_reason": "required when consent is not sought"},
        )
    if active_membership(access, loaded.room.id, candidate.id) is not None:
        raise Conflict(f"{candidate.name} is already in this room.")
    expires_at = access_end(now, data.role, data.expires_at)
    membership = Membership(
        room_id=loaded.room.id,
        user_id=candidate.id,
        role=data.role,
        joined_at=now,
        expires_at=expires_at,
        invited_by_id=lead.id,
        purpose=data.purpose,
        lawful_basis=data.lawful_basis,
    )
    decision = SharingDecision(
        room_id=loaded.room.id,
        decided_by_id=lead.id,
        decision="share",
        what=f"room access as {data.role}",
        with_user_id=candidate.id,
        with_organisation_id=candidate.organisation_id,
        purpose=data.purpose,
        lawful_basis=data.lawful_basis,
        consent=data.consent,
        consent_reason=data.consent_reason,
        created_at=now,
        **sharing.guided_by(access, loaded, data.guided_by),
    )
    session.add_all([membership, decision])
    session.flush()
    access.record(
        "member_added",
        Target("membership", membership.id, loaded.room.id, loaded.child.id),
        purpose=data.purpose,
    )
    notifications.added_to_room(access, loaded, membership, candidate)  # email, no content
    if membership.role == "guest":
        accounts.second_factor_from_now(access, candidate)
    # Their open sockets are decided again (someone reading by break-glass who becomes a
    # guest must stop hearing of what a guest may not read).
    access.emit(AccessChanged(loaded.room.id, candidate.id, "added"))
    org = session.get(Organisation, candidate.organisation_id)
    assert org is not None
    return MemberView(membership, candidate, org)


def removable(access: Access, room_id: str, user_id: str) -> MemberView:
    """Whom the lead is about to remove (the confirmation step): someone in the room
    other than the lead. Decided like the removal itself, so only the lead gets this far
    (and the refusal of anyone else is audited)."""
    loaded = access.room(room_id, "remove_member")
    membership = active_membership(access, loaded.room.id, user_id)
    if membership is None:
        raise Invalid("That person is not a member of this room.")
    if membership.role == "lead":
        raise Conflict("The lead professional cannot be removed; transfer the lead role first.")
    user = access.session.get(User, user_id)
    assert user is not None
    org = access.session.get(Organisation, user.organisation_id)
    assert org is not None
    return MemberView(membership, user, org)


def remove_member(access: Access, room_id: str, user_id: str, data: RemovalIn | None) -> None:
    """The reason is kept on the membership it ends and in the audit record (where the
    access log reviews it), and told in the room's history. None: a caller that gave no
    reason (an API client from before reasons), refused once the room is known to them."""
    loaded = access.room(room_id, "remove_member")
    if data is None:
        raise Invalid(
            'Say why you are removing them: send {"reason": "..."} as JSON.',
            fields={"reason": "required"},
        )
    session = access.session
    membership = active_membership(access, loaded.room.id, user_id)
    if membership is None:
        raise Invalid("That person is not a member of this room.")
    if membership.role == "lead":
        raise Conflict("The lead professional cannot be removed; transfer the lead role first.")
    membership.revoked_at = access.now
    membership.removal_reason = data.reason
    session.add(membership)
    file_keys.forget_member(access, loaded.room.id, user_id)
    access.emit(AccessChanged(loaded.room.id, user_id, "removed"))
    access.record(
        "member_removed",
        Target("membership", membership.id, loaded.room.id, loaded.child.id),
        purpose=data.reason,
    )
    removed = session.get(User, user_id)
    if removed is not None:
        notifications.access_changed(access, loaded, removed, "the lead professional removed you.")
