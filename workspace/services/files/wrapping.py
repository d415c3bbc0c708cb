"""Wrapping a file's key for more people (DESIGN.md §5, issue #10 item 4). Only someone
who holds the key can wrap it, so this is always a reader's browser or client at work;
the server decides whom for:

- someone who was entitled when the file was uploaded but had no keys then (listed as
  waiting) may be given the key by any holder: no new decision, they were entitled;
- anyone else (a newer member, a guest) is an earlier item shared by the lead: a recorded
  sharing decision, exactly as for messages (workspace/services/sharing.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from sqlalchemy import literal, union_all
from sqlmodel import col, select

from workspace.access import Access, LoadedFile, LoadedRoom, Target
from workspace.clock import utc
from workspace.errors import Conflict, Invalid
from workspace.models import EncryptedFile, Membership, Organisation, SealedKey, User, UserKeys
from workspace.services import notifications, sharing
from workspace.services.files.inputs import WrapIn
from workspace.services.files.views import Person, Recipient


def wrap(access: Access, file_id: str, data: WrapIn) -> list[str]:
    """Returns the ids of the people who now hold the key."""
    loaded = access.file(file_id, "wrap_key")
    if loaded.file.content_state != "stored":
        raise Invalid("This file's content has not been uploaded yet.")
    me = access.require_user()
    if len({k.user_id for k in data.keys}) != len(data.keys):
        raise Invalid("One sealed key per person.", fields={"keys": "duplicate user_id"})
    given: list[str] = []
    for key in data.keys:
        recipient = access.session.get(User, key.user_id)
        if recipient is None or not access.user_may(recipient, "view", loaded.room.fact):
            raise Invalid("They are not in this room.", fields={"keys": "not in this room"})
        keys = access.session.get(UserKeys, recipient.id)
        if keys is None:
            raise Invalid(
                f"{recipient.name} has not published keys yet.", fields={"keys": "no keys"}
            )
        if access.session.get(SealedKey, (loaded.file.id, recipient.id)) is not None:
            raise Conflict(f"{recipient.name} holds this file's key already.", code="key_exists")
        entitled = _entitled_at_upload(access, loaded, recipient)
        if not entitled:
            sharing.share_file(access, loaded, recipient, data)  # tells them itself
        if not access.user_may(recipient, "read", loaded.fact):
            raise Invalid(
                "A restricted file stays with its uploader's organisation and the lead.",
                fields={"keys": "restricted"},
            )
        access.session.add(
            SealedKey(file_id=loaded.file.id, user_id=recipient.id, sealed_key=key.sealed_key,
                      box_public=keys.box_public, wrapped_by_id=me.id, created_at=access.now)
        )  # fmt: skip
        access.record(
            "file_key_wrapped",
            Target("file", loaded.file.id, loaded.room.room.id, loaded.room.child.id),
            purpose=f"for {recipient.id}",
        )
        if entitled and recipient.id != me.id:
            notifications.file_key_given(access, loaded.room, recipient, loaded.file.id)
        given.append(recipient.id)
    return given


def waiting_with_keys(access: Access, loaded: LoadedFile) -> tuple[Recipient, ...]:
    """Who was entitled to the file at upload, may still read it, has published keys since
    and holds no key to it: any holder may wrap it for them, no decision needed."""
    return waiting_for(access, loaded.room, [loaded.file]).get(loaded.file.id, ())


def waiting_for(
    access: Access, room: LoadedRoom, files: Sequence[EncryptedFile]
) -> dict[str, tuple[Recipient, ...]]:
    """`waiting_with_keys` for several files of one room at once (a page of its list):
    everyone in the room since before each file, with keys and without one to it, in one
    query; then, of each, what `_entitled_at_upload` and the policy say, with what the
    policy needs of those people read once. {file id: recipients}, files with none left
    out."""
    if not files:
        return {}
    holds_key = (
        select(SealedKey.user_id)
        .where(
            col(SealedKey.file_id) == col(EncryptedFile.id),
            col(SealedKey.user_id) == col(User.id),
        )
        .exists()
    )
    rows = access.session.exec(
        select(EncryptedFile.id, User, Organisation, UserKeys)
        .join(Membership, col(Membership.room_id) == col(EncryptedFile.room_id))
        .join(User, col(User.id) == col(Membership.user_id))
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .join(UserKeys, col(UserKeys.user_id) == col(User.id))
        .where(
            col(EncryptedFile.id).in_([f.id for f in files]),
            # In the room when the file was uploaded (the first half of
            # `_entitled_at_upload`), and no key to it yet.
            col(Membership.joined_at) <= col(EncryptedFile.created_at),
            ~holds_key,
        )
        .distinct()
        .order_by(col(User.name))
    ).all()
    if not rows:
        return {}
    users = {user.id: user for _, user, _, _ in rows}
    # Removed from the room since (a removal carries a reason; a role change does not).
    removals: dict[str, list[datetime]] = {}
    for user_id, revoked_at in access.session.exec(
        select(Membership.user_id, Membership.revoked_at).where(
            col(Membership.room_id) == room.room.id,
            col(Membership.user_id).in_(list(users)),
            col(Membership.removal_reason).is_not(None),
            col(Membership.revoked_at).is_not(None),
        )
    ):
        if revoked_at is not None:
            removals.setdefault(user_id, []).append(utc(revoked_at))
    people = access.people(users.values())
    # Which of these files each of them may read now: their files filter (the policy in
    # the query), all of them in one statement.
    asked: dict[str, set[str]] = {}
    for file_id, user, _, _ in rows:
        asked.setdefault(user.id, set()).add(file_id)
    readable = {
        (user_id, file_id)
        for user_id, file_id in access.session.execute(
            union_all(*(
                select(literal(user_id), EncryptedFile.id).where(
                    col(EncryptedFile.id).in_(sorted(ids)),
                    people.files_filter(users[user_id], room),
                )
                for user_id, ids in asked.items()
            ))
        )
    }  # fmt: skip
    by_id = {f.id: f for f in files}
    found: dict[str, list[Recipient]] = {}
    for file_id, user, org, keys in rows:
        file = by_id[file_id]
        uploaded = utc(file.created_at)
        if (
            (user.id, file_id) in readable
            and not any(at > uploaded for at in removals.get(user.id, ()))
            and people.may_at(user, "read", file, file.created_at)
        ):
            found.setdefault(file_id, []).append(Recipient(Person(user, org), keys))
    return {file_id: tuple(people) for file_id, people in found.items()}


def _entitled_at_upload(access: Access, loaded: LoadedFile, person: User) -> bool:
    """In the room when the file was uploaded, allowed to read it then, and not removed
    since: someone removed and let back in is a newer member, whom only the lead's recorded
    decision gives earlier files (DESIGN.md §5). (A role change also ends a membership and
    starts another, but is no removal: removals alone carry a reason.)"""
    file = loaded.file
    there = access.session.exec(
        select(Membership.id).where(
            col(Membership.room_id) == file.room_id,
            col(Membership.user_id) == person.id,
            col(Membership.joined_at) <= file.created_at,
        )
    ).first()
    removed_since = access.session.exec(
        select(Membership.id).where(
            col(Membership.room_id) == file.room_id,
            col(Membership.user_id) == person.id,
            col(Membership.removal_reason).is_not(None),
            col(Membership.revoked_at) > file.created_at,
        )
    ).first()
    return (
        there is not None
        and removed_since is None
        and access.user_may_at(person, "read", file, file.created_at)
    )
