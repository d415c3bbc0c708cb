"""Signing in through the pages (DESIGN.md §9): password, lockout, rate limit, CSRF,
sessions that end (sign-out, idle, absolute), the second factor for managers, and the
security headers on every answer."""

from __future__ import annotations

import dataclasses
import html
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import urlsplit

import pyotp
import pytest
from sqlmodel import col, func, select
from starlette.testclient import TestClient

from tests.conftest import (
    HOLLY,
    MARK,
    OMAR,
    PETE,
    SARAH,
    Tokens,
    give_second_factor,
    user_by_email,
)  # fmt: skip
from tests.mailing import add_member
from workspace.app import create_app
from workspace.clock import clock
from workspace.crypto import token_hash
from workspace.models import AuditEvent, Message, OutboxEmail, Room, User, WebSession
from workspace.ratelimit import sign_in_limiter
from workspace.settings import Settings
from workspace.state import Caseroom
from workspace.web import SESSION_COOKIE

LOGIN_COOKIE = "caseroom_login"


# --- helpers ---------------------------------------------------------------------------


def form_value(page: str, name: str) -> str:
    """The value of the (first) input called `name` in a page."""
    for tag in re.findall(r"<input\b[^>]*>", page):
        if re.search(rf'\bname="{re.escape(name)}"', tag):
            found = re.search(r'\bvalue="([^"]*)"', tag)
            return html.unescape(found.group(1)) if found else ""
    raise AssertionError(f"no input named {name!r} in the page")


def login_form(client: TestClient, nxt: str | None = None) -> str:
    page = client.get("/login", params={"next": nxt} if nxt else None)
    assert page.status_code == 200
    return page.text


def submit_password(client: TestClient, email: str, password: str, nxt: str | None = None) -> Any:
    page = login_form(client, nxt)
    data = {
        "email": email,
        "password": password,
        "login_token": form_value(page, "login_token"),
        "next": form_value(page, "next"),
    }
    return client.post("/login", data=data, follow_redirects=False)


def sign_in(client: TestClient, email: str, password: str) -> str:
    """Password step; returns the session cookie it set."""
    response = submit_password(client, email, password)
    assert response.status_code == 303, response.text
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie
    return cookie


def csrf_of(client: TestClient, path: str = "/account") -> str:
    page = client.get(path)
    assert page.status_code == 200, page.text
    return form_value(page.text, "csrf_token")


def sign_out(client: TestClient) -> None:
    """From whichever page the session may open (a manager part-way through signing in
    is sent to the second-factor pages)."""
    page = client.get("/account")
    assert page.status_code == 200, page.text
    token = form_value(page.text, "csrf_token")
    response = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert response.status_code == 303
    assert response.headers["location"] == "/login"


def with_cookie(client: TestClient, value: str) -> None:
    """Present exactly this session cookie from now on (as an attacker replaying it)."""
    client.cookies.clear()
    client.cookies.set(SESSION_COOKIE, value)


def set_cookie_header(response: Any, name: str) -> str:
    for header in response.headers.get_list("set-cookie"):
        if header.startswith(f"{name}="):
            return str(header)
    raise AssertionError(f"{name} was not set")


def audit_events(app: Caseroom, action: str, **where: Any) -> list[AuditEvent]:
    with app.db.session() as session:
        query = select(AuditEvent).where(AuditEvent.action == action)
        for key, value in where.items():
            query = query.where(getattr(AuditEvent, key) == value)
        return list(session.exec(query.order_by(col(AuditEvent.seq))).all())


def sessions_of(app: Caseroom, email: str) -> int:
    user = user_by_email(app, email)
    with app.db.session() as session:
        query = select(func.count()).select_from(WebSession).where(WebSession.user_id == user.id)
        return int(session.exec(query).one())


def lands_on(client: TestClient, path: str) -> str:
    """Where a signed-in GET of `path` ends up: the path itself, or where it redirects."""
    response = client.get(path, follow_redirects=False)
    if response.status_code in (302, 303, 307):
        return str(response.headers["location"])
    assert response.status_code == 200, response.text
    return path


def jamie_room_id(app: Caseroom) -> str:
    with app.db.session() as session:
        room = session.exec(select(Room).where(col(Room.title).startswith("Jamie"))).one()
        return room.id


def message_count(app: Caseroom) -> int:
    with app.db.session() as session:
        return int(session.exec(select(func.count()).select_from(Message)).one())


# --- password sign-in --------------------------------------------------------------------


def test_the_right_password_lands_on_my_rooms(client: TestClient, password: str) -> None:
    response = submit_password(client, SARAH, password)
    assert response.status_code == 303
    assert response.headers["location"] == "/"
    home = client.get("/")
    assert home.status_code == 200
    assert "<h1>My rooms</h1>" in home.text
    assert "Jamie Carter" in home.text


def test_the_email_is_matched_whatever_its_case(client: TestClient, password: str) -> None:
    response = submit_password(client, "  Sarah.Social@Council.Example ", password)
    assert response.status_code == 303
    assert "My rooms" in client.get("/").text


def test_a_wrong_password_shows_a_clear_message_and_is_audited_as_denied(
    client: TestClient, app: Caseroom
) -> None:
    response = submit_password(client, SARAH, "not-the-password-at-all")
    assert response.status_code == 401
    assert "The email or password is not right." in response.text
    assert SESSION_COOKIE not in client.cookies
    sarah = user_by_email(app, SARAH)
    denied = audit_events(app, "login", actor_id=sarah.id, outcome="denied")
    assert len(denied) == 1
    assert denied[0].channel == "web"


def test_an_unknown_email_gets_the_same_message_as_a_wrong_password(client: TestClient) -> None:
    unknown = submit_password(client, "nobody@nowhere.example", "whatever-password")
    wrong = submit_password(client, SARAH, "whatever-password")
    assert unknown.status_code == wrong.status_code == 401
    assert "The email or password is not right." in unknown.text


@pytest.mark.parametrize("email", ["sarah\x00.social@council.example", "x" * 5000, ""])
def test_a_strange_email_is_just_a_failed_sign_in(client: TestClient, email: str) -> None:
    page = login_form(client)
    data = {"email": email, "password": "whatever", "login_token": form_value(page, "login_token")}
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 401
    assert SESSION_COOKIE not in client.cookies


def test_the_session_cookie_is_httponly_samesite_lax_and_only_its_hash_is_stored(
    client: TestClient, app: Caseroom, password: str
) -> None:
    response = submit_password(client, SARAH, password)
    header = set_cookie_header(response, SESSION_COOKIE).lower()
    assert "httponly" in header
    assert "samesite=lax" in header
    assert "path=/" in header
    assert "secure" not in header  # plain http in tests; see the HTTPS test below
    token = client.cookies[SESSION_COOKIE]
    with app.db.session() as session:
        records = session.exec(select(WebSession)).all()
    assert [r.id for r in records] == [token_hash(token)]
    assert all(token not in (r.id, r.csrf_token) for r in records)


def test_behind_https_the_session_cookie_is_secure_and_hsts_is_sent(
    settings: Settings, password: str
) -> None:
    https = Caseroom.build(dataclasses.replace(settings, base_url="https://caseroom.example"))
    try:
        with TestClient(create_app(caseroom=https), base_url="https://testserver") as client:
            response = submit_password(client, SARAH, password)
            assert response.status_code == 303
            assert "secure" in set_cookie_header(response, SESSION_COOKIE).lower()
            assert "max-age=31536000" in response.headers["strict-transport-security"]
    finally:
        https.db.dispose()


# --- lockout and rate limits ----------------------------------------------------------------


def test_five_failures_lock_the_account_audit_it_and_email_the_holder(
    client: TestClient, app: Caseroom, password: str
) -> None:
    for attempt in range(5):
        response = submit_password(client, SARAH, f"wrong-password-{attempt}")
        assert response.status_code == 401
    refused = submit_password(client, SARAH, password)
    assert refused.status_code == 401
    assert "locked" in refused.text
    assert SESSION_COOKIE not in client.cookies

    sarah = user_by_email(app, SARAH)
    assert sarah.locked_until is not None
    locked = audit_events(app, "account_locked", actor_id=sarah.id)
    assert len(locked) == 1 and locked[0].outcome == "denied"
    with app.db.session() as session:
        mail = session.exec(select(OutboxEmail).where(OutboxEmail.to == SARAH)).all()
    assert len(mail) == 1
    assert "locked" in mail[0].subject.lower()
    assert mail[0].status == "pending"
    assert "Sarah Okafor" in mail[0].text_body


def test_a_lock_ends_after_the_lockout_period(client: TestClient, password: str) -> None:
    for attempt in range(5):
        submit_password(client, SARAH, f"wrong-password-{attempt}")
    assert submit_password(client, SARAH, password).status_code == 401
    clock.advance(timedelta(minutes=16))
    assert submit_password(client, SARAH, password).status_code == 303


def test_the_ip_rate_limit_answers_429_even_to_the_right_password(
    client: TestClient, password: str
) -> None:
    limit = sign_in_limiter.limit
    for n in range(limit):
        response = submit_password(client, f"guess{n}@nowhere.example", "guessing-password")
        assert response.status_code == 401, n
    limited = submit_password(client, SARAH, password)
    assert limited.status_code == 429
    assert "Too many sign-in attempts" in limited.text
    assert SESSION_COOKIE not in client.cookies


# --- CSRF ----------------------------------------------------------------------------------


def test_the_login_form_without_its_login_token_is_refused(
    client: TestClient, app: Caseroom, password: str
) -> None:
    before = len(audit_events(app, "login"))
    login_form(client)  # the login cookie is set, but the token is not sent
    response = client.post(
        "/login", data={"email": SARAH, "password": password}, follow_redirects=False
    )
    assert response.status_code == 400
    assert "expired" in response.text
    assert SESSION_COOKIE not in client.cookies
    assert len(audit_events(app, "login")) == before  # the password was never tried


def test_the_login_token_without_its_cookie_is_refused(client: TestClient, password: str) -> None:
    token = form_value(login_form(client), "login_token")
    client.cookies.clear()
    data = {"email": SARAH, "password": password, "login_token": token}
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 400
    assert SESSION_COOKIE not in client.cookies


def test_a_form_post_without_the_csrf_token_is_refused_and_writes_nothing(
    client: TestClient, app: Caseroom, password: str
) -> None:
    sign_in(client, SARAH, password)
    room_id = jamie_room_id(app)
    before = message_count(app)
    form = {"body": "Posted by a forged form", "kind": "note", "sensitivity": "room"}
    missing = client.post(f"/rooms/{room_id}/messages", data=form, follow_redirects=False)
    assert missing.status_code == 403
    wrong = client.post(
        f"/rooms/{room_id}/messages",
        data={**form, "csrf_token": "not-the-token"},
        follow_redirects=False,
    )
    assert wrong.status_code == 403
    assert message_count(app) == before

    good = client.post(
        f"/rooms/{room_id}/messages",
        data={**form, "csrf_token": csrf_of(client)},
        follow_redirects=False,
    )
    assert good.status_code == 303
    assert message_count(app) == before + 1


def test_a_cookie_authenticated_api_write_needs_the_csrf_header(
    client: TestClient, app: Caseroom, password: str
) -> None:
    sign_in(client, SARAH, password)
    room_id = jamie_room_id(app)
    before = message_count(app)
    body = {"body": "Posted with only the cookie", "kind": "note"}
    refused = client.post(f"/api/v1/rooms/{room_id}/messages", json=body)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "csrf_failed"
    assert message_count(app) == before
    allowed = client.post(
        f"/api/v1/rooms/{room_id}/messages", json=body, headers={"X-CSRF-Token": csrf_of(client)}
    )
    assert allowed.status_code == 201
    assert message_count(app) == before + 1


def test_sign_out_needs_the_csrf_token(client: TestClient, app: Caseroom, password: str) -> None:
    sign_in(client, SARAH, password)
    response = client.post("/logout", follow_redirects=False)
    assert response.status_code == 403
    assert sessions_of(app, SARAH) == 1
    assert lands_on(client, "/") == "/"


# --- sessions end ------------------------------------------------------------------------


def test_sign_out_ends_the_session_on_the_server(
    client: TestClient, app: Caseroom, password: str
) -> None:
    old = sign_in(client, SARAH, password)
    assert sessions_of(app, SARAH) == 1
    sign_out(client)
    assert sessions_of(app, SARAH) == 0
    assert audit_events(app, "logout", actor_id=user_by_email(app, SARAH).id)
    with_cookie(client, old)  # replay the old cookie
    assert lands_on(client, "/") == "/login?next=/"
    assert client.get("/api/v1/me").status_code == 401


def test_an_idle_session_ends_after_30_minutes(
    client: TestClient, app: Caseroom, password: str
) -> None:
    sign_in(client, SARAH, password)
    clock.advance(timedelta(minutes=29))
    assert lands_on(client, "/") == "/"  # still in use: the idle clock restarts
    clock.advance(timedelta(minutes=29))
    assert lands_on(client, "/") == "/"
    clock.advance(timedelta(minutes=31))
    assert lands_on(client, "/") == "/login?next=/"
    assert sessions_of(app, SARAH) == 0


def test_a_busy_session_still_ends_after_12_hours(client: TestClient, password: str) -> None:
    sign_in(client, SARAH, password)
    elapsed = timedelta(0)
    while elapsed < timedelta(hours=12) - timedelta(minutes=25):
        clock.advance(timedelta(minutes=25))
        elapsed += timedelta(minutes=25)
        assert lands_on(client, "/") == "/"
    clock.advance(timedelta(minutes=26))
    assert lands_on(client, "/") == "/login?next=/"


def test_signing_in_issues_a_new_session_id_whatever_cookie_was_presented(
    client: TestClient, password: str
) -> None:
    client.cookies.set(SESSION_COOKIE, "fixated-by-an-attacker")
    response = submit_password(client, SARAH, password)
    assert response.status_code == 303
    issued = set_cookie_header(response, SESSION_COOKIE)
    assert "fixated-by-an-attacker" not in issued


def test_signing_in_again_from_a_half_signed_in_browser_works_and_ends_the_old_session(
    client: TestClient, app: Caseroom, password: str
) -> None:
    half = sign_in(client, MARK, password)  # stopped before the second factor
    assert lands_on(client, "/") == "/account/second-factor"
    response = submit_password(client, SARAH, password)
    assert response.status_code == 303, response.text
    assert lands_on(client, "/") == "/"
    assert sessions_of(app, MARK) == 0
    with_cookie(client, half)
    assert lands_on(client, "/").startswith("/login")


# --- the second factor -------------------------------------------------------------------


def totp_code(secret: str, steps_ahead: int = 0) -> str:
    """The code for the app's clock (which tests move), `steps_ahead` 30 s steps on."""
    totp = pyotp.TOTP(secret)
    return str(totp.at(clock.now() + timedelta(seconds=30 * steps_ahead)))


def enrol(client: TestClient) -> tuple[str, list[str], str]:
    """On the forced enrolment page: returns the secret, the recovery codes and the
    page that showed them."""
    page = client.get("/account/second-factor")
    assert page.status_code == 200
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.text)
    assert secret, page.text
    done = client.post(
        "/account/second-factor",
        data={
            "code": totp_code(secret.group(1)),
            "csrf_token": form_value(page.text, "csrf_token"),
        },
        follow_redirects=False,
    )
    assert done.status_code == 200, done.text
    codes = re.findall(r"<code>([0-9a-f]{4}-[0-9a-f]{4})</code>", done.text)
    return secret.group(1), codes, done.text


def sign_in_fully(client: TestClient, app: Caseroom, email: str, password: str) -> None:
    """Password, then the code from their authenticator, or setting one up if this person
    must have one and has not yet (a guest)."""
    sign_in(client, email, password)
    where = lands_on(client, "/")
    if where == "/account/second-factor":
        enrol(client)
    elif where == "/login/totp":
        secret = give_second_factor(app, email)
        assert second_step(client, totp_code(secret)).status_code == 303


def second_step(client: TestClient, code: str) -> Any:
    page = client.get("/login/totp")
    assert page.status_code == 200
    return client.post(
        "/login/totp",
        data={"code": code, "csrf_token": form_value(page.text, "csrf_token")},
        follow_redirects=False,
    )


@pytest.fixture
def enrolled_manager(client: TestClient, password: str) -> Iterator[tuple[str, list[str]]]:
    """Mark has set up his authenticator and signed out again; the clock is one step on,
    so the code used to enrol is not the current one."""
    sign_in(client, MARK, password)
    secret, codes, _page = enrol(client)
    sign_out(client)
    clock.advance(timedelta(seconds=30))
    yield secret, codes


def test_a_manager_must_set_up_a_second_factor_before_anything_else(
    client: TestClient, password: str
) -> None:
    response = submit_password(client, MARK, password)
    assert response.status_code == 303
    for path in ("/", "/audit", "/account", f"/rooms/{'0' * 8}-0000-4000-8000-{'0' * 12}"):
        assert lands_on(client, path) == "/account/second-factor", path
    assert client.get("/api/v1/me").status_code == 401
    assert client.get("/api/v1/audit").status_code == 401


def test_enrolling_with_a_code_gives_recovery_codes_and_opens_the_workspace(
    client: TestClient, app: Caseroom, password: str
) -> None:
    partial = sign_in(client, MARK, password)
    page = client.get("/account/second-factor")
    wrong = client.post(
        "/account/second-factor",
        data={"code": "000000", "csrf_token": form_value(page.text, "csrf_token")},
    )
    assert wrong.status_code == 422
    assert not user_by_email(app, MARK).totp_enabled

    _secret, codes, done = enrol(client)
    assert len(codes) == 8 and len(set(codes)) == 8
    assert user_by_email(app, MARK).totp_enabled
    rotated = client.cookies[SESSION_COOKIE]
    assert rotated != partial
    assert lands_on(client, "/") == "/"
    assert lands_on(client, "/audit") == "/audit"
    # the recovery-codes page carries the new session's CSRF token: sign-out works from it
    out = client.post(
        "/logout", data={"csrf_token": form_value(done, "csrf_token")}, follow_redirects=False
    )
    assert out.status_code == 303
    assert sessions_of(app, MARK) == 0


def test_the_enrolment_session_id_is_replaced_and_the_old_one_is_dead(
    client: TestClient, password: str
) -> None:
    partial = sign_in(client, MARK, password)
    enrol(client)
    with_cookie(client, partial)
    assert lands_on(client, "/account/second-factor").startswith("/login")


def test_after_enrolment_sign_in_needs_the_code(
    client: TestClient, enrolled_manager: tuple[str, list[str]], password: str
) -> None:
    secret, _codes = enrolled_manager
    partial = sign_in(client, MARK, password)
    assert lands_on(client, "/") == "/login/totp"
    assert lands_on(client, "/audit") == "/login/totp"
    done = second_step(client, totp_code(secret))
    assert done.status_code == 303
    assert done.headers["location"] == "/"
    full = client.cookies[SESSION_COOKIE]
    assert full != partial  # rotated at the second factor
    assert lands_on(client, "/audit") == "/audit"
    with_cookie(client, partial)
    assert lands_on(client, "/").startswith("/login")


def test_a_wrong_code_is_refused_and_audited(
    client: TestClient, app: Caseroom, enrolled_manager: tuple[str, list[str]], password: str
) -> None:
    sign_in(client, MARK, password)
    response = second_step(client, "123456")
    assert response.status_code == 401
    assert "not right" in response.text
    mark = user_by_email(app, MARK)
    assert audit_events(app, "login_second_factor", actor_id=mark.id, outcome="denied")
    assert lands_on(client, "/") == "/login/totp"


def add_holly_as_guest(client: TestClient, app: Caseroom) -> str:
    """Sarah adds Holly (housing; an account, no second factor) to Jamie's room as a guest."""
    room_id = jamie_room_id(app)
    add_member(client, Tokens(app), room_id, HOLLY, role="guest", second_factor=False)
    return room_id


def test_a_guest_must_set_up_a_second_factor_before_anything_else(
    client: TestClient, app: Caseroom, password: str
) -> None:
    room_id = add_holly_as_guest(client, app)
    sign_in(client, HOLLY, password)
    assert lands_on(client, f"/rooms/{room_id}") == "/account/second-factor"
    assert lands_on(client, "/") == "/account/second-factor"
    enrol(client)
    assert lands_on(client, f"/rooms/{room_id}") == f"/rooms/{room_id}"


def test_becoming_a_guest_sends_an_open_session_to_set_up_a_second_factor(
    client: TestClient, app: Caseroom, password: str
) -> None:
    sign_in(client, HOLLY, password)
    assert lands_on(client, "/") == "/"  # housing practitioner, in no room: no second factor
    room_id = add_holly_as_guest(client, app)
    assert lands_on(client, f"/rooms/{room_id}") == "/account/second-factor"


def test_a_totp_code_cannot_be_used_twice(
    client: TestClient, enrolled_manager: tuple[str, list[str]], password: str
) -> None:
    secret, _codes = enrolled_manager
    code = totp_code(secret)
    sign_in(client, MARK, password)
    assert second_step(client, code).status_code == 303
    sign_out(client)

    sign_in(client, MARK, password)
    replay = second_step(client, code)
    assert replay.status_code == 401
    assert "used already" in replay.text
    assert lands_on(client, "/") == "/login/totp"
    clock.advance(timedelta(seconds=30))
    assert second_step(client, totp_code(secret)).status_code == 303


def test_the_enrolment_code_cannot_be_replayed_at_sign_in(
    client: TestClient, password: str
) -> None:
    sign_in(client, MARK, password)
    secret, _codes, _page = enrol(client)
    enrolment_code = totp_code(secret)
    sign_out(client)
    sign_in(client, MARK, password)
    assert second_step(client, enrolment_code).status_code == 401


def test_a_recovery_code_works_once(
    client: TestClient, enrolled_manager: tuple[str, list[str]], password: str
) -> None:
    _secret, codes = enrolled_manager
    sign_in(client, MARK, password)
    used = second_step(client, codes[0].upper())
    assert used.status_code == 303
    assert lands_on(client, "/audit") == "/audit"
    sign_out(client)

    sign_in(client, MARK, password)
    again = second_step(client, codes[0])
    assert again.status_code == 401
    assert second_step(client, codes[1]).status_code == 303


def test_the_second_step_cannot_be_skipped_with_a_code_from_an_unfinished_enrolment(
    client: TestClient, app: Caseroom, password: str
) -> None:
    """Mark opened the set-up page (so a secret exists) but never confirmed a code."""
    sign_in(client, MARK, password)
    page = client.get("/account/second-factor")
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.text)
    assert secret
    response = second_step(client, totp_code(secret.group(1)))
    assert response.status_code == 401
    assert lands_on(client, "/") == "/account/second-factor"
    assert not user_by_email(app, MARK).totp_enabled


def test_guessing_codes_locks_the_account_like_guessing_passwords(
    client: TestClient, app: Caseroom, enrolled_manager: tuple[str, list[str]], password: str
) -> None:
    secret, _codes = enrolled_manager
    sign_in(client, MARK, password)
    for guess in ("111111", "222222", "333333", "444444", "555555"):
        assert second_step(client, guess).status_code == 401
    mark = user_by_email(app, MARK)
    assert mark.locked_until is not None
    assert audit_events(app, "account_locked", actor_id=mark.id)
    assert second_step(client, totp_code(secret)).status_code == 401  # locked now
    assert lands_on(client, "/") == "/login/totp"


def test_signing_in_again_with_the_password_does_not_reset_the_code_guess_count(
    client: TestClient, app: Caseroom, enrolled_manager: tuple[str, list[str]], password: str
) -> None:
    for guess in ("111111", "222222", "333333", "444444", "555555"):
        sign_in(client, MARK, password)
        assert second_step(client, guess).status_code == 401
    assert user_by_email(app, MARK).locked_until is not None


def test_a_practitioner_without_a_second_factor_goes_straight_in(
    client: TestClient, password: str
) -> None:
    sign_in(client, PETE, password)
    assert lands_on(client, "/") == "/"


# --- security headers and redirects -----------------------------------------------------


def assert_security_headers(response: Any) -> None:
    headers = response.headers
    csp = headers["content-security-policy"]
    assert "frame-ancestors 'none'" in csp
    # libsodium's WebAssembly may compile ('wasm-unsafe-eval'); JavaScript may not be eval'd.
    assert "script-src 'self' 'wasm-unsafe-eval';" in csp
    assert "unsafe-inline" not in csp and "'unsafe-eval'" not in csp
    assert headers["referrer-policy"] == "no-referrer"
    assert headers["x-content-type-options"] == "nosniff"
    assert "no-store" in headers["cache-control"]


def test_security_headers_are_on_pages_and_api_answers(
    client: TestClient, app: Caseroom, password: str
) -> None:
    answers = [client.get("/login"), client.get("/", follow_redirects=False)]
    answers.append(client.get("/api/v1/rooms"))  # 401
    answers.append(client.post("/api/v1/rooms", content=b"x" * 70_000))  # 413
    sign_in(client, SARAH, password)
    room_id = jamie_room_id(app)
    answers += [
        client.get("/"),
        client.get(f"/rooms/{room_id}"),
        client.get("/account"),
        client.get(f"/api/v1/rooms/{room_id}/messages"),
        client.get("/no/such/page"),
    ]
    assert [r.status_code for r in answers] == [200, 303, 401, 413, 200, 200, 200, 200, 404]
    for response in answers:
        assert_security_headers(response)


@pytest.mark.parametrize(
    "target",
    [
        "//evil.example",
        "//evil.example/rooms",
        "https://evil.example/",
        "/\\evil.example",
        "\\\\evil.example",
        "/\t/evil.example",
        "javascript:alert(1)",
        "evil.example",
    ],
)
def test_next_never_leads_off_site(client: TestClient, password: str, target: str) -> None:
    page = login_form(client, target)
    assert form_value(page, "next") in ("/", target)
    data = {
        "email": SARAH,
        "password": password,
        "login_token": form_value(page, "login_token"),
        "next": target,  # as if the hidden field were edited
    }
    response = client.post("/login", data=data, follow_redirects=False)
    assert response.status_code == 303
    location = re.sub(r"[\t\n\r]", "", response.headers["location"])  # as browsers read it
    assert location.startswith("/") and not location.startswith("//")
    assert "\\" not in location
    assert urlsplit(location).netloc == ""


def test_next_takes_you_back_to_the_page_you_asked_for(client: TestClient, password: str) -> None:
    asked = client.get("/audit", follow_redirects=False)
    assert asked.status_code == 303
    assert asked.headers["location"] == "/login?next=/audit"
    response = submit_password(client, SARAH, password, nxt="/audit")
    assert response.headers["location"] == "/audit"


def test_outsiders_and_admins_sign_in_but_see_no_rooms(client: TestClient, password: str) -> None:
    sign_in(client, OMAR, password)
    home = client.get("/")
    assert home.status_code == 200
    assert "Jamie Carter" not in home.text and "Lily Morgan" not in home.text


def test_no_user_row_keeps_a_password_or_totp_secret_in_the_clear(
    app: Caseroom, client: TestClient, password: str
) -> None:
    sign_in(client, MARK, password)
    secret, _codes, _page = enrol(client)
    with app.db.session() as session:
        users = session.exec(select(User)).all()
    for user in users:
        assert password not in user.password_hash
        assert user.password_hash.startswith("$argon2id$")
        assert secret not in (user.totp_secret_sealed or "")
