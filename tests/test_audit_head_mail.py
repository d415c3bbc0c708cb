"""DESIGN.md §4: the audit log's signed head goes, content-free, to the IG leads every day
(issue #9, item 2), so a copy of the witness lives outside the machine.

`caseroom worker` signs the head when it moved and, once a day, mails it to every IG lead
through the outbox: a record number, a hash, a signature and the witness line that holds
them, never case content. Each email is audited. The line in the email, saved to a file,
lets `caseroom audit verify --witness FILE` catch a truncation even when the database's
checkpoints and the witness file on the server were both removed.
"""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import delete, update
from sqlmodel import col, select

from tests.aio import run_async
from tests.mailbox import Mailbox, Received
from tests.mailing import assert_no_case_content, text_of
from tests.support import Cli, as_attacker, events
from workspace import audit
from workspace.audit_witness import WitnessEntry
from workspace.clock import clock
from workspace.mail import worker
from workspace.models import AuditCheckpoint, AuditEvent, AuditHead, User
from workspace.settings import Settings
from workspace.state import Caseroom

pytestmark = pytest.mark.mail


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    return Cli(monkeypatch, capsys, settings)


def ig_leads(app: Caseroom) -> list[str]:
    with app.db.session() as session:
        return sorted(
            session.exec(select(User.email).where(col(User.org_role) == "ig_lead")).all()
        )


def heads_received(mailbox: Mailbox) -> list[Received]:
    return [r for r in mailbox.received if "signed head" in str(r.message["Subject"])]


def mailed_entry(received: Received) -> WitnessEntry:
    [line] = [ln for ln in text_of(received).splitlines() if ln.startswith('{"seq":')]
    entry = WitnessEntry.parse(line)
    assert entry is not None
    return entry


def run_worker(app: Caseroom) -> None:
    run_async(worker.run_once(app))


def test_the_worker_mails_the_signed_head_to_every_ig_lead_once_a_day(
    app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    leads = ig_leads(app)
    assert leads

    run_worker(app)

    mails = heads_received(mailbox)
    assert sorted(r.recipients[0] for r in mails) == leads
    witness = [line.entry for line in app.audit.witness.read() or []]
    for received in mails:
        entry = mailed_entry(received)
        assert entry == witness[-1]  # the head the worker just signed
        assert str(received.message["Subject"]) == (
            f"Caseroom audit log: signed head at record {entry.seq}"
        )
        assert app.keys.verify_signature(
            audit.checkpoint_statement(entry.seq, entry.mac, entry.signed_at), entry.signature
        )
        assert app.keys.public_key in text_of(received)
        assert_no_case_content(app, received)
    sent = [e for e in events(app) if e.action == "audit_head_sent"]
    assert len(sent) == len(leads)
    assert {(e.channel, e.outcome, e.resource_type) for e in sent} == {
        ("email", "allowed", "email")
    }

    run_worker(app)  # the same day: nothing more
    assert len(heads_received(mailbox)) == len(leads)

    clock.advance(timedelta(days=1, minutes=1))
    run_worker(app)
    later = heads_received(mailbox)[len(leads) :]
    assert sorted(r.recipients[0] for r in later) == leads
    assert mailed_entry(later[0]).seq > mailed_entry(mails[0]).seq  # the head moved since


def test_the_mailed_head_catches_a_truncation_when_the_server_copies_are_gone(
    app: Caseroom, mailbox: Mailbox, quiet: None, cli: Cli, settings: Settings
) -> None:
    run_worker(app)
    received = heads_received(mailbox)[0]
    entry = mailed_entry(received)
    kept = settings.data_dir / "from-iris-mailbox.txt"
    kept.write_text(
        "\n".join(ln for ln in text_of(received).splitlines() if re.match(r'\{"seq":', ln))
    )
    keep = events(app)[entry.seq - 4]
    with as_attacker(app) as conn:  # the database's checkpoints and the server's witness go
        conn.execute(delete(AuditEvent).where(col(AuditEvent.seq) > keep.seq))
        conn.execute(delete(AuditCheckpoint))
        conn.execute(update(AuditHead).values(seq=keep.seq, mac=keep.mac))
    app.audit.witness.path.write_text("")

    alone = cli("audit", "verify")
    with_the_email = cli("audit", "verify", "--witness", str(kept))

    assert alone.code == 0  # nothing left on the server shows it
    assert with_the_email.code == 1
    assert f"records {keep.seq + 1} to {entry.seq} are missing" in with_the_email.err
    assert f"{kept} line 1 (record {entry.seq})" in with_the_email.err


def test_verify_refuses_a_witness_file_that_does_not_exist(cli: Cli, settings: Settings) -> None:
    result = cli("audit", "verify", "--witness", str(settings.data_dir / "nowhere.txt"))
    assert result.code == 2
    assert "No witness file" in result.err
