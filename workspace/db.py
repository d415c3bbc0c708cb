"""Engine and sessions. The schema changes only through Alembic (migrations/)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from workspace.settings import Settings

metadata = SQLModel.metadata


def make_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        engine = create_engine(
            settings.database_url,
            connect_args={"check_same_thread": False, "timeout": 30},
        )
        _sqlite_serialised_writes(engine)
        return engine
    return create_engine(settings.database_url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _sqlite_serialised_writes(engine: Engine) -> None:
    """WAL for concurrent readers; BEGIN IMMEDIATE so the audit chain head is taken
    before any read in a transaction that will append to it (no upgrade deadlocks)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        cur.execute("PRAGMA journal_mode=WAL")
        cur.execute("PRAGMA foreign_keys=ON")
        cur.execute("PRAGMA busy_timeout=30000")
        cur.execute("PRAGMA synchronous=NORMAL")
        cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql("BEGIN IMMEDIATE")


class Database:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.engine = make_engine(settings)

    @contextmanager
    def session(self) -> Iterator[Session]:
        with Session(self.engine, expire_on_commit=False) as session:
            try:
                yield session
            except BaseException:
                session.rollback()
                raise

    @contextmanager
    def read_only_session(self) -> Iterator[Session]:
        """One consistent, read-only snapshot that takes no lock, for reading the whole
        audit log while the service keeps appending to it.

        The SQLite engine begins every transaction IMMEDIATE (it takes the write lock up
        front, for the chain head), so a verify through it would stall every audited
        request for as long as it runs. A deferred read transaction in WAL mode reads a
        snapshot and blocks no writer. On PostgreSQL: REPEATABLE READ, READ ONLY.
        """
        if not self.settings.is_sqlite:
            with self.session() as session:
                session.connection().exec_driver_sql(
                    "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY"
                )
                yield session
                session.rollback()
            return
        engine = create_engine(self.settings.database_url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _on_connect(dbapi_conn: Any, _record: Any) -> None:
            dbapi_conn.isolation_level = None
            dbapi_conn.execute("PRAGMA query_only=ON")

        @event.listens_for(engine, "begin")
        def _on_begin(conn: Any) -> None:
            conn.exec_driver_sql("BEGIN")

        try:
            with Session(engine) as session:
                yield session
                session.rollback()
        finally:
            engine.dispose()

    def dispose(self) -> None:
        self.engine.dispose()
