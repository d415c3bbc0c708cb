"""A published plan, its comparison and its export (issue #11, items 4 and 6). A version's
page is unmistakably the agreed plan ("Version 1, signed by … on …"), printable, with its
PDF a link away; two versions, or a version and the draft, are compared side by side; the
PDF is an attachment named by the room's reference, audited as an export. The plan is
built and published through the plan API (DESIGN.md §6 "Plans"); what the PDF says is
tested in tests/test_plan_pdf.py, the comparison itself in tests/test_plan_compare.py."""

from __future__ import annotations

import re
from html import unescape
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.browsing import Open
from tests.conftest import DAN, OMAR, SARAH, Tokens, user_by_email
from tests.test_chat_sockets import jamie
from tests.test_sign_in import sign_in
from workspace.models import AuditEvent
from workspace.state import Caseroom

SIGNED = "signed by Sarah Okafor (Northshire Council Children's Services) on 25 November 2026"


def words_of(html: str) -> str:
    """A page's text as read (tags dropped where they stand, so the words of a marked
    change stay together with their mark)."""
    return " ".join(unescape(re.sub(r"<[^>]+>", "", html)).split())


def plan_api(client: TestClient, auth: Tokens, method: str, path: str, **body: Any) -> Any:
    response = client.request(method, f"/api/v1{path}", headers=auth(SARAH), json=body or None)
    assert response.status_code in (200, 201, 204), (method, path, response.text)
    return response.json() if response.content else None


def draft(client: TestClient, auth: Tokens, room_id: str) -> Any:
    return plan_api(client, auth, "GET", f"/rooms/{room_id}/plan")["draft"]


def publish(client: TestClient, auth: Tokens, room_id: str) -> int:
    return int(plan_api(client, auth, "POST", f"/rooms/{room_id}/plan/versions")["version"])


def an_outcome_with_an_action(client: TestClient, auth: Tokens, room_id: str) -> tuple[str, str]:
    """Sarah adds "Jamie attends school every day" with an action owned by Dan."""
    plan_api(client, auth, "POST", f"/rooms/{room_id}/plan/outcomes",
             text="Jamie attends school every day.")  # fmt: skip
    [outcome] = [o for o in draft(client, auth, room_id)["outcomes"]
                 if o["text"] == "Jamie attends school every day."]  # fmt: skip
    dan = client.get("/api/v1/me", headers=auth(DAN)).json()["id"]
    plan_api(client, auth, "POST", f"/rooms/{room_id}/plan/outcomes/{outcome['id']}/actions",
             text="Walk Jamie to school", owner_id=dan, due="2027-01-13")  # fmt: skip
    [outcome] = [o for o in draft(client, auth, room_id)["outcomes"] if o["id"] == outcome["id"]]
    return outcome["id"], outcome["actions"][0]["id"]


def audited(app: Caseroom, action: str, outcome: str = "allowed") -> list[AuditEvent]:
    with app.db.session() as session:
        return list(session.exec(
            select(AuditEvent).where(AuditEvent.action == action, AuditEvent.outcome == outcome)
            .order_by(col(AuditEvent.seq))
        ).all())  # fmt: skip


def test_a_published_version_is_the_agreed_plan_signed_and_printable(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)
    an_outcome_with_an_action(client, auth, room_id)
    assert publish(client, auth, room_id) == 1
    sign_in(client, SARAH, password)
    page = client.get(f"/rooms/{room_id}/plan/versions/1")
    assert page.status_code == 200, page.text
    html = words_of(page.text)
    assert f"Version 1, {SIGNED} at 12:00" in html
    assert "Agreed plan" in html and "Child protection plan for Jamie Carter" in html
    for words in ("Jamie attends school every day.", "Walk Jamie to school",
                  "Dan Hughes (Oakfield Primary School)", "Wednesday 13 January 2027",
                  "Not started"):  # fmt: skip
        assert words in html, words
    # Print (shown by script), the PDF, and the comparison with the draft; no version 0.
    assert re.search(r"<button[^>]*data-print[^>]*hidden[^>]*>Print</button>", page.text)
    assert f'href="/api/v1/rooms/{room_id}/plan/versions/1/pdf"' in page.text
    assert f'href="/rooms/{room_id}/plan/compare?from=1&amp;to=draft"' in page.text
    assert "Compare with version 0" not in html
    assert "Printed by Sarah Okafor on 25 November 2026 at 12:00" in html  # on paper only
    assert page.headers["cache-control"] == "no-store"
    views = [e for e in audited(app, "view_plan_version") if e.channel == "web"]
    assert views and views[-1].room_id == room_id


def test_a_version_that_does_not_exist_is_not_found_and_a_malformed_one_is_refused(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)
    publish(client, auth, room_id)
    sign_in(client, SARAH, password)
    for n in ("2", "0", "01x", "-1", "１"):
        assert client.get(f"/rooms/{room_id}/plan/versions/{n}").status_code == 404, n
        response = client.get(f"/api/v1/rooms/{room_id}/plan/versions/{n}/pdf", headers=auth(SARAH))
        assert response.status_code == 404, n
    assert len(audited(app, "lookup", "denied")) >= 8  # the malformed ones, page and API


def test_the_draft_and_two_versions_compared_say_what_changed(
    client: TestClient, auth: Tokens, password: str
) -> None:
    room_id = jamie(client, auth)
    _, action_id = an_outcome_with_an_action(client, auth, room_id)
    publish(client, auth, room_id)
    plan_api(client, auth, "PATCH", f"/rooms/{room_id}/plan/actions/{action_id}",
             status="done", evidence="Attendance up to 97%.")  # fmt: skip
    sign_in(client, SARAH, password)

    page = client.get(f"/rooms/{room_id}/plan/compare?from=1&to=draft")
    assert page.status_code == 200, page.text
    text = words_of(page.text)
    assert "Changes from version 1 to the draft" in text
    assert "2 changes: 1 status changed, evidence of impact updated on 1 action." in text
    assert "[was: −Not started]" in text and "[now: +Done]" in text
    assert "[added: +Attendance up to 97%.]" in text

    assert publish(client, auth, room_id) == 2
    page = client.get(f"/rooms/{room_id}/plan/compare?from=1&to=2")
    text = words_of(page.text)
    assert "Changes from version 1 to version 2" in text and "2 changes" in text
    same = client.get(f"/rooms/{room_id}/plan/compare?from=2&to=draft")
    assert "No changes: the two say the same." in same.text

    # Without a version to compare from, the page asks for one.
    ask = client.get(f"/rooms/{room_id}/plan/compare")
    assert ask.status_code == 200 and 'name="from"' in ask.text and 'value="draft"' in ask.text


def test_the_pdf_is_an_attachment_named_by_the_room_reference_audited_as_an_export(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    publish(client, auth, room_id)
    reference = client.get(f"/api/v1/rooms/{room_id}", headers=auth(SARAH)).json()["reference"]
    response = client.get(f"/api/v1/rooms/{room_id}/plan/versions/1/pdf", headers=auth(SARAH))
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    assert response.headers["content-disposition"] == (
        f'attachment; filename="plan-{reference}-v1.pdf"'
    )
    assert response.headers["cache-control"] == "no-store"
    assert response.content.startswith(b"%PDF-")
    [export] = audited(app, "export_plan")
    assert (export.room_id, export.channel) == (room_id, "api")
    assert export.actor_id == user_by_email(app, SARAH).id

    # Someone in no room is told nothing, and the refusal is audited.
    refused = client.get(f"/api/v1/rooms/{room_id}/plan/versions/1/pdf", headers=auth(OMAR))
    assert refused.status_code == 404
    assert [e.actor_id for e in audited(app, "export_plan", "denied")] == [
        user_by_email(app, OMAR).id
    ]


@pytest.mark.browser
def test_sarah_prints_the_agreed_plan_and_compares_it_with_the_draft(
    visit: Open, client: TestClient, auth: Tokens, password: str
) -> None:
    room_id = jamie(client, auth)
    _, action_id = an_outcome_with_an_action(client, auth, room_id)
    publish(client, auth, room_id)
    plan_api(client, auth, "PATCH", f"/rooms/{room_id}/plan/actions/{action_id}",
             status="in_progress")  # fmt: skip
    sarah = visit(SARAH, password)
    page = sarah.go(f"/rooms/{room_id}/plan/versions/1")
    expect(page.get_by_role("heading", level=1)).to_contain_text("Version 1, signed by Sarah")
    page.evaluate("window.print = () => { window.printed = true; }")
    page.get_by_role("button", name="Print").click()
    assert page.evaluate("window.printed") is True
    # On paper: the plan and who printed it, not the site around it.
    page.emulate_media(media="print")
    expect(page.get_by_test_id("printed-by")).to_be_visible()
    expect(page.get_by_role("navigation", name="Main")).to_be_hidden()
    expect(page.get_by_test_id("plan-tools")).to_be_hidden()
    page.emulate_media(media="screen")

    with page.expect_navigation():
        page.get_by_role("link", name="Compare with the current draft").click()
    expect(page.get_by_test_id("change-count")).to_have_text("1 change: 1 status changed.")
    walk = page.get_by_test_id("compare-action").filter(has_text="Walk Jamie to school")
    expect(walk).to_contain_text("[was: −Not started]")
    sarah.wait_for_axe(page.url)
