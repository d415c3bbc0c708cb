"""The append-only, hash-chained audit log (DESIGN.md §4).

mac = HMAC(K, prev_mac + canonical record). Appends lock the one chain head row, so they
are serialised across processes. Every CHECKPOINT_EVERY events (and whenever the worker
finds the head moved) a checkpoint of (seq, mac) is signed with the audit signing key,
which is not derived from K, and written both to the database and to the witness file
outside it (workspace/audit_witness.py). So a rewrite by someone holding K, or a
truncation by someone who can write the database, is caught by `caseroom audit verify`.
"""

from __future__ import annotations

import json
import weakref
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any, cast

from sqlalchemy import bindparam, func, insert, update
from sqlalchemy import event as sa_event
from sqlalchemy.orm import ORMExecuteState, SessionTransaction
from sqlalchemy.sql import ClauseElement
from sqlalchemy.sql.util import find_tables
from sqlmodel import Session, col, select

from workspace.audit_guard import missing_triggers
from workspace.audit_witness import Witness, WitnessEntry, forget_rolled_back
from workspace.clock import Clock, clock, iso
from workspace.crypto import Keys
from workspace.errors import AuditUnavailable
from workspace.ids import new_id
from workspace.models import AuditCheckpoint, AuditEvent, AuditHead

CHECKPOINT_EVERY = 256
# A checkpoint's witness line is written just after its transaction commits; one signed
# longer ago than this must be in the witness.
WITNESS_GRACE = timedelta(minutes=1)
GENESIS_MAC = "0" * 64
CHAINED_FIELDS = (
    "seq", "id", "at", "actor_id", "actor_org_id", "actor_team_id", "action",
    "resource_type", "resource_id", "room_id", "child_id", "outcome", "purpose",
    "channel", "request_id", "ip", "user_agent", "key_id",
)  # fmt: skip


def canonical(event: AuditEvent) -> bytes:
    return canonical_values({name: getattr(event, name) for name in CHAINED_FIELDS})


def canonical_values(values: Mapping[str, Any]) -> bytes:
    """What an event's MAC covers: its chained fields, as JSON with times in ISO form."""
    record: dict[str, Any] = {}
    for name in CHAINED_FIELDS:
        value = values[name]
        record[name] = iso(value) if isinstance(value, datetime) else value
    return json.dumps(record, sort_keys=True, separators=(",", ":")).encode()


def checkpoint_statement(seq: int, mac: str, signed_at: datetime | str) -> bytes:
    """What a checkpoint's signature covers; `signed_at` as a time, or as `iso` wrote it."""
    when = signed_at if isinstance(signed_at, str) else iso(signed_at)
    return f"caseroom-audit-checkpoint|{seq}|{mac}|{when}".encode()


def witness_entry(cp: AuditCheckpoint) -> WitnessEntry:
    return WitnessEntry(cp.seq, cp.mac, iso(cp.signed_at) or "", cp.key_id, cp.signature)


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


@dataclass(frozen=True)
class Recorded:
    """An event as recorded, before it takes its place in the chain (at commit)."""

    at: datetime
    actor_id: str | None = None
    actor_org_id: str | None = None
    actor_team_id: str | None = None
    action: str = ""
    resource_type: str = ""
    resource_id: str | None = None
    room_id: str | None = None
    child_id: str | None = None
    outcome: str = ""
    purpose: str | None = None
    channel: str = ""
    request_id: str | None = None
    ip: str | None = None
    user_agent: str | None = None


_FIELDS = tuple(f.name for f in fields(Recorded))


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


# Built once: an append runs on every request, and building a statement with its values
# inlined (a bound parameter, and a cache key, per column) cost more than executing it.
_READ_HEAD = select(AuditHead.seq, AuditHead.mac).where(AuditHead.id == 1).with_for_update()
_INSERT_EVENT = insert(AuditEvent)
_MOVE_HEAD = (
    update(AuditHead)
    .where(col(AuditHead.id) == 1)
    .values(seq=bindparam("new_seq"), mac=bindparam("new_mac"))
)


class AuditWriter:
    def __init__(self, keys: Keys, clock: Clock, witness: Witness) -> None:
        self.keys = keys
        self.clock = clock
        self.witness = witness

    def record(self, session: Session, **values: Any) -> Recorded:
        """Record an event in the caller's transaction: it takes its place in the chain
        when the transaction commits (or earlier, when the transaction reads the log), and
        never if it rolls back, nor if the savepoint it was recorded in does. So the chain
        head, which every append locks, is held from just before the commit to the commit,
        not from a request's first decision to its end (issue #13)."""
        event = Recorded(at=self.clock.now(), **_storable(values))
        # Tied to the innermost transaction, as the witness's lines are (audit_witness.py),
        # begun now if need be (a session begins one lazily, at its first statement).
        transaction = (
            session.get_nested_transaction() or session.get_transaction() or session.begin()
        )
        session.info.setdefault(_PENDING, []).append((self, event, transaction))
        return event

    def append(self, session: Session, **values: Any) -> int:
        """Record an event and put it (with any the session recorded before it) into the
        chain now, in the caller's transaction; the event's seq. For appends outside a
        request (tests, benches, tools)."""
        self.record(session, **values)
        write_pending(session)
        seq: int = session.connection().execute(_READ_HEAD).one()[0]
        return seq

    def _write(self, session: Session, events: Sequence[Recorded]) -> None:
        """Append the events to the chain, in the order they were recorded."""
        # Core statements, not ORM objects: the rows are never changed again, so they need
        # no identity map or unit of work, and the ORM's bulk paths cost more than the
        # statements. One insert for all of a transaction's events.
        conn = session.connection()
        seq, mac = conn.execute(_READ_HEAD).one()
        rows: list[dict[str, Any]] = []
        checkpointed = False
        for event in events:
            row = {name: getattr(event, name) for name in _FIELDS}
            row.update(seq=seq + 1, id=new_id(), key_id=self.keys.key_id, prev_mac=mac)
            row["mac"] = self.keys.audit_mac(mac, canonical_values(row))
            seq, mac = row["seq"], row["mac"]
            rows.append(row)
            if seq % CHECKPOINT_EVERY == 0:
                self._checkpoint(session, seq, mac)
                checkpointed = True
        conn.execute(_INSERT_EVENT, rows)
        conn.execute(_MOVE_HEAD, {"new_seq": seq, "new_mac": mac})
        if checkpointed:
            session.flush()

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
            key_id=self.keys.signing_key_id,
            signature=self.keys.sign(checkpoint_statement(seq, mac, signed_at)),
        )
        session.add(cp)
        self.witness.append_after_commit(session, witness_entry(cp))
        return cp


# Events recorded in a session and not yet in the chain: (writer, event, transaction).
_PENDING = "caseroom.audit.pending"
_Pending = list[tuple[AuditWriter, Recorded, SessionTransaction | None]]
# A statement that reads or writes any of these sees the transaction's events first.
_AUDIT_TABLES = frozenset({"audit_event", "audit_head", "audit_checkpoint"})


def write_pending(session: Session) -> None:
    """Put the events this session recorded into the chain now."""
    pending: _Pending = session.info.pop(_PENDING, [])
    for writer in {id(w): w for w, _, _ in pending}.values():
        writer._write(session, [e for w, e, _ in pending if w is writer])


@sa_event.listens_for(Session, "before_commit")
def _write_at_commit(session: Session) -> None:
    # Fired for a savepoint's release too: its events wait for the outer commit (they go
    # if the outer transaction rolls back), so a transaction appends to the chain once,
    # however many savepoints it held (realtime/group_commit.py).
    if not session.info.get(_PENDING) or session.get_nested_transaction() is not None:
        return
    try:
        write_pending(session)
    except Exception as exc:
        # A failed audit write fails the request (503), and with it what was to be read.
        raise AuditUnavailable() from exc


@sa_event.listens_for(Session, "do_orm_execute")
def _write_before_reading_the_log(state: ORMExecuteState) -> None:
    """A transaction that reads the access log (a manager's page, its own visit's events)
    finds its own events there, as it did when each was written at once."""
    if state.session.info.get(_PENDING) and _touches_the_log(state.statement):
        # Listened for on sqlmodel's Session: every session here is one.
        write_pending(cast(Session, state.session))


# Whether a statement touches the audit tables, worked out once per statement object:
# those built once (the hot path's) are asked on every request, and walking one cost a
# post 5 % of its time. Statements compare and hash by identity.
_touches: weakref.WeakKeyDictionary[ClauseElement, bool] = weakref.WeakKeyDictionary()


def _touches_the_log(statement: object) -> bool:
    if not isinstance(statement, ClauseElement):
        return False
    known = _touches.get(statement)
    if known is None:
        known = any(
            getattr(table, "name", None) in _AUDIT_TABLES
            for table in find_tables(statement, check_columns=True)
        )
        _touches[statement] = known
    return known


@sa_event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    forget_rolled_back(session, _PENDING, previous_transaction)


@dataclass(frozen=True)
class Problem:
    reason: str
    seq: int | None = None
    event_id: str | None = None


@dataclass(frozen=True)
class KeyUse:
    """How many checkpoints (in the database, and in the witness) a key signed."""

    kind: str  # "signing": the audit signing key; "legacy": derived from the server secret
    checkpoints: int = 0
    witness_lines: int = 0


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    first_bad: str | None = None
    first_bad_seq: int | None = None
    reason: str | None = None
    problems: tuple[str, ...] = ()
    keys: dict[str, KeyUse] = field(default_factory=dict)
    witness_lines: int | None = None  # None: there is no witness file

    def as_dict(self) -> dict[str, Any]:
        return {
            "ok": self.ok,
            "checked": self.checked,
            "first_bad": self.first_bad,
            "first_bad_seq": self.first_bad_seq,
            "reason": self.reason,
            "problems": list(self.problems),
            "checkpoint_keys": {
                key_id: {
                    "kind": use.kind,
                    "checkpoints": use.checkpoints,
                    "witness_lines": use.witness_lines,
                }
                for key_id, use in self.keys.items()
            },
            "witness_lines": self.witness_lines,
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


@dataclass(frozen=True)
class _Signed:
    """A checkpoint whose signature holds, from the database or from a witness line."""

    seq: int
    mac: str
    signed_at: str
    key_id: str
    where: str  # "the checkpoint at 12", "witness line 3"


class _Signatures:
    """Checks the signatures of the database's checkpoints and the witness's lines.

    A checkpoint signed with the legacy key (derived from the server secret, as before the
    signing key was separate) is accepted only below the first one the signing key signed:
    after that, only someone holding the secret could have made it."""

    def __init__(self, keys: Keys) -> None:
        self.keys = keys
        self.problems: list[Problem] = []
        self.uses: dict[str, KeyUse] = {}

    def check(
        self, entries: list[tuple[str, WitnessEntry, bool]]
    ) -> tuple[dict[int, _Signed], dict[int, _Signed]]:
        """`entries`: (where, entry, from the witness?). Returns the good ones by seq,
        from the database and from the witness."""
        good: list[tuple[_Signed, bool]] = []
        for where, e, from_witness in entries:
            statement = checkpoint_statement(e.seq, e.mac, e.signed_at)
            if not self.keys.knows_signing_key(e.key_id):
                self.problems.append(Problem(f"{where} is signed by an unknown key {e.key_id}"))
            elif not self.keys.verify_signature(statement, e.signature, e.key_id):
                self.problems.append(Problem(f"{where} has a bad signature", e.seq))
            else:
                good.append((_Signed(e.seq, e.mac, e.signed_at, e.key_id, where), from_witness))
        current = [s.seq for s, _ in good if s.key_id == self.keys.signing_key_id]
        cutoff = min(current, default=None)
        in_db: dict[int, _Signed] = {}
        in_witness: dict[int, _Signed] = {}
        for signed, from_witness in good:
            legacy = signed.key_id != self.keys.signing_key_id
            if legacy and cutoff is not None and signed.seq >= cutoff:
                self.problems.append(
                    Problem(
                        f"{signed.where} is signed by the legacy key {signed.key_id} (derived "
                        "from the server secret) after the signing key "
                        f"{self.keys.signing_key_id} took over at record {cutoff}",
                        signed.seq,
                    )
                )
                continue
            self._count(signed.key_id, legacy, from_witness)
            target = in_witness if from_witness else in_db
            other = target.get(signed.seq)
            if other is not None and other.mac != signed.mac:
                self.problems.append(
                    Problem(
                        f"{signed.where} and {other.where} sign different heads for record "
                        f"{signed.seq}",
                        signed.seq,
                    )
                )
            target.setdefault(signed.seq, signed)
        return in_db, in_witness

    def _count(self, key_id: str, legacy: bool, from_witness: bool) -> None:
        use = self.uses.get(key_id) or KeyUse("legacy" if legacy else "signing")
        self.uses[key_id] = KeyUse(
            use.kind,
            use.checkpoints + (0 if from_witness else 1),
            use.witness_lines + (1 if from_witness else 0),
        )


def _misfit(
    event: AuditEvent,
    expected_seq: int,
    prev_mac: str,
    keys: Keys,
    checkpoint: _Signed | None,
    witnessed: _Signed | None,
) -> str | None:
    """Why a record does not fit the chain after the record (`expected_seq` - 1, whose MAC
    is `prev_mac`), or None when it does."""
    if event.seq != expected_seq:
        missing = (
            f"record {expected_seq} is"
            if event.seq == expected_seq + 1
            else f"records {expected_seq} to {event.seq - 1} are"
        )
        return f"{missing} missing before it"
    if event.key_id != keys.key_id:
        return f"unknown key id {event.key_id}"
    if event.prev_mac != prev_mac:
        return "does not follow the previous record"
    if keys.audit_mac(prev_mac, canonical(event)) != event.mac:
        return "content does not match its MAC"
    if checkpoint is not None and checkpoint.mac != event.mac:
        return "differs from the signed checkpoint"
    if witnessed is not None and witnessed.mac != event.mac:
        return f"differs from the witness ({witnessed.where}, signed at {witnessed.signed_at})"
    return None


def verify(
    session: Session,
    keys: Keys,
    witness: Witness,
    now: datetime | None = None,
    copies: Sequence[Witness] = (),
) -> VerifyResult:
    """Recompute the chain and compare it with the signed checkpoints, in the database and
    in the witness outside it (and in `copies`: witness lines kept elsewhere, such as
    those mailed to the IG leads); name the first record that does not fit, what is missing,
    and any append-only trigger that is gone.

    Reads the checkpoints, then the head, then the records up to the head. Appends that
    commit while this runs land after the head it read (appends commit in seq order, under
    the head lock) and are left for the next run, so a live log never reports a false
    break on PostgreSQL (READ COMMITTED); and every checkpoint it read was signed at or
    before that head, so a checkpoint beyond the records is a truncation. The witness is
    read before the database for the same reason: its lines are written after commit.
    """
    lines = witness.read()
    copied = [(copy.path, copy.read() or []) for copy in copies]
    checkpoints = session.exec(select(AuditCheckpoint).order_by(col(AuditCheckpoint.seq))).all()
    # Before the head: a record committed by then was committed with its head update, so
    # one beyond the head read next means the head was moved back, not a live append.
    last_record = int(session.exec(select(func.max(AuditEvent.seq))).one() or 0)
    head = session.exec(
        select(AuditHead).where(AuditHead.id == 1).execution_options(populate_existing=True)
    ).first()
    signatures = _Signatures(keys)
    in_db, in_witness = signatures.check(
        [(f"the checkpoint at {cp.seq}", witness_entry(cp), False) for cp in checkpoints]
        + [
            (f"witness line {line.number} (record {line.entry.seq})", line.entry, True)
            for line in lines or []
            if line.entry is not None
        ]
        + [
            (f"{path} line {line.number} (record {line.entry.seq})", line.entry, True)
            for path, copy_lines in copied
            for line in copy_lines
            if line.entry is not None
        ]
    )
    problems: list[Problem] = []
    prev_mac, expected_seq, checked = GENESIS_MAC, 1, 0
    if head is None:
        problems.append(Problem("the chain head is missing"))
    for event in _events(session, head.seq if head else 0):
        reason = _misfit(
            event, expected_seq, prev_mac, keys, in_db.get(event.seq), in_witness.get(event.seq)
        )
        if reason is not None:
            problems.append(Problem(reason, event.seq, event.id))
            break
        prev_mac, expected_seq, checked = event.mac, expected_seq + 1, checked + 1
    else:
        if head is not None:
            problems.extend(_tail_problems(head, expected_seq - 1, prev_mac, in_db, in_witness))
            if last_record > head.seq:
                problems.append(
                    Problem(
                        f"records {head.seq + 1} to {last_record} lie beyond the chain head "
                        f"at {head.seq}: the head was moved back",
                        head.seq + 1,
                    )
                )
    problems.extend(signatures.problems)
    for line in lines or []:
        if line.entry is None:
            problems.append(Problem(f"witness line {line.number} is not a signed checkpoint"))
    problems.extend(_unwitnessed(keys, in_db, witness, now or clock.now()))
    gone = missing_triggers(session.connection())
    if gone:
        problems.append(
            Problem(
                f"append-only trigger(s) missing or disabled: {', '.join(gone)} "
                "(`caseroom init` restores them)"
            )
        )
    first = problems[0] if problems else None
    return VerifyResult(
        ok=first is None,
        checked=checked,
        first_bad=first.event_id if first else None,
        first_bad_seq=first.seq if first else None,
        reason=first.reason if first else None,
        problems=tuple(p.reason for p in problems),
        keys=signatures.uses,
        witness_lines=None if lines is None else len(lines),
    )


def _unwitnessed(
    keys: Keys, in_db: dict[int, _Signed], witness: Witness, now: datetime
) -> list[Problem]:
    """The witness missing, or lacking checkpoints the signing key made: it was removed,
    cut or replaced, or an append to it failed (logged). Read again now; a checkpoint
    signed within WITNESS_GRACE is not expected yet (its line is written just after its
    transaction commits, which may be while verify runs)."""
    lines = witness.read()
    recent = iso(now - WITNESS_GRACE) or ""
    expected = [
        s
        for s in in_db.values()
        if not (s.key_id == keys.signing_key_id and s.signed_at > recent)
        and (lines is None or s.key_id == keys.signing_key_id)
    ]
    if lines is None:
        if not expected:
            return []
        return [
            Problem(
                "the witness file is missing, but the database holds "
                f"{len(in_db)} signed checkpoint(s)"
            )
        ]
    seen = {line.entry.seq for line in lines if line.entry is not None}
    lacking = sorted(s.seq for s in expected if s.seq not in seen)
    if not lacking:
        return []
    shown = ", ".join(str(seq) for seq in lacking[:10]) + (" …" if len(lacking) > 10 else "")
    return [
        Problem(
            f"the witness file lacks {len(lacking)} checkpoint(s) the database "
            f"holds (records {shown}): it was cut or replaced, or an append to it failed"
        )
    ]


def _seq(signed: _Signed) -> int:
    return signed.seq


def _tail_problems(
    head: AuditHead,
    last_seq: int,
    last_mac: str,
    in_db: dict[int, _Signed],
    in_witness: dict[int, _Signed],
) -> list[Problem]:
    """After a whole chain: what the signed checkpoints, the witness and the head say
    should come after its last record."""
    problems = []

    def last_beyond(signed: dict[int, _Signed]) -> _Signed | None:
        return max((s for s in signed.values() if s.seq > last_seq), key=_seq, default=None)

    beyond_db = last_beyond(in_db)
    if beyond_db is not None:
        problems.append(
            Problem(
                f"log truncated: records {last_seq + 1} to {beyond_db.seq} (signed "
                "checkpoint) are missing",
                last_seq + 1,
            )
        )
    beyond = last_beyond(in_witness)
    if beyond is not None:
        problems.append(
            Problem(
                f"log truncated: records {last_seq + 1} to {beyond.seq} are missing; the "
                f"witness ({beyond.where}, signed at {beyond.signed_at}) holds the head at "
                f"record {beyond.seq}",
                last_seq + 1,
            )
        )
    if head.seq != last_seq:
        problems.append(
            Problem(
                f"log truncated: the chain head is at {head.seq}, the last record is {last_seq}",
                last_seq + 1,
            )
        )
    elif head.mac != last_mac:
        problems.append(Problem("the chain head does not match the last record", last_seq))
    return problems


def count(session: Session) -> int:
    return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


# A span up to this long is verified record by record (about 0.1 ms a record: 100 ms at
# most); a longer one (a filtered page whose records lie far apart) has each shown record
# checked against its predecessor, and the span counted for missing records, so the check
# costs about the same on a page of a million-row log (bench/access_log.py).
SPAN_WALK_LIMIT = 1000


@dataclass(frozen=True)
class SpanResult:
    """The chain checked over the records a page shows (issue #12, item 6)."""

    first_seq: int
    last_seq: int
    walked: bool  # every record of the span was read and chained; else the shown ones were
    checked: int
    bad_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.bad_seq is None and self.reason is None

    def state(self, seq: int) -> str:
        """How a shown record stands: "broken" where the chain breaks, "after" from there
        on (it cannot be relied on until the break is explained), "" when it verified."""
        if self.bad_seq is None or seq < self.bad_seq:
            return ""
        return "broken" if seq == self.bad_seq else "after"


def verify_span(
    session: Session, keys: Keys, witness: Witness, shown: Sequence[int]
) -> SpanResult | None:
    """Verify the chain over the span of records `shown` (their sequence numbers): each
    record's MAC, its link to the record before it, no record missing, and agreement with
    the signed checkpoints and witness lines in the span. Names the first record (oldest)
    where the chain breaks. None when nothing is shown."""
    if not shown:
        return None
    first, last = min(shown), max(shown)
    lines = witness.read() or []
    checkpoints = session.exec(
        select(AuditCheckpoint).where(
            col(AuditCheckpoint.seq) >= first, col(AuditCheckpoint.seq) <= last
        )
    ).all()
    in_db, in_witness = _Signatures(keys).check(
        [(f"the checkpoint at {cp.seq}", witness_entry(cp), False) for cp in checkpoints]
        + [
            (f"witness line {line.number} (record {line.entry.seq})", line.entry, True)
            for line in lines
            if line.entry is not None and first <= line.entry.seq <= last
        ]
    )
    walked = last - first < SPAN_WALK_LIMIT
    query = select(AuditEvent).where(
        col(AuditEvent.seq) >= first - 1, col(AuditEvent.seq) <= last
    )
    if not walked:  # the shown records and the one before each
        query = query.where(col(AuditEvent.seq).in_({s for n in shown for s in (n - 1, n)}))
    rows = {e.seq: e for e in session.exec(query).all()}
    checked = 0
    to_check = range(first, last + 1) if walked else sorted(set(shown))
    for seq in to_check:
        event = rows.get(seq)
        before = rows.get(seq - 1)
        prev_mac = GENESIS_MAC if seq == 1 else before.mac if before else None
        if event is None or prev_mac is None:
            missing = seq if event is None else seq - 1
            return SpanResult(first, last, walked, checked, seq, f"record {missing} is missing")
        reason = _misfit(event, seq, prev_mac, keys, in_db.get(seq), in_witness.get(seq))
        if reason is not None:
            return SpanResult(first, last, walked, checked, seq, reason)
        checked += 1
    if not walked:
        present = int(
            session.exec(
                select(func.count())
                .select_from(AuditEvent)
                .where(col(AuditEvent.seq) >= first, col(AuditEvent.seq) <= last)
            ).one()
        )
        if present != last - first + 1:
            return SpanResult(
                first,
                last,
                walked,
                checked,
                None,
                f"{last - first + 1 - present} record(s) between {first} and {last} are missing",
            )
    return SpanResult(first, last, walked, checked)
