"""Sharing a file: first its metadata, signed manifest and one sealed key for exactly each
recipient the policy names (`create`); then its ciphertext, streamed to disk by the route
between `expect_content` and `finish_content`, which makes it an item of the room."""

from __future__ import annotations

import json
from pathlib import Path

from sqlmodel import col, select

from workspace import crypto, fileformat
from workspace.access import Access, Target
from workspace.errors import Conflict, Invalid, TooLarge
from workspace.events import FilePosted
from workspace.models import EncryptedFile, Organisation, SealedKey, User, UserKeys
from workspace.services.files import recipients
from workspace.services.files.inputs import FileIn
from workspace.services.files.store import Expected, FileStore, store_for
from workspace.services.files.views import FileView, Person, Recipients


class RecipientsChanged(Conflict):
    """The keys were for another set of people than the policy names now (someone joined,
    left or published keys): the client wraps again for `recipients` and retries."""

    code = "recipients_changed"
    message = "The people who may read this file have changed: wrap the key for them."
    committed = True  # the list it carries was audited as read before refusing

    def __init__(self, current: Recipients) -> None:
        super().__init__()
        # As JSON now: the rows are gone once the unit of work rolls back.
        self.recipients = current.json()


def store_of(access: Access) -> FileStore:
    return store_for(access.app.settings, access.app.clock)


def create(access: Access, room_id: str, data: FileIn) -> EncryptedFile:
    loaded = access.room(room_id, "upload_file")
    uploader = access.require_user()
    if data.size > access.app.settings.max_file_bytes:
        raise TooLarge(f"A file may be at most {access.app.settings.max_file_bytes} bytes.")
    existing = access.session.get(EncryptedFile, data.id)
    if existing is not None and existing.uploader_id != uploader.id:
        # Someone else's file (perhaps in a room the caller may not know of): an id the
        # caller may not know exists is a 404 like any other, and the probe is audited.
        access.deny("upload_file", Target("file", data.id), conceal=True)
    if existing is not None:
        raise Conflict("A file with this id exists; choose another.", code="file_exists")
    own = access.session.get(UserKeys, uploader.id)
    if own is None:
        raise Conflict("Publish your keys first (PUT /me/keys).", code="keys_needed")
    current = recipients.current(access, loaded, data.sensitivity)
    wanted, given = sealed_for_exactly(access, current, data, loaded.target)
    check_manifest(loaded.room.id, uploader, own, data, wanted)
    file = EncryptedFile(
        id=data.id,
        room_id=loaded.room.id,
        uploader_id=uploader.id,
        uploader_org_id=uploader.organisation_id,
        sensitivity=data.sensitivity,
        kind=data.kind,
        size=data.size,
        sha256=data.sha256,
        manifest=data.manifest,
        signature=data.signature,
        sign_public=own.sign_public,
        encrypted_name=data.encrypted_name,
        content_state="pending",
        created_at=access.now,
    )
    access.session.add(file)
    access.session.flush()
    for user_id, sealed in given.items():
        access.session.add(
            SealedKey(file_id=file.id, user_id=user_id, sealed_key=sealed,
                      box_public=wanted[user_id].box_public, wrapped_by_id=uploader.id,
                      created_at=access.now)
        )  # fmt: skip
    access.record("file_created", Target("file", file.id, loaded.room.id, loaded.child.id))
    return file


def sealed_for_exactly(
    access: Access, current: Recipients, data: FileIn, target: Target
) -> tuple[dict[str, UserKeys], dict[str, str]]:
    """Each recipient's keys and the sealed key given for them, when the upload's keys are
    for exactly `current`; otherwise the refusal with whom to wrap for now (the answer
    names readers: that read is audited and kept, though the upload is refused)."""
    wanted = {r.person.user.id: r.keys for r in current.items}
    given = {k.user_id: k.sealed_key for k in data.keys}
    if len(given) != len(data.keys) or set(given) != set(wanted):
        refusal = RecipientsChanged(current)
        access.session.rollback()
        access.record("list_recipients", target)
        access.session.commit()
        raise refusal
    return wanted, given


def check_manifest(
    scope_id: str, uploader: User, own: UserKeys, data: FileIn, keys: dict[str, UserKeys]
) -> None:
    """The server cannot read the file, but it can refuse a manifest that does not describe
    this upload, or that its uploader did not sign: a reader would refuse it later anyway.
    `scope_id`: what the file is bound to (its room; a concern's photo, the contact)."""
    raw = data.manifest.encode()
    try:
        parsed = json.loads(raw)
        header = fileformat.unb64(str(parsed.get("header")), fileformat.HEADER_BYTES)
    except (ValueError, AttributeError, RecursionError) as exc:
        raise Invalid("The manifest is not valid.", fields={"manifest": "malformed"}) from exc
    expected = fileformat.manifest(
        room_id=scope_id, file_id=data.id, uploader_id=uploader.id,
        sensitivity=data.sensitivity, header=header, size=data.size, sha256=data.sha256,
        encrypted_name=data.encrypted_name,
        recipients=[(k.user_id, keys[k.user_id].box_public, k.sealed_key) for k in data.keys],
    )  # fmt: skip
    if raw != expected:
        raise Invalid(
            "The manifest does not describe this upload (room, file id, uploader, "
            "sensitivity, size, sha256, name, recipients and their sealed keys, in the "
            "canonical form of docs/file-format.md).",
            fields={"manifest": "does not match"},
        )
    if not crypto.signature_is_valid(
        fileformat.unb64(own.sign_public), raw, fileformat.unb64(data.signature)
    ):
        raise Invalid(
            "The manifest's signature does not verify with your published signing key.",
            fields={"signature": "invalid"},
        )


def expect_content(access: Access, file_id: str) -> Expected:
    """Before the ciphertext streams: only the uploader, only once."""
    loaded = access.file(file_id, "read", audit_as="upload_file_content")
    if loaded.file.uploader_id != access.require_user().id:
        access.deny("upload_file_content", loaded.target, conceal=False)
    if loaded.file.content_state != "pending":
        raise Conflict("This file's content has been uploaded already.", code="content_stored")
    return Expected(loaded.file.size, loaded.file.sha256)


def finish_content(access: Access, file_id: str, temp: Path) -> FileView:
    """The ciphertext has arrived whole and matches: keep it, and tell the room."""
    store = store_of(access)
    try:
        loaded = access.file(file_id, "read", audit_as="file_uploaded")
        file = loaded.file
        if file.content_state != "pending" or file.uploader_id != access.require_user().id:
            raise Conflict("This file's content has been uploaded already.", code="content_stored")
        store.keep(temp, file.sha256)
    except BaseException:
        store.discard(temp)
        raise
    file.content_state = "stored"
    file.stored_at = access.now
    access.session.add(file)
    view = view_of(access, file)
    access.emit(FilePosted(file.room_id, loaded.fact, view.event(),
                           access.guest_readers(loaded.fact)))  # fmt: skip
    return view


def view_of(access: Access, file: EncryptedFile) -> FileView:
    uploader = access.session.get(User, file.uploader_id)
    assert uploader is not None
    org = access.session.get(Organisation, uploader.organisation_id)
    assert org is not None
    me = access.require_user()
    sealed = access.session.exec(
        select(SealedKey).where(col(SealedKey.file_id) == file.id, col(SealedKey.user_id) == me.id)
    ).first()
    return FileView(file, Person(uploader, org), access.session.get(UserKeys, uploader.id), sealed)
