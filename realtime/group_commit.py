"""Group commit for socket events: the units of work that arrive while one transaction is
being written share the next one.

A chat post's fixed cost was mostly its transaction (issue #13): a thread hop, BEGIN, the
audit chain head read and moved, COMMIT, for a handful of rows. Under load, events queue
for the database anyway (SQLite has one writer; every audited transaction locks the
chain head), so they are written together: each in a savepoint of its own, so one that
is refused, invalid or broken loses only its own work, and all of them in one commit,
with their audit events in one insert. Nobody hears an answer before that commit: an
acknowledged read is always in the durable log. With nothing queued, an event is
written at once, as before: group commit adds no wait.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.orm import SessionTransaction
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool

from workspace.db import Database

# A unit of work: given the shared session, its result. What it writes, it writes within
# `own_savepoint`; what it raises is its answer alone.
Work = Callable[[Session], Any]
# Locks the rows of these rooms (sorted ids) for the rest of the transaction.
LockRooms = Callable[[Session, list[str]], None]

# Events written in one transaction at most. Each waits for the whole group's commit,
# so this bounds the wait a group adds (a post is ~2 ms of work).
MAX_GROUP = 16


@contextmanager
def own_savepoint(session: Session) -> Iterator[SessionTransaction | None]:
    """A unit's work within a group's transaction: undone alone if it raises (unless it
    undid it already: `Access.deny` rolls back to here and records the refusal). A unit
    written alone needs none (two statements saved): its failure rolls back the whole."""
    if not session.info.get(_SHARED):
        yield None
        return
    savepoint = session.begin_nested()
    try:
        yield savepoint
    except BaseException:
        if savepoint.is_active:
            savepoint.rollback()
        raise
    savepoint.commit()


# In session.info: this transaction holds several units of work.
_SHARED = "caseroom.group_commit.shared"


@dataclass
class _Queued:
    work: Work
    rooms: tuple[str, ...] = ()
    done: asyncio.Future[Any] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class GroupCommit:
    """One writer per process: a group at a time, in the order events came.

    `lock_rooms` (PostgreSQL, where several servers write at once): a group first locks
    every room its units name, in one order, before any of them runs. A post holds its
    room's row (its position in the room) until commit, and two servers' groups each
    holding one room and waiting for the other's would deadlock (PostgreSQL breaks that
    after a second by failing a post; seen in bench/README.md, session 10, and in
    tests/test_group_commit.py); locked in one order, they wait for each other, never in
    a circle."""

    def __init__(
        self, db: Database, max_group: int = MAX_GROUP, *, lock_rooms: LockRooms | None = None
    ) -> None:
        self.db = db
        self.max_group = max_group
        self.lock_rooms = lock_rooms
        self._queue: list[_Queued] = []
        self._writing: asyncio.Task[None] | None = None
        # How many groups were written and how many units they held (for benches).
        self.groups = 0
        self.units = 0

    async def run(self, work: Work, rooms: tuple[str, ...] = ()) -> Any:
        """Run `work` in the next transaction; its result once that has committed, or
        what it raised (the commit's own failure is everyone's). `rooms`: the rooms whose
        rows it may write."""
        queued = _Queued(work, rooms)
        self._queue.append(queued)
        if self._writing is None:
            self._writing = asyncio.get_running_loop().create_task(self._write_groups())
        return await queued.done

    async def _write_groups(self) -> None:
        group: list[_Queued] = []
        try:
            while self._queue:
                group = self._queue[: self.max_group]
                del self._queue[: self.max_group]
                try:
                    outcomes = await run_in_threadpool(self._write, group)
                except Exception as exc:  # the commit failed: nothing of the group holds
                    outcomes = [exc] * len(group)
                for queued, outcome in zip(group, outcomes, strict=True):
                    if queued.done.done():
                        continue
                    if isinstance(outcome, BaseException):
                        queued.done.set_exception(outcome)
                    else:
                        queued.done.set_result(outcome)
        except BaseException:  # cancelled (the server stopping): nobody is left waiting
            for queued in (*group, *self._queue):
                if not queued.done.done():
                    queued.done.cancel()
            self._queue.clear()
            raise
        finally:
            self._writing = None

    def _write(self, group: list[_Queued]) -> list[Any]:
        self.groups += 1
        self.units += len(group)
        if len(group) == 1:  # one room's row at most: no order to keep
            try:
                with self.db.session() as session:
                    result = group[0].work(session)
                    session.commit()
            except Exception as exc:
                return [exc]
            return [result]
        outcomes: list[Any] = []
        with self.db.session() as session:
            session.info[_SHARED] = True
            locked_in: SessionTransaction | None = None
            for k, queued in enumerate(group):
                # Again if a unit committed along the way (a browser session's activity
                # is committed at once: accounts.load_session), which let the locks go.
                if self.lock_rooms and (
                    locked_in is None or session.get_transaction() is not locked_in
                ):
                    rooms = sorted({room for q in group[k:] for room in q.rooms})
                    if rooms:
                        self.lock_rooms(session, rooms)
                        locked_in = session.get_transaction()
                try:
                    outcomes.append(queued.work(session))
                except Exception as exc:
                    outcomes.append(exc)
                # The next unit starts from the database, not from objects this one
                # loaded or changed behind the identity map's back (Core statements).
                session.expunge_all()
            session.commit()
        return outcomes
