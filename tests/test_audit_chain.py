"""DESIGN.md §4, the audit log, as tests.

- Every read writes one event: actor, actor organisation, action, resource type and id,
  room and child, outcome, purpose, channel, request id (the response's X-Request-Id),
  IP and user agent.
- The events form a hash chain (mac = HMAC(K, prev_mac + record)) with Ed25519-signed
  checkpoints; `caseroom audit verify` recomputes it and names the first broken record,
  whether a record was edited, deleted, the tail truncated, or the chain rewritten by
  someone who holds K.
- The table is append-only for the application (triggers on SQLite and PostgreSQL).
- If the audit write fails, the read fails: no case data leaves without its record.
- Appends are serialised through one chain head, so concurrent requests leave one
  unbroken chain.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import delete, text, update
from sqlalchemy.exc import DBAPIError
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.conftest import DAN, HANA, IRIS, MARK, OMAR, PETE, SARAH, Tokens, user_by_email
from tests.support import Cli, as_attacker, event_count, events, head_seq
from workspace import audit
from workspace.access import Access, Origin
from workspace.audit import Recorded
from workspace.audit_witness import WitnessEntry
from workspace.clock import clock
from workspace.errors import NotFound
from workspace.models import AuditCheckpoint, AuditEvent, AuditHead, Child, Message, Room
from workspace.settings import Settings
from workspace.state import Caseroom

JAMIE = "Jamie Carter"
USER_AGENT = "caseroom-tests/1.0 (audit)"


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    return Cli(monkeypatch, capsys, settings)


def room_of(app: Caseroom, child_name: str) -> Room:
    with app.db.session() as session:
        return session.exec(
            select(Room)
            .join(Child, col(Child.id) == col(Room.child_id))
            .where(Child.name == child_name)
        ).one()


def append_until(app: Caseroom, seq: int) -> None:
    """Extend the chain with filler events until its head is at `seq`."""
    with app.db.session() as session:
        while head_seq(app) < seq:
            app.audit.append(
                session, action="filler", resource_type="test", outcome="allowed", channel="cli"
            )
            session.commit()


def witness_entries(app: Caseroom) -> list[WitnessEntry | None]:
    return [line.entry for line in app.audit.witness.read() or []]


def write_checkpoint(app: Caseroom) -> AuditCheckpoint:
    with app.db.session() as session:
        cp = app.audit.checkpoint(session)
        session.commit()
    assert cp is not None
    return cp


# --- every read writes one event with the §4 fields ---------------------------------------

READS = [
    # path, action, resource type, purpose recorded
    ("/rooms/{room}", "view", "room", "core group preparation"),
    ("/rooms/{room}/messages", "list_messages", "room", "core group preparation"),
    ("/rooms/{room}/members", "list_members", "room", "core group preparation"),
    # the access log records whose activity was looked at: the filter
    ("/audit?room_id={room}", "list_audit", "audit", "access review: room_id={room}"),
]


@pytest.mark.parametrize(("path", "action", "resource_type", "purpose"), READS)
def test_an_api_read_writes_one_event_with_every_section_4_field(
    client: TestClient,
    auth: Tokens,
    app: Caseroom,
    path: str,
    action: str,
    resource_type: str,
    purpose: str,
) -> None:
    room = room_of(app, JAMIE)
    sarah = user_by_email(app, SARAH)
    headers = {
        **auth(SARAH),
        "User-Agent": USER_AGENT,
        "X-Caseroom-Purpose": "core group preparation",
    }
    before, started = head_seq(app), clock.now()

    response = client.get("/api/v1" + path.format(room=room.id), headers=headers)

    assert response.status_code == 200
    [event] = events(app, after_seq=before)
    assert event.actor_id == sarah.id
    assert event.actor_org_id == sarah.organisation_id
    assert event.actor_team_id == sarah.team_id
    assert event.action == action
    assert event.resource_type == resource_type
    if resource_type == "room":
        assert (event.resource_id, event.room_id, event.child_id) == (
            room.id,
            room.id,
            room.child_id,
        )
    else:  # the access log, filtered to the room
        assert (event.resource_id, event.room_id) == (None, room.id)
    assert event.outcome == "allowed"
    assert event.purpose == purpose.format(room=room.id)
    assert event.channel == "api"
    assert event.request_id == response.headers["X-Request-Id"]
    assert event.ip == "testclient"  # Starlette's TestClient peer address
    assert event.user_agent == USER_AGENT
    assert started <= event.at <= clock.now()
    assert event.at.utcoffset() == timedelta(0)
    assert event.key_id == app.keys.key_id


def test_a_refused_read_is_recorded_with_the_same_fields(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room = room_of(app, JAMIE)
    omar = user_by_email(app, OMAR)
    headers = {**auth(OMAR), "User-Agent": USER_AGENT}
    before = head_seq(app)

    response = client.get(f"/api/v1/rooms/{room.id}", headers=headers)

    assert response.status_code == 404
    [event] = events(app, after_seq=before)
    assert (event.actor_id, event.actor_org_id) == (omar.id, omar.organisation_id)
    assert (event.action, event.outcome, event.channel) == ("view", "denied", "api")
    assert (event.resource_type, event.resource_id, event.room_id) == ("room", room.id, room.id)
    assert event.request_id == response.headers["X-Request-Id"]
    assert (event.ip, event.user_agent) == ("testclient", USER_AGENT)


def test_the_lead_finds_the_event_in_the_access_log_by_its_request_id(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room = room_of(app, JAMIE)
    viewed = client.get(f"/api/v1/rooms/{room.id}", headers=auth(HANA))
    log = client.get(f"/api/v1/audit?room_id={room.id}&action=view", headers=auth(SARAH))
    [item] = [i for i in log.json()["items"] if i["request_id"] == viewed.headers["X-Request-Id"]]
    assert item["actor"]["email"] == HANA
    assert (item["action"], item["outcome"], item["channel"]) == ("view", "allowed", "api")
    [event] = [e for e in events(app) if e.id == item["id"]]
    assert item["hash"] == event.mac


def test_caller_supplied_values_too_long_for_their_columns_are_still_recorded(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    """A header or id of any length must not make the audit write (and so the request)
    fail: PostgreSQL refuses an over-long varchar, so the writer shortens the value."""
    headers = {**auth(SARAH), "X-Caseroom-Purpose": "p" * 5000}
    before = head_seq(app)
    assert client.get("/api/v1/rooms", headers=headers).status_code == 200
    with app.db.session() as session:
        access = Access(app, session, user_by_email(app, SARAH), Origin("api"))
        with pytest.raises(NotFound):
            access.room("x" * 300)
    listing, denied = events(app, after_seq=before)
    assert listing.purpose is not None and listing.purpose.startswith("p" * 1000)
    assert len(listing.purpose) <= 2000
    assert denied.outcome == "denied"
    assert denied.room_id is not None and denied.room_id.startswith("x" * 30)
    assert len(denied.room_id) <= 36
    assert audit_is_intact(app)


# --- `caseroom audit verify` --------------------------------------------------------------


def test_verify_exits_0_on_an_intact_log_and_prints_the_count(app: Caseroom, cli: Cli) -> None:
    result = cli("audit", "verify")
    assert result.code == 0, result.err
    assert f"{event_count(app)} records verified" in result.out
    assert event_count(app) > 20  # the demo's own history


def _other_user(app: Caseroom, event: AuditEvent) -> Any:
    omar = user_by_email(app, OMAR).id
    return omar if event.actor_id != omar else user_by_email(app, SARAH).id


EDITS: dict[str, Callable[[Caseroom, AuditEvent], Any]] = {
    "action": lambda _app, e: "list_rooms" if e.action != "list_rooms" else "view",
    "outcome": lambda _app, e: "denied" if e.outcome == "allowed" else "allowed",
    "purpose": lambda _app, e: "routine check" if e.purpose != "routine check" else None,
    "actor_id": _other_user,  # framing someone else
    "at": lambda _app, e: e.at - timedelta(days=30),  # backdating
}


@pytest.mark.parametrize("column", list(EDITS))
@pytest.mark.parametrize("position", ["first", "middle", "last"])
def test_editing_any_record_makes_verify_fail_and_name_it(
    app: Caseroom, cli: Cli, position: str, column: str
) -> None:
    log = events(app)
    victim = {"first": log[0], "middle": log[len(log) // 2], "last": log[-1]}[position]
    forged = EDITS[column](app, victim)
    with as_attacker(app) as db:
        db.execute(
            update(AuditEvent).where(col(AuditEvent.seq) == victim.seq).values({column: forged})
        )

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"seq {victim.seq} (id {victim.id})" in result.err
    assert "content does not match its MAC" in result.err
    assert f"{victim.seq - 1} records verified before it" in result.err


# Every column of the audit table is covered by the MAC: the chained fields directly, and
# prev_mac through HMAC(K, prev_mac + record); `mac` is the MAC itself.
NOT_CHAINED = {"prev_mac", "mac"}
COLUMNS = [c.name for c in AuditEvent.__table__.columns]  # type: ignore[attr-defined]


def test_the_chained_fields_cover_every_column_of_the_audit_table() -> None:
    assert set(audit.CHAINED_FIELDS) == set(COLUMNS) - NOT_CHAINED
    assert len(audit.CHAINED_FIELDS) == len(set(audit.CHAINED_FIELDS))


def _tampered(event: AuditEvent, field: str) -> Any:
    value = getattr(event, field)
    if field == "at":
        return value - timedelta(days=30)
    if field == "seq":
        return value + 1
    return "tampered" if value is None else value[:-1] + ("x" if value[-1] != "x" else "y")


@pytest.mark.parametrize("field", [c for c in COLUMNS if c not in NOT_CHAINED])
def test_every_chained_field_changes_the_mac(app: Caseroom, field: str) -> None:
    """Whatever the field's value, the record's MAC depends on it."""
    for event in events(app)[:40]:
        forged = event.model_copy(update={field: _tampered(event, field)})
        assert app.keys.audit_mac(event.prev_mac, audit.canonical(forged)) != event.mac


# The reason verify gives, per column edited in place (the others: "content does not match
# its MAC").
REASONS = {
    "key_id": "unknown key id",
    "prev_mac": "does not follow the previous record",
    "mac": "content does not match its MAC",
}


@pytest.mark.parametrize("field", [c for c in COLUMNS if c != "seq"])
def test_editing_any_column_of_a_record_is_caught_and_named(
    app: Caseroom, cli: Cli, field: str
) -> None:
    log = events(app)
    victim = log[len(log) // 2]
    with as_attacker(app) as db:
        db.execute(
            update(AuditEvent)
            .where(col(AuditEvent.seq) == victim.seq)
            .values({field: _tampered(victim, field)})
        )

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"seq {victim.seq} (id " in result.err
    assert REASONS.get(field, "content does not match its MAC") in result.err


def test_renumbering_a_record_is_caught(app: Caseroom, cli: Cli) -> None:
    """The last record moved to the next seq, the head following it: the seq is chained."""
    last = events(app)[-1]
    with as_attacker(app) as db:
        db.execute(
            update(AuditEvent).where(col(AuditEvent.seq) == last.seq).values(seq=last.seq + 1)
        )
        db.execute(update(AuditHead).values(seq=last.seq + 1))

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"seq {last.seq + 1} (id {last.id})" in result.err


def test_editing_the_head_mac_is_caught(app: Caseroom, cli: Cli) -> None:
    with as_attacker(app) as db:
        db.execute(update(AuditHead).values(mac="f" * 64))

    result = cli("audit", "verify")

    assert result.code == 1
    assert "the chain head does not match the last record" in result.err


def test_moving_the_head_forward_is_caught(app: Caseroom, cli: Cli) -> None:
    last = head_seq(app)
    with as_attacker(app) as db:
        db.execute(update(AuditHead).values(seq=last + 5))

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"the chain head is at {last + 5}, the last record is {last}" in result.err


def test_moving_the_head_back_over_records_still_there_is_caught(
    app: Caseroom, cli: Cli
) -> None:
    """The head set to an earlier record's seq and MAC, the records after it left in place:
    verify must not stop at the head and call the shorter chain intact."""
    log = events(app)
    back = log[-4]
    with as_attacker(app) as db:
        db.execute(update(AuditHead).values(seq=back.seq, mac=back.mac))

    result = cli("audit", "verify")

    assert result.code == 1
    assert (
        f"records {back.seq + 1} to {log[-1].seq} lie beyond the chain head at {back.seq}"
        in result.err
    )


def test_deleting_a_record_from_the_middle_is_caught(app: Caseroom, cli: Cli) -> None:
    log = events(app)
    victim, follower = log[len(log) // 2], log[len(log) // 2 + 1]
    with as_attacker(app) as db:
        db.execute(delete(AuditEvent).where(col(AuditEvent.seq) == victim.seq))

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"seq {follower.seq} (id {follower.id})" in result.err
    assert f"record {victim.seq} is missing before it" in result.err


def test_deleting_the_tail_is_caught_by_the_chain_head(app: Caseroom, cli: Cli) -> None:
    last = head_seq(app)
    with as_attacker(app) as db:
        db.execute(delete(AuditEvent).where(col(AuditEvent.seq) > last - 3))

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"record seq {last - 2}" in result.err
    assert "truncated" in result.err


def test_truncating_after_a_signed_checkpoint_is_caught_even_with_the_head_rewound(
    app: Caseroom, cli: Cli
) -> None:
    cp = write_checkpoint(app)
    append_until(app, cp.seq + 5)
    keep = events(app)[cp.seq - 4]  # the attacker keeps everything before seq cp.seq - 2
    assert keep.seq == cp.seq - 3
    with as_attacker(app) as db:
        db.execute(delete(AuditEvent).where(col(AuditEvent.seq) > keep.seq))
        db.execute(update(AuditHead).values(seq=keep.seq, mac=keep.mac))

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"record seq {keep.seq + 1}" in result.err
    assert f"log truncated: records {keep.seq + 1} to {cp.seq} (signed checkpoint)" in result.err


def test_every_256th_append_writes_a_signed_checkpoint(app: Caseroom) -> None:
    append_until(app, audit.CHECKPOINT_EVERY + 1)
    with app.db.session() as session:
        [cp] = session.exec(select(AuditCheckpoint)).all()
        [at_cp] = session.exec(
            select(AuditEvent).where(col(AuditEvent.seq) == audit.CHECKPOINT_EVERY)
        ).all()
    assert (cp.seq, cp.mac) == (audit.CHECKPOINT_EVERY, at_cp.mac)
    assert cp.key_id == app.keys.signing_key_id != app.keys.key_id  # not the MAC key's
    statement = audit.checkpoint_statement(cp.seq, cp.mac, cp.signed_at)
    assert app.keys.verify_signature(statement, cp.signature)
    # ... and the same signed head is in the witness outside the database
    assert witness_entries(app) == [audit.witness_entry(cp)]


def _rewrite_with_the_mac_key(app: Caseroom, victim_seq: int) -> list[AuditEvent]:
    """What someone holding K can do: change a record, recompute its MAC and every MAC
    after it, and move the chain head, so the MAC chain alone is consistent again."""
    log = events(app)
    prev = log[victim_seq - 2].mac if victim_seq > 1 else audit.GENESIS_MAC
    with as_attacker(app) as db:
        for event in log[victim_seq - 1 :]:
            if event.seq == victim_seq:
                event.action = "list_rooms"
            event.prev_mac = prev
            event.mac = app.keys.audit_mac(prev, audit.canonical(event))
            db.execute(
                update(AuditEvent)
                .where(col(AuditEvent.seq) == event.seq)
                .values(action=event.action, prev_mac=event.prev_mac, mac=event.mac)
            )
            prev = event.mac
        db.execute(update(AuditHead).values(mac=prev))
    return log


def test_a_rewrite_by_someone_holding_the_mac_key_is_caught_by_the_signed_checkpoint(
    app: Caseroom, cli: Cli
) -> None:
    append_until(app, audit.CHECKPOINT_EVERY + 10)  # the 256th append signs a checkpoint
    at_checkpoint = events(app)[audit.CHECKPOINT_EVERY - 1]
    _rewrite_with_the_mac_key(app, victim_seq=100)
    # Without the checkpoint the forgery would pass: every MAC matches its record.
    prev = audit.GENESIS_MAC
    for event in events(app):
        assert event.prev_mac == prev
        assert app.keys.audit_mac(prev, audit.canonical(event)) == event.mac
        prev = event.mac

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"seq {at_checkpoint.seq} (id {at_checkpoint.id})" in result.err
    assert "differs from the signed checkpoint" in result.err


def test_moving_the_checkpoint_along_with_the_rewrite_breaks_its_signature(
    app: Caseroom, cli: Cli
) -> None:
    cp = write_checkpoint(app)
    forged = _rewrite_with_the_mac_key(app, victim_seq=5)[cp.seq - 1].mac
    with as_attacker(app) as db:
        db.execute(
            update(AuditCheckpoint).where(col(AuditCheckpoint.seq) == cp.seq).values(mac=forged)
        )

    result = cli("audit", "verify")

    assert result.code == 1
    assert f"the checkpoint at {cp.seq} has a bad signature" in result.err


# --- append-only for the application ------------------------------------------------------


def test_the_application_cannot_update_an_audit_event(app: Caseroom) -> None:
    with app.db.session() as session:
        event = session.exec(select(AuditEvent).where(col(AuditEvent.seq) == 1)).one()
        event.outcome = "denied"
        session.add(event)
        with pytest.raises(DBAPIError, match="append-only"):
            session.flush()
        session.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            session.connection().execute(update(AuditEvent).values(purpose="rewritten"))
    assert audit_is_intact(app)


def test_the_application_cannot_delete_an_audit_event(app: Caseroom) -> None:
    with app.db.session() as session:
        event = session.exec(select(AuditEvent).where(col(AuditEvent.seq) == 1)).one()
        session.delete(event)
        with pytest.raises(DBAPIError, match="append-only"):
            session.flush()
        session.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            session.connection().execute(delete(AuditEvent))
    assert audit_is_intact(app)


def test_the_application_cannot_change_or_remove_a_signed_checkpoint(app: Caseroom) -> None:
    write_checkpoint(app)
    with app.db.session() as session:
        with pytest.raises(DBAPIError, match="append-only"):
            session.connection().execute(update(AuditCheckpoint).values(mac="0" * 64))
        session.rollback()
        with pytest.raises(DBAPIError, match="append-only"):
            session.connection().execute(delete(AuditCheckpoint))
    assert audit_is_intact(app)


def test_the_application_cannot_truncate_the_audit_tables_on_postgresql(app: Caseroom) -> None:
    if app.settings.is_sqlite:
        pytest.skip("SQLite has no TRUNCATE; DELETE is covered above")
    for table in ("audit_event", "audit_checkpoint"):
        with app.db.session() as session, pytest.raises(DBAPIError, match="append-only"):
            session.connection().execute(text(f"TRUNCATE {table}"))
    assert audit_is_intact(app)


def audit_is_intact(app: Caseroom) -> bool:
    with app.db.session() as session:
        result = audit.verify(session, app.keys, app.audit.witness)
    return result.ok and result.checked == event_count(app)


# --- GET /api/v1/audit/verify -------------------------------------------------------------


@pytest.mark.parametrize("email", [MARK, IRIS])
def test_a_team_manager_or_ig_lead_verifies_the_chain_over_the_api(
    client: TestClient, auth: Tokens, app: Caseroom, email: str
) -> None:
    response = client.get("/api/v1/audit/verify", headers=auth(email))
    assert response.status_code == 200
    body = response.json()
    assert {"ok", "checked", "first_bad"} <= body.keys()
    # The check itself is audited, inside the chain it checks.
    assert (body["ok"], body["checked"], body["first_bad"]) == (True, event_count(app), None)
    assert events(app)[-1].action == "review_audit"


def test_the_api_names_the_first_bad_record(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    headers = auth(IRIS)
    victim = events(app)[10]
    with as_attacker(app) as db:
        db.execute(
            update(AuditEvent).where(col(AuditEvent.seq) == victim.seq).values(outcome="denied")
        )
    body = client.get("/api/v1/audit/verify", headers=headers).json()
    assert (body["ok"], body["checked"], body["first_bad"]) == (False, victim.seq - 1, victim.id)


def test_a_practitioner_may_not_verify_the_chain(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    response = client.get("/api/v1/audit/verify", headers=auth(SARAH))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "forbidden"
    last = events(app)[-1]
    assert (last.action, last.outcome) == ("review_audit", "denied")


# --- if the audit write fails, the read fails ---------------------------------------------


def _assert_no_case_data(body: str) -> None:
    for secret in (JAMIE, "9434765919", "Elm Row", "breakfast", "previous conviction"):
        assert secret not in body


def test_when_the_audit_write_fails_the_read_fails_with_no_case_data(
    client: TestClient, auth: Tokens, app: Caseroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = room_of(app, JAMIE)
    headers = auth(SARAH)
    assert client.get(f"/api/v1/rooms/{room.id}", headers=headers).status_code == 200

    def disk_full(*_args: object, **_kwargs: object) -> AuditEvent:
        raise OSError("disk full")

    monkeypatch.setattr(app.audit, "_write", disk_full)
    for path in ("", "/messages", "/members"):
        response = client.get(f"/api/v1/rooms/{room.id}{path}", headers=headers)
        assert response.status_code == 503
        assert response.json() == {
            "error": {
                "code": "audit_unavailable",
                "message": "The audit log could not be written.",
            }
        }
        _assert_no_case_data(response.text)


def test_when_the_database_refuses_the_audit_insert_the_read_fails_too(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room = room_of(app, JAMIE)
    headers = auth(SARAH)
    with app.db.engine.begin() as db:
        db.exec_driver_sql("ALTER TABLE audit_event RENAME TO audit_event_gone")

    response = client.get(f"/api/v1/rooms/{room.id}", headers=headers)

    assert response.status_code == 503
    assert response.json()["error"]["code"] == "audit_unavailable"
    _assert_no_case_data(response.text)


def test_when_the_audit_write_fails_a_write_is_not_kept_either(
    client: TestClient, auth: Tokens, app: Caseroom, monkeypatch: pytest.MonkeyPatch
) -> None:
    room = room_of(app, JAMIE)
    headers = auth(SARAH)
    real_write = app.audit._write

    def fail_after_the_insert(session: Any, events: Sequence[Recorded]) -> None:
        # post_message is recorded twice: the room check, then the new message itself;
        # both are written when the transaction commits, after the message's insert.
        if any(e.resource_type == "message" for e in events):
            raise OSError("disk full")
        real_write(session, events)

    monkeypatch.setattr(app.audit, "_write", fail_after_the_insert)
    response = client.post(
        f"/api/v1/rooms/{room.id}/messages",
        headers=headers,
        json={"body": "Unaudited words", "kind": "note", "sensitivity": "room"},
    )
    assert response.status_code == 503
    with app.db.session() as session:
        kept = session.exec(select(Message).where(Message.body == "Unaudited words")).first()
    assert kept is None


# --- concurrency: one chain head ------------------------------------------------------------


def test_concurrent_audited_reads_leave_one_unbroken_chain(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    jamie, lily = room_of(app, JAMIE), room_of(app, "Lily Morgan")
    readers = {
        SARAH: [f"/rooms/{jamie.id}", f"/rooms/{lily.id}/messages", "/audit"],
        HANA: [f"/rooms/{lily.id}", f"/rooms/{jamie.id}/members"],
        PETE: [f"/rooms/{jamie.id}/messages", f"/rooms/{jamie.id}"],
        DAN: [f"/rooms/{jamie.id}/members"],
    }
    headers = {email: auth(email) for email in readers}  # tokens made before the race
    emails = list(readers)
    threads, per_thread = 8, 25
    before = event_count(app)
    start = threading.Barrier(threads)
    statuses: list[int] = []
    request_ids: list[str] = []
    lock = threading.Lock()

    def reader(n: int) -> None:
        email = emails[n % len(emails)]
        start.wait()
        for i in range(per_thread):
            path = readers[email][i % len(readers[email])]
            response = client.get("/api/v1" + path, headers=headers[email])
            with lock:
                statuses.append(response.status_code)
                request_ids.append(response.headers["X-Request-Id"])

    workers = [threading.Thread(target=reader, args=(n,)) for n in range(threads)]
    for w in workers:
        w.start()
    for w in workers:
        w.join(timeout=120)

    expected = before + threads * per_thread
    assert statuses == [200] * (threads * per_thread)
    log = events(app)
    assert [e.seq for e in log] == list(range(1, expected + 1))  # no duplicate, no gap
    assert sorted(e.request_id for e in log[before:] if e.request_id) == sorted(request_ids)
    with app.db.session() as session:
        result = audit.verify(session, app.keys, app.audit.witness)
    assert (result.ok, result.checked) == (True, expected)


def test_verify_during_concurrent_appends_reports_no_false_break(app: Caseroom) -> None:
    """A live log: appends commit while verify reads. Verify checks up to the head it
    read, so rows committed meanwhile are left for the next run, not reported as a break."""
    stop = threading.Event()
    failures: list[BaseException] = []

    def appender() -> None:
        try:
            while not stop.is_set():
                with app.db.session() as session:
                    app.audit.append(
                        session, action="filler", resource_type="test", outcome="allowed",
                        channel="cli",
                    )  # fmt: skip
                    session.commit()
        except BaseException as exc:  # reported below
            failures.append(exc)

    writers = [threading.Thread(target=appender) for _ in range(4)]
    for w in writers:
        w.start()
    try:
        results = []
        for _ in range(30):
            with app.db.session() as session:
                results.append(audit.verify(session, app.keys, app.audit.witness))
    finally:
        stop.set()
        for w in writers:
            w.join(timeout=30)
    assert not failures
    assert [r.problems for r in results if not r.ok] == []
    assert audit_is_intact(app)


def test_caseroom_audit_verify_reads_a_snapshot_and_blocks_no_request(app: Caseroom) -> None:
    """Verifying a large log takes a while; requests must go on appending meanwhile (on
    SQLite the app's own sessions take the write lock when they begin)."""
    with app.db.read_only_session() as reader:  # what `caseroom audit verify` reads through
        before = audit.verify(reader, app.keys, app.audit.witness)
        started = time.perf_counter()
        append_until(app, before.checked + 3)
        assert time.perf_counter() - started < 5  # not stuck behind the reader's lock
        again = audit.verify(reader, app.keys, app.audit.witness)
        assert again == before  # the reader keeps its snapshot
    assert audit_is_intact(app)


def test_a_long_lived_session_appends_after_others_appended_meanwhile(app: Caseroom) -> None:
    """The head is re-read under its lock, never taken from a session's identity map."""
    fields: dict[str, Any] = {
        "action": "filler",
        "resource_type": "test",
        "outcome": "allowed",
        "channel": "cli",
    }
    with app.db.session() as long_lived, app.db.session() as other:
        held = long_lived.get(AuditHead, 1)  # e.g. a page that showed the head
        assert held is not None
        app.audit.append(long_lived, **fields)
        long_lived.commit()
        app.audit.append(other, **fields)
        other.commit()
        seq = app.audit.append(long_lived, **fields)
        long_lived.commit()
    assert seq == head_seq(app)
    assert audit_is_intact(app)
