"""People's keys: public keys for wrapping (X25519) and signing (Ed25519), and the private
keys sealed under the owner's passphrase (Argon2id), which only the owner is ever sent."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from sqlmodel import col, delete, select

from workspace import fileformat
from workspace.access import Access, Target
from workspace.models import EncryptedFile, Membership, Room, SealedKey, User, UserKeys
from workspace.services.files.inputs import KeysIn

if TYPE_CHECKING:  # members.py imports this module (forget_member)
    from workspace.services.members import MemberView


def publish(access: Access, data: KeysIn) -> UserKeys:
    """New keys (first use, or a forgotten passphrase). Keys sealed to an earlier public key
    can no longer be opened: they are deleted, and holders re-share (DESIGN.md §5)."""
    user = access.require_user()
    session = access.session
    keys = session.get(UserKeys, user.id)
    fingerprint = fileformat.fingerprint(
        fileformat.unb64(data.box_public), fileformat.unb64(data.sign_public)
    )
    changed = keys is not None and (
        keys.box_public != data.box_public or keys.sign_public != data.sign_public
    )
    if keys is None:
        keys = UserKeys(user_id=user.id, created_at=access.now, updated_at=access.now,
                        box_public="", sign_public="", sealed_private="", kdf_salt="",
                        kdf_opslimit=0, kdf_memlimit=0, fingerprint="")  # fmt: skip
    if changed:
        session.exec(  # type: ignore[call-overload]
            delete(SealedKey).where(
                col(SealedKey.user_id) == user.id, col(SealedKey.box_public) != data.box_public
            )
        )
    keys.box_public = data.box_public
    keys.sign_public = data.sign_public
    keys.sealed_private = data.sealed_private
    keys.kdf_salt = data.kdf.salt
    keys.kdf_opslimit = data.kdf.opslimit
    keys.kdf_memlimit = data.kdf.memlimit
    keys.fingerprint = fingerprint
    keys.updated_at = access.now
    session.add(keys)
    access.record("keys_changed" if changed else "keys_published", Target("user_keys", user.id))
    if changed:
        _announce(access, user, fingerprint)
    return keys


def _announce(access: Access, user: User, fingerprint: str) -> None:
    """Like a safety-number change: every room the person is in tells of it in its history
    (workspace/services/room_history.py), with the new fingerprint to compare."""
    rooms = access.session.exec(
        select(Room)
        .join(Membership, col(Membership.room_id) == col(Room.id))
        .where(
            col(Membership.user_id) == user.id,
            col(Membership.revoked_at).is_(None),
            col(Membership.expires_at).is_(None) | (col(Membership.expires_at) > access.now),
        )
        .distinct()
    ).all()
    for room in rooms:
        access.record(
            "keys_changed",
            Target("user_keys", user.id, room.id, room.child_id),
            purpose=f"fingerprint {fingerprint}",
        )


def mine(access: Access) -> UserKeys | None:
    user = access.require_user()
    keys = access.session.get(UserKeys, user.id)
    access.record("view_own_keys", Target("user_keys", user.id))
    return keys


def own_fingerprint(access: Access) -> str | None:
    """The caller's fingerprint, for their account page. Unlike `mine` (which hands out the
    sealed private key and is audited), a hash of one's own public keys is not worth a
    record each time the page opens."""
    keys = access.session.get(UserKeys, access.require_user().id)
    return keys.fingerprint if keys else None


def fingerprints(access: Access, members: Iterable[MemberView]) -> dict[str, str]:
    """{user id: fingerprint} of the people a room's member list shows, so each can be
    compared by phone or in person; people with no keys yet are absent. Who is listed was
    decided (and audited) by members.list_members; these hashes of public keys, which
    anyone sharing the room may fetch (`of`), add no event of their own."""
    ids = [m.user.id for m in members]
    rows = access.session.exec(
        select(UserKeys.user_id, UserKeys.fingerprint).where(col(UserKeys.user_id).in_(ids))
    ).all()
    return dict(rows)


def of(access: Access, user_id: str) -> UserKeys:
    """Someone's public keys, for people who share a room with them (anyone else: 404,
    whether or not they exist or have keys)."""
    me = access.require_user()
    target = Target("user_keys", user_id)
    keys = access.session.get(UserKeys, user_id)
    if keys is None or not (user_id == me.id or _share_a_room(access, user_id)):
        access.deny("view_keys", target, conceal=True)
        raise AssertionError("unreachable")
    access.record("view_keys", target)
    return keys


def _share_a_room(access: Access, user_id: str) -> bool:
    """A room the caller may view (the policy, in SQL) where the other holds a membership
    that counts now."""
    theirs = select(Membership.room_id).where(
        col(Membership.user_id) == user_id,
        col(Membership.revoked_at).is_(None),
        col(Membership.expires_at).is_(None) | (col(Membership.expires_at) > access.now),
    )
    found = access.session.exec(
        select(Room.id).where(access.rooms_filter(), col(Room.id).in_(theirs)).limit(1)
    ).first()
    return found is not None and access.session.get(User, user_id) is not None


def forget_member(access: Access, room_id: str, user_id: str) -> None:
    """A removed member's sealed keys to the room's files are deleted (DESIGN.md §5): the
    server will not hand them back, even if they were let in again."""
    in_room = select(EncryptedFile.id).where(col(EncryptedFile.room_id) == room_id)
    access.session.exec(  # type: ignore[call-overload]
        delete(SealedKey).where(
            col(SealedKey.user_id) == user_id, col(SealedKey.file_id).in_(in_room)
        )
    )
