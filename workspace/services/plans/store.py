"""A plan's persistence: the Yjs updates that made it, appended in the caller's transaction
(so an update is acknowledged only once it is committed), sealed at rest with the server
key, and compacted now and then into one snapshot.

Nothing of a plan is kept in memory between requests: every use loads the snapshot and the
updates since, so any number of `caseroom serve` processes share one plan, and a restart
loses nothing that was acknowledged. Loading is one statement, so a compaction committed
meanwhile (which deletes the updates its snapshot covers) is seen whole or not at all.

Locks: appends and compaction take the plan's row. Callers authorise (and write their
audit record, which locks the audit chain's head) before they come here, so every
transaction takes the two in the same order and none waits on another in a circle.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy
from pycrdt import Doc
from sqlalchemy import delete, insert, literal, union_all, update
from sqlalchemy.exc import IntegrityError
from sqlmodel import Session, col, select

from workspace.crypto import Keys
from workspace.models import Plan, PlanSnapshot, PlanUpdate
from workspace.services.plans.document import new_document

# Updates since the snapshot after which the next append compacts (DESIGN.md §8: replaying
# 10,000 updates into a Doc[Any] and encoding it took 36 ms; a few hundred take a few).
COMPACT_EVERY = 200


def _update_context(room_id: str) -> bytes:
    return f"plan-update:{room_id}".encode()


def _snapshot_context(room_id: str) -> bytes:
    return f"plan-snapshot:{room_id}".encode()


@dataclass
class Stored:
    """A plan as loaded: the document, the last update it holds, and how many updates it
    holds beyond its snapshot."""

    doc: Doc[Any]
    seq: int
    since_snapshot: int


def exists(session: Session, room_id: str) -> bool:
    found = session.exec(select(Plan.room_id).where(col(Plan.room_id) == room_id)).first()
    return found is not None


def create(
    session: Session, keys: Keys, room_id: str, plan_type: str, now: datetime
) -> bool:
    """Make the plan's structure once (document.new_document): its first update. Of two
    requests that make it at once, the second finds the first's row (SQLite serialises
    writers) or fails on its key and keeps the first's (PostgreSQL). True if this made it."""
    if exists(session, room_id):
        return False
    first = new_document(plan_type).get_update()
    try:
        with session.begin_nested():
            session.add(Plan(room_id=room_id, last_seq=1, created_at=now, updated_at=now))
            session.flush()
            session.add(
                PlanUpdate(
                    room_id=room_id,
                    seq=1,
                    data=keys.seal_bytes(first, _update_context(room_id)),
                    created_at=now,
                )
            )
            session.flush()
    except IntegrityError:
        return False
    return True


def load(session: Session, keys: Keys, room_id: str) -> Stored:
    """The document from its newest snapshot and the updates after it, decrypted."""
    # sqlalchemy's select: sqlmodel's does not type a union of plain columns.
    snapshots: sqlalchemy.Select[int, Any, bytes] = sqlalchemy.select(
        literal(0).label("kind"), col(PlanSnapshot.seq).label("seq"), col(PlanSnapshot.data)
    ).where(col(PlanSnapshot.room_id) == room_id)
    updates: sqlalchemy.Select[int, Any, bytes] = sqlalchemy.select(
        literal(1).label("kind"), col(PlanUpdate.seq).label("seq"), col(PlanUpdate.data)
    ).where(col(PlanUpdate.room_id) == room_id)
    rows = session.execute(union_all(snapshots, updates)).all()
    doc: Doc[Any] = Doc()
    base = max((seq for kind, seq, _ in rows if kind == 0), default=0)
    for kind, seq, data in rows:
        if kind == 0 and seq == base:
            doc.apply_update(keys.unseal_bytes(data, _snapshot_context(room_id)))
    later = sorted((seq, data) for kind, seq, data in rows if kind == 1 and seq > base)
    for _, data in later:
        doc.apply_update(keys.unseal_bytes(data, _update_context(room_id)))
    last = later[-1][0] if later else base
    return Stored(doc, last, len(later))


def append(
    session: Session,
    keys: Keys,
    room_id: str,
    data: bytes,
    user_id: str | None,
    now: datetime,
) -> int:
    """Add one update in the caller's transaction; its number. Compacts when enough
    updates have gathered since the snapshot."""
    seq, snapshot_seq = session.execute(
        update(Plan)
        .where(col(Plan.room_id) == room_id)
        .values(last_seq=col(Plan.last_seq) + 1, updated_at=now)
        .returning(col(Plan.last_seq), col(Plan.snapshot_seq))
    ).one()
    session.execute(
        insert(PlanUpdate).values(
            room_id=room_id,
            seq=seq,
            data=keys.seal_bytes(data, _update_context(room_id)),
            user_id=user_id,
            created_at=now,
        )
    )
    if seq - snapshot_seq >= COMPACT_EVERY:
        compact(session, keys, room_id, now)
    return int(seq)


def lock(session: Session, room_id: str) -> int:
    """Hold the plan's row until the transaction ends: no update is appended meanwhile.
    Its last update's number."""
    return int(
        session.exec(
            select(Plan.last_seq).where(col(Plan.room_id) == room_id).with_for_update()
        ).one()
    )


def compact(session: Session, keys: Keys, room_id: str, now: datetime) -> Stored:
    """Replay the plan into a document and store it as one snapshot in place of the
    snapshot and updates it covers (DESIGN.md §8: not merge_updates, 13x slower and 3x
    larger). The document is the same before and after."""
    lock(session, room_id)
    stored = load(session, keys, room_id)
    if stored.since_snapshot == 0:
        return stored
    session.execute(
        insert(PlanSnapshot).values(
            room_id=room_id,
            seq=stored.seq,
            data=keys.seal_bytes(stored.doc.get_update(), _snapshot_context(room_id)),
            created_at=now,
        )
    )
    session.execute(
        delete(PlanSnapshot).where(
            col(PlanSnapshot.room_id) == room_id, col(PlanSnapshot.seq) < stored.seq
        )
    )
    session.execute(
        delete(PlanUpdate).where(
            col(PlanUpdate.room_id) == room_id, col(PlanUpdate.seq) <= stored.seq
        )
    )
    session.execute(
        update(Plan).where(col(Plan.room_id) == room_id).values(snapshot_seq=stored.seq)
    )
    return Stored(stored.doc, stored.seq, 0)


def open_plan(
    session: Session, keys: Keys, room_id: str, plan_type: str, now: datetime
) -> Stored:
    """The plan of a room, made first if the room has none yet (rooms opened before plans
    existed), compacted first if many updates have gathered."""
    create(session, keys, room_id, plan_type, now)
    stored = load(session, keys, room_id)
    if stored.since_snapshot >= COMPACT_EVERY:
        stored = compact(session, keys, room_id, now)
    return stored
