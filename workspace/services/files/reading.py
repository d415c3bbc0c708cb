"""Reading files: the room's list (the policy in the query, as for messages), one file's
metadata with the caller's own sealed key, the ciphertext (audited as a download: a view
of the file), and a reader's report that a download failed verification."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass

from sqlmodel import col, select

from workspace.access import Access, LoadedRoom, Target
from workspace.errors import Invalid
from workspace.facts import file_fact
from workspace.models import EncryptedFile, Organisation, SealedKey, User, UserKeys
from workspace.pagination import Page, cursor_time, decode_cursor, encode_cursor
from workspace.services.files import wrapping
from workspace.services.files.inputs import TamperedIn
from workspace.services.files.uploads import store_of, view_of
from workspace.services.files.views import FileView, Person, Recipient


def list_files(
    access: Access, room_id: str, *, cursor: str | None = None, limit: int = 50
) -> Page[FileView]:
    """Newest first; only files whose ciphertext has arrived. One audited `list_files`."""
    loaded = access.room(room_id, "list_messages", audit_as="list_files")
    me = access.require_user()
    query = (
        select(EncryptedFile, User, Organisation, UserKeys)
        .join(User, col(User.id) == col(EncryptedFile.uploader_id))
        .join(Organisation, col(Organisation.id) == col(User.organisation_id))
        .outerjoin(UserKeys, col(UserKeys.user_id) == col(EncryptedFile.uploader_id))
        .where(access.files_filter(loaded), col(EncryptedFile.content_state) == "stored")
    )
    after = decode_cursor(access.app.keys, cursor, 2)
    if after is not None:
        at, last_id = cursor_time(after[0]), str(after[1])
        query = query.where(
            (col(EncryptedFile.created_at) < at)
            | ((col(EncryptedFile.created_at) == at) & (col(EncryptedFile.id) < last_id))
        )
    rows = access.session.exec(
        query.order_by(col(EncryptedFile.created_at).desc(), col(EncryptedFile.id).desc()).limit(
            limit + 1
        )
    ).all()
    more = len(rows) > limit
    rows = rows[:limit]
    mine = {
        k.file_id: k
        for k in access.session.exec(
            select(SealedKey).where(
                col(SealedKey.user_id) == me.id,
                col(SealedKey.file_id).in_([f.id for f, _, _, _ in rows]),
            )
        ).all()
    }
    offers = _offers(access, loaded, [f for f, _, _, _ in rows if f.id in mine])
    items = [
        FileView(f, Person(u, o), k, mine.get(f.id), offers.get(f.id, ())) for f, u, o, k in rows
    ]
    last = items[-1].file if items else None
    nxt = encode_cursor(access.app.keys, last.created_at.isoformat(), last.id) if last else None
    return Page(items, nxt if more else None)


def _offers(
    access: Access, room: LoadedRoom, held: list[EncryptedFile]
) -> dict[str, tuple[Recipient, ...]]:
    """Whom a holder of each key is offered to wrap it for (no new decision: they were
    entitled at upload), so the list can say so without opening each file. Found for the
    whole page at once; the caller's own `wrap_key` is asked only of files someone waits
    for (of the others the answer would change nothing)."""
    waiting = wrapping.waiting_for(access, room, held)
    return {
        file.id: waiting[file.id]
        for file in held
        if file.id in waiting and access.allowed("wrap_key", file_fact(file, room.fact))
    }


def metadata(access: Access, file_id: str) -> FileView:
    loaded = access.file(file_id, "read")
    view = view_of(access, loaded.file)
    if view.sealed_key is None or not access.allowed("wrap_key", loaded.fact):
        return view
    return dataclasses.replace(view, offer_to_wrap=wrapping.waiting_with_keys(access, loaded))


@dataclass(frozen=True)
class Content:
    size: int
    chunks: Iterator[bytes]


def content(access: Access, file_id: str) -> Content:
    loaded = access.file(file_id, "read", audit_as="download_file")
    if loaded.file.content_state != "stored":
        raise Invalid("This file's content has not been uploaded yet.")
    return Content(loaded.file.size, store_of(access).read(loaded.file.sha256))


def report_tampered(access: Access, file_id: str, data: TamperedIn) -> None:
    """A reader's client found the manifest, its signature or a chunk did not verify: the
    server (or whoever wrote to its disk) changed something. Audited for the IG lead."""
    loaded = access.file(file_id, "read", audit_as="verify_file")
    access.record(
        "file_verification_failed",
        Target("file", loaded.file.id, loaded.room.room.id, loaded.room.child.id),
        purpose=data.reason,
    )
