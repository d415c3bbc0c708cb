"""Turn database rows into the plain facts the policy reasons about (policy/subjects.py)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from policy.subjects import (
    AccountFact,
    AuditFact,
    BreakGlassFact,
    FileFact,
    MembershipFact,
    MessageFact,
    PlanVersionFact,
    Principal,
    RoomFact,
)
from workspace.clock import utc
from workspace.models import (
    AuditEvent,
    BreakGlass,
    EncryptedFile,
    Membership,
    Message,
    Organisation,
    PlanVersion,
    Room,
    SharingDecision,
    TeamManager,
    User,
)


def ts(dt: datetime) -> float:
    return utc(dt).timestamp()


def principal_for(session: Session, user: User, now: datetime) -> Principal:
    """The person as the policy sees them at `now` (normally the present; a past moment
    for access reviews: who could have read an item then)."""
    org = session.get(Organisation, user.organisation_id)
    assert org is not None
    # Read in a fixed order, so the same facts make the same principal on every request and
    # its remembered decisions are found again (policy/decision_cache.py).
    memberships = session.exec(
        select(Membership)
        .where(Membership.user_id == user.id)
        .order_by(col(Membership.room_id), col(Membership.joined_at), col(Membership.id))
    ).all()
    managed = sorted(
        session.exec(select(TeamManager.team_id).where(TeamManager.user_id == user.id)).all()
    )
    glass = session.exec(
        select(BreakGlass).where(
            BreakGlass.user_id == user.id,
            BreakGlass.started_at <= now,  # type: ignore[arg-type]
            BreakGlass.expires_at > now,  # type: ignore[arg-type]
        )
    ).all()
    # Rule 3: items "the lead explicitly shared". A share counts only if whoever decided
    # it held the room's lead membership at that moment (lead transfers keep history).
    lead_then = (
        select(Membership.id)
        .where(
            Membership.room_id == SharingDecision.room_id,
            Membership.user_id == SharingDecision.decided_by_id,
            Membership.role == "lead",
            col(Membership.joined_at) <= col(SharingDecision.created_at),
            col(Membership.revoked_at).is_(None)
            | (col(Membership.revoked_at) > col(SharingDecision.created_at)),
        )
        .exists()
    )
    shared = session.exec(
        select(SharingDecision.item_id).where(
            SharingDecision.with_user_id == user.id,
            SharingDecision.decision == "share",
            col(SharingDecision.item_id).is_not(None),
            col(SharingDecision.created_at) <= now,
            lead_then,
        )
    ).all()
    return Principal(
        id=user.id,
        org_id=user.organisation_id,
        org_kind=org.kind,
        team_id=user.team_id,
        org_role=user.org_role,
        now_ts=ts(now),
        managed_team_ids=tuple(managed),
        memberships=tuple(
            MembershipFact(
                room_id=m.room_id,
                role=m.role,
                joined_ts=ts(m.joined_at),
                expires_ts=ts(m.expires_at) if m.expires_at else None,
                # As of `now`, so the same facts answer "could they read it then?"
                revoked=m.revoked_at is not None and utc(m.revoked_at) <= now,
            )
            for m in memberships
        ),
        break_glass=tuple(
            BreakGlassFact(g.room_id, ts(g.expires_at))
            for g in sorted(glass, key=lambda g: (g.room_id, g.expires_at, g.id))
        ),
        shared_item_ids=tuple(sorted(i for i in shared if i)),
    )


def room_fact(room: Room, lead: User) -> RoomFact:
    return RoomFact(
        id=room.id,
        status=room.status,
        lead_user_id=room.lead_user_id,
        lead_org_id=lead.organisation_id,
        lead_team_id=lead.team_id,
        child_id=room.child_id,
    )


def message_fact(message: Message, room: RoomFact) -> MessageFact:
    return MessageFact(
        id=message.id,
        room=room,
        author_id=message.author_id,
        author_org_id=message.author_org_id,
        sensitivity=message.sensitivity,
        created_ts=ts(message.created_at),
    )


def file_fact(file: EncryptedFile, room: RoomFact) -> FileFact:
    """A file is an item like a message; its author is the uploader."""
    return FileFact(
        id=file.id,
        room=room,
        author_id=file.uploader_id,
        author_org_id=file.uploader_org_id,
        sensitivity=file.sensitivity,
        created_ts=ts(file.created_at),
    )


def plan_version_fact(
    version: PlanVersion, replaced_at: datetime | None, room: RoomFact
) -> PlanVersionFact:
    """A published plan version; `replaced_at`: when the next version was signed off."""
    return PlanVersionFact(
        id=version.id,
        room=room,
        version=version.version,
        signed_ts=ts(version.signed_at),
        superseded_ts=ts(replaced_at) if replaced_at else None,
    )


def account_fact(user: User) -> AccountFact:
    return AccountFact(id=user.id, org_id=user.organisation_id)


def audit_fact(event: AuditEvent, room: Room | None, lead: User | None) -> AuditFact:
    return AuditFact(
        actor_id=event.actor_id,
        actor_org_id=event.actor_org_id,
        actor_team_id=event.actor_team_id,
        room_id=event.room_id,
        room_lead_user_id=room.lead_user_id if room else None,
        room_lead_org_id=lead.organisation_id if lead else None,
        room_lead_team_id=lead.team_id if lead else None,
    )
