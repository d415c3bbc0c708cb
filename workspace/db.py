"""Engine and sessions. The schema changes only through Alembic (migrations/)."""

from __future__ import annotations

import sqlite3
import threading
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from sqlalchemy import event
from sqlalchemy.engine import Engine
from sqlmodel import Session, SQLModel, create_engine

from workspace.settings import Settings

metadata = SQLModel.metadata
M = TypeVar("M", bound=SQLModel)


def as_written(model: type[M], row: dict[str, Any]) -> M:
    """The object of a row this code has just inserted with a Core statement, built as
    the ORM builds a row it loads: no validation and no default factories (the values
    were made here, every column of them). A post's `Message(...)` cost a tenth of its
    unit of work, most of it pydantic looking at each default factory's signature."""
    columns = model.__table__.columns.keys()  # type: ignore[attr-defined]
    missing = set(columns) - row.keys()
    if missing:
        raise ValueError(f"{model.__name__} row without {sorted(missing)}")
    obj: M = model._sa_class_manager.new_instance()  # type: ignore[attr-defined]
    obj.__dict__.update(row)
    return obj


# How long a transaction waits for its turn before it asks SQLite anyway (whose own busy
# timeout then applies): a turn never held this long is a bug, not load.
TURN_TIMEOUT = 30.0


class Turns:
    """First come, first served: the order in which this process's threads take SQLite's
    write lock.

    Every transaction on the SQLite engine is BEGIN IMMEDIATE (it takes the write lock up
    front, for the audit chain head). Left to SQLite, a thread that finds the lock taken
    sleeps in the busy handler and polls (after 1, 2, 5 … then every 100 ms), and threads
    arriving in between take the lock first: under 8 concurrent readers one request waited
    6.6 s while throughput fell from 17 to 11 requests/s. Queued here instead, each waits
    for those before it only, and is handed the lock as the previous one commits."""

    def __init__(self) -> None:
        self._mutex = threading.Lock()
        self._held = False
        self._waiting: deque[threading.Event] = deque()

    def take(self, timeout: float = TURN_TIMEOUT) -> bool:
        with self._mutex:
            if not self._held and not self._waiting:
                self._held = True
                return True
            handed = threading.Event()
            self._waiting.append(handed)
        if handed.wait(timeout):
            return True
        with self._mutex:
            if handed.is_set():  # handed over as the wait ran out
                return True
            self._waiting.remove(handed)
            return False

    def give_back(self) -> None:
        with self._mutex:
            if self._waiting:
                self._waiting.popleft().set()  # straight to the next: nobody cuts in
            else:
                self._held = False


class _TurnTakingConnection(sqlite3.Connection):
    """A connection that gives its turn back once its transaction has ended (committed,
    rolled back, or the connection closed), not before: the next in the queue then finds
    SQLite's lock free. Subclassed per engine, with that engine's `turns`."""

    turns: Turns
    holding = False

    def take_turn(self) -> None:
        self.holding = self.turns.take()

    def _end_turn(self) -> None:
        if self.holding:
            self.holding = False
            self.turns.give_back()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._end_turn()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._end_turn()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._end_turn()


def make_engine(settings: Settings) -> Engine:
    if settings.is_sqlite:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        factory = type("TurnTakingConnection", (_TurnTakingConnection,), {"turns": Turns()})
        engine = create_engine(
            settings.database_url,
            connect_args={"check_same_thread": False, "timeout": 30, "factory": factory},
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
        dbapi_conn = conn.connection.dbapi_connection
        if isinstance(dbapi_conn, _TurnTakingConnection) and not dbapi_conn.holding:
            dbapi_conn.take_turn()
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
