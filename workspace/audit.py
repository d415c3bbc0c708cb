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

from sqlalchemy import func
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


class AuditWriter:
    def __init__(self, keys: Keys, clock: Clock) -> None:
        self.keys = keys
        self.clock = clock

    def append(self, session: Session, **fields: Any) -> AuditEvent:
        """Add one event to the chain inside the caller's transaction. If the
        transaction does not commit, neither does the event, nor the operation."""
        head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
        event = AuditEvent(
            seq=head.seq + 1,
            at=self.clock.now(),
            key_id=self.keys.key_id,
            prev_mac=head.mac,
            mac="",
            **fields,
        )
        event.mac = self.keys.audit_mac(head.mac, canonical(event))
        head.seq, head.mac = event.seq, event.mac
        session.add(event)
        session.add(head)
        if event.seq % CHECKPOINT_EVERY == 0:
            self._checkpoint(session, event.seq, event.mac)
        session.flush()
        return event

    def checkpoint(self, session: Session) -> AuditCheckpoint | None:
        head = session.exec(select(AuditHead).where(AuditHead.id == 1).with_for_update()).one()
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


def _events(session: Session, batch: int = 5000) -> Iterator[AuditEvent]:
    last = 0
    while True:
        rows = session.exec(
            select(AuditEvent)
            .where(col(AuditEvent.seq) > last)
            .order_by(col(AuditEvent.seq))
            .limit(batch)
        ).all()
        if not rows:
            return
        yield from rows
        last = rows[-1].seq


def verify(session: Session, keys: Keys) -> VerifyResult:
    """Recompute the chain; name the first record that does not fit."""
    checkpoints = {cp.seq: cp for cp in session.exec(select(AuditCheckpoint)).all()}
    prev_mac, expected_seq, checked = GENESIS_MAC, 1, 0

    def bad(event: AuditEvent | None, seq: int, reason: str) -> VerifyResult:
        return VerifyResult(False, checked, event.id if event else None, seq, reason)

    for event in _events(session):
        if event.seq != expected_seq:
            return bad(event, expected_seq, f"record {expected_seq} is missing")
        if event.key_id != keys.key_id:
            return bad(event, event.seq, f"unknown key id {event.key_id}")
        if event.prev_mac != prev_mac:
            return bad(event, event.seq, "does not follow the previous record")
        if keys.audit_mac(prev_mac, canonical(event)) != event.mac:
            return bad(event, event.seq, "content does not match its MAC")
        cp = checkpoints.get(event.seq)
        if cp is not None and cp.mac != event.mac:
            return bad(event, event.seq, "differs from the signed checkpoint")
        prev_mac, expected_seq, checked = event.mac, expected_seq + 1, checked + 1

    last_seq = expected_seq - 1
    for cp in sorted(checkpoints.values(), key=lambda c: c.seq):
        statement = checkpoint_statement(cp.seq, cp.mac, cp.signed_at)
        if not keys.verify_signature(statement, cp.signature):
            return VerifyResult(False, checked, None, cp.seq, "checkpoint signature is invalid")
        if cp.seq > last_seq:
            return VerifyResult(
                False, checked, None, last_seq + 1, f"log truncated: checkpoint at {cp.seq}"
            )
    head = session.get(AuditHead, 1)
    if head is None or head.seq != last_seq or head.mac != prev_mac:
        return VerifyResult(False, checked, None, last_seq + 1, "chain head does not match")
    return VerifyResult(True, checked)


def count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(AuditEvent)).one())
