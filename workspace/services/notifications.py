"""Notifications: content-free notes that tell someone to look, never what was said.

- you were mentioned (messages.post_message);
- you were added to a room (members.add_member);
- break-glass was used on a room you answer for (`break_glass_opened`);
- an action you own is overdue, or an action in a room you lead (`action_overdue`,
  `action_overdue_for_lead`: workspace/services/plans/overdue.py calls them from a reminder);
- your guest access ends within 3 days, or a guest's in a room you lead
  (workspace/services/reminders.py);
- someone tried to open a second room for the child of a room you lead (`join_requested`);
- the lead shared an earlier item with you, changed your role, end date or lead role, or
  removed you; someone you invited joined; someone gave you the key to a file you were
  waiting for (in the app only).

Each is an in-app notice (the bell: workspace/services/notices.py) and, unless the person
chose otherwise, an email through the outbox, in the caller's transaction, recorded in the
audit log as `notification_queued` by the recipient on the "email" channel (so the room's
access log shows who was told). A kind they want in the digest instead, or a muted room,
sends no email now (the digest counts it). Break-glass alerts cannot be turned off
(rule 8: the lead, the manager and the IG lead are notified).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import col, select

from workspace.access import Access, LoadedRoom, Origin, Target
from workspace.audit import Recorded
from workspace.clock import utc
from workspace.facts import audit_fact
from workspace.models import (
    BreakGlass,
    Membership,
    NotificationLog,
    Organisation,
    OutboxEmail,
    TeamManager,
    User,
)
from workspace.services import notices, outbox, preferences
from workspace.workdays import long_date, school_deadline


def _as_recipient(access: Access, user: User) -> Access:
    """The recipient's view of things, in the caller's unit of work: what they are told is
    decided by the policy for them and audited as theirs."""
    origin = Origin("email", request_id=access.origin.request_id)
    return Access(access.app, access.session, user, origin, purpose="email notification")


def _notify(
    access: Access,
    user: User,
    room: LoadedRoom,
    *,
    kind: str,
    notice: str,
    link: str,
    subject: str,
    context: dict[str, Any],
    optional: bool = True,
    needs_view: bool = True,
    email: bool = True,
    preference: str | None = None,
) -> OutboxEmail | None:
    """Tell `user`: always in the app (the bell), and by email unless they chose the digest
    for this kind, muted the room, or `email` is False (one is on its way already).
    `preference`: the setting (and unsubscribe list) that governs this kind, if another's."""
    if user.disabled:
        return None
    recipient = _as_recipient(access, user)
    if needs_view and not recipient.allowed("view", room.fact):
        return None
    notices.add(access, user.id, kind=kind, text=notice, link=link, room_id=room.room.id)
    setting = preference or kind
    if not email or (
        optional and not preferences.wants_now(access.session, user.id, setting, room.room.id)
    ):
        return None
    base = access.app.settings.base_url
    row = outbox.enqueue(
        recipient,
        outbox.Mail(
            to=outbox.Recipient.of(user),
            kind=kind,
            subject=subject,
            template=kind,
            context={
                "reference": room.room.reference,
                "room_url": f"{base}/rooms/{room.room.id}",
                **context,
            },
            room_id=room.room.id if needs_view else None,
            unsubscribe=setting if optional else None,
        ),
    )
    recipient.record(
        "notification_queued",
        Target("email", row.id, room.room.id, room.child.id),
        purpose=kind,
    )
    return row


def _once(access: Access, user_id: str, kind: str, ref: str) -> bool:
    """True the first time (user, kind, ref) is seen; the reminder is then logged."""
    seen = access.session.exec(
        select(NotificationLog.id).where(
            col(NotificationLog.user_id) == user_id,
            col(NotificationLog.kind) == kind,
            col(NotificationLog.ref) == ref,
        )
    ).first()
    if seen is not None:
        return False
    access.session.add(NotificationLog(user_id=user_id, kind=kind, ref=ref, created_at=access.now))
    return True


# --- the kinds ----------------------------------------------------------------------------


def _until(when: datetime | None) -> str:
    return f" on {utc(when):%-d %b %Y at %H:%M} UTC" if when else ""


def mentioned(
    access: Access, room: LoadedRoom, user_ids: tuple[str, ...], message_id: str
) -> None:
    """Someone was mentioned in a message they may read (messages._record_mentions has
    checked that). A burst of mentions before the first email goes makes one email."""
    author = access.require_user()
    for user_id in user_ids:
        user = access.session.get(User, user_id)
        if user is None:
            continue
        _notify(
            access,
            user,
            room,
            kind="mention",
            notice=f"{author.name} mentioned you in case room {room.room.reference}.",
            link=f"/rooms/{room.room.id}#m-{message_id}",
            subject=f"You were mentioned in case room {room.room.reference}",
            context={},
            email=not outbox.pending_exists(access.session, user_id, "mention", room.room.id),
        )


def added_to_room(access: Access, room: LoadedRoom, membership: Membership, user: User) -> None:
    _notify(
        access,
        user,
        room,
        kind="added",
        notice=f"You were added to case room {room.room.reference} as {membership.role}"
        f"{' until' + _until(membership.expires_at)[3:] if membership.expires_at else ''}.",
        link=f"/rooms/{room.room.id}",
        subject=f"You have been added to case room {room.room.reference}",
        context={"role": membership.role, "expires_at": membership.expires_at},
    )


def _end_ref(membership: Membership) -> str:
    """A guest's membership and its end date: an extended guest is told again."""
    assert membership.expires_at is not None
    return f"{membership.id}:{int(utc(membership.expires_at).timestamp())}"


def guest_access_ending(access: Access, room: LoadedRoom, membership: Membership) -> None:
    """Your guest access ends soon (once per end date; the digest also says so)."""
    user = access.session.get(User, membership.user_id)
    if user is None or not _once(access, user.id, "guest_expiring", _end_ref(membership)):
        return
    _notify(
        access,
        user,
        room,
        kind="guest_expiring",
        notice=f"Your guest access to case room {room.room.reference} ends"
        f"{_until(membership.expires_at)}.",
        link=f"/rooms/{room.room.id}",
        subject=f"Your access to case room {room.room.reference} ends soon",
        context={"expires_at": membership.expires_at},
    )


def guest_access_ending_for_lead(
    access: Access, room: LoadedRoom, membership: Membership, guest: User
) -> None:
    """The lead hears, once per guest and end date, that a guest's access ends soon, so
    they can extend it or let it end. `access` is the lead's."""
    lead = room.lead
    if not _once(access, lead.id, "guest_expiring_lead", _end_ref(membership)):
        return
    _notify(
        access,
        lead,
        room,
        kind="guest_expiring_lead",
        notice=f"Guest access for {guest.name} to case room {room.room.reference} ends"
        f"{_until(membership.expires_at)}. Extend it or let it end.",
        link=f"/rooms/{room.room.id}#members",
        subject=f"A guest's access to case room {room.room.reference} ends soon",
        context={"expires_at": membership.expires_at},
        optional=False,
    )


def access_changed(access: Access, room: LoadedRoom, user: User, change: str) -> None:
    """The lead changed `user`'s place in the room (a new role, a new end date, the lead
    role, removal): told in the app, so what they were told before is not left standing.
    `change` completes "Your access to case room CR-…: …" and names no one else."""
    _notify(
        access,
        user,
        room,
        kind="access_changed",
        notice=f"Your access to case room {room.room.reference}: {change}",
        link=f"/rooms/{room.room.id}" if access.user_may(user, "view", room.fact) else "/",
        subject="",
        context={},
        needs_view=False,
        email=False,
    )


def item_shared(
    access: Access, room: LoadedRoom, user: User, message_id: str, what: str = "message",
    link: str | None = None,
) -> None:
    """The lead shared an earlier item (a message, or a file) with `user` (rule 3). In the
    app only: the email "you were added" already told them where to look."""
    lead = access.require_user()
    _notify(
        access,
        user,
        room,
        kind="item_shared",
        notice=f"{lead.name} shared an earlier {what} with you in case room "
        f"{room.room.reference}.",
        link=link or f"/rooms/{room.room.id}#{what[0]}-{message_id}",
        subject="",
        context={},
        email=False,
    )


def file_key_given(access: Access, room: LoadedRoom, user: User, file_id: str) -> None:
    """Someone holding a file's key wrapped it for `user`, who was entitled to the file
    when it was shared but had no keys then (or made new ones since). In the app only."""
    holder = access.require_user()
    _notify(
        access,
        user,
        room,
        kind="file_key_given",
        notice=f"{holder.name} gave you the key to a file in case room {room.room.reference}: "
        "you can open it now.",
        link=f"/rooms/{room.room.id}#f-{file_id}",
        subject="",
        context={},
        email=False,
    )


def invitation_accepted(access: Access, room: LoadedRoom, joiner: User, role: str) -> None:
    """Someone invited by email has joined: the lead (whoever leads now) is told, in the
    app only. `access` is the acceptance's unit of work."""
    _notify(
        access,
        room.lead,
        room,
        kind="invitation_accepted",
        # The name is the one they chose: the address the lead invited says who it is.
        notice=f"{joiner.name} ({joiner.email}) accepted the invitation and joined case room "
        f"{room.room.reference} as {role}.",
        link=f"/rooms/{room.room.id}#members",
        subject="",
        context={},
        email=False,
    )


def join_requested(access: Access, room: LoadedRoom, asker: User) -> None:
    """Someone tried to open a second room for the child of `room` (issue #9): its lead is
    told who, at once, in the app and by email, so they can add them. Content-free: the
    reference, the asker's name, organisation and address, a link; never the child."""
    org = access.session.get(Organisation, asker.organisation_id)
    org_name = org.name if org else ""
    _notify(
        access,
        room.lead,
        room,
        kind="join_request",
        notice=f"{asker.name} ({org_name}) tried to open a case room for the child of case "
        f"room {room.room.reference}, and was told you lead it. Add them from Members if "
        "they should join.",
        link=f"/rooms/{room.room.id}#members",
        subject=f"Someone asked to join case room {room.room.reference}",
        context={"asker": asker.name, "asker_org": org_name, "asker_email": asker.email},
        optional=False,
    )


def _due_ref(action_id: str, due: date) -> str:
    """An action and its due date: an action given a new date is told about again."""
    return f"{action_id}:{due.isoformat()}"


def action_overdue(
    access: Access, room: LoadedRoom, owner: User, action_id: str, due: date
) -> None:
    """The hook for plans: an action `owner` owns in `room` was due on `due`. Call it
    from a reminder (workspace/services/plans/overdue.py) as often as you like: each action
    is notified once per due date. Say nothing of the action itself: it is case content."""
    if not _once(access, owner.id, "action_overdue", _due_ref(action_id, due)):
        return
    _notify(
        access,
        owner,
        room,
        kind="action_overdue",
        notice=f"An action you own in case room {room.room.reference} is overdue "
        f"(due {long_date(due)}).",
        link=f"/rooms/{room.room.id}/plan",
        subject=f"An action you own in case room {room.room.reference} is overdue",
        context={"due": due},
    )


def action_overdue_for_lead(
    access: Access, room: LoadedRoom, action_id: str, due: date, owner: User | None
) -> None:
    """The lead hears, once per action and due date, that an action in the room is
    overdue, so they can chase it; not when they own it (`action_overdue` told them).
    The email obeys the same setting as the owner's ("action_overdue") and, like it, says
    nothing of the action; the bell names the owner, inside the app."""
    lead = room.lead
    if owner is not None and owner.id == lead.id:
        return
    if not _once(access, lead.id, "action_overdue_lead", _due_ref(action_id, due)):
        return
    whose = f"An action {owner.name} owns" if owner is not None else "An action nobody owns"
    _notify(
        access,
        lead,
        room,
        kind="action_overdue_lead",
        notice=f"{whose} in case room {room.room.reference} is overdue (due {long_date(due)}).",
        link=f"/rooms/{room.room.id}/plan",
        subject=f"An action in case room {room.room.reference} is overdue",
        context={"due": due},
        preference="action_overdue",
    )


def break_glass_opened(
    access: Access, room: LoadedRoom, glass: BreakGlass, event: Recorded
) -> list[str]:
    """The hook for break-glass (rule 8): tell everyone the policy lets read the audit
    event of the opening (the lead professional, the managers of the opener's team and of
    the lead's team, the IG leads of both organisations), in the app and by email, always
    at once. The reason given stays in the access log (free text may carry case details).
    Returns who was told."""
    session = access.session
    opener = session.get(User, glass.user_id)
    assert opener is not None
    opener_org = session.get(Organisation, opener.organisation_id)
    orgs = {opener.organisation_id, room.lead.organisation_id}
    teams = [t for t in (opener.team_id, room.lead.team_id) if t]
    # Everyone the audit rule could concern; the policy decides who actually may read it.
    candidates = session.exec(
        select(User).where(
            col(User.disabled).is_(False),
            col(User.id) != opener.id,
            (col(User.id) == room.lead.id)
            | col(User.id).in_(
                select(TeamManager.user_id).where(col(TeamManager.team_id).in_(teams))
            )
            | (col(User.organisation_id).in_(orgs) & (col(User.org_role) == "ig_lead")),
        )
    ).all()
    fact = audit_fact(event, room.room, room.lead)
    told: list[str] = []
    base = access.app.settings.base_url
    audit_path = f"/audit?room_id={room.room.id}"
    org_name = opener_org.name if opener_org else ""
    for user in candidates:
        if not access.user_may(user, "read", fact):
            continue
        row = _notify(
            access,
            user,
            room,
            kind="break_glass",
            notice=f"{opener.name} ({org_name}) opened case room {room.room.reference} by "
            f"break-glass, read-only until {utc(glass.expires_at):%H:%M} UTC. The reason is "
            "in the access log.",
            link=audit_path,
            subject=f"Break-glass access to case room {room.room.reference}",
            context={
                "opener": opener.name,
                "opener_org": org_name,
                "started_at": glass.started_at,
                "expires_at": glass.expires_at,
                "audit_url": f"{base}{audit_path}",
            },
            optional=False,
            needs_view=False,
        )
        if row is not None:
            told.append(user.id)
    return told


def agency_event(
    access: Access, room: LoadedRoom, user: User, message_id: str, due: datetime | None
) -> None:
    """A partner agency sent something about the child that this person must see now
    (agency_events: the policy's `be_told`). The bell and the email say only that, where,
    and by when (a school's Operation Encompass deadline); what happened stays in the room."""
    deadline = f" Please read it and acknowledge it {school_deadline(due)}." if due else ""
    _notify(
        access,
        user,
        room,
        kind="agency_event",
        notice=f"A partner agency sent an alert for case room {room.room.reference}.{deadline}",
        link=f"/rooms/{room.room.id}#m-{message_id}",
        subject=f"A partner agency sent an alert for case room {room.room.reference}",
        context={"deadline": school_deadline(due) if due else None},
        optional=False,
    )



def concern_in_room(access: Access, room: LoadedRoom, message_id: str) -> None:
    """A member raised a concern straight into the room: the lead hears of it at once."""
    _tell_lead(
        access, room, message_id,
        notice=f"A concern was raised in case room {room.room.reference}.",
        subject=f"A concern was raised in case room {room.room.reference}",
    )  # fmt: skip


def contact_attached(access: Access, room: LoadedRoom, message_id: str) -> None:
    """The front door attached a contact (a concern, an agency event) to the lead's room."""
    _tell_lead(
        access, room, message_id,
        notice=f"The front door added a contact to case room {room.room.reference}.",
        subject=f"The front door added a contact to case room {room.room.reference}",
    )  # fmt: skip


def _tell_lead(
    access: Access, room: LoadedRoom, message_id: str, *, notice: str, subject: str
) -> None:
    if room.lead.id == (access.user.id if access.user else None):
        return  # they did it themselves
    _notify(
        access,
        room.lead,
        room,
        kind="new_contact",
        notice=notice,
        link=f"/rooms/{room.room.id}#m-{message_id}",
        subject=subject,
        context={},
        optional=False,
    )
