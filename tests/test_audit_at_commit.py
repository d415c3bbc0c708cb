"""Audit events take their place in the chain when their transaction commits (issue #13;
workspace/audit.py `AuditWriter.record`), so the chain head every append locks is held for
the commit, not for a whole request. Nothing else changes: an event is kept exactly when
its transaction is, a transaction that reads the log finds its own events there, and the
chain stays whole."""

from __future__ import annotations

import threading

import pytest
from sqlmodel import col, select

from tests.conftest import PG_URL
from workspace import audit
from workspace.models import AuditEvent
from workspace.state import Caseroom

FIELDS = {"resource_type": "test", "outcome": "allowed", "channel": "cli"}


def actions(app: Caseroom) -> list[str]:
    with app.db.session() as session:
        return list(
            session.exec(
                select(AuditEvent.action)
                .where(AuditEvent.resource_type == "test")
                .order_by(col(AuditEvent.seq))
            )
        )


def intact(app: Caseroom) -> bool:
    with app.db.read_only_session() as session:
        return audit.verify(session, app.keys, app.audit.witness).ok


def test_events_are_written_in_the_order_recorded_when_the_transaction_commits(
    app: Caseroom,
) -> None:
    with app.db.session() as session:
        for action in ("first", "second", "third"):
            app.audit.record(session, action=action, **FIELDS)
        assert actions(app) == []  # another session: nothing is there before the commit
        session.commit()
    assert actions(app) == ["first", "second", "third"]
    assert intact(app)


def test_a_rolled_back_transaction_or_savepoint_leaves_none_of_its_events(
    app: Caseroom,
) -> None:
    with app.db.session() as session:
        app.audit.record(session, action="dropped", **FIELDS)
        session.rollback()
        app.audit.record(session, action="kept before", **FIELDS)
        with session.begin_nested() as savepoint:
            app.audit.record(session, action="in the savepoint", **FIELDS)
            savepoint.rollback()
        with session.begin_nested():
            app.audit.record(session, action="in a released savepoint", **FIELDS)
        app.audit.record(session, action="kept after", **FIELDS)
        session.commit()
    assert actions(app) == ["kept before", "in a released savepoint", "kept after"]
    assert intact(app)


def test_a_transaction_that_reads_the_log_finds_its_own_events(app: Caseroom) -> None:
    with app.db.session() as session:
        app.audit.record(session, action="seen by itself", **FIELDS)
        found = session.exec(
            select(AuditEvent.action).where(AuditEvent.action == "seen by itself")
        ).all()
        assert found == ["seen by itself"]
        session.commit()
    assert actions(app) == ["seen by itself"]
    assert intact(app)


@pytest.mark.postgres_only
@pytest.mark.skipif(not PG_URL, reason="SQLite takes its write lock when a transaction begins")
def test_an_open_transaction_with_events_does_not_hold_up_others(app: Caseroom) -> None:
    """On PostgreSQL the chain head is a locked row: a request that has recorded events
    and is still working must not make every other request wait for it."""
    with app.db.session() as slow:
        app.audit.record(slow, action="slow request", **FIELDS)
        done = threading.Event()

        def another_request() -> None:
            with app.db.session() as session:
                app.audit.record(session, action="quick request", **FIELDS)
                session.commit()
            done.set()

        quick = threading.Thread(target=another_request)
        quick.start()
        assert done.wait(10), "the quick request waited for the slow one's commit"
        quick.join()
        slow.commit()
    assert actions(app) == ["quick request", "slow request"]
    assert intact(app)
