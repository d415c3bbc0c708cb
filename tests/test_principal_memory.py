"""What a process remembers of each person for the policy (issue #13; workspace/facts.py
`RememberedRows`, the access epoch of migration 0018).

A principal built from remembered rows must be the one a fresh read would build, whoever
changed the rows and however: through the services, by hand in SQL, in a transaction that
was rolled back. The day of changes in tests/test_decision_cache.py also checks every
person's remembered principal against a fresh one at each of its steps.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta

import pytest
from sqlalchemy import Connection, delete, insert, text, update
from sqlmodel import SQLModel, select
from starlette.testclient import TestClient

from policy.subjects import Principal
from tests.conftest import DAN, HOLLY, REMOVAL, SARAH, Tokens, user_by_email
from tests.mailing import add_member, room_of
from tests.test_member_removal import remove
from workspace.clock import clock
from workspace.facts import PrincipalRows, principal_for
from workspace.models import (
    BreakGlass,
    Membership,
    Organisation,
    SharingDecision,
    Team,
    TeamManager,
    User,
)
from workspace.state import Caseroom


def token_of(conn: Connection) -> str:
    return str(conn.execute(text("SELECT token FROM access_epoch WHERE id = 1")).scalar_one())


@pytest.fixture
def conn(app: Caseroom) -> Iterator[Connection]:
    """Plain SQL on the app's database, outside any of the app's sessions."""
    with app.db.engine.connect() as connection:
        yield connection
        connection.rollback()


def new_rows(app: Caseroom) -> list[SQLModel]:
    """One new row of each table a principal is built from (workspace/facts.py
    `PrincipalRows`), about people, rooms and teams of the demo."""
    now = clock.now()
    dan, holly = user_by_email(app, DAN), user_by_email(app, HOLLY)
    jamie = room_of(app, "Jamie").id
    with app.db.session() as session:
        team = session.exec(select(Team)).first()
        assert team is not None
    return [
        Organisation(name="Epoch Test Org", kind="voluntary", created_at=now),
        Membership(room_id=jamie, user_id=holly.id, role="member", joined_at=now),
        TeamManager(team_id=team.id, user_id=holly.id),
        BreakGlass(
            user_id=dan.id,
            room_id=jamie,
            reason="test",
            started_at=now,
            expires_at=now + timedelta(hours=4),
        ),
        SharingDecision(
            room_id=jamie,
            decided_by_id=dan.id,
            what="message",
            with_user_id=holly.id,
            purpose="test",
            lawful_basis="public_task",
            consent="not_sought",
            created_at=now,
        ),
    ]


def test_every_write_to_a_table_the_principal_is_built_from_changes_the_epoch(
    app: Caseroom, conn: Connection
) -> None:
    """By database triggers, so plain SQL (an administrator, a data migration) counts as
    much as the application's writes do."""
    for row in new_rows(app):
        table = type(row).__table__  # type: ignore[attr-defined]
        values = row.model_dump()
        key = {c.name: values[c.name] for c in table.primary_key.columns}
        where = [table.c[name] == value for name, value in key.items()]
        changes = {
            "INSERT": insert(table).values(values),
            "UPDATE": update(table).where(*where).values(key),
            "DELETE": delete(table).where(*where),
        }
        for verb, statement in changes.items():
            before = token_of(conn)
            done = conn.execute(statement)
            assert verb == "INSERT" or done.rowcount == 1, f"{verb} on {table.name} found no row"
            assert token_of(conn) != before, f"{verb} on {table.name} left the epoch as it was"


def test_a_change_to_what_is_read_of_a_person_changes_the_epoch_and_sign_in_state_does_not(
    app: Caseroom, conn: Connection
) -> None:
    """A live socket reuses its holder's user row while the epoch is unchanged (migration
    0026, accounts.KnownPerson): every column anything takes from it changes the epoch;
    what changes at each sign-in does not (everyone would be read again)."""
    dan = user_by_email(app, DAN)
    police = conn.execute(select(Organisation.id).where(Organisation.kind == "police")).scalar_one()
    team = conn.execute(select(Team.id)).scalars().first()
    read_of_them = {
        "organisation_id": police, "team_id": team, "org_role": "manager", "disabled": True,
        "name": "Dan Renamed", "email": "dan.renamed@oakfield.example", "public_key": "k" * 44,
    }  # fmt: skip
    for column, value in read_of_them.items():
        before = token_of(conn)
        conn.execute(update(User).where(User.id == dan.id).values({column: value}))  # type: ignore[arg-type]
        assert token_of(conn) != before, f"a change of {column} left the epoch as it was"
    before = token_of(conn)
    conn.execute(
        update(User).where(User.id == dan.id).values(failed_logins=3, totp_last_step=7)  # type: ignore[arg-type]
    )
    assert token_of(conn) == before


def test_a_write_to_anything_else_leaves_the_epoch_alone(
    app: Caseroom, client: TestClient, auth: Tokens, conn: Connection
) -> None:
    """Posting is the commonest write; it must not make everyone be read again."""
    before = token_of(conn)
    conn.rollback()
    jamie = room_of(app, "Jamie").id
    posted = client.post(
        f"/api/v1/rooms/{jamie}/messages", json={"body": "Visit done"}, headers=auth(SARAH)
    )
    assert posted.status_code == 201, posted.text
    assert token_of(conn) == before


def principals(app: Caseroom, email: str) -> tuple[Principal, Principal]:
    """The principal as remembered, and as read afresh."""
    with app.db.session() as session:
        user = session.exec(select(User).where(User.email == email)).one()
        now = clock.now()
        return principal_for(session, user, now), PrincipalRows.load(session, [user]).principal(
            user, now
        )


def test_a_change_through_the_service_is_seen_by_the_next_request(
    app: Caseroom, client: TestClient, auth: Tokens
) -> None:
    jamie = room_of(app, "Jamie").id
    before, _ = principals(app, DAN)
    assert any(m.room_id == jamie and not m.revoked for m in before.memberships)
    assert remove(client, auth, jamie, DAN, json=REMOVAL).status_code == 204
    after, fresh = principals(app, DAN)
    assert after == fresh
    assert not any(m.room_id == jamie and not m.revoked for m in after.memberships)

    add_member(client, auth, jamie, HOLLY)
    after, fresh = principals(app, HOLLY)
    assert after == fresh and any(m.room_id == jamie for m in after.memberships)


def test_a_change_written_by_hand_is_seen_by_the_next_request(
    app: Caseroom, conn: Connection
) -> None:
    jamie = room_of(app, "Jamie").id
    dan = user_by_email(app, DAN)
    principals(app, DAN)  # remembered
    conn.execute(
        update(Membership)
        .where(Membership.user_id == dan.id, Membership.room_id == jamie)  # type: ignore[arg-type]
        .values(revoked_at=clock.now() - timedelta(minutes=1))
    )
    conn.commit()
    after, fresh = principals(app, DAN)
    assert after == fresh
    assert not any(m.room_id == jamie and not m.revoked for m in after.memberships)


def test_what_was_read_inside_a_rolled_back_change_is_never_given_again(
    app: Caseroom, conn: Connection
) -> None:
    """A transaction that adds a membership and reads the person inside it (as a request
    that adds a member and goes on to decide things does) and then rolls back leaves
    nothing behind: the epoch it made is gone with it."""
    jamie = room_of(app, "Jamie").id
    holly = user_by_email(app, HOLLY)
    before, _ = principals(app, HOLLY)
    with app.db.session() as session:
        session.add(
            Membership(room_id=jamie, user_id=holly.id, role="member", joined_at=clock.now())
        )
        session.flush()
        user = session.get(User, holly.id)
        assert user is not None
        inside = principal_for(session, user, clock.now())
        assert any(m.room_id == jamie for m in inside.memberships)
        session.rollback()
    after, fresh = principals(app, HOLLY)
    assert after == fresh and after.timeless == before.timeless
    assert not any(m.room_id == jamie for m in after.memberships)


def test_a_person_moved_to_another_organisation_by_hand_is_seen_as_of_it(
    app: Caseroom, conn: Connection
) -> None:
    """Users are read afresh by every request, and their organisation is part of what is
    remembered of them, so even a move no screen offers (plain SQL) is seen at once."""
    principals(app, DAN)  # remembered, as of the school
    police = conn.execute(select(Organisation.id).where(Organisation.kind == "police")).scalar_one()
    conn.execute(update(User).where(User.email == DAN).values(organisation_id=police))  # type: ignore[arg-type]
    conn.commit()
    after, fresh = principals(app, DAN)
    assert after == fresh
    assert (after.org_id, after.org_kind) == (police, "police")


def test_a_transaction_that_changes_a_person_then_asks_again_sees_its_change(
    app: Caseroom,
) -> None:
    """The token is read once per transaction (a post asks twice), and forgotten as soon
    as the transaction writes what the triggers watch: by the unit of work, by an ORM
    statement, or by SQL text."""
    jamie = room_of(app, "Jamie").id
    holly, dan = user_by_email(app, HOLLY), user_by_email(app, DAN)
    with app.db.session() as session:
        person = session.get(User, holly.id)
        assert person is not None
        assert not any(
            m.room_id == jamie for m in principal_for(session, person, clock.now()).memberships
        )
        session.add(
            Membership(room_id=jamie, user_id=holly.id, role="member", joined_at=clock.now())
        )
        session.flush()
        assert any(
            m.room_id == jamie for m in principal_for(session, person, clock.now()).memberships
        )

        other = session.get(User, dan.id)
        assert other is not None
        assert any(
            m.room_id == jamie and not m.revoked
            for m in principal_for(session, other, clock.now()).memberships
        )
        session.execute(
            update(Membership)
            .where(Membership.user_id == dan.id, Membership.room_id == jamie)  # type: ignore[arg-type]
            .values(revoked_at=clock.now() - timedelta(minutes=1))
        )
        assert not any(
            m.room_id == jamie and not m.revoked
            for m in principal_for(session, other, clock.now()).memberships
        )

        session.execute(text("DELETE FROM membership WHERE user_id = :u"), {"u": holly.id})
        assert not any(
            m.room_id == jamie for m in principal_for(session, person, clock.now()).memberships
        )
        session.rollback()
    after, fresh = principals(app, HOLLY)
    assert after == fresh
