"""Removing someone from a room (issue #9): never one click. The lead confirms and says
why; the reason is kept with the membership it ends and in the audit record, and the
room's lead and members read it in the room history. The API's DELETE takes the reason as
JSON; a client that sends none is told plainly (422) and nothing changes."""

from __future__ import annotations

import re
from typing import Any

import pytest
from playwright.sync_api import expect
from sqlmodel import select
from starlette.testclient import TestClient

from tests.browsing import Open
from tests.conftest import DAN, HANA, PETE, SARAH, Tokens, user_by_email
from tests.test_chat_sockets import jamie
from tests.test_sign_in import form_value, sign_in
from workspace.models import AuditEvent, Membership
from workspace.state import Caseroom

WHY = "Dan has left Oakfield; the new DSL will be invited"


def members(client: TestClient, auth: Tokens, room_id: str) -> set[str]:
    listed = client.get(f"/api/v1/rooms/{room_id}/members", headers=auth(SARAH)).json()
    return {m["user"]["email"] for m in listed["items"]}


def history(client: TestClient, auth: Tokens, room_id: str, who: str) -> list[str]:
    response = client.get(f"/api/v1/rooms/{room_id}/history", headers=auth(who))
    assert response.status_code == 200, response.text
    return [e["text"] for e in response.json()["items"]]


def ended_membership(app: Caseroom, room_id: str, email: str) -> Membership:
    user = user_by_email(app, email)
    with app.db.session() as session:
        return session.exec(
            select(Membership).where(
                Membership.room_id == room_id,
                Membership.user_id == user.id,
                Membership.revoked_at.is_not(None),  # type: ignore[union-attr]
            )
        ).one()


def removal_events(app: Caseroom, room_id: str) -> list[AuditEvent]:
    with app.db.session() as session:
        return list(
            session.exec(
                select(AuditEvent).where(
                    AuditEvent.action == "member_removed", AuditEvent.room_id == room_id
                )
            ).all()
        )


def remove(client: TestClient, auth: Tokens, room_id: str, email: str, **kwargs: Any) -> Any:
    user_id = user_by_email(auth.app, email).id
    return client.request(
        "DELETE", f"/api/v1/rooms/{room_id}/members/{user_id}", headers=auth(SARAH), **kwargs
    )


# --- the API --------------------------------------------------------------------------------


def test_the_reason_is_kept_with_the_membership_audited_and_told_in_the_history(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    response = remove(client, auth, room_id, DAN, json={"reason": WHY})
    assert response.status_code == 204, response.text
    assert DAN not in members(client, auth, room_id)
    assert ended_membership(app, room_id, DAN).removal_reason == WHY
    (event,) = removal_events(app, room_id)
    assert (event.outcome, event.purpose) == ("allowed", WHY)
    told = f"Sarah Okafor removed Dan Hughes. Reason: “{WHY}”"
    assert history(client, auth, room_id, PETE)[0] == told  # a member reads it
    assert history(client, auth, room_id, SARAH)[0] == told


@pytest.mark.parametrize(
    "body",
    [
        None,  # a client from before reasons
        {},
        {"reason": "   "},
        {"reason": "x" * 1001},
        {"reason": 42},
    ],
)
def test_no_reason_is_a_clear_422_and_nobody_is_removed(
    client: TestClient, auth: Tokens, app: Caseroom, body: object
) -> None:
    room_id = jamie(client, auth)
    response = remove(client, auth, room_id, DAN, **({} if body is None else {"json": body}))
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert "reason" in error["message"] or "reason" in str(error.get("fields"))
    assert DAN in members(client, auth, room_id)
    assert removal_events(app, room_id) == []


def test_without_a_reason_a_room_you_may_not_know_is_still_404(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    room_id = jamie(client, auth)
    dan = user_by_email(app, DAN).id
    stranger = client.request("DELETE", f"/api/v1/rooms/{room_id}/members/{dan}",
                              headers=auth("omar.other@council.example"))  # fmt: skip
    assert stranger.status_code == 404


def test_the_openapi_document_asks_for_the_reason(client: TestClient) -> None:
    doc = client.get("/api/v1/openapi.json").json()
    delete = doc["paths"]["/rooms/{room_id}/members/{user_id}"]["delete"]
    assert delete["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/RemovalIn"
    }
    assert doc["components"]["schemas"]["RemovalIn"]["required"] == ["reason"]


# --- the pages, without JavaScript -----------------------------------------------------------


def test_the_room_page_offers_a_confirmation_step_not_a_one_click_removal(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)
    dan = user_by_email(app, DAN).id
    sign_in(client, SARAH, password)
    room = client.get(f"/rooms/{room_id}").text
    step = f"/rooms/{room_id}/members/{dan}/remove"
    assert f'href="{step}"' in room
    assert f'action="{step}"' not in room  # no form that removes straight away

    confirm = client.get(step)
    assert confirm.status_code == 200
    assert "Remove Dan Hughes from this room?" in confirm.text
    assert 'name="reason"' in confirm.text
    assert DAN in members(client, auth, room_id)  # looking is not removing

    empty = client.post(step, data={"csrf_token": form_value(confirm.text, "csrf_token")})
    assert empty.status_code == 422
    assert "There is a problem" in empty.text
    assert '<a href="#reason">Say why you are removing them</a>' in empty.text
    assert DAN in members(client, auth, room_id)

    done = client.post(step, data={"csrf_token": form_value(empty.text, "csrf_token"),
                                   "reason": WHY}, follow_redirects=False)  # fmt: skip
    assert done.status_code == 303
    assert done.headers["location"] == f"/rooms/{room_id}#members"
    assert DAN not in members(client, auth, room_id)
    assert ended_membership(app, room_id, DAN).removal_reason == WHY
    history_page = client.get(f"/rooms/{room_id}/history").text
    assert WHY in history_page


def test_only_the_lead_reaches_the_confirmation_step(
    client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)
    dan = user_by_email(app, DAN).id
    sign_in(client, HANA, password)
    refused = client.get(f"/rooms/{room_id}/members/{dan}/remove")
    assert refused.status_code in (403, 404)
    assert "Remove Dan Hughes" not in refused.text


# --- in Chromium ----------------------------------------------------------------------------


@pytest.mark.browser
def test_in_a_browser_sarah_confirms_a_removal_with_a_reason_and_the_history_tells_it(
    visit: Open, client: TestClient, auth: Tokens, password: str
) -> None:
    room_id = jamie(client, auth)
    sarah = visit(SARAH, password)
    page = sarah.go(f"/rooms/{room_id}")
    page.get_by_role("link", name="Remove Dan Hughes").click()
    expect(page.get_by_role("heading", level=1)).to_have_text(
        "Remove Dan Hughes from this room?"
    )
    # Empty: the server's error summary, not the browser's "Please fill out this field".
    page.get_by_role("button", name="Remove Dan Hughes").click()
    summary = page.locator(".error-summary")
    expect(summary).to_contain_text("Say why you are removing them")
    expect(summary).to_be_focused()
    summary.get_by_role("link").click()
    expect(page.get_by_label("Why are you removing them?")).to_be_focused()
    assert DAN in members(client, auth, room_id)

    page.get_by_label("Why are you removing them?").fill(WHY)
    page.get_by_role("button", name="Remove Dan Hughes").click()
    expect(page).to_have_url(re.compile(rf"/rooms/{room_id}#members$"))
    expect(page.locator("#members")).not_to_contain_text("Dan Hughes")
    page.get_by_role("link", name="Room history").click()
    told = f"Sarah Okafor removed Dan Hughes. Reason: “{WHY}”"
    expect(page.locator("main")).to_contain_text(told)
