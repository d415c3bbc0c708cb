"""SQLite's write lock is taken in arrival order within a process (workspace/db.py `Turns`):
a thread never waits behind threads that asked after it, and a turn is given back however
the transaction ends."""

from __future__ import annotations

import threading
import time

from sqlmodel import select

from workspace.db import Turns
from workspace.models import User
from workspace.state import Caseroom


def test_turns_are_handed_over_in_the_order_they_were_asked_for() -> None:
    turns = Turns()
    assert turns.take()
    served: list[int] = []
    threads = []

    def in_turn(n: int) -> None:
        turns.take()
        served.append(n)
        turns.give_back()

    for n in range(5):
        t = threading.Thread(target=in_turn, args=(n,))
        t.start()
        threads.append(t)
        time.sleep(0.02)  # each asks after the one before
    turns.give_back()
    for t in threads:
        t.join(5)
    assert served == [0, 1, 2, 3, 4]


def test_a_wait_that_runs_out_leaves_the_queue_working() -> None:
    turns = Turns()
    assert turns.take()
    assert turns.take(timeout=0.05) is False  # gave up; not left in the queue
    turns.give_back()
    assert turns.take(timeout=0.05) is True


def test_commit_rollback_and_close_each_give_the_turn_back(app: Caseroom) -> None:
    if not app.settings.is_sqlite:
        return  # PostgreSQL takes row locks, not a database-wide one
    for end in ("commit", "rollback", "close"):
        with app.db.session() as session:
            session.exec(select(User)).first()
            raw = session.connection().connection.dbapi_connection
            assert getattr(raw, "holding", False)
            if end == "commit":
                session.commit()
            elif end == "rollback":
                session.rollback()
        if end != "close":
            assert not getattr(raw, "holding", True)
        # Another transaction gets the lock at once, not after the 30 s wait for a turn.
        began = time.monotonic()
        with app.db.session() as other:
            other.exec(select(User)).first()
            other.commit()
        assert time.monotonic() - began < 1
