"""A published plan as a PDF (issue #11, item 6): the document says which version it is,
who signed it and when, the room's reference, and who printed it when (the app's clock);
the file is named by the room's reference, never the child; and drawing it reaches out to
nothing: the renderer may read our stylesheet from disk and nothing else.

The published version here is a stand-in with the attributes of versions.PublishedPlan
(what pdf.Signed asks for); the routes that load the real one are tested with the plan."""

from __future__ import annotations

import socket
from datetime import UTC, datetime, timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from weasyprint import Document

from tests.conftest import TEST_START
from workspace import pdf as drawing
from workspace.clock import clock
from workspace.models import Organisation, User
from workspace.services.plans import pdf

COUNCIL = Organisation(id="o-council", name="Northshire Council", kind="local_authority",
                       created_at=TEST_START)  # fmt: skip
SARAH = User(id="u-sarah", organisation_id=COUNCIL.id, name="Sarah Okafor",
             email="sarah@council.example", org_role="practitioner", password_hash="x",
             created_at=TEST_START)  # fmt: skip
PETE = User(id="u-pete", organisation_id="o-police", name="Pete Evans",
            email="pete@police.example", org_role="practitioner", password_hash="x",
            created_at=TEST_START)  # fmt: skip
SCHOOL = {"id": "o-school", "name": "Oakfield Primary", "kind": "education"}
DAN = {"id": "u-dan", "name": "Dan Hughes", "email": "dan@oakfield.example", "organisation": SCHOOL}


def published(plan: dict[str, Any], plan_type: str = "child_protection") -> Any:
    room = SimpleNamespace(room=SimpleNamespace(id="r-1", reference="CR-7K2M9P"),
                           child=SimpleNamespace(name="Jamie Carter"))  # fmt: skip
    return SimpleNamespace(
        version=3, signed_by=SARAH, signed_by_org=COUNCIL,
        signed_at=datetime(2026, 11, 20, 15, 30, tzinfo=UTC), plan=plan,
        plan_type=plan_type, room=room,
    )  # fmt: skip


PLAN = {
    "concerns": "Jamie has missed 12 days of school this term.",
    "outcomes": [{"id": "o-1", "text": "Jamie attends school every day.", "actions": [
        {"id": "a-1", "text": "Walk Jamie to school", "owner": DAN, "due": "2027-01-13",
         "status": "in_progress", "evidence": "Attendance up to 92%."},
    ]}],
    "seen": "Seen alone at school on 18 November.", "services": "", "contingency": "",
    "child_voice": "Jamie said he likes breakfast club.", "family_summary": "",
    "key_dates": {"strategy_discussion": "2026-11-02", "reviews": ["2027-02-23"]},
    "category": {"initial": "neglect", "latest": "emotional"},
}  # fmt: skip


def text_of(document: Document) -> str:
    """What the pages say, read back from the laid-out document (its boxes of text),
    page margins (running footer, page numbers) included."""

    def walk(box: Any, out: list[str]) -> None:
        if getattr(box, "text", None):
            out.append(box.text)
        for child in getattr(box, "children", None) or []:
            walk(child, out)

    found: list[str] = []
    for page in document.pages:
        walk(page._page_box, found)
    return " ".join(" ".join(found).split())


def test_the_pdf_says_which_version_who_signed_when_and_who_printed_it() -> None:
    clock.advance(timedelta(days=5))  # printed later than the test started: the app's clock
    printed_at = clock.now()
    document = pdf.document(published(PLAN), PETE, printed_at)
    said = text_of(document)
    assert "AGREED PLAN" in said  # a tag, in capitals
    signed = "Version 3, signed by Sarah Okafor (Northshire Council) on 20 November 2026 at 15:30"
    assert signed in said
    assert "Printed by Pete Evans on 30 November 2026 at 12:00" in said
    assert "Child protection plan for Jamie Carter, room CR-7K2M9P" in said
    # Every page's foot says which room and version it belongs to.
    assert said.count("Caseroom · room CR-7K2M9P · plan version 3") == 1 + len(document.pages)
    assert f"Page {len(document.pages)} of {len(document.pages)}" in said
    pdf_bytes = document.write_pdf()
    assert pdf_bytes.startswith(b"%PDF-")
    assert pdf.render(published(PLAN), PETE, printed_at).startswith(b"%PDF-")


def test_the_pdf_holds_the_whole_plan_in_words() -> None:
    said = text_of(pdf.document(published(PLAN), PETE, clock.now()))
    for words in (
        "Concerns", "Jamie has missed 12 days of school this term.",
        "Outcomes and actions", "Outcome 1: Jamie attends school every day.",
        "Walk Jamie to school", "Dan Hughes (Oakfield Primary)", "Wednesday 13 January 2027",
        "In progress", "Attendance up to 92%.",
        "When the child was seen", "Seen alone at school on 18 November.",
        "Services", "Contingency plan", "What the child said",
        "Jamie said he likes breakfast club.", "For the family",
        "Initial category Neglect", "Latest category Emotional abuse",
        "Key dates", "Strategy discussion Monday 2 November 2026",
        "Reviews Tuesday 23 February 2027",
    ):  # fmt: skip
        assert words in said, words
    # A plan's category belongs to child protection only.
    other = text_of(pdf.document(published(PLAN, "child_in_need"), PETE, clock.now()))
    assert "Child in need plan for Jamie Carter" in other and "Initial category" not in other


def test_the_file_is_named_by_the_room_reference_not_the_child() -> None:
    assert pdf.filename(published(PLAN)) == "plan-CR-7K2M9P-v3.pdf"


def test_drawing_it_fetches_only_our_stylesheet_from_disk(monkeypatch: pytest.MonkeyPatch) -> None:
    """An editor's text that looks like markup stays text; and no socket is opened."""
    connections: list[Any] = []

    def no_network(self: socket.socket, address: Any) -> None:
        connections.append(address)
        raise OSError("no network while drawing a PDF")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    hostile = {**PLAN, "concerns": '<img src="http://attacker.example/x.png">'
               '<link rel="stylesheet" href="https://attacker.example/a.css">'}  # fmt: skip
    fetcher = drawing.LocalOnly()
    said = text_of(pdf.document(published(hostile), PETE, clock.now(), fetcher))
    assert '<img src="http://attacker.example/x.png">' in said
    assert fetcher.served == [drawing.STYLESHEET.as_uri()]
    assert fetcher.refused == [] and connections == []
    # The stylesheet was applied, for print: the "Printed by" line exists only in print.
    assert "Printed by Pete Evans" in said


@pytest.mark.parametrize(
    "url",
    [
        "https://attacker.example/a.css",
        "http://127.0.0.1:8000/static/caseroom.css",
        "file:///etc/passwd",
        "file://fileserver/static/caseroom.css",
        f"{drawing.STATIC.as_uri()}/../pyproject.toml",
        "data:text/css,body{}",
        "ftp://attacker.example/a.css",
    ],
)
def test_the_fetcher_refuses_anything_but_the_stylesheet(url: str) -> None:
    fetcher = drawing.LocalOnly()
    with pytest.raises(drawing.Refused):
        fetcher.fetch(url)
    assert fetcher.refused == [url] and fetcher.served == []
