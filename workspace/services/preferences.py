"""Email preferences: the digest (off, daily at an hour, weekly on a day; Europe/London
time), which notifications come at once and which wait for the digest, muted rooms — and
the one-click unsubscribe link that changes them without signing in."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import Field, StringConstraints
from sqlmodel import Session, col, delete, select

from workspace.access import Access, Target
from workspace.clock import iso
from workspace.errors import Invalid
from workspace.mail.tokens import read_token
from workspace.models import EmailPreference, MutedRoom, Room, User
from workspace.models.preferences import OPTIONAL_NOTIFICATIONS
from workspace.schemas import Strict

DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
NOTIFICATION_LABELS = {
    "mention": "Someone mentions you",
    "added": "You are added to a room",
    "guest_expiring": "Your guest access to a room is about to end",
    "action_overdue": "An action you own, or one in a room you lead, is overdue",
}
# What a one-click unsubscribe from each kind of email stops.
UNSUBSCRIBE_LISTS = {
    "digest": "the digest email",
    "mention": "emails when someone mentions you (mentions are still counted in your digest)",
    "added": "emails when you are added to a room (new rooms still show in your digest)",
    "guest_expiring": "emails when your guest access is about to end (your digest still says so)",
    "action_overdue": "emails about overdue actions (your digest still counts them)",
}
assert (
    set(OPTIONAL_NOTIFICATIONS) == set(NOTIFICATION_LABELS) == set(UNSUBSCRIBE_LISTS) - {"digest"}
)

RoomId = Annotated[str, StringConstraints(min_length=1, max_length=36)]


class PreferencesIn(Strict):
    """`PUT /api/v1/me/preferences`. Fields left out keep their value."""

    digest: Literal["off", "daily", "weekly"] | None = None
    digest_hour: int | None = Field(default=None, ge=0, le=23, description="Europe/London")
    digest_day: (
        Literal["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"] | None
    ) = Field(default=None, description="for weekly digests")
    immediate: list[Literal["mention", "added", "guest_expiring", "action_overdue"]] | None = Field(
        default=None, max_length=len(OPTIONAL_NOTIFICATIONS) * 2
    )
    muted_rooms: list[RoomId] | None = Field(default=None, max_length=500)


@dataclass(frozen=True)
class Preferences:
    digest: str
    digest_hour: int
    digest_day: str
    immediate: tuple[str, ...]
    muted_rooms: tuple[str, ...]
    last_digest_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "digest": self.digest,
            "digest_hour": self.digest_hour,
            "digest_day": self.digest_day,
            "timezone": "Europe/London",
            "immediate": list(self.immediate),
            "muted_rooms": list(self.muted_rooms),
            "last_digest_at": iso(self.last_digest_at),
        }


# --- reading -----------------------------------------------------------------------------


def stored(session: Session, user_id: str) -> EmailPreference | None:
    return session.get(EmailPreference, user_id)


def effective(session: Session, user_id: str, now: datetime) -> EmailPreference:
    """The person's row, or the defaults (not added to the session)."""
    return stored(session, user_id) or EmailPreference(user_id=user_id, updated_at=now)


def immediate_kinds(pref: EmailPreference) -> frozenset[str]:
    return frozenset(k for k in pref.immediate.split(",") if k in OPTIONAL_NOTIFICATIONS)


def muted_room_ids(session: Session, user_id: str) -> frozenset[str]:
    return frozenset(
        session.exec(select(MutedRoom.room_id).where(col(MutedRoom.user_id) == user_id)).all()
    )


def wants_now(session: Session, user_id: str, kind: str, room_id: str | None) -> bool:
    """Whether this kind of news about this room goes out at once (else: the digest)."""
    pref = stored(session, user_id)
    if pref is not None and kind not in immediate_kinds(pref):
        return False
    return room_id is None or room_id not in muted_room_ids(session, user_id)


def get(access: Access) -> Preferences:
    user = access.require_user()
    pref = effective(access.session, user.id, access.now)
    muted = muted_room_ids(access.session, user.id)
    # Only rooms the person may still see: a room they left is nobody's business here.
    visible = _visible(access, muted)
    return Preferences(
        digest=pref.digest,
        digest_hour=pref.digest_hour,
        digest_day=DAYS[pref.digest_day],
        immediate=tuple(k for k in OPTIONAL_NOTIFICATIONS if k in immediate_kinds(pref)),
        muted_rooms=tuple(sorted(visible)),
        last_digest_at=pref.last_digest_at,
    )


def _visible(access: Access, room_ids: frozenset[str] | set[str]) -> set[str]:
    if not room_ids:
        return set()
    return set(
        access.session.exec(
            select(Room.id).where(col(Room.id).in_(sorted(room_ids)), access.rooms_filter())
        ).all()
    )


@dataclass(frozen=True)
class RoomChoice:
    id: str
    reference: str
    title: str
    muted: bool


def room_choices(access: Access) -> list[RoomChoice]:
    """The caller's rooms, to choose which to mute (a list of rooms: audited)."""
    user = access.require_user()
    muted = muted_room_ids(access.session, user.id)
    rows = access.session.exec(
        select(Room.id, Room.reference, Room.title)
        .where(access.rooms_filter())
        .order_by(col(Room.created_at).desc())
        .limit(500)
    ).all()
    access.record("list_rooms", Target("room"), purpose="email preferences")
    return [RoomChoice(i, ref, title, i in muted) for i, ref, title in rows]


# --- changing ----------------------------------------------------------------------------


def _row(session: Session, user_id: str, now: datetime) -> EmailPreference:
    pref = stored(session, user_id)
    if pref is None:
        pref = EmailPreference(user_id=user_id, updated_at=now)
        session.add(pref)
    return pref


def update(access: Access, data: PreferencesIn) -> Preferences:
    user = access.require_user()
    session, now = access.session, access.now
    if data.muted_rooms is not None:
        wanted = set(data.muted_rooms)
        # An unknown room and one the caller may not see get the same answer.
        if wanted - _visible(access, wanted):
            raise Invalid(
                "muted_rooms may only name rooms you are in.",
                fields={"muted_rooms": "not a room you are in"},
            )
        current = muted_room_ids(session, user.id)
        gone = current - wanted
        if gone:
            session.exec(  # type: ignore[call-overload]
                delete(MutedRoom).where(
                    col(MutedRoom.user_id) == user.id, col(MutedRoom.room_id).in_(gone)
                )
            )
        for room_id in sorted(wanted - current):
            session.add(MutedRoom(user_id=user.id, room_id=room_id, muted_at=now))
    pref = _row(session, user.id, now)
    if data.digest is not None:
        pref.digest = data.digest
    if data.digest_hour is not None:
        pref.digest_hour = data.digest_hour
    if data.digest_day is not None:
        pref.digest_day = DAYS.index(data.digest_day)
    if data.immediate is not None:
        chosen = set(data.immediate)
        pref.immediate = ",".join(k for k in OPTIONAL_NOTIFICATIONS if k in chosen)
    pref.updated_at = now
    session.add(pref)
    session.flush()
    access.record("email_preferences_changed", Target("user", user.id))
    return get(access)


# --- unsubscribing without signing in ------------------------------------------------------


def unsubscribe_list(access: Access, token: str) -> str | None:
    """What a link would unsubscribe from (for the confirmation page): nothing changes."""
    request = read_token(access.app.keys, token, access.now, frozenset(UNSUBSCRIBE_LISTS))
    return request.list_name if request else None


def unsubscribe(access: Access, token: str) -> str:
    """Apply a one-click unsubscribe (RFC 8058). The token is the only credential; a bad
    one is audited as refused and answered 404."""
    session = access.session
    request = read_token(access.app.keys, token, access.now, frozenset(UNSUBSCRIBE_LISTS))
    user = session.get(User, request.user_id) if request else None
    if request is None or user is None:
        access.deny("unsubscribe", Target("user"), conceal=True, purpose="invalid link")
        raise AssertionError("unreachable")
    pref = _row(session, user.id, access.now)
    if request.list_name == "digest":
        pref.digest = "off"
    else:
        keep = immediate_kinds(pref) - {request.list_name}
        pref.immediate = ",".join(k for k in OPTIONAL_NOTIFICATIONS if k in keep)
    pref.updated_at = access.now
    session.add(pref)
    access.record(
        "unsubscribe", Target("user", user.id), actor=user, purpose=f"stopped {request.list_name}"
    )
    return request.list_name


def describe(list_name: str) -> str:
    return UNSUBSCRIBE_LISTS.get(list_name, "these emails")


# --- the form on the account page ---------------------------------------------------------


@dataclass(frozen=True)
class EmailForm:
    prefs: Preferences
    rooms: list[RoomChoice]
    can_manage_mail: bool


def form(access: Access) -> EmailForm:
    return EmailForm(get(access), room_choices(access), access.may("manage_mail"))
