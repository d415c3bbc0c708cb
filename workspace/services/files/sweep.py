"""Abandoned uploads (run by `caseroom worker` and `caseroom files sweep`). A file is
declared first (metadata, manifest, sealed keys) and its ciphertext sent after; a client
that never sends it leaves a declaration no reader is ever shown (only `stored` files are
items of the room), and a server that crashed mid-upload leaves a temporary file. Both
are removed once older than a day by the app's clock: the declaration with its sealed
keys, each deletion audited as an act of the system (no actor), like the worker's other
acts (workspace/services/signed_head.py)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, delete, select

from workspace.access import Access, Origin, Target
from workspace.clock import iso
from workspace.models import EncryptedFile, Room, SealedKey
from workspace.services.files.store import store_for
from workspace.state import Caseroom

ABANDONED_AFTER = timedelta(hours=24)


@dataclass(frozen=True)
class Swept:
    declarations: int
    temporary_files: int


def sweep(app: Caseroom, channel: str = "cli") -> Swept:
    now = app.clock.now()
    cutoff = now - ABANDONED_AFTER
    with app.db.session() as session:
        access = Access(app, session, None, Origin(channel), purpose="abandoned upload")
        # Locked (PostgreSQL): content arriving this very moment either keeps its
        # declaration or finds it gone and fails; never a stored file without its keys.
        stale = session.exec(
            select(EncryptedFile)
            .where(col(EncryptedFile.content_state) != "stored",
                   col(EncryptedFile.created_at) < cutoff)
            .order_by(col(EncryptedFile.created_at))
            .with_for_update()
        ).all()  # fmt: skip
        for file in stale:
            room = session.get(Room, file.room_id)
            access.record(
                "abandoned_upload_deleted",
                Target("file", file.id, file.room_id, room.child_id if room else None),
                purpose=f"declared {iso(file.created_at)} by {file.uploader_id}; its content "
                "never arrived",
            )
        ids = [f.id for f in stale]
        if ids:
            session.exec(  # type: ignore[call-overload]
                delete(SealedKey).where(col(SealedKey.file_id).in_(ids))
            )
            session.exec(  # type: ignore[call-overload]
                delete(EncryptedFile).where(col(EncryptedFile.id).in_(ids))
            )
        session.commit()
    removed = store_for(app.settings, app.clock).sweep_incoming(cutoff)
    return Swept(len(ids), removed)
