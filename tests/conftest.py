"""Fixtures: a fresh database per test (SQLite, or PostgreSQL when
CASEROOM_TEST_DATABASE_URL is set), copied from a template that was migrated and seeded
with the demo once per run, so each test starts from the same known world quickly."""

from __future__ import annotations

import contextlib
import dataclasses
import os
import queue
import secrets
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
import pytest
import uvicorn
from sqlalchemy.engine import make_url
from sqlmodel import select
from starlette.testclient import TestClient

from tests.mailbox import Mailbox
from workspace.access import Access, Origin
from workspace.app import create_app
from workspace.asgi import UVICORN_OPTIONS, create_asgi
from workspace.cli import migrate
from workspace.clock import clock
from workspace.models import User
from workspace.ratelimit import sign_in_limiter, token_limiter
from workspace.services import accounts, demo
from workspace.services.rooms import existing_room_limiter
from workspace.settings import Settings, _normalise_database_url
from workspace.state import Caseroom

PG_URL = os.environ.get("CASEROOM_TEST_DATABASE_URL")
SECRET = secrets.token_hex(32)

# Tests never depend on the time of day (issue #9): every test starts at noon UK time on a
# Wednesday in winter (GMT), far from the 08:00 digests; the demo template is seeded an hour
# before. The app's clock runs on from there; nothing reads the wall clock (test_clock.py).
TEST_START = datetime(2026, 11, 25, 12, 0, tzinfo=UTC)
SEEDED_AT = TEST_START - timedelta(hours=1)
clock.start_at(SEEDED_AT)


def _pg_admin(url: str) -> psycopg.Connection:
    u = make_url(_normalise_database_url(url))
    return psycopg.connect(
        host=u.host,
        port=u.port or 5432,
        user=u.username,
        dbname=u.database or "postgres",
        password=u.password,
        autocommit=True,
    )


def _pg_url(name: str) -> str:
    assert PG_URL
    return str(
        make_url(_normalise_database_url(PG_URL))
        .set(database=name)
        .render_as_string(hide_password=False)
    )


@pytest.fixture(scope="session")
def template(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """Migrate and seed the demo once; every test gets a copy."""
    base = tmp_path_factory.mktemp("template")
    if PG_URL:
        name = f"caseroom_tmpl_{os.getpid()}"
        with _pg_admin(PG_URL) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}"')
            conn.execute(f'CREATE DATABASE "{name}"')
        url = _pg_url(name)
    else:
        url = f"sqlite:///{base / 'template.db'}"
    settings = Settings(data_dir=base, database_url=_normalise_database_url(url), secret_key=SECRET)
    clock.start_at(SEEDED_AT)
    migrate(settings.database_url)
    app = Caseroom.build(settings)
    password = demo.seed(app)
    assert password
    app.db.dispose()
    global _dropper, _copier
    template_name = url.rsplit("/", 1)[-1]
    _dropper = _Dropper(PG_URL) if PG_URL else None
    _copier = _Copier(PG_URL, template_name) if PG_URL else None
    yield {"url": settings.database_url, "password": password, "name": template_name}
    if _copier is not None and _dropper is not None:
        for unused in _copier.close():
            _dropper.drop(unused)
    if _dropper is not None:
        _dropper.close()
    if PG_URL:
        with _pg_admin(PG_URL) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{url.rsplit("/", 1)[-1]}" WITH (FORCE)')


_counter = iter(range(1_000_000))


class _Dropper:
    """Drops each test's PostgreSQL database on a thread of its own: a DROP DATABASE takes
    ~0.1 s here (a checkpoint), which every test would otherwise wait for in teardown."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.names: queue.Queue[str | None] = queue.Queue()
        self.failures: list[str] = []
        self.thread = threading.Thread(target=self._run, name="drop-databases", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with _pg_admin(self.url) as conn:
            while (name := self.names.get()) is not None:
                try:
                    conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
                except psycopg.Error as exc:
                    self.failures.append(f"{name}: {exc}")

    def drop(self, name: str) -> None:
        self.names.put(name)

    def close(self) -> None:
        self.names.put(None)
        self.thread.join(timeout=120)
        assert not self.failures, self.failures


_dropper: _Dropper | None = None


class _Copier:
    """Copies the template for the next tests on a thread of its own while the current
    one runs: a CREATE DATABASE ... TEMPLATE takes ~0.5 s here (PostgreSQL writes the
    whole copy to its WAL), which every test waited for in setup."""

    AHEAD = 2

    def __init__(self, url: str, template: str) -> None:
        self.url, self.template = url, template
        self.ready: queue.Queue[str | psycopg.Error] = queue.Queue(maxsize=self.AHEAD)
        self.stop = threading.Event()
        self.left: list[str] = []
        self.thread = threading.Thread(target=self._run, name="copy-template", daemon=True)
        self.thread.start()

    def _run(self) -> None:
        with _pg_admin(self.url) as conn:
            while not self.stop.is_set():
                name = f"caseroom_t_{os.getpid()}_{next(_counter)}"
                made: str | psycopg.Error = name
                try:
                    conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{self.template}"')
                except psycopg.Error as exc:
                    made = exc
                while True:
                    try:
                        self.ready.put(made, timeout=0.2)
                        break
                    except queue.Full:
                        if self.stop.is_set():
                            if isinstance(made, str):
                                self.left.append(made)
                            return

    def take(self) -> str:
        made = self.ready.get(timeout=120)
        if isinstance(made, psycopg.Error):
            raise made
        return made

    def close(self) -> list[str]:
        """Stop; the copies made and never used (to drop)."""
        self.stop.set()
        unused: list[str] = []
        while self.thread.is_alive():
            with contextlib.suppress(queue.Empty):
                made = self.ready.get(timeout=0.2)
                if isinstance(made, str):
                    unused.append(made)
        while not self.ready.empty():
            made = self.ready.get_nowait()
            if isinstance(made, str):
                unused.append(made)
        return unused + self.left


_copier: _Copier | None = None


@pytest.fixture
def settings(
    template: dict[str, str], tmp_path: Path, request: pytest.FixtureRequest
) -> Iterator[Settings]:
    """A copy of the migrated, seeded template database; in modules marked `mail`, every
    app of the test sends to the test's real SMTP server (`mailbox`)."""
    if PG_URL:
        assert _copier is not None
        name = _copier.take()
        url = _pg_url(name)
    else:
        shutil.copy(template["url"].removeprefix("sqlite:///"), tmp_path / "caseroom.db")
        url = f"sqlite:///{tmp_path / 'caseroom.db'}"
        name = ""
    settings = Settings(
        data_dir=tmp_path, database_url=_normalise_database_url(url), secret_key=SECRET
    )
    if request.node.get_closest_marker("mail"):
        settings = dataclasses.replace(settings, smtp_url=request.getfixturevalue("mailbox").url)
    yield settings
    if _dropper is not None:
        _dropper.drop(name)


@pytest.fixture
def mailbox() -> Iterator[Mailbox]:
    """A real SMTP server (aiosmtpd) for this test."""
    with Mailbox() as box:
        yield box


@pytest.fixture
def quiet(app: Caseroom, mailbox: Mailbox) -> None:
    """The demo's "you were added" emails have gone out; the mailbox starts empty."""
    from tests.mailing import empty_outbox  # (tests.mailing imports this module)

    empty_outbox(app, mailbox)


@pytest.fixture
def app(settings: Settings) -> Iterator[Caseroom]:
    caseroom = Caseroom.build(settings)
    yield caseroom
    caseroom.db.dispose()


@pytest.fixture(autouse=True)
def _fresh_clock_and_limits() -> Iterator[None]:
    clock.start_at(TEST_START)
    yield
    clock.start_at(TEST_START)
    sign_in_limiter.reset()
    token_limiter.reset()
    existing_room_limiter.reset()


@pytest.fixture
def password(template: dict[str, str]) -> str:
    return template["password"]


@pytest.fixture
def client(app: Caseroom) -> Iterator[TestClient]:
    with TestClient(create_app(caseroom=app), base_url="http://testserver") as c:
        yield c


class Tokens:
    """API tokens for demo users, made on first use."""

    def __init__(self, app: Caseroom) -> None:
        self.app = app
        self._cache: dict[str, str] = {}

    def __call__(self, email: str) -> dict[str, str]:
        if email not in self._cache:
            with self.app.db.session() as session:
                user = session.exec(select(User).where(User.email == email)).one()
                access = Access(self.app, session, user, Origin("cli"))
                self._cache[email] = accounts.create_token(access, user, "test")
                session.commit()
        return {"Authorization": f"Bearer {self._cache[email]}"}


@pytest.fixture
def auth(app: Caseroom) -> Tokens:
    return Tokens(app)


def give_second_factor(app: Caseroom, email: str) -> str:
    """The person has set up an authenticator app, as a guest must (issue #5): their API
    tokens work as a guest, and signing in asks for a code. Returns the TOTP secret."""
    with app.db.session() as session:
        user = session.exec(select(User).where(User.email == email)).one()
        if not user.totp_enabled:
            accounts.begin_totp(app, session, user)
            user.totp_enabled = True
            session.add(user)
            session.commit()
        assert user.totp_secret_sealed
        return app.keys.unseal(user.totp_secret_sealed)


def user_by_email(app: Caseroom, email: str) -> User:
    with app.db.session() as session:
        return session.exec(select(User).where(User.email == email)).one()


# Demo people, by what they are (tests read better with names than emails).
SARAH = "sarah.social@council.example"  # lead of both rooms
MARK = "mark.manager@council.example"  # Sarah's team manager
IRIS = "iris.ig@council.example"  # council IG lead
OMAR = "omar.other@council.example"  # council practitioner in no room
FAY = "fay.frontdoor@council.example"  # council front door (MASH) triager, in no room
ALEX = "alex.admin@council.example"  # council admin
PETE = "pete.police@police.example"  # police, member of Jamie's room
PRIYA = "priya.manager@police.example"  # police team manager
HANA = "hana.health@nhs.example"  # health, member of both rooms
DAN = "dan.dsl@oakfield.example"  # school DSL, member of Jamie's room
HOLLY = "holly.housing@homes.example"  # housing, in no room
# The body of a removal (DELETE /rooms/{id}/members/{user_id}): the lead says why.
REMOVAL = {"reason": "No longer working with the family"}


# --- a real server for browsers and socket clients -------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class LiveServer:
    def __init__(self, app: Caseroom) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        config = uvicorn.Config(
            create_asgi(caseroom=app),
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="on",
            # Connections still open at the end (a client that never said goodbye) are
            # closed after this, so the thread ends with its transports closed rather than
            # leaving them to be garbage-collected during some later test.
            timeout_graceful_shutdown=5,
            **UVICORN_OPTIONS,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("live server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(timeout=15)
        assert not self.thread.is_alive(), "the live server did not stop"


@pytest.fixture
def live_server(app: Caseroom) -> Iterator[LiveServer]:
    with LiveServer(app) as server:
        yield server


# Browser fixtures live in tests/browsing.py, and the people sharing encrypted files in
# tests/file_world.py; importing them here shares them with every test module.
from tests.browsing import browser, visit  # noqa: E402, F401
from tests.file_world import world  # noqa: E402, F401
