"""Helpers shared by the audit and CLI tests: run `caseroom` in-process against a test's
database, read the audit log, and act as an attacker with direct database access."""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import pytest
from sqlalchemy import Connection
from sqlmodel import col, func, select

from tests.aio import run_in_thread
from workspace.audit_guard import restore_triggers
from workspace.cli import main
from workspace.models import AuditEvent
from workspace.settings import Settings
from workspace.state import Caseroom


@dataclass(frozen=True)
class CliResult:
    code: int
    out: str
    err: str

    @property
    def last_line(self) -> str:
        return self.out.rstrip("\n").rsplit("\n", 1)[-1]


class Cli:
    """`caseroom …` in this process, configured only through the environment, as the
    console script is (Settings.from_env)."""

    def __init__(
        self,
        monkeypatch: pytest.MonkeyPatch,
        capsys: pytest.CaptureFixture[str],
        settings: Settings,
    ) -> None:
        self.monkeypatch = monkeypatch
        self.capsys = capsys
        self.point_at(settings)

    def point_at(self, settings: Settings) -> None:
        for name in ("CASEROOM_DATABASE_URL", "CASEROOM_SECRET_KEY", "CASEROOM_REDIS_URL"):
            self.monkeypatch.delenv(name, raising=False)
        self.monkeypatch.setenv("CASEROOM_DATA_DIR", str(settings.data_dir))
        self.monkeypatch.setenv("CASEROOM_DATABASE_URL", settings.database_url)
        if settings.secret_key:
            self.monkeypatch.setenv("CASEROOM_SECRET_KEY", settings.secret_key)

    def __call__(self, *argv: str, stdin: str = "") -> CliResult:
        self.monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        self.capsys.readouterr()
        # On a thread of its own: commands that run an event loop (the worker) must not
        # meet the one Playwright keeps running in the main thread.
        code = run_in_thread(main, list(argv))
        out, err = self.capsys.readouterr()
        return CliResult(code, out, err)


def events(app: Caseroom, after_seq: int = 0) -> list[AuditEvent]:
    with app.db.session() as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.seq) > after_seq)
                .order_by(col(AuditEvent.seq))
            ).all()
        )


def event_count(app: Caseroom) -> int:
    with app.db.session() as session:
        return int(session.exec(select(func.count()).select_from(AuditEvent)).one())


def head_seq(app: Caseroom) -> int:
    with app.db.session() as session:
        return int(session.exec(select(func.max(AuditEvent.seq))).one() or 0)


@contextmanager
def as_attacker(app: Caseroom) -> Iterator[Connection]:
    """A connection with the database owner's powers: the append-only triggers are
    dropped and put back afterwards (SQLite) or bypassed for this transaction
    (PostgreSQL), as someone with direct access to the database who covers their tracks
    would do to edit the log."""
    with app.db.engine.begin() as conn:
        if conn.dialect.name == "sqlite":
            for table in ("audit_event", "audit_checkpoint"):
                for verb in ("update", "delete"):
                    conn.exec_driver_sql(f"DROP TRIGGER IF EXISTS {table}_no_{verb}")
        else:
            conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
        yield conn
        if conn.dialect.name == "sqlite":
            restore_triggers(conn)
