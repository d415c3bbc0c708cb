"""DESIGN.md §4, the audit log's witness, as tests (issue #9, item 2).

Someone who can write the database can drop the append-only trigger, cut the log's tail,
delete the checkpoint rows and move the chain head back: the database alone then looks
intact. So checkpoints are signed with a key of their own (not derived from the MAC key,
its public half published by `caseroom audit public-key`) and also appended to a witness
file outside the database. `caseroom audit verify` compares the log with the witness and
names what is missing or rewritten, a witness line whose signature fails, a witness that
is gone, and an append-only trigger that is gone; `caseroom init` puts the trigger back.
Checkpoints signed before the separate key existed (with the key derived from the server
secret) still verify, named by their key id.
"""

from __future__ import annotations

import dataclasses
import hashlib
import os
import stat
import threading
from datetime import datetime, timedelta

import nacl.signing
import pytest
from sqlalchemy import Connection, delete, insert, update
from sqlmodel import col
from starlette.testclient import TestClient

from tests.conftest import IRIS, SECRET, Tokens
from tests.support import Cli, as_attacker, events, head_seq
from workspace import audit
from workspace.audit_witness import WitnessEntry
from workspace.clock import clock, iso
from workspace.crypto import Keys, load_signing_key
from workspace.models import AuditCheckpoint, AuditEvent, AuditHead
from workspace.settings import Settings
from workspace.state import Caseroom


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    return Cli(monkeypatch, capsys, settings)


def append_until(app: Caseroom, seq: int) -> None:
    with app.db.session() as session:
        while head_seq(app) < seq:
            app.audit.append(
                session, action="filler", resource_type="test", outcome="allowed", channel="cli"
            )
            session.commit()


def checkpoint(app: Caseroom) -> AuditCheckpoint:
    with app.db.session() as session:
        cp = app.audit.checkpoint(session)
        session.commit()
    assert cp is not None
    return cp


def witness_entries(app: Caseroom) -> list[WitnessEntry | None]:
    return [line.entry for line in app.audit.witness.read() or []]


def drop_append_only_triggers(conn: Connection) -> None:
    """What the reviewer did: drop the triggers for good (not only for one transaction)."""
    for table in ("audit_event", "audit_checkpoint"):
        if conn.dialect.name == "postgresql":
            conn.exec_driver_sql(f"DROP TRIGGER {table}_append_only ON {table}")
        else:
            for verb in ("update", "delete"):
                conn.exec_driver_sql(f"DROP TRIGGER {table}_no_{verb}")


def truncate_to(conn: Connection, keep: AuditEvent) -> None:
    """Delete every record after `keep` and every checkpoint, and move the head back."""
    conn.execute(delete(AuditEvent).where(col(AuditEvent.seq) > keep.seq))
    conn.execute(delete(AuditCheckpoint))
    conn.execute(update(AuditHead).values(seq=keep.seq, mac=keep.mac))


# --- the reviewer's reproduction --------------------------------------------------------------


def test_truncating_the_log_and_its_checkpoints_with_the_trigger_dropped_is_caught(
    app: Caseroom, cli: Cli
) -> None:
    first = checkpoint(app)
    append_until(app, first.seq + 20)
    last = checkpoint(app)
    append_until(app, last.seq + 3)  # a tail no checkpoint covers yet
    keep = events(app)[first.seq - 6]
    with app.db.engine.begin() as conn:
        drop_append_only_triggers(conn)
        truncate_to(conn, keep)  # no replica role, no savepoint: the triggers are gone

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"BROKEN at record seq {keep.seq + 1}" in result.err
    assert f"records {keep.seq + 1} to {last.seq} are missing" in result.err
    assert "the witness (witness line 2" in result.err
    assert "append-only trigger(s) missing or disabled: audit_event_" in result.err
    assert "`caseroom init` restores them" in result.err

    restored = cli("init")

    assert restored.code == 0, restored.err
    assert "Restored the audit log's append-only trigger(s)" in restored.out
    again = cli("audit", "verify")
    assert again.code == 1
    assert f"records {keep.seq + 1} to {last.seq} are missing" in again.err
    assert "trigger" not in again.err
    with app.db.session() as session, pytest.raises(Exception, match="append-only"):
        session.connection().execute(delete(AuditEvent))


def test_the_api_reports_the_truncation_with_its_contract_kept(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    headers = auth(IRIS)
    cp = checkpoint(app)
    keep = events(app)[cp.seq - 4]
    with as_attacker(app) as conn:
        truncate_to(conn, keep)

    body = client.get("/api/v1/audit/verify", headers=headers).json()

    # The review itself was recorded first, after the rewound head.
    reviewed = keep.seq + 1
    assert (body["ok"], body["checked"], body["first_bad"]) == (False, reviewed, None)
    assert body["first_bad_seq"] == reviewed + 1
    assert f"records {reviewed + 1} to {cp.seq} are missing" in body["reason"]
    assert body["problems"][0] == body["reason"]


def test_a_rewrite_that_removed_the_database_checkpoints_differs_from_the_witness(
    app: Caseroom, cli: Cli
) -> None:
    """Someone holding the MAC key rewrites a record and every MAC after it, and deletes
    the checkpoint rows that would have caught it: the witness still holds the real head."""
    cp = checkpoint(app)
    log = events(app)
    victim, prev = log[4], log[3].mac
    with as_attacker(app) as conn:
        for event in log[4:]:
            if event.seq == victim.seq:
                event.action = "list_rooms"
            event.prev_mac = prev
            event.mac = app.keys.audit_mac(prev, audit.canonical(event))
            conn.execute(
                update(AuditEvent)
                .where(col(AuditEvent.seq) == event.seq)
                .values(action=event.action, prev_mac=event.prev_mac, mac=event.mac)
            )
            prev = event.mac
        conn.execute(update(AuditHead).values(mac=prev))
        conn.execute(delete(AuditCheckpoint))

    result = cli("audit", "verify")

    assert result.code == 1
    at_cp = log[cp.seq - 1]
    assert f"record seq {cp.seq} (id {at_cp.id})" in result.err
    assert "differs from the witness (witness line 1" in result.err


# --- the witness file itself ---------------------------------------------------------------


def test_every_checkpoint_is_appended_to_the_witness_once_committed(app: Caseroom) -> None:
    assert app.audit.witness.read() is None  # no checkpoint yet, no witness yet
    first = checkpoint(app)
    append_until(app, first.seq + 2)
    second = checkpoint(app)
    with app.db.session() as session:  # a checkpoint whose transaction rolls back
        append_until(app, second.seq + 1)
        assert app.audit.checkpoint(session) is not None
        session.rollback()

    assert witness_entries(app) == [audit.witness_entry(first), audit.witness_entry(second)]
    assert stat.S_IMODE(os.stat(app.audit.witness.path).st_mode) == 0o600


def test_a_witness_line_whose_signature_fails_is_named(app: Caseroom, cli: Cli) -> None:
    cp = checkpoint(app)
    path = app.audit.witness.path
    line = path.read_text()
    forged = line.replace(f'"seq":{cp.seq}', f'"seq":{cp.seq + 100}')
    path.write_text(line + forged + "not a checkpoint\n")

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"witness line 2 (record {cp.seq + 100}) has a bad signature" in result.err
    assert "witness line 3 is not a signed checkpoint" in result.err


def test_a_missing_witness_is_reported_while_the_database_has_checkpoints(
    app: Caseroom, cli: Cli
) -> None:
    checkpoint(app)
    app.audit.witness.path.unlink()
    assert cli("audit", "verify").code == 0  # a checkpoint that just committed: not yet
    clock.advance(audit.WITNESS_GRACE + timedelta(seconds=1))

    result = cli("audit", "verify")

    assert result.code == 1
    assert "the witness file is missing" in result.err  # the path: not over the API
    assert f"no witness file at {app.audit.witness.path}" in result.err
    assert "the database holds 1 signed checkpoint(s)" in result.err


def test_a_witness_cut_back_is_reported(app: Caseroom, cli: Cli) -> None:
    first = checkpoint(app)
    append_until(app, first.seq + 1)
    checkpoint(app)
    lines = app.audit.witness.path.read_text().splitlines(keepends=True)
    app.audit.witness.path.write_text(lines[1])
    clock.advance(audit.WITNESS_GRACE + timedelta(seconds=1))

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"lacks 1 checkpoint(s) the database holds (records {first.seq})" in result.err


# --- the signing key -------------------------------------------------------------------------


def test_the_signing_key_is_its_own_file_and_its_public_half_verifies_the_witness(
    app: Caseroom, cli: Cli
) -> None:
    key_file = app.settings.audit_signing_key_path
    assert key_file.parent == app.settings.data_dir
    assert stat.S_IMODE(os.stat(key_file).st_mode) == 0o600
    cp = checkpoint(app)

    result = cli("audit", "public-key")

    assert result.code == 0
    public_key = result.out.splitlines()[0]
    assert app.keys.signing_key_id in result.out
    [entry] = witness_entries(app)
    assert entry is not None
    # Anyone with the published key checks a signed head without trusting the server.
    nacl.signing.VerifyKey(bytes.fromhex(public_key)).verify(
        audit.checkpoint_statement(entry.seq, entry.mac, entry.signed_at),
        bytes.fromhex(entry.signature),
    )
    assert (entry.seq, entry.key_id) == (cp.seq, app.keys.signing_key_id)


def test_processes_starting_together_all_get_the_one_signing_key(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> None:
    """The key appears under its name only once written whole, so no process starting at
    the same moment reads a half-written key or makes a second one."""
    fresh = dataclasses.replace(
        settings, audit_signing_key_file=tmp_path_factory.mktemp("race") / "signing.key"
    )
    start = threading.Barrier(8)
    seeds: list[bytes] = []

    def load() -> None:
        start.wait()
        seeds.append(load_signing_key(fresh))

    threads = [threading.Thread(target=load) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(seeds) == 8 and len(set(seeds)) == 1
    assert [p.name for p in fresh.audit_signing_key_path.parent.iterdir()] == ["signing.key"]


def test_the_signing_key_can_live_elsewhere(
    settings: Settings, tmp_path_factory: pytest.TempPathFactory, cli: Cli
) -> None:
    elsewhere = tmp_path_factory.mktemp("keys") / "signing.key"
    cli.monkeypatch.setenv("CASEROOM_AUDIT_SIGNING_KEY_FILE", str(elsewhere))

    result = cli("audit", "public-key")

    assert result.code == 0
    assert stat.S_IMODE(os.stat(elsewhere).st_mode) == 0o600
    assert not (settings.data_dir / "audit-signing.key").exists()
    assert str(elsewhere) in result.out


def test_whoever_holds_the_mac_key_cannot_sign_a_checkpoint(app: Caseroom, cli: Cli) -> None:
    """The server secret (hence the MAC key) gives no power over checkpoints: a forger who
    has it, and a signing key of their own, signs heads verify does not accept."""
    forger = Keys(SECRET.encode(), os.urandom(32))
    assert forger.audit_mac_key == app.keys.audit_mac_key
    seq, mac = head_seq(app), events(app)[-1].mac
    at = clock.now()
    entry = WitnessEntry(
        seq, mac, iso(at) or "", forger.signing_key_id,
        forger.sign(audit.checkpoint_statement(seq, mac, at)),
    )  # fmt: skip
    app.audit.witness.append([entry])

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"witness line 1 (record {seq}) is signed by an unknown key" in result.err


def _legacy_signature(seq: int, mac: str, at: datetime) -> str:
    """How a deployment signed checkpoints before the separate key: with a key derived
    from the server secret."""
    seed = hashlib.blake2b(SECRET.encode(), key=b"audit-checkpoint", digest_size=32).digest()
    statement = audit.checkpoint_statement(seq, mac, at)
    return nacl.signing.SigningKey(seed).sign(statement).signature.hex()


def _insert_legacy_checkpoint(app: Caseroom) -> int:
    seq, mac, at = head_seq(app), events(app)[-1].mac, clock.now()
    with app.db.engine.begin() as conn:  # as an old release wrote it
        conn.execute(
            insert(AuditCheckpoint).values(
                seq=seq, mac=mac, signed_at=at, key_id=app.keys.key_id,
                signature=_legacy_signature(seq, mac, at),
            )
        )  # fmt: skip
    return seq


def test_checkpoints_signed_before_the_separate_key_still_verify_naming_their_key(
    app: Caseroom, cli: Cli
) -> None:
    _insert_legacy_checkpoint(app)
    append_until(app, head_seq(app) + 2)
    checkpoint(app)

    result = cli("audit", "verify")

    assert result.code == 0, result.err
    legacy, current = app.keys.legacy_signing_key_id, app.keys.signing_key_id
    assert f"key {legacy} (legacy, derived from the server secret): 1 checkpoint(s)" in result.out
    assert f"key {current} (audit signing key): 1 checkpoint(s), 1 witness line(s)" in result.out


def test_a_legacy_signed_checkpoint_after_the_signing_key_took_over_is_refused(
    app: Caseroom, cli: Cli
) -> None:
    """Only someone holding the server secret could make one now."""
    first = checkpoint(app)
    append_until(app, first.seq + 2)
    seq = _insert_legacy_checkpoint(app)

    result = cli("audit", "verify")

    assert result.code == 1
    assert (
        f"the checkpoint at {seq} is signed by the legacy key {app.keys.legacy_signing_key_id}"
        in result.err
    )


# --- the append-only trigger -------------------------------------------------------------------


def test_verify_reports_a_disabled_trigger_and_init_enables_it(app: Caseroom, cli: Cli) -> None:
    if app.settings.is_sqlite:
        pytest.skip("SQLite triggers cannot be disabled, only dropped (covered above)")
    with app.db.engine.begin() as conn:
        conn.exec_driver_sql("ALTER TABLE audit_event DISABLE TRIGGER audit_event_append_only")

    result = cli("audit", "verify")

    assert result.code == 1
    assert "missing or disabled: audit_event_append_only" in result.err
    assert cli("init").code == 0
    assert cli("audit", "verify").code == 0
