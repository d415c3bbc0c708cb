"""Who must receive a file's key: whoever the policy says may read a file of that
sensitivity, uploaded now by the caller, in that room (DESIGN.md §5). Asked of the policy
person by person among those who could: active members, guests and break-glass holders."""

from __future__ import annotations

from typing import Any

from sqlmodel import col, select

from workspace.access import Access, LoadedRoom
from workspace.errors import Invalid
from workspace.facts import file_fact
from workspace.models import BreakGlass, EncryptedFile, Membership, Organisation, User, UserKeys
from workspace.services.files.views import Person, Recipient, Recipients


def for_room(access: Access, room_id: str, sensitivity: str) -> Recipients:
    loaded = access.room(room_id, "upload_file", audit_as="list_recipients")
    # After the room is decided: a room the caller may not know of is a 404, whatever else.
    if sensitivity not in ("room", "restricted"):
        raise Invalid("sensitivity is room or restricted.", fields={"sensitivity": "unknown"})
    return current(access, loaded, sensitivity)


def current(access: Access, loaded: LoadedRoom, sensitivity: str) -> Recipients:
    uploader = access.require_user()
    prototype = file_fact(
        EncryptedFile(
            id="", room_id=loaded.room.id, uploader_id=uploader.id,
            uploader_org_id=uploader.organisation_id, sensitivity=sensitivity, kind="fact",
            size=0, sha256="", manifest="", signature="", sign_public="", encrypted_name="",
            created_at=access.now,
        ),
        loaded.fact,
    )  # fmt: skip
    return entitled(access, in_room(access, loaded.room.id), prototype)


Candidate = tuple[User, Organisation, UserKeys | None]


def in_room(access: Access, room_id: str) -> list[Candidate]:
    """Everyone who could read something in the room now: active members, guests and
    break-glass holders (the policy then says who may, item by item)."""
    now = access.now
    members = select(Membership.user_id).where(
        col(Membership.room_id) == room_id,
        col(Membership.revoked_at).is_(None),
        col(Membership.expires_at).is_(None) | (col(Membership.expires_at) > now),
    )
    glass = select(BreakGlass.user_id).where(
        col(BreakGlass.room_id) == room_id, col(BreakGlass.expires_at) > now
    )
    return people(access, col(User.id).in_(members) | col(User.id).in_(glass))


def in_organisation(access: Access, organisation_id: str) -> list[Candidate]:
    return people(access, col(User.organisation_id) == organisation_id)


def people(access: Access, which: Any) -> list[Candidate]:
    rows = access.session.exec(
        select(User, Organisation, UserKeys)
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .outerjoin(UserKeys, col(UserKeys.user_id) == col(User.id))
        .where(which)
        .order_by(col(User.name), col(User.id))
    ).all()
    return list(rows)


def entitled(access: Access, candidates: list[Candidate], prototype: Any) -> Recipients:
    """Those of `candidates` the policy lets read `prototype`: with keys, and waiting."""
    items: list[Recipient] = []
    waiting: list[Person] = []
    for user, org, keys in candidates:
        if user.disabled or not access.user_may(user, "read", prototype):
            continue
        if keys is None:
            waiting.append(Person(user, org))
        else:
            items.append(Recipient(Person(user, org), keys))
    return Recipients(tuple(items), tuple(waiting))
