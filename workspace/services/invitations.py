"""Invitations by email (issue #5, part 1): the lead invites someone who has no account.

- Inviting records the sharing decision (golden rule 7) at once, and emails a link that is
  signed (a MAC under a key for this purpose only, so a tampered link is refused before the
  database is asked), single-use and valid for LINK_DAYS. Only a hash of the token is
  stored. The email names the room by its reference, never the child.
- Accepting needs no sign-in: it creates the account (or, when an account with the same
  email exists by then, asks for its password), starts the membership *then* (joined_at is
  the acceptance, so rule 3 counts from it) and starts a browser session. Guests must set
  up a second factor before the session is let in.
- An expired, revoked, used or tampered link gets one and the same answer, which says
  nothing about the room, and an audit event with outcome "denied".
"""

from __future__ import annotations

import base64
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from pydantic import Field
from sqlalchemy import func, update
from sqlmodel import col, select

from workspace import crypto
from workspace.access import Access, LoadedRoom, Target
from workspace.clock import utc
from workspace.errors import Conflict, Invalid, NotFound, RateLimited
from workspace.events import AccessChanged
from workspace.models import Invitation, Membership, Organisation, SharingDecision, User
from workspace.models.organisation import ORG_KINDS
from workspace.ratelimit import RateLimiter
from workspace.schemas import MemberIn, OptionalName, check_name
from workspace.services import accounts, notifications, outbox, sharing
from workspace.services.guest_access import guest_end, no_end_unless_guest

LINK_DAYS = 7
# As for people added directly (workspace/services/members.py).
TOKEN_PURPOSE = b"invitation-v1"
MAX_TOKEN_LENGTH = 120
# DESIGN.md §9: acceptance is rate-limited per address (every token check counts).
accept_limiter = RateLimiter(limit=30, window_seconds=60)

class InviteIn(MemberIn):
    """What the lead says about a person with no account yet: the member fields, and
    their organisation: an existing one (its id), or a new external one (name and kind;
    a name that matches an existing organisation, whatever its case, is that one)."""

    organisation_id: str | None = Field(default=None, max_length=36)
    organisation_name: OptionalName | None = None
    organisation_kind: str | None = Field(default=None, max_length=32)


@dataclass(frozen=True)
class InvitationView:
    invitation: Invitation
    organisation: Organisation


@dataclass(frozen=True)
class Preview:
    """What the acceptance page may show: the room's reference, never the child.
    `organisation` is the invited person's (they join as its staff); the inviter's own is
    `inviter_organisation`."""

    email: str
    role: str
    reference: str
    inviter: str
    inviter_organisation: str
    organisation: str
    has_account: bool
    needs_code: bool
    # Someone else this browser is signed in as: accepting ends their session.
    signed_in_as: str | None = None


@dataclass(frozen=True)
class Accepted:
    room_id: str
    session_token: str
    needs_enrolment: bool


# --- the link ---------------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _mac(access: Access, body: str) -> str:
    return _b64(access.app.keys.mac(TOKEN_PURPOSE, body.encode())[:16])


def _new_token(access: Access) -> str:
    body = secrets.token_urlsafe(32)
    return f"{body}.{_mac(access, body)}"


def _well_formed(access: Access, token: str) -> bool:
    if not token or len(token) > MAX_TOKEN_LENGTH or token.count(".") != 1:
        return False
    body, mac = token.split(".")
    return crypto.constant_time_equals(mac, _mac(access, body))


def accept_url(access: Access, token: str) -> str:
    return f"{access.app.settings.base_url}/invite/{token}"


# --- the lead's side ----------------------------------------------------------------------------


def _guest_expiry(access: Access, role: str, requested: datetime | None) -> datetime | None:
    """A date the lead chose, checked now; none chosen: 30 days from acceptance. Only a
    guest's access ends: a date for anyone else is refused."""
    no_end_unless_guest(role, requested)
    if requested is None:
        return None
    return guest_end(access.now, requested)


def organisations_for_invitation(access: Access, room_id: str) -> list[Organisation]:
    """The organisations the lead may choose from when inviting someone to the room,
    sorted by name; none for anyone who may not add members. Only for choosing what to
    offer (names and kinds are not case data), so the decision is not audited."""
    loaded = access.room_for_user(room_id)
    if loaded is None or not access.allowed("add_member", loaded.fact):
        return []
    query = select(Organisation).order_by(func.lower(Organisation.name), col(Organisation.name))
    return list(access.session.exec(query).all())


def _like_literal(text: str) -> str:
    """`text` for LIKE, its wildcards taken literally (escape character: backslash)."""
    return text.replace("\\", "\\\\").replace("%", r"\%").replace("_", r"\_")


def _organisation(access: Access, data: MemberIn) -> Organisation:
    """The chosen organisation: one from the list (by id), or a new external one (name
    and kind) which is created and audited, unless an organisation of that name exists
    already (whatever its case), which is then reused. Not both."""
    session = access.session
    org_id = (getattr(data, "organisation_id", None) or "").strip()
    name = (getattr(data, "organisation_name", None) or "").strip()
    kind = getattr(data, "organisation_kind", None) or None
    if org_id and name:
        raise Invalid(
            "Choose their organisation from the list, or name a new one, not both.",
            fields={
                "organisation_id": "choose from the list, or name a new organisation, not both",
                "organisation_name": "leave empty when an organisation is chosen from the list",
            },
        )
    if org_id:
        org = session.get(Organisation, org_id)
        if org is None:
            raise Invalid(
                "That organisation is not in the list: choose one from the list, or name "
                "a new one.",
                fields={"organisation_id": "not an organisation in the list"},
            )
        return org
    if not name:
        raise Invalid(
            "There is no Caseroom account for that email address yet: choose their "
            "organisation from the list (or name a new one), and they will be invited by email.",
            fields={
                "email": "no account with this address yet",
                "organisation_id": "required for a person with no account",
            },
        )
    existing = session.exec(
        select(Organisation).where(col(Organisation.name).ilike(_like_literal(name), escape="\\"))
    ).first()
    if existing is not None:
        return existing
    if kind not in ORG_KINDS:
        raise Invalid(
            "Say what kind of organisation the new one is.",
            fields={"organisation_kind": f"one of: {', '.join(ORG_KINDS)}"},
        )
    org = accounts.add_organisation(session, name, kind, access.now)
    access.record("organisation_created", Target("organisation", org.id))
    return org


def invite(access: Access, loaded: LoadedRoom, data: MemberIn) -> InvitationView:
    """Called by members.add_member (already authorised and audited as add_member) when
    the email has no account."""
    lead = access.require_user()
    session, now = access.session, access.now
    if data.consent == "not_sought" and not data.consent_reason:
        raise Invalid(
            "Say why consent was not sought.",
            fields={"consent_reason": "required when consent is not sought"},
        )
    access_expires_at = _guest_expiry(access, data.role, data.expires_at)
    org = _organisation(access, data)
    pending = session.exec(
        select(Invitation).where(
            Invitation.room_id == loaded.room.id,
            Invitation.email == data.email,
            Invitation.status == "pending",
            col(Invitation.link_expires_at) > now,
        )
    ).first()
    if pending is not None:
        raise Conflict(f"{data.email} has been invited already; revoke that invitation first.")
    decision = SharingDecision(
        room_id=loaded.room.id,
        decided_by_id=lead.id,
        decision="share",
        what=f"room access as {data.role} (invitation to {data.email})"[:64],
        with_organisation_id=org.id,
        purpose=data.purpose,
        lawful_basis=data.lawful_basis,
        consent=data.consent,
        consent_reason=data.consent_reason,
        created_at=now,
        **sharing.guided_by(access, loaded, data.guided_by),
    )
    session.add(decision)
    session.flush()
    token = _new_token(access)
    invitation = Invitation(
        room_id=loaded.room.id,
        email=data.email,
        role=data.role,
        organisation_id=org.id,
        access_expires_at=access_expires_at,
        purpose=data.purpose,
        lawful_basis=data.lawful_basis,
        sharing_decision_id=decision.id,
        invited_by_id=lead.id,
        token_hash=crypto.token_hash(token),
        created_at=now,
        link_expires_at=now + timedelta(days=LINK_DAYS),
    )
    session.add(invitation)
    session.flush()
    access.record(
        "invitation_sent",
        Target("invitation", invitation.id, loaded.room.id, loaded.child.id),
        purpose=data.purpose,
    )
    lead_org = session.get(Organisation, lead.organisation_id)
    outbox.enqueue(
        access,
        outbox.Mail(
            to=outbox.Recipient("there", data.email),  # "Hello there,": no name yet
            kind="invitation",
            subject=f"You are invited to case room {loaded.room.reference} in Caseroom",
            template="invitation",
            context={
                "reference": loaded.room.reference,
                "role": data.role,
                "inviter": lead.name,
                "inviter_org": lead_org.name if lead_org else "",
                "accept_url": accept_url(access, token),
                "link_expires_at": invitation.link_expires_at,
                "access_expires_at": access_expires_at,
            },
        ),
    )
    return InvitationView(invitation, org)


def list_invitations(access: Access, room_id: str) -> list[InvitationView]:
    """Pending invitations, for the lead (who alone may invite)."""
    loaded = access.room(room_id, "add_member", audit_as="list_invitations")
    rows = access.session.exec(
        select(Invitation, Organisation)
        .join(Organisation, Organisation.id == Invitation.organisation_id)  # type: ignore[arg-type]
        .where(
            Invitation.room_id == loaded.room.id,
            Invitation.status == "pending",
            col(Invitation.link_expires_at) > access.now,
        )
        .order_by(col(Invitation.created_at))
    ).all()
    return [InvitationView(i, o) for i, o in rows]


def revoke_invitation(access: Access, room_id: str, invitation_id: str) -> None:
    loaded = access.room(room_id, "add_member", audit_as="revoke_invitation")
    invitation = access.session.get(Invitation, invitation_id)
    if invitation is None or invitation.room_id != loaded.room.id or invitation.status != "pending":
        raise NotFound("No such pending invitation.")
    invitation.status = "revoked"
    invitation.revoked_at = access.now
    access.session.add(invitation)
    access.record(
        "invitation_revoked", Target("invitation", invitation.id, loaded.room.id, loaded.child.id)
    )


# --- the invited person's side -----------------------------------------------------------------


def _usable(access: Access, token: str, *, lock: bool) -> tuple[Invitation, LoadedRoom]:
    """The pending invitation the link names, or a denial (audited, committed) that
    looks the same whatever went wrong: NotFound."""
    if not accept_limiter.hit(f"ip:{access.origin.ip}"):
        access.record("invitation_accept", Target("invitation"), outcome="denied",
                      purpose="rate limited")  # fmt: skip
        access.session.commit()
        raise RateLimited("Too many attempts from here. Wait a minute and try again.")
    if not _well_formed(access, token):
        access.deny("invitation_accept", Target("invitation"), conceal=True,
                    purpose="tampered or malformed link")  # fmt: skip
    query = select(Invitation).where(Invitation.token_hash == crypto.token_hash(token))
    invitation = access.session.exec(query.with_for_update() if lock else query).first()
    if invitation is None:
        access.deny("invitation_accept", Target("invitation"), conceal=True,
                    purpose="unknown link")  # fmt: skip
        raise AssertionError("unreachable")
    loaded = access.room_for_user(invitation.room_id)
    assert loaded is not None
    target = Target("invitation", invitation.id, loaded.room.id, loaded.child.id)
    now = access.now
    reason = None
    if invitation.status == "accepted":
        reason = "link used already"
    elif invitation.status == "revoked":
        reason = "invitation revoked"
    elif utc(invitation.link_expires_at) <= now:
        reason = "link expired"
    elif invitation.access_expires_at and utc(invitation.access_expires_at) <= now:
        reason = "guest access period over"
    elif loaded.room.closed_at is not None or loaded.room.status != "open":
        reason = "room closed"
    if reason is not None:
        access.deny("invitation_accept", target, conceal=True, purpose=reason)
    return invitation, loaded


def _existing_user(access: Access, email: str) -> User | None:
    return access.session.exec(select(User).where(User.email == email)).first()


def _signed_in(access: Access, browser_session: str | None) -> User | None:
    """Whom the browser's session (the cookie's token) belongs to, if anyone."""
    record = accounts.load_session(access.app, access.session, browser_session)
    user = access.session.get(User, record.user_id) if record is not None else None
    return None if user is None or user.disabled else user


def preview(access: Access, token: str, browser_session: str | None = None) -> Preview:
    """What the acceptance page shows; `browser_session`: the session this browser holds
    (accepting ends it), to warn when it is someone else's."""
    invitation, loaded = _usable(access, token, lock=False)
    signed_in = _signed_in(access, browser_session)
    user = _existing_user(access, invitation.email)
    inviter = access.session.get(User, invitation.invited_by_id)
    inviter_org = access.session.get(Organisation, inviter.organisation_id) if inviter else None
    org = access.session.get(Organisation, invitation.organisation_id)
    access.record(
        "invitation_opened",
        Target("invitation", invitation.id, loaded.room.id, loaded.child.id),
    )
    return Preview(
        email=invitation.email,
        role=invitation.role,
        reference=loaded.room.reference,
        inviter=inviter.name if inviter else "",
        inviter_organisation=inviter_org.name if inviter_org else "",
        organisation=org.name if org else "",
        has_account=user is not None,
        needs_code=user is not None and user.totp_enabled,
        signed_in_as=(
            signed_in.name if signed_in and signed_in.email != invitation.email else None
        ),
    )


def accept(
    access: Access, token: str, *, name: str, password: str, code: str = "", old_session: str | None
) -> Accepted:
    """Create (or check) the account, start the membership now, start a session."""
    invitation, loaded = _usable(access, token, lock=True)
    session, now, app = access.session, access.now, access.app
    target = Target("invitation", invitation.id, loaded.room.id, loaded.child.id)
    user = _existing_user(access, invitation.email)
    verified_code = False
    if user is None:
        if not name.strip():
            raise Invalid("Enter your full name.", fields={"name": "required"})
        name = check_name("name", name)
        accounts.check_password(password, invitation.email)
        user = User(
            organisation_id=invitation.organisation_id,
            name=name,
            email=invitation.email,
            org_role="practitioner",
            password_hash=crypto.hash_password(password),
            created_at=now,
        )
        session.add(user)
        session.flush()
        access.record("user_created", Target("user", user.id), actor=user, purpose="invitation")
    else:
        user = accounts.authenticate(access, invitation.email, password)
        if user.totp_enabled:
            accounts.verify_second_factor(access, user, code)
            verified_code = True
    if not access.user_may(user, "join", loaded.fact):
        raise Invalid("Administrators manage accounts and cannot join case rooms.")
    expires_at = None
    if invitation.role == "guest":
        expires_at = invitation.access_expires_at or guest_end(now, None)
    membership = Membership(
        room_id=loaded.room.id,
        user_id=user.id,
        role=invitation.role,
        joined_at=now,
        expires_at=expires_at,
        invited_by_id=invitation.invited_by_id,
        purpose=invitation.purpose,
        lawful_basis=invitation.lawful_basis,
    )
    # Single use even when two acceptances race (SQLite has no row lock): only one of
    # them moves the row from "pending".
    moved = session.exec(  # type: ignore[call-overload]
        update(Invitation)
        .where(col(Invitation.id) == invitation.id, col(Invitation.status) == "pending")
        .values(status="accepted", accepted_at=now, accepted_user_id=user.id)
    )
    if moved.rowcount != 1:
        access.deny("invitation_accept", target, conceal=True, purpose="link used already")
    already = session.exec(
        select(Membership).where(
            Membership.room_id == loaded.room.id,
            Membership.user_id == user.id,
            col(Membership.revoked_at).is_(None),
            (col(Membership.expires_at).is_(None)) | (col(Membership.expires_at) > now),
        )
    ).first()
    access.record("invitation_accepted", target, actor=user)
    if already is None:  # (else the lead added them directly meanwhile)
        session.add(membership)
        session.flush()
        access.record(
            "member_added",
            Target("membership", membership.id, loaded.room.id, loaded.child.id),
            actor=user,
            purpose=invitation.purpose,
        )
        notifications.invitation_accepted(access, loaded, user, invitation.role)
        # Their sockets already open elsewhere (an existing account) are decided again.
        access.emit(AccessChanged(loaded.room.id, user.id, "added"))
    # Guests (and anyone whose role needs one) set up a second factor before getting in,
    # here and in any other browser where the account is signed in.
    needs_totp = accounts.needs_totp(session, user, now)
    needs_enrolment = not user.totp_enabled and (invitation.role == "guest" or needs_totp)
    mfa_ok = verified_code or not (needs_enrolment or needs_totp)
    if invitation.role == "guest":
        accounts.second_factor_from_now(access, user)
    accounts.end_session(access, old_session, "signed in again")
    info = accounts.start_session(app, session, user, mfa_ok=mfa_ok)
    return Accepted(loaded.room.id, info.token, needs_enrolment)
