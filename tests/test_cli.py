"""The `caseroom` command (DESIGN.md §6, "Commands" and "CLI"), as tests.

- `init` on an empty data dir migrates the database and creates the secret key (0600);
- `org add NAME --kind KIND`;
- `user add EMAIL --org ORG --role ROLE --name NAME [--team TEAM]`, the password being the
  first line of stdin: the team is created if new, a manager with --team manages it, a
  weak password or a duplicate email is refused with a clear message and a non-zero exit;
- `token create EMAIL` prints the token as its last line, and the token works on the API;
- `audit verify` exits 0 on an intact log, non-zero on a broken one.

Most tests call `workspace.cli.main` in this process, configured only through the
environment like the console script; the last one runs the real console script.
"""

from __future__ import annotations

import os
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from alembic.config import Config
from alembic.script import ScriptDirectory
from sqlalchemy import create_engine, text, update
from sqlmodel import col, select
from starlette.testclient import TestClient

import workspace
from tests.conftest import PG_URL, SARAH, _pg_admin, _pg_url
from tests.support import Cli, as_attacker, events
from workspace import crypto
from workspace.app import create_app
from workspace.cli import ROOT
from workspace.models import AuditEvent, Organisation, Team, TeamManager, User
from workspace.services.demo import COUNCIL
from workspace.settings import Settings
from workspace.state import Caseroom

STRONG = "correct horse battery staple"


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    """`caseroom` against this test's (demo-seeded) database."""
    return Cli(monkeypatch, capsys, settings)


_empty = iter(range(1_000_000))


@pytest.fixture
def empty_database() -> Iterator[str | None]:
    """A database nobody has migrated: on PostgreSQL a new empty database; on SQLite None,
    meaning the default (a file under the data dir, created by `init`)."""
    if not PG_URL:
        yield None
        return
    name = f"caseroom_empty_{os.getpid()}_{next(_empty)}"
    with _pg_admin(PG_URL) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    yield _pg_url(name)
    with _pg_admin(PG_URL) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def fresh_settings(data_dir: Path, database_url: str | None) -> Settings:
    """What `caseroom` will use with CASEROOM_DATA_DIR=data_dir and no secret key set."""
    env = {"CASEROOM_DATA_DIR": str(data_dir)}
    if database_url:
        env["CASEROOM_DATABASE_URL"] = database_url
    return Settings.from_env(env)


def migration_head() -> str:
    config = Config(str(ROOT / "alembic.ini"))
    config.set_main_option("script_location", str(ROOT / "migrations"))
    head = ScriptDirectory.from_config(config).get_current_head()
    assert head is not None
    return head


# --- init -----------------------------------------------------------------------------------


def test_init_on_an_empty_data_dir_migrates_and_creates_a_private_secret_key(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    empty_database: str | None,
) -> None:
    data_dir = tmp_path / "var"
    settings = fresh_settings(data_dir, empty_database)
    cli = Cli(monkeypatch, capsys, settings)
    assert not data_dir.exists()

    result = cli("init")

    assert result.code == 0, result.err
    key = data_dir / "secret.key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    assert len(bytes.fromhex(key.read_text().strip())) == 32
    signing_key = data_dir / "audit-signing.key"  # its own key, not derived from the secret
    assert stat.S_IMODE(signing_key.stat().st_mode) == 0o600
    assert signing_key.read_text() != key.read_text()
    assert (data_dir / "audit-witness.log").read_text() == ""
    engine = create_engine(settings.database_url)
    try:
        with engine.connect() as db:
            assert db.execute(text("SELECT version_num FROM alembic_version")).scalar_one() == (
                migration_head()
            )
            assert db.execute(text("SELECT seq FROM audit_head")).scalar_one() == 0
    finally:
        engine.dispose()
    if settings.is_sqlite:
        assert (data_dir / "caseroom.db").exists()
    verified = cli("audit", "verify")
    assert verified.code == 0
    assert "0 records verified" in verified.out


def test_init_twice_changes_nothing(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    empty_database: str | None,
) -> None:
    cli = Cli(monkeypatch, capsys, fresh_settings(tmp_path, empty_database))
    assert cli("init").code == 0
    key = (tmp_path / "secret.key").read_text()
    assert cli("init").code == 0
    assert (tmp_path / "secret.key").read_text() == key


def test_init_writes_no_key_file_when_the_secret_comes_from_the_environment(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    empty_database: str | None,
) -> None:
    cli = Cli(monkeypatch, capsys, fresh_settings(tmp_path, empty_database))
    monkeypatch.setenv("CASEROOM_SECRET_KEY", "f" * 64)
    assert cli("init").code == 0
    assert not (tmp_path / "secret.key").exists()


# --- org add --------------------------------------------------------------------------------


def test_org_add_creates_the_organisation_and_audits_it(cli: Cli, app: Caseroom) -> None:
    result = cli("org", "add", "Northshire Youth Justice Service", "--kind", "youth_justice")

    assert result.code == 0, result.err
    with app.db.session() as session:
        org = session.exec(
            select(Organisation).where(Organisation.name == "Northshire Youth Justice Service")
        ).one()
    assert org.kind == "youth_justice"
    assert org.id in result.out
    last = events(app)[-1]
    assert (last.action, last.resource_id, last.channel) == ("organisation_created", org.id, "cli")


def test_org_add_refuses_a_duplicate_name(cli: Cli) -> None:
    result = cli("org", "add", COUNCIL, "--kind", "local_authority")
    assert result.code != 0
    assert "exists already" in result.err


def test_org_add_refuses_an_unknown_kind(cli: Cli, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exit_:
        cli("org", "add", "Acme", "--kind", "bakery")
    assert exit_.value.code == 2
    assert "invalid choice: 'bakery'" in capsys.readouterr().err


# --- user add -------------------------------------------------------------------------------


def user_named(app: Caseroom, email: str) -> User | None:
    with app.db.session() as session:
        return session.exec(select(User).where(User.email == email)).first()


def test_user_add_reads_the_password_from_stdin_and_creates_a_new_team(
    cli: Cli, app: Caseroom
) -> None:
    result = cli(
        "user", "add", "Nina.New@Council.example", "--org", COUNCIL, "--role", "practitioner",
        "--name", "Nina New", "--team", "Duty Team East",
        stdin=STRONG + "\nthis second line is not the password\n",
    )  # fmt: skip

    assert result.code == 0, result.err
    user = user_named(app, "nina.new@council.example")  # emails are kept lower-case
    assert user is not None and user.id in result.out
    assert (user.name, user.org_role) == ("Nina New", "practitioner")
    assert crypto.verify_password(user.password_hash, STRONG)
    with app.db.session() as session:
        team = session.exec(select(Team).where(Team.id == user.team_id)).one()
        org = session.exec(
            select(Organisation).where(Organisation.id == team.organisation_id)
        ).one()
        managers = session.exec(select(TeamManager).where(TeamManager.team_id == team.id)).all()
    assert team.name == "Duty Team East"
    assert org.name == COUNCIL
    assert managers == []  # a practitioner does not manage their team
    last = events(app)[-1]
    assert (last.action, last.resource_id, last.channel) == ("user_created", user.id, "cli")


def test_a_manager_added_with_a_team_manages_it(cli: Cli, app: Caseroom) -> None:
    result = cli(
        "user", "add", "tess.lead@council.example", "--org", COUNCIL, "--role", "manager",
        "--name", "Tess Lead", "--team", "Fostering Team", stdin=STRONG + "\n",
    )  # fmt: skip

    assert result.code == 0, result.err
    user = user_named(app, "tess.lead@council.example")
    assert user is not None and user.team_id is not None
    with app.db.session() as session:
        managed = session.exec(select(TeamManager).where(TeamManager.user_id == user.id)).all()
    assert [m.team_id for m in managed] == [user.team_id]


def test_a_new_user_joins_an_existing_team_of_that_name(cli: Cli, app: Caseroom) -> None:
    sarah = user_named(app, SARAH)
    assert sarah is not None
    result = cli(
        "user", "add", "sam.second@council.example", "--org", COUNCIL, "--role", "practitioner",
        "--name", "Sam Second", "--team", "Assessment Team North", stdin=STRONG,
    )  # fmt: skip
    assert result.code == 0, result.err
    user = user_named(app, "sam.second@council.example")
    assert user is not None and user.team_id == sarah.team_id


@pytest.mark.parametrize(
    ("password", "message"),
    [
        ("password1234", "too common or too easy to guess"),
        ("Caseroom1234", "too common or too easy to guess"),  # case does not help
        ("weak.pass.word-but-mine", "too common or too easy to guess"),  # starts with the email
        ("short", "at least 12 characters"),
        ("", "at least 12 characters"),  # nothing on stdin
    ],
)
def test_user_add_refuses_a_weak_password_with_a_clear_message(
    cli: Cli, app: Caseroom, password: str, message: str
) -> None:
    result = cli(
        "user", "add", "weak.pass@council.example", "--org", COUNCIL, "--role", "practitioner",
        "--name", "Wes Weak", stdin=password + "\n",
    )  # fmt: skip

    assert result.code != 0
    assert message in result.err
    assert result.err.startswith("caseroom: ")
    assert "Traceback" not in result.err
    assert user_named(app, "weak.pass@council.example") is None


@pytest.mark.parametrize("email", [SARAH, SARAH.upper()])
def test_user_add_refuses_an_email_that_exists_already(cli: Cli, app: Caseroom, email: str) -> None:
    sarah = user_named(app, SARAH)
    result = cli(
        "user", "add", email, "--org", COUNCIL, "--role", "practitioner", "--name", "Imposter",
        stdin=STRONG,
    )  # fmt: skip

    assert result.code != 0
    assert f"A user with email {SARAH} exists already" in result.err
    assert user_named(app, SARAH) == sarah


def test_user_add_names_an_unknown_organisation(cli: Cli) -> None:
    result = cli(
        "user", "add", "x@nowhere.example", "--org", "Nowhere", "--role", "practitioner",
        "--name", "X", stdin=STRONG,
    )  # fmt: skip
    assert result.code != 0
    assert "No organisation called 'Nowhere'" in result.err


# --- token create ---------------------------------------------------------------------------


def test_token_create_prints_the_token_last_and_it_works_on_the_api(
    cli: Cli, client: TestClient
) -> None:
    result = cli("token", "create", SARAH)

    assert result.code == 0, result.err
    token = result.last_line
    assert token.startswith("crm_") and " " not in token
    me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
    assert me.status_code == 200
    assert me.json()["email"] == SARAH
    assert client.get("/api/v1/rooms", headers={"Authorization": f"Bearer {token}"}).json()["items"]


def test_each_token_is_new(cli: Cli) -> None:
    assert cli("token", "create", SARAH).last_line != cli("token", "create", SARAH).last_line


def test_token_create_for_an_unknown_email_fails(cli: Cli) -> None:
    result = cli("token", "create", "nobody@council.example")
    assert result.code != 0
    assert "No user with email nobody@council.example" in result.err
    assert result.out == ""


# --- audit verify -----------------------------------------------------------------------------


def test_audit_verify_exits_0_when_intact_and_1_when_a_record_was_changed(
    cli: Cli, app: Caseroom
) -> None:
    assert cli("audit", "verify").code == 0
    victim = events(app)[3]
    with as_attacker(app) as db:
        db.execute(
            update(AuditEvent)
            .where(col(AuditEvent.seq) == victim.seq)
            .values(outcome="denied" if victim.outcome == "allowed" else "allowed")
        )
    broken = cli("audit", "verify")
    assert broken.code == 1
    assert f"seq {victim.seq} (id {victim.id})" in broken.err


def test_audit_checkpoint_signs_the_head(cli: Cli, app: Caseroom) -> None:
    head = events(app)[-1].seq
    result = cli("audit", "checkpoint")
    assert result.code == 0
    assert f"Signed checkpoint at record {head}." in result.out
    assert cli("audit", "verify").code == 0


# --- the real console script ------------------------------------------------------------------


def test_the_console_script_sets_up_a_deployment_from_nothing(
    tmp_path: Path, empty_database: str | None
) -> None:
    """`.venv/bin/caseroom`, as an operator runs it: init, an organisation, a user (the
    password piped in), an API token, and a clean audit verify."""
    script = Path(sys.executable).parent / "caseroom"
    assert script.exists()
    data_dir = tmp_path / "deployment"
    env = {k: v for k, v in os.environ.items() if not k.startswith("CASEROOM_")}
    env["CASEROOM_DATA_DIR"] = str(data_dir)
    if empty_database:
        env["CASEROOM_DATABASE_URL"] = empty_database
    # The script runs this checkout's code, whichever checkout the tests run from.
    env["PYTHONPATH"] = str(Path(workspace.__file__).resolve().parent.parent)

    def caseroom(*argv: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(script), *argv],
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )

    add_olu = (
        "user", "add", "olu.officer@police.example", "--org", "Westshire Police",
        "--role", "practitioner", "--name", "PC Olu Ade", "--team", "Child Protection",
    )  # fmt: skip
    steps = [
        caseroom("init"),
        caseroom("org", "add", "Westshire Police", "--kind", "police"),
        caseroom(*add_olu, stdin=STRONG + "\n"),
        caseroom("token", "create", "olu.officer@police.example"),
        caseroom("audit", "verify"),
    ]
    for step in steps:
        assert step.returncode == 0, (step.args, step.stdout, step.stderr)
    assert stat.S_IMODE((data_dir / "secret.key").stat().st_mode) == 0o600
    token = steps[3].stdout.rstrip("\n").rsplit("\n", 1)[-1]
    assert "3 records verified" in steps[4].stdout  # organisation, user, token

    weak = caseroom(
        "user", "add", "weak@police.example", "--org", "Westshire Police",
        "--role", "practitioner", "--name", "Weak", stdin="password1234\n",
    )  # fmt: skip
    assert weak.returncode != 0
    assert "too common" in weak.stderr

    app = Caseroom.build(fresh_settings(data_dir, empty_database))
    try:
        with TestClient(create_app(caseroom=app)) as client:
            me = client.get("/api/v1/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200
        assert me.json()["email"] == "olu.officer@police.example"
        assert me.json()["organisation"]["name"] == "Westshire Police"
    finally:
        app.db.dispose()


# --- issue #14: the front door and integration accounts ---------------------------------------


def test_org_front_door_makes_the_team_its_triagers_and_is_audited(
    cli: Cli, app: Caseroom
) -> None:
    result = cli("org", "front-door", COUNCIL, "--team", "Duty and Assessment")
    assert result.code == 0, result.err
    with app.db.session() as session:
        org = session.exec(select(Organisation).where(Organisation.name == COUNCIL)).one()
        team = session.exec(select(Team).where(Team.id == org.front_door_team_id)).one()
    assert team.name == "Duty and Assessment"
    assert (events(app)[-1].action, events(app)[-1].resource_id) == ("set_front_door", org.id)
    refused = cli("org", "front-door", "Northshire Police", "--team", "PPU")
    assert refused.code != 0 and "Only a local authority" in refused.err


def test_an_integration_account_is_made_from_the_command_line_and_sends_with_its_token(
    cli: Cli, app: Caseroom, client: TestClient
) -> None:
    made = cli(
        "user", "add", "ed.link@nhs.example", "--org", "Northshire NHS Foundation Trust",
        "--role", "integration", "--name", "Emergency department link", stdin=STRONG + "\n",
    )  # fmt: skip
    assert made.code == 0, made.err
    token = cli("token", "create", "ed.link@nhs.example").out.strip().splitlines()[-1]
    sent = client.post(
        "/api/v1/agency-events",
        headers={"Authorization": f"Bearer {token}"},
        json={"type": "unscheduled_care_attendance", "occurred_at": "2026-11-25T02:00:00Z",
              "child": {"nhs_number": "9912003888"}, "summary": "Seen in ED overnight.",
              "sensitivity": "room", "reference": "ED-2026-1"},
    )  # fmt: skip
    assert sent.status_code == 201, sent.text
    assert sent.json()["known"] is True  # Lily
