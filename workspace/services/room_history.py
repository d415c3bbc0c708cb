"""A room's history: who opened it, who was added, invited, removed, made a guest or the
lead, whose guest access was extended, when it closed (issue #5: each lead tool is
"audited and visible in the room's history").

Read from the audit log (the one record of these changes, append-only and
tamper-evident), but only these actions, in this room, that happened; each told as a
sentence with names, never the purpose or reason of a sharing decision (free text that may
carry case details, written for the sharing record and the access log, which are where
those are reviewed). One exception: why the lead removed someone (issue #9). That reason is
asked for on a form that says the room's lead and members will read it here, so it is
written for them, as a message to the room is; it comes from the membership it ended.
Who reads it: the policy (`read_room_history`: the lead and members).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlmodel import col, select

from workspace.access import Access
from workspace.models import AuditEvent, Invitation, Membership, Organisation, User

ACTIONS = (
    "create_room", "member_added", "member_removed", "member_role_changed",
    "guest_extended", "guest_shortened", "lead_transferred", "room_closed",
    "invitation_sent", "invitation_revoked", "keys_changed",
)  # fmt: skip
LIMIT = 200


@dataclass(frozen=True)
class Entry:
    at: datetime
    action: str
    text: str


def _date(value: datetime | None) -> str:
    return f"{value:%-d %b %Y}" if value else ""


class _Names:
    """Looks up the people and memberships events point at, once each."""

    def __init__(self, access: Access) -> None:
        self.session = access.session
        self.users: dict[str, str] = {}

    def user(self, user_id: str | None) -> str:
        if not user_id:
            return "Someone"
        if user_id not in self.users:
            user = self.session.get(User, user_id)
            self.users[user_id] = user.name if user else "Someone"
        return self.users[user_id]

    def membership(self, membership_id: str | None) -> Membership | None:
        return self.session.get(Membership, membership_id) if membership_id else None

    def invitation(self, invitation_id: str | None) -> tuple[str, str]:
        invitation = self.session.get(Invitation, invitation_id) if invitation_id else None
        if invitation is None:
            return "someone", "member"
        org = self.session.get(Organisation, invitation.organisation_id)
        return (f"someone from {org.name}" if org else "someone"), invitation.role


def _sentence(event: AuditEvent, names: _Names) -> str:
    actor = names.user(event.actor_id)
    action = event.action
    if action == "create_room":
        return f"{actor} opened the room as lead professional."
    if action == "room_closed":
        return f"{actor} closed the room. It is read-only; guests no longer have access."
    if action == "keys_changed":
        # The purpose is written by the server here (the new fingerprint), never by a person.
        fingerprint = (event.purpose or "").removeprefix("fingerprint ")
        return (
            f"{actor}'s encryption keys changed (new fingerprint {fingerprint}). Files shared "
            "with the old keys must be shared again; compare the fingerprint with them."
        )
    if action in ("invitation_sent", "invitation_revoked"):
        who, role = names.invitation(event.resource_id)
        verb = "invited" if action == "invitation_sent" else "withdrew the invitation to"
        return f"{actor} {verb} {who} (as {role}) by email."
    membership = names.membership(event.resource_id)
    if membership is None:
        return f"{actor}: {action.replace('_', ' ')}."
    # The role a membership row holds never changes (a new role is a new row); its end
    # date may have been moved since, so it is not told here.
    subject = names.user(membership.user_id)
    if action == "member_added":
        if event.actor_id == membership.user_id:
            return f"{subject} accepted an invitation and joined as {membership.role}."
        return f"{actor} added {subject} as {membership.role}."
    if action == "member_removed":
        reason = membership.removal_reason  # none for removals made before reasons
        return f"{actor} removed {subject}." + (f" Reason: “{reason}”" if reason else "")
    if action == "member_role_changed":
        return f"{actor} made {subject} a {membership.role}."
    if action == "lead_transferred":
        return f"{actor} handed the lead professional role to {subject}."
    # Extended or shortened: the end date as it was set then (it may have moved since).
    end = (event.purpose or "").removeprefix("until ")
    try:
        when = _date(datetime.fromisoformat(end))
    except ValueError:
        when = _date(membership.expires_at)
    verb = "extended" if action == "guest_extended" else "shortened"
    return f"{actor} {verb} {subject}'s guest access to {when}."


def history(access: Access, room_id: str) -> list[Entry]:
    """Newest first."""
    loaded = access.room(room_id, "read_room_history")
    events = access.session.exec(
        select(AuditEvent)
        .where(
            col(AuditEvent.room_id) == loaded.room.id,
            col(AuditEvent.action).in_(ACTIONS),
            col(AuditEvent.outcome) == "allowed",
        )
        .order_by(col(AuditEvent.seq).desc())
        .limit(LIMIT)
    ).all()
    names = _Names(access)
    return [Entry(e.at, e.action, _sentence(e, names)) for e in events]
