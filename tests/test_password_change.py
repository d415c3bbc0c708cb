"""Change my password (issue #9 item 1), on the account page: the current password and the
new one twice, under the password rules (accounts.check_password). Done, every other
browser session of the person ends at once, with the live sockets opened with it (within a
second, on every process, each closing audited as `socket_closed` "password changed");
this browser stays signed in on a new session. API tokens are separate credentials and
keep working (the page says so). On any problem nothing changes and the page says what to
fix; a wrong current password counts towards the lockout like a wrong sign-in."""

from __future__ import annotations

from typing import Any

import httpx2
import pytest
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import SARAH, LiveServer, Tokens
from tests.conftest import user_by_email as person
from tests.mailbox import Mailbox
from tests.mailing import deliver
from tests.test_sign_in import (
    audit_events,
    csrf_of,
    form_value,
    sessions_of,
    sign_in,
    submit_password,
)
from tests.test_socket_credentials import browser_socket, closes_within, closings, cookie_of
from tests.test_socket_credentials import sign_in as sign_in_async
from workspace.state import Caseroom
from workspace.web import SESSION_COOKIE

NEW = "a brand new passphrase 42"


def change(client: TestClient, current: str, new: str, again: str | None = None) -> Any:
    return client.post(
        "/account/password",
        data={"current_password": current, "new_password": new,
              "new_password_again": new if again is None else again,
              "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )  # fmt: skip


def test_changing_my_password_signs_out_my_other_browsers_and_closes_their_sockets(
    live_server: LiveServer, app: Caseroom, password: str, auth: Tokens
) -> None:
    token = auth(SARAH)

    async def scenario() -> tuple[int, int, int, int]:
        async with (
            httpx2.AsyncClient(base_url=live_server.url) as here,
            httpx2.AsyncClient(base_url=live_server.url) as elsewhere,
        ):
            await sign_in_async(here, SARAH, password)
            await sign_in_async(elsewhere, SARAH, password)
            async with browser_socket(live_server, cookie_of(elsewhere)) as socket:
                csrf = form_value((await here.get("/account")).text, "csrf_token")
                old_cookie = here.cookies.get(SESSION_COOKIE)
                async with closes_within(socket, 1.0):
                    done = await here.post(
                        "/account/password",
                        data={"current_password": password, "new_password": NEW,
                              "new_password_again": NEW, "csrf_token": csrf},
                    )  # fmt: skip
                assert done.status_code == 303, done.text
                assert done.headers["location"] == "/account?saved=password"
                assert here.cookies.get(SESSION_COOKIE) != old_cookie  # rotated
            page = await here.get(done.headers["location"])
            assert "Your password is changed" in page.text
            return (
                page.status_code,
                (await here.get("/api/v1/me")).status_code,
                (await elsewhere.get("/api/v1/me")).status_code,
                (await here.get("/api/v1/me", headers=token)).status_code,
            )

    # This browser stays signed in; the other is signed out; the API token still works.
    assert run_async(scenario()) == (200, 200, 401, 200)
    assert sessions_of(app, SARAH) == 1
    assert [(c.actor_id, c.purpose) for c in closings(app)] == [
        (person(app, SARAH).id, "password changed")
    ]
    assert [e.outcome for e in audit_events(app, "password_changed")] == ["allowed"]


def test_after_the_change_only_the_new_password_signs_in(
    client: TestClient, password: str
) -> None:
    sign_in(client, SARAH, password)
    assert change(client, password, NEW).status_code == 303
    other = TestClient(client.app)
    assert submit_password(other, SARAH, password).status_code == 401
    assert submit_password(other, SARAH, NEW).status_code == 303


@pytest.mark.parametrize(
    ("current", "new", "again", "said"),
    [
        ("wrong password here", NEW, None, "Your current password is not right."),
        (None, NEW, NEW + "!", "The new password and its repeat are not the same."),
        (None, "short", None, "Use at least 12 characters."),
        (None, "password1234", None, "too common or too easy to guess"),
        (None, None, None, "The new password is your current one"),
    ],
)
def test_a_problem_is_said_next_to_its_field_and_changes_nothing(
    client: TestClient, app: Caseroom, password: str,
    current: str | None, new: str | None, again: str | None, said: str,
) -> None:  # fmt: skip
    sign_in(client, SARAH, password)
    elsewhere = TestClient(client.app)
    sign_in(elsewhere, SARAH, password)
    response = change(client, current or password, new or password, again)
    assert response.status_code == 422
    page = response.text
    assert "There is a problem" in page and said in page
    assert "<title>Error: My account" in page
    assert elsewhere.get("/api/v1/me").status_code == 200  # nobody was signed out
    assert submit_password(TestClient(client.app), SARAH, password).status_code == 303
    assert audit_events(app, "password_changed") == []


def test_a_wrong_current_password_is_audited_and_counts_towards_the_lockout(
    client: TestClient, app: Caseroom, password: str
) -> None:
    sign_in(client, SARAH, password)
    change(client, "wrong password here", NEW)
    assert [(e.outcome, e.purpose) for e in audit_events(app, "password_change")] == [
        ("denied", "wrong current password")
    ]
    assert person(app, SARAH).failed_logins == 1


def test_the_change_needs_the_csrf_token(client: TestClient, password: str) -> None:
    sign_in(client, SARAH, password)
    refused = client.post(
        "/account/password",
        data={"current_password": password, "new_password": NEW, "new_password_again": NEW},
    )
    assert refused.status_code == 403
    assert submit_password(TestClient(client.app), SARAH, password).status_code == 303


@pytest.mark.mail
def test_the_holder_is_emailed_that_their_password_changed(
    client: TestClient, app: Caseroom, mailbox: Mailbox, quiet: None, password: str
) -> None:
    sign_in(client, SARAH, password)
    change(client, "wrong password here", NEW)
    change(client, password, NEW)
    deliver(app)
    (notice,) = mailbox.to(SARAH)  # only for the change made, not the refused one
    assert str(notice.message["Subject"]) == "Your Caseroom password was changed"
    assert "List-Unsubscribe" not in notice.message
