"""Abandoned uploads (issue #10). A file declared by POST /rooms/{id}/files whose content
never arrives is no item of the room: readers are not shown it. After a day by the app's
clock it is deleted with its sealed keys, audited as an act of the system, by the worker
and by `caseroom files sweep`; temporary files a crash left in the store go after as long."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select

from tests.conftest import HANA, SARAH, Tokens
from tests.support import Cli
from tests.test_chat_sockets import jamie
from tests.test_files import World, _post_only, status_of
from workspace import audit
from workspace.clock import clock
from workspace.mail import worker
from workspace.models import AuditEvent, EncryptedFile, SealedKey
from workspace.services.files.store import store_for
from workspace.settings import Settings
from workspace.state import Caseroom


@pytest.fixture
def room_id(client: Any, auth: Tokens) -> str:
    return jamie(client, auth)


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    return Cli(monkeypatch, capsys, settings)


def declared(app: Caseroom) -> set[str]:
    with app.db.session() as session:
        return set(session.exec(select(EncryptedFile.id)).all())


def keys_of(app: Caseroom, file_id: str) -> list[SealedKey]:
    with app.db.session() as session:
        return list(session.exec(select(SealedKey).where(SealedKey.file_id == file_id)).all())


def test_a_declared_file_whose_content_never_came_is_shown_to_no_reader(
    world: World, room_id: str
) -> None:
    hana = world(HANA)
    file_id = _post_only(world, room_id, b"never sent")
    assert [f["id"] for f in hana.api.json("GET", f"/rooms/{room_id}/files")["items"]] == []
    assert status_of(lambda: hana.api.json("GET", f"/files/{file_id}")) == 404
    # Its uploader may still send it, and is told it has not arrived.
    assert world(SARAH).api.json("GET", f"/files/{file_id}")["stored"] is False


def test_sweep_deletes_declarations_older_than_a_day_with_their_keys_audited_as_the_system(
    world: World, room_id: str, app: Caseroom, cli: Cli
) -> None:
    world(HANA)
    stored = world.put(SARAH, room_id, b"arrived")
    old = _post_only(world, room_id, b"never sent")
    assert len(keys_of(app, old)) == 2
    clock.advance(timedelta(hours=23))
    young = _post_only(world, room_id, b"sent tomorrow, perhaps")
    assert cli("files", "sweep").last_line.startswith("0 abandoned upload(s) deleted")
    clock.advance(timedelta(hours=2))  # `old` is 25 hours old, `young` 2
    before = max(e.seq for e in _events(app))
    swept = cli("files", "sweep")
    assert swept.code == 0, swept.err
    assert "1 abandoned upload(s) deleted" in swept.out
    assert declared(app) >= {stored, young} and old not in declared(app)
    assert keys_of(app, old) == [] and len(keys_of(app, young)) == 2
    [event] = [e for e in _events(app) if e.seq > before]
    assert (event.action, event.resource_type, event.resource_id, event.room_id) == (
        "abandoned_upload_deleted", "file", old, room_id
    )
    assert (event.actor_id, event.outcome, event.channel) == (None, "allowed", "cli")
    assert world(SARAH).id in (event.purpose or "")
    with app.db.session() as session:
        assert audit.verify(session, app.keys, app.audit.witness).ok
    # The uploader's id is now unknown, like any other.
    assert status_of(lambda: world(SARAH).api.json("GET", f"/files/{old}")) == 404
    assert world.get(HANA, stored) == b"arrived"


def test_the_worker_sweeps_too(world: World, room_id: str, app: Caseroom) -> None:
    world(HANA)
    old = _post_only(world, room_id, b"never sent")
    clock.advance(timedelta(hours=25))
    worker.housekeeping(app, worker.Stats())
    assert old not in declared(app)
    with app.db.session() as session:
        actions = session.exec(
            select(AuditEvent.action).where(col(AuditEvent.resource_id) == old)
        ).all()
    assert "abandoned_upload_deleted" in actions


def test_stray_temporary_files_go_once_a_day_old_by_the_apps_clock(
    app: Caseroom, cli: Cli
) -> None:
    """A crash mid-upload leaves a temporary file: its name says when it was begun (by the
    app's clock, not the file system's), so the sweep knows its age. One left by an older
    version, without a time in its name, is given the present and goes a day later."""
    store = store_for(app.settings, app.clock)
    crashed = store.begin()
    crashed.write_bytes(b"half an upload")
    assert "0 stray temporary file(s) removed" in cli("files", "sweep").out
    clock.advance(timedelta(hours=12))
    legacy = store.incoming / "3f9a0c1e2b7d4e5f8a9b0c1d2e3f4a5b.part"
    legacy.write_bytes(b"from before")
    assert "0 stray temporary file(s) removed" in cli("files", "sweep").out
    assert crashed.exists() and not legacy.exists()
    [renamed] = [p for p in store.incoming.iterdir() if p.name.endswith(legacy.name)]
    clock.advance(timedelta(hours=13))  # `crashed` is 25 hours old, `renamed` 13
    assert "1 stray temporary file(s) removed" in cli("files", "sweep").out
    assert not crashed.exists() and renamed.exists()
    clock.advance(timedelta(hours=12))
    assert "1 stray temporary file(s) removed" in cli("files", "sweep").out
    assert list(store.incoming.iterdir()) == []


def _events(app: Caseroom) -> list[AuditEvent]:
    with app.db.session() as session:
        return list(session.exec(select(AuditEvent).order_by(col(AuditEvent.seq))).all())
