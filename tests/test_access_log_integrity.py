"""The access log says whether its chain holds over what it shows, and prints as a report
(issue #12, items 5 and 6).

- Every page of the log verifies the chain over the span of records it shows, and says so.
- A record edited in the database (here: this test's copy of it) shows the chain broken on
  the page from that record on, and `caseroom audit verify` names the same record.
- A page whose records lie far apart checks each shown record against the one before it
  and counts the span for missing records.
- The current filter prints as a PDF report, audited as an export; for managers and IG
  leads only.
- A bad filter sent by htmx comes back as the results block with the error in it (422).
"""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from sqlalchemy import delete, update
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.conftest import MARK, OMAR, PETE, SARAH, Tokens, user_by_email
from tests.support import Cli, as_attacker
from tests.test_access_log import reads_of
from tests.test_plan_pdf import text_of
from tests.test_sign_in import sign_in_fully
from workspace import audit
from workspace.access import Access, Origin
from workspace.models import AuditEvent
from workspace.services import audit_log, audit_report
from workspace.settings import Settings
from workspace.state import Caseroom


@pytest.fixture
def cli(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> Cli:
    return Cli(monkeypatch, capsys, settings)


@pytest.fixture
def activity(client: TestClient, auth: Tokens, app: Caseroom) -> Iterator[str]:
    """Sarah and Pete read Jamie's room over the API; Omar (not a member) is refused."""
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    room_id = next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter")
    for who in (SARAH, PETE, SARAH):
        for path in ("", "/members", "/messages"):
            assert client.get(f"/api/v1/rooms/{room_id}{path}", headers=auth(who)).is_success
    assert client.get(f"/api/v1/rooms/{room_id}", headers=auth(OMAR)).status_code == 404
    yield room_id


def records_on(html: str) -> list[int]:
    return [int(n) for n in re.findall(r"record (\d+)</span>", html)]


def test_the_page_says_the_chain_holds_over_the_records_it_shows(
    client: TestClient, app: Caseroom, password: str, activity: str
) -> None:
    sign_in_fully(client, app, MARK, password)
    page = client.get("/audit", params={"room_id": activity})
    assert page.status_code == 200
    shown = records_on(page.text)
    assert shown
    assert f"over records {min(shown)} to {max(shown)}" in page.text
    assert "Chain intact" in page.text
    assert "every record in that span was recomputed" in page.text


def test_one_edited_record_shows_the_chain_broken_from_it_on_the_page_and_in_verify(
    client: TestClient, app: Caseroom, password: str, activity: str, cli: Cli
) -> None:
    victim = reads_of(app, PETE, "list_members")[0]
    with as_attacker(app) as db:  # someone with the database's keys covers Pete's tracks
        db.execute(
            update(AuditEvent)
            .where(col(AuditEvent.seq) == victim.seq)
            .values(purpose="routine check")
        )

    sign_in_fully(client, app, MARK, password)
    page = client.get("/audit", params={"room_id": activity})

    assert f"The audit chain is broken at record {victim.seq}" in page.text
    assert "content does not match its MAC" in page.text
    assert "Chain intact" not in page.text
    assert page.text.count("chain broken here") == 1
    assert f"record {victim.seq}</span> <strong class=\"tag tag--denied\">chain broken here" in (
        page.text
    )
    # The visits after it (newer, above it on the page) are marked as after the break.
    rows = re.findall(r'<tr class="visit[^"]*">.*?</tr>', page.text, flags=re.S)
    marked = [r for r in rows if "row--chain-" in r]
    assert any("row--chain-broken" in r for r in marked)
    assert any("after the break: not verified" in r for r in marked)

    result = cli("audit", "verify")
    assert result.code == 1
    assert f"record seq {victim.seq} (id {victim.id})" in result.err
    assert "content does not match its MAC" in result.err


def test_records_far_apart_are_each_checked_and_the_span_counted(
    client: TestClient,
    app: Caseroom,
    password: str,
    activity: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(audit, "SPAN_WALK_LIMIT", 2)
    pete = user_by_email(app, PETE)
    sign_in_fully(client, app, MARK, password)
    page = client.get("/audit", params={"actor_id": pete.id})
    assert "each record shown was recomputed and links to the one before it" in page.text
    shown = records_on(page.text)
    assert shown and max(shown) - min(shown) >= 2

    between = next(
        e.seq
        for e in reads_of(app, SARAH, "list_members")
        if min(shown) < e.seq < max(shown)
    )
    with as_attacker(app) as db:
        db.execute(delete(AuditEvent).where(col(AuditEvent.seq) == between))
    page = client.get("/audit", params={"actor_id": pete.id})
    assert "The audit chain is broken" in page.text
    assert f"1 record(s) between {min(shown)} and {max(shown)} are missing" in page.text


def test_the_filter_prints_as_a_pdf_report_that_is_audited(
    client: TestClient, app: Caseroom, password: str, activity: str
) -> None:
    sign_in_fully(client, app, MARK, password)
    page = client.get("/audit", params={"person": "Pete"})
    assert "/audit/report.pdf?person=Pete" in page.text

    got = client.get("/audit/report.pdf", params={"person": "Pete"})

    assert got.status_code == 200
    assert got.headers["content-type"] == "application/pdf"
    assert got.content.startswith(b"%PDF-")
    assert re.fullmatch(
        r'attachment; filename="access-log-\d{4}-\d{2}-\d{2}\.pdf"',
        got.headers["content-disposition"],
    )
    exported = reads_of(app, MARK, "export_audit")
    assert [e.purpose for e in exported] == [
        "printable report; access review: person=Pete"
    ]


def test_the_report_says_what_was_asked_who_asked_and_whether_the_chain_holds(
    app: Caseroom, activity: str
) -> None:
    with app.db.session() as session:
        access = Access(app, session, user_by_email(app, MARK), Origin("web"))
        filters = audit_log.AuditFilters.parse({"person": "Pete"})
        report = audit_report.report(access, filters)
        on_the_page = audit_log.list_events(access, filters, limit=200).items
        session.commit()
    said = " ".join(text_of(audit_report.document(report)).split())

    assert "Access log report" in said
    assert "Produced by Mark Ellis (Northshire Council Children's Services)" in said
    assert "Person Pete" in said
    assert "Chain intact over records" in said
    assert "DC Pete Walsh" in said and "Sarah Okafor" not in said
    assert report.events == len(on_the_page) and not report.more


def test_a_practitioner_gets_404_for_the_report_and_the_attempt_is_recorded(
    client: TestClient, app: Caseroom, password: str, activity: str
) -> None:
    sign_in_fully(client, app, SARAH, password)
    assert client.get("/audit/report.pdf").status_code == 404
    denied = [e for e in reads_of(app, SARAH, "export_audit") if e.outcome == "denied"]
    assert len(denied) == 1


def test_a_bad_filter_sent_by_htmx_comes_back_in_the_results_with_the_error(
    client: TestClient, app: Caseroom, password: str
) -> None:
    sign_in_fully(client, app, MARK, password)
    got = client.get("/audit", params={"from": "31/12/2026"}, headers={"HX-Request": "true"})
    assert got.status_code == 422
    assert "<h1>" not in got.text
    assert "The filter could not be used" in got.text
    assert "from: must be a date (YYYY-MM-DD)" in got.text


def test_verify_span_names_nothing_for_an_empty_page(app: Caseroom) -> None:
    with app.db.read_only_session() as session:
        assert audit.verify_span(session, app.keys, app.audit.witness, []) is None
        head = session.exec(select(AuditEvent.seq).order_by(col(AuditEvent.seq).desc())).first()
        assert head is not None
        whole = audit.verify_span(session, app.keys, app.audit.witness, [1, head])
    assert whole is not None and whole.ok and whole.walked == (head - 1 < audit.SPAN_WALK_LIMIT)
