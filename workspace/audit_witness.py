"""The witness of the audit log: its signed checkpoints, kept outside the database
(DESIGN.md §4).

Someone who can write the database can cut the log's tail, delete the checkpoint rows and
move the chain head back, and the database alone would look intact. So every checkpoint is
also appended, after its transaction commits, as one signed line of a file that is only
ever opened for appending (O_APPEND, fsync'd). `caseroom audit verify` compares the log
with it; the worker also mails the signed head to the IG leads, so a copy lives off the
machine too. A line holds no case data: a record number, a MAC, a time and a signature.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction

log = logging.getLogger("caseroom.audit")
_PENDING = "caseroom_witness_pending"


@dataclass(frozen=True)
class WitnessEntry:
    """One signed checkpoint: the chain head `mac` at record `seq`, signed at `signed_at`
    (as written in the signed statement) by the key `key_id`."""

    seq: int
    mac: str
    signed_at: str
    key_id: str
    signature: str

    def line(self) -> str:
        return json.dumps(
            {
                "seq": self.seq,
                "mac": self.mac,
                "signed_at": self.signed_at,
                "key_id": self.key_id,
                "signature": self.signature,
            },
            separators=(",", ":"),
        )

    @classmethod
    def parse(cls, line: str) -> WitnessEntry | None:
        try:
            data: Any = json.loads(line)
            entry = cls(
                seq=data["seq"],
                mac=data["mac"],
                signed_at=data["signed_at"],
                key_id=data["key_id"],
                signature=data["signature"],
            )
        except (ValueError, TypeError, KeyError):
            return None
        types_ok = isinstance(entry.seq, int) and not isinstance(entry.seq, bool)
        fields = (entry.mac, entry.signed_at, entry.key_id, entry.signature)
        if not types_ok or not all(isinstance(f, str) for f in fields):
            return None
        return entry


@dataclass(frozen=True)
class WitnessLine:
    number: int  # 1-based, as an editor shows it
    entry: WitnessEntry | None  # None: the line cannot be read as a checkpoint


class Witness:
    """An append-only file of signed checkpoints."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def ensure(self) -> None:
        """Create the file (empty) if there is none, so a missing witness later means
        someone removed it."""
        self._append_bytes(b"")

    def append(self, entries: Iterable[WitnessEntry]) -> None:
        data = "".join(e.line() + "\n" for e in entries).encode()
        if data:
            self._append_bytes(data)

    def _append_bytes(self, data: bytes) -> None:
        created = not self.path.exists()
        if created:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        # O_APPEND: every write lands at the end, whoever else appends meanwhile (web
        # processes and the worker each sign checkpoints); one write per batch of lines.
        fd = os.open(self.path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            view = memoryview(data)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        finally:
            os.close(fd)
        if created:
            _fsync_dir(self.path.parent)

    def read(self) -> list[WitnessLine] | None:
        """Every line, in file order; None when the file does not exist."""
        try:
            text = self.path.read_text(errors="replace")
        except FileNotFoundError:
            return None
        return [
            WitnessLine(number, WitnessEntry.parse(line))
            for number, line in enumerate(text.splitlines(), start=1)
            if line.strip()
        ]

    # --- after commit ----------------------------------------------------------------

    def append_after_commit(self, session: Session, entry: WitnessEntry) -> None:
        """Append `entry` once `session` commits, and never if it rolls back: a line for
        a checkpoint the database never kept would read as a truncation."""
        # Tied to the innermost transaction, so a rolled-back savepoint drops it too.
        transaction = session.get_nested_transaction() or session.get_transaction()
        session.info.setdefault(_PENDING, []).append((self, entry, transaction))


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


_Pending = list[tuple[Witness, WitnessEntry, SessionTransaction | None]]


@event.listens_for(Session, "after_commit")
def _write_pending(session: Session) -> None:
    pending: _Pending = session.info.pop(_PENDING, [])
    for witness in {id(w): w for w, _, _ in pending}.values():
        try:
            witness.append(e for w, e, _ in pending if w is witness)
        except OSError:
            # The checkpoint is committed; the request must not fail after the fact. The
            # next checkpoint (the worker signs one whenever the head moves) covers it.
            log.exception("could not append to the audit witness %s", witness.path)


@event.listens_for(Session, "after_soft_rollback")
def _drop_pending(session: Session, previous_transaction: SessionTransaction) -> None:
    forget_rolled_back(session, _PENDING, previous_transaction)


def forget_rolled_back(session: Session, key: str, rolled_back: SessionTransaction) -> None:
    """Of what waits for the commit in `session.info[key]` (tuples whose last item is the
    transaction each was added in), forget what was added inside the transaction rolled
    back (a savepoint, or the whole). Also used for audit events (workspace/audit.py)."""

    def inside(transaction: SessionTransaction | None) -> bool:
        while transaction is not None:
            if transaction is rolled_back:
                return True
            transaction = transaction.parent
        return False

    kept = [p for p in session.info.get(key, []) if not inside(p[-1])]
    if kept:
        session.info[key] = kept
    else:
        session.info.pop(key, None)
