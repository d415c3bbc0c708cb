"""API tokens: made with `caseroom token create` or on the account page, revoked on the
account page (then 401 at once), and stored only as a hash."""

from __future__ import annotations

import re

import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from tests.conftest import HANA, HOLLY, SARAH, Tokens, give_second_factor, user_by_email
from tests.mailing import add_member
from tests.support import Cli
from tests.test_sign_in import form_value, sign_in
from workspace.crypto import token_hash
from workspace.models import ApiToken, AuditEvent
from workspace.settings import Settings
from workspace.state import Caseroom


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def create_on_account_page(client: TestClient, name: str) -> str:
    page = client.get("/account")
    assert page.status_code == 200
    made = client.post(
        "/account/tokens",
        data={"name": name, "csrf_token": form_value(page.text, "csrf_token")},
    )
    assert made.status_code == 200, made.text
    found = re.search(r'data-testid="api-token">([^<]+)<', made.text)
    assert found, made.text
    return found.group(1)


def revoke_form(client: TestClient, name: str) -> tuple[str, str]:
    """The account page's revoke form for the token called `name`: (action, csrf)."""
    page = client.get("/account").text
    for row in re.findall(r"<tr>.*?</tr>", page, flags=re.S):
        if f">{name}<" in row:
            action = re.search(r'action="(/account/tokens/[^"]+/revoke)"', row)
            assert action, row
            return action.group(1), form_value(row, "csrf_token")
    raise AssertionError(f"no token called {name!r} on the account page")


def token_rows(app: Caseroom) -> list[ApiToken]:
    with app.db.session() as session:
        return list(session.exec(select(ApiToken)).all())


def test_a_token_from_caseroom_token_create_works(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    client: TestClient,
) -> None:
    result = Cli(monkeypatch, capsys, settings)("token", "create", SARAH)
    assert result.code == 0, result.err
    token = result.last_line
    assert token.startswith("crm_")
    me = client.get("/api/v1/me", headers=bearer(token))
    assert me.status_code == 200
    assert me.json()["email"] == SARAH
    assert client.get("/api/v1/rooms", headers=bearer(token)).status_code == 200


def test_token_create_for_an_unknown_email_fails_cleanly(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    result = Cli(monkeypatch, capsys, settings)("token", "create", "nobody@nowhere.example")
    assert result.code != 0
    assert "nobody@nowhere.example" in result.err
    assert "Traceback" not in result.err


def test_a_token_made_on_the_account_page_works_and_a_revoked_one_gets_401(
    client: TestClient, app: Caseroom, password: str
) -> None:
    sign_in(client, SARAH, password)
    token = create_on_account_page(client, "case-system")
    api = TestClient(client.app)  # no cookies: the token alone
    assert api.get("/api/v1/me", headers=bearer(token)).json()["email"] == SARAH

    action, csrf = revoke_form(client, "case-system")
    done = client.post(action, data={"csrf_token": csrf}, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"] == "/account"

    refused = api.get("/api/v1/me", headers=bearer(token))
    assert refused.status_code == 401
    assert refused.json()["error"]["code"] == "unauthenticated"
    assert "case-system" not in client.get("/account").text
    sarah = user_by_email(app, SARAH)
    with app.db.session() as session:
        revoked = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "token_revoked", AuditEvent.actor_id == sarah.id
            )
        ).all()
    assert len(revoked) == 1


def test_a_token_made_with_the_cli_is_revoked_on_the_account_page_too(
    client: TestClient, auth: Tokens, password: str
) -> None:
    headers = auth(SARAH)  # made as `caseroom token create` does, named "test"
    assert client.get("/api/v1/me", headers=headers).status_code == 200
    sign_in(client, SARAH, password)
    action, csrf = revoke_form(client, "test")
    assert client.post(action, data={"csrf_token": csrf}).status_code == 200
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=headers).status_code == 401
    assert client.get("/api/v1/rooms", headers=headers).status_code == 401


def test_revoking_needs_the_csrf_token(client: TestClient, auth: Tokens, password: str) -> None:
    headers = auth(SARAH)
    sign_in(client, SARAH, password)
    action, _csrf = revoke_form(client, "test")
    assert client.post(action, follow_redirects=False).status_code == 403
    assert client.post(action, data={"csrf_token": "forged"}).status_code == 403
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_nobody_can_revoke_someone_elses_token(
    client: TestClient, auth: Tokens, password: str
) -> None:
    headers = auth(HANA)
    sign_in(client, HANA, password)
    action, _csrf = revoke_form(client, "test")
    client.cookies.clear()
    sign_in(client, SARAH, password)
    csrf = form_value(client.get("/account").text, "csrf_token")
    assert client.post(action, data={"csrf_token": csrf}).status_code == 404
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=headers).status_code == 200


def test_a_token_cannot_be_used_to_make_or_revoke_tokens_on_the_pages(
    client: TestClient, auth: Tokens
) -> None:
    headers = auth(SARAH)
    response = client.post("/account/tokens", data={"name": "x"}, headers=headers)
    assert response.status_code in (401, 403) or response.url.path == "/login"


def test_tokens_are_stored_hashed_never_in_the_clear(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    client: TestClient,
    app: Caseroom,
    password: str,
) -> None:
    from_cli = Cli(monkeypatch, capsys, settings)("token", "create", SARAH).last_line
    sign_in(client, SARAH, password)
    from_page = create_on_account_page(client, "hashed")
    rows = token_rows(app)
    for token in (from_cli, from_page):
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
        matching = [r for r in rows if r.token_hash == token_hash(token)]
        assert len(matching) == 1
        row = matching[0]
        assert row.prefix == token[: len(row.prefix)] and len(row.prefix) < len(token) // 3
        for value in row.model_dump().values():
            assert token not in str(value)
    with app.db.session() as session:
        events = session.exec(select(AuditEvent)).all()
    for event in events:
        for value in event.model_dump().values():
            assert from_cli not in str(value) and from_page not in str(value)


def test_a_token_that_differs_by_one_character_is_refused(client: TestClient, auth: Tokens) -> None:
    token = auth(SARAH)["Authorization"].removeprefix("Bearer ")
    changed = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert client.get("/api/v1/me", headers=bearer(changed)).status_code == 401
    for header in ("Bearer", "Basic abc", f"Token {token}", "Bearer  ", f"bearer {token}x"):
        response = client.get("/api/v1/me", headers={"Authorization": header})
        assert response.status_code == 401, header
        assert set(response.json()) == {"error"}


def test_a_guest_without_a_second_factor_cannot_use_a_token_made_before(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    """Issue #5: guests must have a second factor, and a token is no way around it."""
    holly = auth(HOLLY)  # made while Holly was a housing officer in no room
    assert client.get("/api/v1/me", headers=holly).status_code == 200
    rooms = client.get("/api/v1/rooms", headers=auth(SARAH)).json()["items"]
    room_id = next(r["id"] for r in rooms if r["child"]["name"] == "Jamie Carter")
    add_member(client, auth, room_id, HOLLY, role="guest", second_factor=False)
    refused = client.get(f"/api/v1/rooms/{room_id}/messages", headers=holly)
    assert refused.status_code == 401
    assert "second factor" in refused.json()["error"]["message"]
    with app.db.session() as session:
        denied = session.exec(
            select(AuditEvent).where(
                AuditEvent.action == "token_auth", AuditEvent.purpose == "second factor missing"
            )
        ).all()
    assert len(denied) == 1
    give_second_factor(app, HOLLY)
    assert client.get(f"/api/v1/rooms/{room_id}/messages", headers=holly).status_code == 200
