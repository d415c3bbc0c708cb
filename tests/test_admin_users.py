"""Administrators manage their organisation's accounts (DESIGN.md §3 rule 9; issue #9
item 1) at /admin/users: name, email, role, team, whether a second factor is set up,
whether the account is disabled. Per account they disable it (every browser session and
API token of it ends, and the sockets opened with them close within a second, on every
process) or enable it again, and reset its second factor (the person sets up a new
authenticator at next sign-in; their sessions end, since they were established with the
old factor). Each action is a POST with the CSRF token, says why (the reason is kept in
the audit record) and is audited; an administrator of another organisation, or anyone
else, gets 404 (audited as denied). The same disabling is `caseroom user disable EMAIL`."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator
from typing import Any

import httpx2
import pytest
from sqlmodel import select
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import (
    ALEX,
    FAY,
    HANA,
    MARK,
    OMAR,
    SARAH,
    LiveServer,
    Tokens,
    give_second_factor,
)
from tests.conftest import user_by_email as person
from tests.mailbox import Mailbox
from tests.mailing import deliver
from tests.support import Cli
from tests.test_chat_scale_out import REDIS_URL, Process
from tests.test_chat_sockets import connected, jamie, token_of
from tests.test_sign_in import (
    audit_events,
    csrf_of,
    form_value,
    sign_in,
    submit_password,
    totp_code,
)
from tests.test_socket_credentials import browser_socket, closes_within, closings, cookie_of
from tests.test_socket_credentials import sign_in as sign_in_async
from workspace.access import Access, Origin
from workspace.models import ApiToken, WebSession
from workspace.services import accounts
from workspace.settings import Settings
from workspace.state import Caseroom

WHY = "Left the council on 24 November"


def admin(client: TestClient, app: Caseroom, password: str, email: str = ALEX) -> TestClient:
    """An administrator signed in with their authenticator."""
    secret = give_second_factor(app, email)
    sign_in(client, email, password)
    page = client.get("/login/totp")
    done = client.post(
        "/login/totp",
        data={"code": totp_code(secret), "csrf_token": form_value(page.text, "csrf_token")},
        follow_redirects=False,
    )
    assert done.status_code == 303, done.text
    return client


def act(client: TestClient, app: Caseroom, action: str, email: str, reason: str = WHY) -> Any:
    return client.post(
        f"/admin/users/{person(app, email).id}/{action}",
        data={"reason": reason, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )


def row_of(page: str, email: str) -> str:
    found = re.search(rf'<tr data-email="{re.escape(email)}">.*?</tr>', page, flags=re.S)
    assert found, f"{email} not listed"
    return found.group(0)


def another_organisations_admin(client: TestClient, app: Caseroom, password: str) -> TestClient:
    """Ada, the police's administrator, signed in with her authenticator."""
    with app.db.session() as session:
        access = Access(app, session, None, Origin("cli"))
        accounts.add_user(
            access, email="ada.admin@police.example", org_name="Northshire Police",
            role="admin", name="Ada Admin", password=password,
        )  # fmt: skip
        session.commit()
    return admin(client, app, password, "ada.admin@police.example")


@pytest.fixture
def alex(client: TestClient, app: Caseroom, password: str) -> TestClient:
    return admin(client, app, password)


def test_the_page_lists_the_accounts_of_the_admins_own_organisation(alex: TestClient) -> None:
    page = alex.get("/admin/users")
    assert page.status_code == 200
    assert page.headers["cache-control"] == "no-store"
    emails = re.findall(r'<tr data-email="([^"]+)"', page.text)
    assert sorted(emails) == sorted(
        ["sarah.social@council.example", MARK, "iris.ig@council.example", OMAR, FAY, ALEX]
    )
    sarah = row_of(page.text, SARAH)
    assert "Sarah" in sarah and "practitioner" in sarah and "not set up" in sarah
    assert "active" in sarah
    assert "set up" in row_of(page.text, ALEX)
    # No action that ends every sign-in of an account is offered on the admin's own.
    assert "/disable" not in row_of(page.text, ALEX)
    assert "/admin/users" in alex.get("/").text  # linked from the admin's home
    # What the page says once an action is done is its own text, never the query string's.
    assert "Done:" not in alex.get("/admin/users?done=hacked+by+someone").text


def test_disabling_an_account_ends_its_sessions_and_tokens_and_closes_their_sockets(
    live_server: LiveServer, client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    room_id = jamie(client, auth)
    token = auth(SARAH)
    alex = admin(client, app, password)

    async def scenario() -> tuple[int, int]:
        async with httpx2.AsyncClient(base_url=live_server.url) as browser:
            await sign_in_async(browser, SARAH, password)
            async with (
                browser_socket(live_server, cookie_of(browser)) as by_session,
                connected(live_server, token_of(token)) as by_token,
            ):
                for socket in (by_session, by_token):
                    assert (await socket.client.call("join", {"room_id": room_id}))["ok"]
                async with closes_within(by_session, 1.0), closes_within(by_token, 1.0):
                    done = act(alex, app, "disable", SARAH)
                    assert done.status_code == 303, done.text
            return (
                (await browser.get("/api/v1/me")).status_code,
                (await browser.get("/api/v1/me", headers=token)).status_code,
            )

    assert run_async(scenario()) == (401, 401)
    sarah = person(app, SARAH)
    assert sarah.disabled
    assert sorted((c.actor_id, c.purpose) for c in closings(app, 2)) == [
        (sarah.id, "account disabled"), (sarah.id, "account disabled")
    ]
    (record,) = audit_events(app, "account_disabled")
    assert (record.actor_id, record.resource_id, record.purpose) == (
        person(app, ALEX).id, sarah.id, WHY
    )
    assert submit_password(TestClient(client.app), SARAH, password).status_code == 401
    with app.db.session() as session:
        assert session.exec(select(WebSession).where(WebSession.user_id == sarah.id)).all() == []
        tokens = session.exec(select(ApiToken).where(ApiToken.user_id == sarah.id)).all()
        assert tokens and all(t.revoked_at is not None for t in tokens)
    assert "disabled" in row_of(alex.get("/admin/users").text, SARAH)


def test_enabling_lets_the_person_sign_in_again_but_gives_no_token_back(
    alex: TestClient, client: TestClient, auth: Tokens, app: Caseroom, password: str
) -> None:
    token = auth(SARAH)
    assert act(alex, app, "disable", SARAH).status_code == 303
    assert act(alex, app, "enable", SARAH, "Back from secondment").status_code == 303
    assert not person(app, SARAH).disabled
    assert submit_password(TestClient(client.app), SARAH, password).status_code == 303
    assert TestClient(client.app).get("/api/v1/me", headers=token).status_code == 401
    assert [e.purpose for e in audit_events(app, "account_enabled")] == ["Back from secondment"]


def test_resetting_a_second_factor_ends_the_sessions_and_asks_for_a_new_one(
    live_server: LiveServer, client: TestClient, app: Caseroom, password: str
) -> None:
    old_secret = give_second_factor(app, OMAR)  # Omar turned one on himself
    alex = admin(client, app, password)

    async def scenario() -> int:
        async with httpx2.AsyncClient(base_url=live_server.url) as browser:
            await sign_in_async(browser, OMAR, password)
            page = await browser.get("/login/totp")
            await browser.post(
                "/login/totp",
                data={"code": totp_code(old_secret),
                      "csrf_token": form_value(page.text, "csrf_token")},
            )  # fmt: skip
            assert (await browser.get("/api/v1/me")).status_code == 200
            async with (
                browser_socket(live_server, cookie_of(browser)) as socket,
                closes_within(socket, 1.0),
            ):
                done = act(alex, app, "reset-second-factor", OMAR, "Lost his phone")
                assert done.status_code == 303, done.text
            return (await browser.get("/api/v1/me")).status_code

    assert run_async(scenario()) == 401
    assert [c.purpose for c in closings(app)] == ["second factor reset"]
    assert [e.purpose for e in audit_events(app, "second_factor_reset")] == ["Lost his phone"]
    omar = person(app, OMAR)
    assert not omar.totp_enabled and omar.totp_secret_sealed is None
    # Next sign-in: a new authenticator must be set up before anything else.
    fresh = TestClient(client.app)
    assert submit_password(fresh, OMAR, password).status_code == 303
    landed = fresh.get("/", follow_redirects=False)
    assert landed.headers["location"] == "/account/second-factor"
    assert "reset: to set up at next sign-in" in row_of(alex.get("/admin/users").text, OMAR)


@pytest.mark.mail
def test_the_person_is_emailed_that_their_second_factor_was_reset(
    alex: TestClient, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    give_second_factor(app, OMAR)
    assert act(alex, app, "reset-second-factor", OMAR, "Lost his phone").status_code == 303
    deliver(app)
    (notice,) = mailbox.to(OMAR)
    assert "second factor" in str(notice.message["Subject"])
    assert "Lost his phone" not in notice.message.as_string()  # the reason is for the log


@pytest.mark.parametrize("action", ["disable", "enable", "reset-second-factor"])
def test_an_admin_of_another_organisation_gets_404_and_the_refusal_is_audited(
    client: TestClient, app: Caseroom, password: str, action: str
) -> None:
    ada = another_organisations_admin(client, app, password)
    assert SARAH not in ada.get("/admin/users").text
    refused = act(ada, app, action, SARAH)
    assert refused.status_code == 404
    assert not person(app, SARAH).disabled
    name = {"disable": "disable_account", "enable": "enable_account"}.get(action, action)
    denied = audit_events(app, name.replace("-", "_"), outcome="denied")
    assert [e.resource_id for e in denied] == [person(app, SARAH).id]


@pytest.mark.parametrize("who", [SARAH, MARK, HANA])
def test_nobody_but_an_administrator_opens_the_page_or_acts(
    client: TestClient, app: Caseroom, password: str, who: str
) -> None:
    if who == MARK:
        admin(client, app, password, MARK)  # a manager, signed in with his authenticator
    else:
        sign_in(client, who, password)
    assert client.get("/admin/users").status_code == 404
    assert act(client, app, "disable", OMAR).status_code == 404
    assert not person(app, OMAR).disabled
    assert [e.outcome for e in audit_events(app, "manage_accounts")] == ["denied"]
    denied = audit_events(app, "disable_account", outcome="denied")
    assert [e.resource_id for e in denied] == [person(app, OMAR).id]


def test_an_administrator_cannot_disable_their_own_account(
    alex: TestClient, app: Caseroom
) -> None:
    assert act(alex, app, "disable", ALEX).status_code == 404
    assert not person(app, ALEX).disabled
    assert [e.outcome for e in audit_events(app, "disable_account")] == ["denied"]


def test_an_action_without_a_reason_changes_nothing_and_says_so(
    alex: TestClient, app: Caseroom
) -> None:
    refused = act(alex, app, "disable", SARAH, "   ")
    assert refused.status_code == 422
    assert "There is a problem" in refused.text and "Say why." in refused.text
    assert not person(app, SARAH).disabled
    assert audit_events(app, "account_disabled") == []
    assert audit_events(app, "disable_account") == []  # the decision went with the rest


def test_each_action_needs_the_csrf_token(alex: TestClient, app: Caseroom) -> None:
    refused = alex.post(f"/admin/users/{person(app, SARAH).id}/disable", data={"reason": WHY})
    assert refused.status_code == 403
    assert not person(app, SARAH).disabled


def test_caseroom_user_disable_and_enable(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    client: TestClient,
    auth: Tokens,
    app: Caseroom,
    password: str,
) -> None:
    token = auth(SARAH)
    cli = Cli(monkeypatch, capsys, settings)
    result = cli("user", "disable", SARAH, "--reason", WHY)
    assert result.code == 0, result.err
    assert client.get("/api/v1/me", headers=token).status_code == 401
    assert submit_password(TestClient(client.app), SARAH, password).status_code == 401
    assert [e.purpose for e in audit_events(app, "account_disabled")] == [WHY]
    again = cli("user", "disable", SARAH)
    assert again.code == 2 and "disabled already" in again.err
    assert cli("user", "enable", SARAH).code == 0
    assert submit_password(TestClient(client.app), SARAH, password).status_code == 303
    assert cli("user", "disable", "nobody@nowhere.example").code == 2


@pytest.fixture
def on_redis(settings: Settings) -> Iterator[tuple[Process, Process]]:
    """Two `caseroom serve` processes sharing the database and Redis."""
    from tests.conftest import SECRET

    a, b = Process(settings, SECRET), Process(settings, SECRET)
    try:
        a.wait_ready()
        b.wait_ready()
        yield a, b
    finally:
        a.stop()
        b.stop()


def test_disabling_on_one_process_closes_the_sockets_on_another(
    on_redis: tuple[Process, Process], auth: Tokens, app: Caseroom, password: str
) -> None:
    a, b = on_redis
    secret = give_second_factor(app, ALEX)

    async def scenario() -> int:
        async with httpx2.AsyncClient(base_url=a.url) as alex:
            await sign_in_async(alex, ALEX, password)
            page = await alex.get("/login/totp")
            await alex.post(
                "/login/totp",
                data={"code": totp_code(secret), "csrf_token": form_value(page.text, "csrf_token")},
            )
            page = await alex.get("/admin/users")
            assert page.status_code == 200, page.text
            async with (
                connected(b, token_of(auth(SARAH))) as socket,  # type: ignore[arg-type]
                closes_within(socket, 1.0),  # on B, disabled on A
            ):
                done = await alex.post(
                    f"/admin/users/{person(app, SARAH).id}/disable",
                    data={"reason": WHY, "csrf_token": form_value(page.text, "csrf_token")},
                )
                assert done.status_code == 303, done.text
            return (await alex.get("/api/v1/me", headers=auth(SARAH))).status_code

    assert run_async(scenario()) == 401
    assert [c.purpose for c in closings(app)] == ["account disabled"]


def test_caseroom_user_disable_closes_sockets_on_a_server_sharing_redis(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    settings: Settings,
    on_redis: tuple[Process, Process],
    auth: Tokens,
    app: Caseroom,
) -> None:
    server = on_redis[1]
    cli = Cli(monkeypatch, capsys, settings)
    monkeypatch.setenv("CASEROOM_REDIS_URL", REDIS_URL)

    async def scenario() -> None:
        async with (
            connected(server, token_of(auth(SARAH))) as socket,  # type: ignore[arg-type]
            closes_within(socket, 1.0),
        ):
            result = await asyncio.to_thread(cli, "user", "disable", SARAH, "--reason", WHY)
            assert result.code == 0, result.err

    run_async(scenario())
    assert [c.purpose for c in closings(app)] == ["account disabled"]


def test_an_administrator_sees_failed_sign_ins_and_lifts_a_lockout_with_a_reason(
    client: TestClient, app: Caseroom, password: str
) -> None:
    for _ in range(app.settings.login_max_failures):
        submit_password(TestClient(client.app), SARAH, "not the password at all")
    locked = person(app, SARAH)
    assert locked.locked_until is not None
    admin(client, app, password)
    page = client.get("/admin/users")
    row = re.search(rf'<tr data-email="{re.escape(SARAH)}">.*?</tr>', page.text, re.S)
    assert row and "locked until" in row.group(0) and "Unlock account" in row.group(0)
    assert 'data-label="Failed sign-ins"' in row.group(0)
    assert act(client, app, "unlock", SARAH, "She rang from her desk phone").status_code == 303
    unlocked = person(app, SARAH)
    assert unlocked.locked_until is None and unlocked.failed_logins == 0
    assert [e.purpose for e in audit_events(app, "account_unlocked")] == [
        "She rang from her desk phone"
    ]
    assert submit_password(TestClient(client.app), SARAH, password).status_code == 303
    # Not locked now: nothing to lift.
    assert act(client, app, "unlock", SARAH).status_code == 409
