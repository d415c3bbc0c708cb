"""The append-only, hash-chained audit log (DESIGN.md §4).

mac = HMAC(K, prev_mac + canonical record). Appends lock the one chain head row, so they
are serialised across processes. Every CHECKPOINT_EVERY events an Ed25519-signed
checkpoint of (seq, mac) is written, so a rewrite by someone holding K, or a truncation,
is caught by `caseroom audit verify` too.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import func, insert, update
from sqlmodel import Session, col, select

from workspace.clock import Clock, iso
from workspace.crypto import Keys
from workspace.models import AuditCheckpoint, AuditEvent, AuditHead

CHECKPOINT_EVERY = 256
GENESIS_MAC = "0" * 64
CHAINED_FIELDS = (
    "seq", "id", "at", "actor_id", "actor_org_id", "actor_team_id", "action",
    "resource_type", "resource_id", "room_id", "child_id", "outcome", "purpose",
    "channel", "request_id", "ip", "user_agent", "key_id",
)  # fmt: skip


def canonical(event: AuditEvent) -> bytes:
    record: dict[str, Any] = {}
    for name in CHAINED_FIELDS:
        value = getattr(event, name)
        record[name] = iso(value) if isinstance(value, datetime) else value
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def checkpoint_statement(seq: int, mac: str, signed_at: datetime) -> bytes:
    return f"caseroom-audit-checkpoint|{seq}|{mac}|{iso(signed_at)}".encode()


# Column widths of audit_event, so a value the caller controls (a room id from a URL, a
# purpose header, a user agent) can never make the write fail: PostgreSQL refuses an
# over-long varchar or a NUL character, and a failed audit write fails the request (503).
_WIDTHS: dict[str, int] = {
    column.name: int(column.type.length)
    for column in AuditEvent.__table__.columns  # type: ignore[attr-defined]
    if getattr(column.type, "length", None)
}


def _storable(fields: dict[str, Any]) -> dict[str, Any]:
    clean: dict[str, Any] = {}
    for name, value in fields.items():
        if isinstance(value, str):
            value = value.replace("\x00", "\ufffd")
            width = _WIDTHS.get(name)
            if width is not None and len(value) > width:
                value = value[: width - 1] + "\u2026"
        clean[name] = value
    return clean


def _row(event: AuditEvent) -> dict[str, Any]:
    return {c.name: getattr(event, c.name) for c in AuditEvent.__table__.columns}  # type: ignore[attr-defined]


def _head_for_update(session: Session) -> AuditHead:
    """Lock the chain head and read it from the database, not from the session's identity
    map: an object still held from an earlier transaction of this session would carry a
    stale seq and mac, and the append would collide with (or fork from) another's."""
    return session.exec(
        select(AuditHead)
        .where(AuditHead.id == 1)
        .with_for_update()
        .execution_options(populate_existing=True)
    ).one()


class AuditWriter:
    def __init__(self, keys: Keys, clock: Clock) -> None:
        self.keys = keys
        self.clock = clock

    def append(self, session: Session, **fields: Any) -> AuditEvent:
        """Add one event to the chain inside the caller's transaction. If the
        transaction does not commit, neither does the event, nor the operation."""
        # Core statements, not ORM objects: the append is on every request's path, and
        # the row is never changed again, so it needs no identity map or unit of work.
        head_seq, head_mac = session.execute(
            select(AuditHead.seq, AuditHead.mac).where(AuditHead.id == 1).with_for_update()
        ).one()
        event = AuditEvent(
            seq=head_seq + 1,
            at=self.clock.now(),
            key_id=self.keys.key_id,
            prev_mac=head_mac,
            mac="",
            **_storable(fields),
        )
        event.mac = self.keys.audit_mac(head_mac, canonical(event))
        session.execute(insert(AuditEvent).values(**_row(event)))
        session.execute(
            update(AuditHead).where(col(AuditHead.id) == 1).values(seq=event.seq, mac=event.mac)
        )
        if event.seq % CHECKPOINT_EVERY == 0:
            self._checkpoint(session, event.seq, event.mac)
            session.flush()
        return event

    def checkpoint(self, session: Session) -> AuditCheckpoint | None:
        head = _head_for_update(session)
        if head.seq == 0:
            return None
        existing = session.get(AuditCheckpoint, head.seq)
        return existing or self._checkpoint(session, head.seq, head.mac)

    def _checkpoint(self, session: Session, seq: int, mac: str) -> AuditCheckpoint:
        signed_at = self.clock.now()
        cp = AuditCheckpoint(
            seq=seq,
            mac=mac,
            signed_at=signed_at,
            key_id=self.keys.key_id,
            signature=self.keys.sign(checkpoint_statement(seq, mac, signed_at)),
        )
        session.add(cp)
        return cp


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad: str | None = None
    first_bad_seq: int | None = None
    reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad": self.first_bad,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
        }


def _events(session: Session, up_to: int, batch: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while last < up_to:
        rows = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.seq) > last, col(AuditEvent.seq) <= up_to)
            .order_by(col(AuditEvent.seq))
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(session: Session, keys: Keys) -> VerifyResult:
    """Recompute the chain; name the first record that does not fit.

    Reads the checkpoints, then the head, then the records up to the head. Appends that
    commit while this runs land after the head it read (appends commit in seq order, under
    the head lock) and are left for the next run, so a live log never reports a false
    break on PostgreSQL (READ COMMITTED); and every checkpoint it read was signed at or
    before that head, so a checkpoint beyond the records is a truncation.
    """
    checkpoints = {cp.seq: cp for cp in session.exec(select(AuditCheckpoint)).all()}
    head = session.exec(
        select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True)
    ).first()
    if head is None:
        return VerifyResult(False, 0, None, None, "the chain head is missing")
    prev_mac, expected_seq, checked = GENESIS_MAC, 1, 0

    def bad(event: AuditEvent, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, event.id, event.seq, reason)

    for event in _events(session, head.seq):
        if event.seq != expected_seq:
            missing = (
                f"record {expected_seq} is"
                if event.seq == expected_seq + 1
                else f"records {expected_seq} to {event.seq - 1} are"
            )
            return bad(event, f"{missing} missing before it")
        if event.key_id != keys.key_id:
            return bad(event, f"unknown key id {event.key_id}")
        if event.prev_mac != prev_mac:
            return bad(event, "does not follow the previous record")
        if keys.audit_mac(prev_mac, canonical(event)) != event.mac:
            return bad(event, "content does not match its MAC")
        cp = checkpoints.get(event.seq)
        if cp is not None and cp.mac != event.mac:
            return bad(event, "differs from the signed checkpoint")
        prev_mac, expected_seq, checked = event.mac, expected_seq + 1, checked + 1

    last_seq = expected_seq - 1
    for cp in sorted(checkpoints.values(), key=lambda c: c.seq):
        statement = checkpoint_statement(cp.seq, cp.mac, cp.signed_at)
        if not keys.verify_signature(statement, cp.signature):
            return VerifyResult(
                False, checked, None, cp.seq, f"the checkpoint at {cp.seq} has a bad signature"
            )
        if cp.seq > last_seq:
            return VerifyResult(
                False,
                checked,
                None,
                last_seq + 1,
                f"log truncated: records {last_seq + 1} to {cp.seq} (signed checkpoint) "
                "are missing",
            )
    if head.seq != last_seq:
        return VerifyResult(
            False,
            checked,
            None,
            last_seq + 1,
            f"log truncated: the chain head is at {head.seq}, the last record is {last_seq}",
        )
    if head.mac != prev_mac:
        return VerifyResult(
            False, checked, None, last_seq, "the chain head does not match the last record"
        )
    return VerifyResult(True, checked)


def count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(AuditEvent)).one())
