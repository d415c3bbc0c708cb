"""Dates at the edge of what Python can hold (year 1, year 9999) with an offset have no
UTC value. Wherever a date or time comes in — the access log's filters (API and page), a
member's or an invitation's end date (API and forms) — such a date answers 422 naming
the field, never a 500 (issue #9, item 7)."""

from __future__ import annotations

import re
from typing import Any

import pytest
from starlette.testclient import TestClient

from tests.conftest import DAN, HOLLY, SARAH, Tokens
from tests.test_sign_in import sign_in

EDGES = ["9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+01:00"]
REASONS = {"purpose": "Housing support", "lawful_basis": "public_task", "consent": "given"}


def jamie(client: TestClient, auth: Tokens) -> str:
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    return str(next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter"))


def user_id(client: TestClient, auth: Tokens, email: str) -> str:
    return str(client.get("/api/v1/me", headers=auth(email)).json()["id"])


def assert_field_refused(response: Any, field: str) -> None:
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["code"] == "invalid"
    assert field in error["fields"], error
    assert "out of range" in error["fields"][field]


@pytest.mark.parametrize("edge", EDGES)
@pytest.mark.parametrize("field", ["since", "until"])
def test_the_access_log_filters_refuse_a_date_out_of_range(
    client: TestClient, auth: Tokens, edge: str, field: str
) -> None:
    response = client.get("/api/v1/audit", params={field: edge}, headers=auth(SARAH))
    assert_field_refused(response, field)


@pytest.mark.parametrize("edge", EDGES)
def test_adding_a_guest_refuses_an_end_date_out_of_range(
    client: TestClient, auth: Tokens, edge: str
) -> None:
    room_id = jamie(client, auth)
    for email in (HOLLY, "new.person@homes.example"):  # an addition, and an invitation
        body = {"email": email, "role": "guest", "expires_at": edge, **REASONS}
        response = client.post(f"/api/v1/rooms/{room_id}/members", json=body, headers=auth(SARAH))
        assert_field_refused(response, "expires_at")


@pytest.mark.parametrize("edge", EDGES)
def test_changing_a_member_refuses_an_end_date_out_of_range(
    client: TestClient, auth: Tokens, edge: str
) -> None:
    room_id = jamie(client, auth)
    response = client.patch(
        f"/api/v1/rooms/{room_id}/members/{user_id(client, auth, DAN)}",
        json={"role": "guest", "expires_at": edge, **REASONS},
        headers=auth(SARAH),
    )
    assert_field_refused(response, "expires_at")


# --- the pages -----------------------------------------------------------------------------


def csrf_of(client: TestClient, path: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', client.get(path).text)
    assert found
    return found.group(1)


@pytest.mark.parametrize("edge", EDGES)
def test_the_access_log_page_refuses_a_date_out_of_range(
    client: TestClient, password: str, edge: str
) -> None:
    sign_in(client, SARAH, password)
    for field in ("since", "until"):
        page = client.get("/audit", params={field: edge})
        assert page.status_code == 422, page.text
        assert field in page.text and "out of range" in page.text


@pytest.mark.parametrize("edge", EDGES)
def test_the_invitation_and_change_forms_refuse_a_date_out_of_range(
    client: TestClient, auth: Tokens, password: str, edge: str
) -> None:
    room_id = jamie(client, auth)
    dan_id = user_id(client, auth, DAN)
    sign_in(client, SARAH, password)
    csrf = csrf_of(client, f"/rooms/{room_id}")
    invited = client.post(
        f"/rooms/{room_id}/invitations",
        data={"csrf_token": csrf, "email": "new.person@homes.example", "role": "guest",
              "expires_at": edge, **REASONS},
    )  # fmt: skip
    assert invited.status_code == 422, invited.text
    assert "Enter a real date" in invited.text
    changed = client.post(
        f"/rooms/{room_id}/members/{dan_id}/change",
        data={"csrf_token": csrf, "role": "guest", "expires_at": edge, **REASONS},
    )
    assert changed.status_code == 422, changed.text
