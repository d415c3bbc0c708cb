"""API tokens that expire (issue #9 item 1): a token is made to last 30, 90 or 365 days
(the account page suggests 90) or until revoked (what `caseroom token create` makes unless
given `--days`). The account page shows when each expires. Once expired it answers 401 over
HTTP, audited as a denied `token_auth` "token expired", and a socket opened with it is
closed within a second of the expiry, whether or not it sends anything, audited as
`socket_closed` "token expired". The app clock is the only clock: time is moved, never
waited for."""

from __future__ import annotations

import re
from datetime import timedelta

import httpx2
import pytest
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import SARAH, LiveServer, Tokens
from tests.conftest import user_by_email as person
from tests.support import Cli
from tests.test_api_tokens import bearer
from tests.test_chat_sockets import connected, jamie
from tests.test_sign_in import audit_events, form_value, sign_in
from tests.test_socket_credentials import closes_within, closings
from workspace.clock import clock
from workspace.settings import Settings
from workspace.state import Caseroom


def make_token(client: TestClient, name: str, days: str | None) -> str:
    """A token made on the account page; `days` None: whatever the form suggests."""
    page = client.get("/account")
    data = {"name": name, "csrf_token": form_value(page.text, "csrf_token")}
    if days is not None:
        data["days"] = days
    made = client.post("/account/tokens", data=data)
    assert made.status_code == 200, made.text
    found = re.search(r'data-testid="api-token">([^<]+)<', made.text)
    assert found, made.text
    return found.group(1)


def expiry_shown(client: TestClient, name: str) -> str:
    page = client.get("/account").text
    row = next(r for r in re.findall(r"<tr>.*?</tr>", page, flags=re.S) if f">{name}<" in r)
    found = re.search(r'data-label="Expires">([^<]*)<', row)
    assert found, row
    return found.group(1)


def test_the_account_page_suggests_90_days_and_shows_each_tokens_expiry(
    client: TestClient, password: str
) -> None:
    sign_in(client, SARAH, password)
    form = client.get("/account").text
    assert re.search(r'<option value="90" selected>90 days</option>', form)
    make_token(client, "quarterly", None)
    make_token(client, "forever", "never")
    assert expiry_shown(client, "quarterly") == "23 Feb 2027, 12:00"  # 90 days from now
    assert expiry_shown(client, "forever") == "never (until revoked)"


def test_a_lifetime_the_page_does_not_offer_is_refused_and_nothing_is_made(
    client: TestClient, password: str
) -> None:
    sign_in(client, SARAH, password)
    page = client.get("/account")
    refused = client.post(
        "/account/tokens",
        data={"name": "odd", "days": "7", "csrf_token": form_value(page.text, "csrf_token")},
    )
    assert refused.status_code == 422
    assert "30, 90 or 365 days" in refused.text
    assert ">odd<" not in client.get("/account").text


def test_an_expired_token_answers_401_and_the_refusal_says_why(
    client: TestClient, app: Caseroom, password: str
) -> None:
    sign_in(client, SARAH, password)
    token = make_token(client, "monthly", "30")
    api = TestClient(client.app)
    clock.advance(timedelta(days=30) - timedelta(seconds=1))
    assert api.get("/api/v1/me", headers=bearer(token)).status_code == 200
    clock.advance(timedelta(seconds=1))
    expired = api.get("/api/v1/me", headers=bearer(token))
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]
    assert [e.purpose for e in audit_events(app, "token_auth", outcome="denied")] == [
        "token expired"
    ]
    sign_in(client, SARAH, password)  # a month on, the page's session has long ended
    assert expiry_shown(client, "monthly") == "expired 25 Dec 2026, 12:00"


def test_a_socket_opened_with_a_token_closes_within_a_second_of_its_expiry(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)
    sign_in(client, SARAH, password)
    token = make_token(client, "script", "30")

    async def scenario() -> int:
        async with (
            connected(live_server, token) as script,
            httpx2.AsyncClient(base_url=live_server.url) as http,
        ):
            assert (await script.client.call("join", {"room_id": room_id}))["ok"]
            clock.advance(timedelta(days=29, hours=23))
            await script.client.call("sync", {"room_id": room_id})  # still works
            assert script.client.connected
            async with closes_within(script, 1.0):
                clock.advance(timedelta(hours=1))  # nobody sends anything
            assert script.of("error")[-1]["code"] == "unauthenticated"
            return (await http.get("/api/v1/me", headers=bearer(token))).status_code

    assert run_async(scenario()) == 401
    assert [(c.actor_id, c.purpose) for c in closings(app)] == [
        (person(app, SARAH).id, "token expired")
    ]


def test_a_token_that_lasts_until_revoked_keeps_its_socket_open(
    live_server: LiveServer, client: TestClient, auth: Tokens
) -> None:
    room_id = jamie(client, auth)

    async def scenario() -> None:
        async with connected(live_server, auth(SARAH)["Authorization"][7:]) as script:
            assert (await script.client.call("join", {"room_id": room_id}))["ok"]
            clock.advance(timedelta(days=400))
            page = await script.client.call("sync", {"room_id": room_id})
            assert "items" in page, page

    run_async(scenario())


@pytest.mark.parametrize(("argv", "works_after"), [((), 400), (("--days", "30"), 29)])
def test_caseroom_token_create_makes_a_token_that_expires_only_when_told(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    client: TestClient,
    argv: tuple[str, ...],
    works_after: int,
) -> None:
    result = Cli(monkeypatch, capsys, settings)("token", "create", SARAH, *argv)
    assert result.code == 0, result.err
    token = result.last_line
    clock.advance(timedelta(days=works_after))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 200
    if argv:
        assert "expires in 30 days" in result.out
        clock.advance(timedelta(days=1))
        assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_caseroom_token_create_refuses_a_lifetime_it_does_not_offer(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str], settings: Settings
) -> None:
    with pytest.raises(SystemExit):
        Cli(monkeypatch, capsys, settings)("token", "create", SARAH, "--days", "7")
    assert "invalid choice: 7 (choose from 30, 90, 365)" in capsys.readouterr().err
