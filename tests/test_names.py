"""Names and titles read as they are stored (issue #9, item 9). Control characters (NUL,
ESC, DEL, C1, tabs, newlines) are refused in every name — a person's, a child's, a room's
title, an organisation's, a team's, an API token's — through the API, the forms, accepting
an invitation and the CLI. Characters that change how a name reads without being seen
(bidirectional overrides and isolates, zero-width characters) are removed, and names
stored before this rule are made display-safe by migration 0010."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from sqlmodel import select
from starlette.testclient import TestClient

from tests.conftest import PG_URL, SARAH, Tokens, _pg_admin, _pg_url
from tests.mailbox import Mailbox
from tests.support import Cli
from tests.test_invitations import NEWCOMER, accept, invited
from workspace.cli import ROOT
from workspace.models import Child, Organisation, Room, Team, User
from workspace.schemas import neutralise
from workspace.services.invitations import accept_limiter
from workspace.settings import Settings
from workspace.state import Caseroom

pytestmark = pytest.mark.mail

CONTROL = {
    "NUL": "Nora\x00Newcomer",
    "ESC": "Nora \x1b[31mNewcomer",
    "BEL": "Nora\x07 Newcomer",
    "DEL": "Nora\x7f Newcomer",
    "C1 NEL": "Nora\x85Newcomer",
    "tab": "Nora\tNewcomer",
    "newline": "Nora\nNewcomer",
}
# How each reads, and what must be stored: the same text without the invisible parts.
SPOOFED = {
    "right-to-left override": ("\u202eremocweN aroN", "remocweN aroN"),
    "isolates": ("Nora \u2066Newcomer\u2069", "Nora Newcomer"),
    "zero-width space and joiner": ("No\u200bra New\u200dcomer", "Nora Newcomer"),
    "byte order mark": ("\ufeffNora Newcomer", "Nora Newcomer"),
    "left-to-right mark": ("Nora\u200e Newcomer\u200f", "Nora Newcomer"),
}
ROOM = {"title": "Sam – early help", "plan_type": "early_help",
        "child": {"name": "Sam Test", "date_of_birth": "2018-05-01"}}  # fmt: skip


@pytest.fixture(autouse=True)
def _fresh_limit() -> Iterator[None]:
    yield
    accept_limiter.reset()


def user_with_email(app: Caseroom, email: str) -> User | None:
    with app.db.session() as session:
        return session.exec(select(User).where(User.email == email)).first()


# --- accepting an invitation ----------------------------------------------------------------


@pytest.mark.parametrize("name", list(CONTROL.values()), ids=list(CONTROL))
def test_accepting_with_a_control_character_in_the_name_is_refused_and_the_link_still_works(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None, name: str
) -> None:
    link = invited(client, auth, app, mailbox, role="member")
    refused = accept(client, link, name=name)
    assert refused.status_code == 422, refused.text
    assert "control characters" in refused.text
    assert user_with_email(app, NEWCOMER) is None
    assert accept(client, link).status_code == 303


@pytest.mark.parametrize(("name", "stored"), list(SPOOFED.values()), ids=list(SPOOFED))
def test_accepting_with_invisible_characters_stores_the_name_as_it_reads(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None,
    name: str, stored: str,
) -> None:  # fmt: skip
    link = invited(client, auth, app, mailbox, role="member")
    assert accept(client, link, name=name).status_code == 303
    user = user_with_email(app, NEWCOMER)
    assert user is not None and user.name == stored


# --- the API: children, room titles, new organisations --------------------------------------


@pytest.mark.parametrize("bad", list(CONTROL.values()), ids=list(CONTROL))
def test_a_child_name_or_room_title_with_a_control_character_is_refused(
    client: TestClient, auth: Tokens, bad: str
) -> None:
    for body, field in (
        ({**ROOM, "child": {**ROOM["child"], "name": bad}}, "child.name"),  # type: ignore[dict-item]
        ({**ROOM, "title": bad}, "title"),
    ):
        response = client.post("/api/v1/rooms", json=body, headers=auth(SARAH))
        assert response.status_code == 422, response.text
        assert field in response.json()["error"]["fields"]


def test_a_child_name_and_room_title_are_stored_as_they_read(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    body = {**ROOM, "title": "Sam\u202e \u200bearly help",
            "child": {**ROOM["child"], "name": "\u2067Sam\u2069 Test\u200b"}}  # fmt: skip
    response = client.post("/api/v1/rooms", json=body, headers=auth(SARAH))
    assert response.status_code == 201, response.text
    with app.db.session() as session:
        room = session.get(Room, response.json()["id"])
        assert room is not None and room.title == "Sam early help"
        child = session.get(Child, room.child_id)
        assert child is not None and child.name == "Sam Test"


def test_a_new_organisation_name_is_checked_like_any_name(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox
) -> None:
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    room_id = next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter")
    body = {"email": NEWCOMER, "role": "member", "purpose": "Youth worker",
            "lawful_basis": "safeguarding", "consent": "given",
            "organisation_kind": "voluntary"}  # fmt: skip
    refused = client.post(f"/api/v1/rooms/{room_id}/members", headers=auth(SARAH),
                          json={**body, "organisation_name": "Youth\x1b Club"})  # fmt: skip
    assert refused.status_code == 422, refused.text
    assert "organisation_name" in refused.json()["error"]["fields"]
    made = client.post(f"/api/v1/rooms/{room_id}/members", headers=auth(SARAH),
                       json={**body, "organisation_name": "Youth\u202e Club"})  # fmt: skip
    assert made.status_code == 202, made.text
    with app.db.session() as session:
        assert session.exec(select(Organisation).where(Organisation.name == "Youth Club")).one()


# --- the CLI --------------------------------------------------------------------------------

COUNCIL = "Northshire Council Children's Services"


@pytest.mark.parametrize("flag", ["--name", "--team"])
def test_user_add_refuses_a_control_character_in_a_name_or_team(
    cli: Cli, app: Caseroom, flag: str
) -> None:
    argv = {"--name": "Nina New", "--team": "Duty Team"}
    argv[flag] = "Nina\x1b]0;pwned\x07"
    result = cli(
        "user", "add", "nina.new@council.example", "--org", COUNCIL, "--role", "practitioner",
        "--name", argv["--name"], "--team", argv["--team"], stdin="correct horse battery staple",
    )  # fmt: skip
    assert result.code != 0
    assert "control characters" in result.err and "Traceback" not in result.err
    assert user_with_email(app, "nina.new@council.example") is None


def test_user_add_and_org_add_store_names_as_they_read(cli: Cli, app: Caseroom) -> None:
    assert cli("org", "add", "\u202eHousing Trust", "--kind", "housing").code == 0
    result = cli(
        "user", "add", "nina.new@council.example", "--org", COUNCIL, "--role", "practitioner",
        "--name", "Nina\u200b New", "--team", "Duty\u2066 Team",
        stdin="correct horse battery staple",
    )  # fmt: skip
    assert result.code == 0, result.err
    user = user_with_email(app, "nina.new@council.example")
    assert user is not None and user.name == "Nina New"
    with app.db.session() as session:
        team = session.get(Team, user.team_id)
        assert team is not None and team.name == "Duty Team"
        assert session.exec(select(Organisation).where(Organisation.name == "Housing Trust")).one()


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    return Cli(monkeypatch, capsys, settings)


# --- names stored before the rule -----------------------------------------------------------


def alembic_config(url: str) -> Config:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    config.attributes["database_url"] = url
    return config


@pytest.fixture
def empty_database(tmp_path: Path) -> Iterator[str]:
    """A database nobody has migrated, on the suite's database engine."""
    if not PG_URL:
        yield f"sqlite:///{tmp_path / 'old.db'}"
        return
    name = f"caseroom_names_{os.getpid()}"
    with _pg_admin(PG_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _pg_url(name)
    with _pg_admin(PG_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def test_names_stored_before_the_rule_are_made_display_safe_by_the_migration(
    empty_database: str,
) -> None:
    url = empty_database
    command.upgrade(alembic_config(url), "0005")
    engine = sa.create_engine(url)
    with engine.begin() as conn:
        conn.execute(sa.text(
            "INSERT INTO organisation (id, name, kind, created_at) VALUES "
            "('o1', 'Trust', 'health', '2026-01-01'), "
            "('o2', 'Tr\u200bust', 'health', '2026-01-01')"
        ))  # fmt: skip
        conn.execute(
            sa.text("INSERT INTO team (id, organisation_id, name) VALUES "
                    "('t1', 'o1', :name), ('t2', 'o1', 'Duty'), ('t3', 'o1', 'Du\u2060ty')"),
            {"name": "\u202eretsiM \x1b[2JNora"},
        )  # fmt: skip
    command.upgrade(alembic_config(url), "0010")
    with engine.connect() as conn:
        names = dict(conn.execute(sa.text("SELECT id, name FROM organisation")).all())
        teams = dict(conn.execute(sa.text("SELECT id, name FROM team")).all())
    engine.dispose()
    assert names == {"o1": "Trust", "o2": "Trust (2)"}
    assert teams["t1"] == "retsiM \ufffd[2JNora" == neutralise("\u202eretsiM \x1b[2JNora")
    assert (teams["t2"], teams["t3"]) == ("Duty", "Duty (2)")
