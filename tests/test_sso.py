"""Signing in with one's own organisation (issue #16): a real OpenID provider on loopback
(oidc-provider-mock, served by werkzeug in a thread), the authorization code flow with
PKCE, state and nonce, and every refusal the issue names — each with a clear page and an
audit record."""

from __future__ import annotations

import asyncio
import dataclasses
import html
import re
import time
import uuid
from collections.abc import Iterator
from datetime import timedelta
from typing import Any
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
import socketio
from joserfc import jwt
from oidc_provider_mock import run_server_in_thread
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.aio import run_async
from tests.conftest import ALEX, HOLLY, PETE, SARAH, LiveServer, user_by_email
from tests.test_sign_in import form_value
from workspace.access import Access, Origin
from workspace.app import create_app
from workspace.clock import wall_time
from workspace.models import AuditEvent, Notice, SsoIdentity, User
from workspace.services import sso
from workspace.services.demo import COUNCIL, POLICE
from workspace.state import Caseroom
from workspace.web import SESSION_COOKIE

SECRET_VAR = "CASEROOM_TEST_SSO_SECRET"


@pytest.fixture(scope="module")
def provider() -> Iterator[str]:
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def other_provider() -> Iterator[str]:
    """Another organisation's provider: another issuer."""
    with run_server_in_thread() as server:
        yield f"http://localhost:{server.server_port}"


@pytest.fixture(scope="module")
def stale_provider() -> Iterator[str]:
    """A provider whose ID tokens expired long ago (a clock far off, or a replay)."""
    with run_server_in_thread(access_token_max_age=timedelta(days=-30)) as server:
        yield f"http://localhost:{server.server_port}"


def configure(
    app: Caseroom, org: str, issuer: str, domains: str, *, sso_only: bool = False
) -> None:
    with app.db.session() as session:
        sso.configure(
            Access(app, session, None, Origin("cli")), org, issuer=issuer,
            client_id="caseroom", client_secret_env=SECRET_VAR, client_secret_file=None,
            domains=domains, sso_only=sso_only,
        )  # fmt: skip
        session.commit()


@pytest.fixture
def council(app: Caseroom, provider: str, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv(SECRET_VAR, "not-in-the-repo")
    configure(app, COUNCIL, provider, "council.example")
    return provider


def new_client(app: Caseroom) -> TestClient:
    """A browser of its own (its own cookies)."""
    return TestClient(create_app(caseroom=app), base_url="http://testserver")


def person(issuer: str, sub: str, **claims: Any) -> None:
    """What the provider will say of `sub`."""
    response = httpx.put(f"{issuer}/users/{sub}", json=claims)
    assert response.status_code == 204, response.text


def to_provider(client: TestClient, email: str) -> str:
    """From Caseroom's sign-in page to the provider's authorization URL."""
    page = client.get("/login")
    chosen = client.post("/login/sso", data={
        "email": email, "login_token": form_value(page.text, "login_token"), "next": "/",
    })  # fmt: skip
    assert chosen.status_code == 200, chosen.text
    link = re.search(r'href="(/login/sso/[^"]+)"', chosen.text)
    assert link, chosen.text
    started = client.get(html.unescape(link.group(1)), follow_redirects=False)
    assert started.status_code == 303, started.text
    return started.headers["location"]


def authorize(url: str, sub: str) -> str:
    """The person says who they are at the provider; the callback path it sends them to."""
    response = httpx.post(url, data={"sub": sub}, follow_redirects=False)
    assert response.status_code == 302, response.text
    back = urlsplit(response.headers["location"])
    assert back.path == "/login/sso/callback"
    return f"{back.path}?{back.query}"


def denials(app: Caseroom) -> list[str]:
    with app.db.session() as session:
        return [
            str(p)
            for p in session.exec(
                select(AuditEvent.purpose)
                .where(AuditEvent.action == "login", AuditEvent.outcome == "denied")
                .order_by(col(AuditEvent.seq))
            )
        ]


def signed_in_as(client: TestClient) -> str:
    page = client.get("/account")
    assert page.status_code == 200, page.text
    return page.text


def test_a_practitioner_signs_in_through_their_organisation_and_is_linked_by_sub(
    app: Caseroom, council: str
) -> None:
    person(council, "sarah-sub", email=SARAH, email_verified=True, name="Sarah Okafor")
    client = new_client(app)
    url = to_provider(client, SARAH)
    query = parse_qs(urlsplit(url).query)
    assert url.startswith(f"{council}/oauth2/authorize?")
    assert query["code_challenge_method"] == ["S256"] and query["code_challenge"][0]
    assert query["state"][0] and query["nonce"][0] and query["client_id"] == ["caseroom"]
    back = client.get(authorize(url, "sarah-sub"), follow_redirects=False)
    assert back.status_code == 303 and back.headers["location"] == "/"
    assert client.cookies.get(SESSION_COOKIE)
    rooms = client.get("/")
    assert rooms.status_code == 200 and "Jamie" in rooms.text
    assert "sarah.social@council.example" in signed_in_as(client)
    sarah_id = user_by_email(app, SARAH).id
    with app.db.session() as session:
        linked = session.exec(select(SsoIdentity).where(SsoIdentity.subject == "sarah-sub")).one()
    assert linked.issuer == council and linked.user_id == sarah_id
    # Next time the email may say anything: the person is who the sub was linked to.
    person(council, "sarah-sub", email="someone.else@council.example", email_verified=True)
    other = new_client(app)
    other.get(authorize(to_provider(other, SARAH), "sarah-sub"), follow_redirects=False)
    assert "sarah.social@council.example" in signed_in_as(other)


def test_a_first_sign_in_makes_an_account_of_the_organisation_with_no_rooms_and_tells_its_admin(
    app: Caseroom, council: str
) -> None:
    person(council, "nina", email="nina.new@council.example", email_verified=True, name="Nina New")
    client = new_client(app)
    client.get(authorize(to_provider(client, "nina.new@council.example"), "nina"))
    nina = user_by_email(app, "nina.new@council.example")
    council_org = user_by_email(app, SARAH).organisation_id
    assert (nina.organisation_id, nina.org_role, nina.name) == (
        council_org,
        "practitioner",
        "Nina New",
    )
    rooms = client.get("/")
    assert rooms.status_code == 200 and "Jamie" not in rooms.text
    assert "Nina New" in signed_in_as(client)
    alex_id = user_by_email(app, ALEX).id
    with app.db.session() as session:
        told = session.exec(select(Notice).where(Notice.user_id == alex_id)).all()
    assert any("nina.new@council.example" in n.text for n in told)


def test_refusals_each_have_a_clear_page_and_an_audit_record(app: Caseroom, council: str) -> None:
    person(council, "sarah-sub", email=SARAH, email_verified=True)
    # Wrong state: the callback names a sign-in this browser did not start.
    client = new_client(app)
    callback = authorize(to_provider(client, SARAH), "sarah-sub")
    forged = re.sub(r"state=[^&]+", "state=forged", callback)
    refused = client.get(forged)
    assert refused.status_code == 400 and "You are not signed in" in refused.text
    assert not client.cookies.get(SESSION_COOKIE)
    assert denials(app)[-1] == "sso: state does not match this browser"

    # A callback works once; replayed (even with the browser's cookie), it is refused.
    first = new_client(app)
    callback = authorize(to_provider(first, SARAH), "sarah-sub")
    state = parse_qs(urlsplit(callback).query)["state"][0]
    assert first.get(callback, follow_redirects=False).status_code == 303
    replay = new_client(app)
    replay.cookies.set("caseroom_sso_state", state, path="/login/sso")
    assert replay.get(callback).status_code == 400
    assert denials(app)[-1] == "sso: state used already"

    # A replayed code in a new sign-in: the provider refuses it.
    again = new_client(app)
    fresh = authorize(to_provider(again, SARAH), "sarah-sub")
    old_code = parse_qs(urlsplit(callback).query)["code"][0]
    reused = re.sub(r"code=[^&]+", f"code={old_code}", fresh)
    assert again.get(reused).status_code == 400
    assert denials(app)[-1].startswith("sso: provider refused the code")

    # Wrong nonce: a code issued for another nonce, brought back to this sign-in.
    third = new_client(app)
    url = to_provider(third, SARAH)
    query = parse_qs(urlsplit(url).query)
    query["nonce"] = ["the-attackers-nonce"]
    other_url = url.split("?")[0] + "?" + urlencode({k: v[0] for k, v in query.items()})
    assert third.get(authorize(other_url, "sarah-sub")).status_code == 400
    assert "nonce" in denials(app)[-1]


def test_an_expired_id_token_is_refused(
    app: Caseroom, stale_provider: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv(SECRET_VAR, "not-in-the-repo")
    configure(app, COUNCIL, stale_provider, "council.example")
    person(stale_provider, "sarah-sub", email=SARAH, email_verified=True)
    client = new_client(app)
    refused = client.get(authorize(to_provider(client, SARAH), "sarah-sub"))
    assert refused.status_code == 400
    assert "expired" in denials(app)[-1]


def test_nobody_becomes_a_user_of_another_organisation(
    app: Caseroom, council: str, other_provider: str
) -> None:
    configure(app, POLICE, other_provider, "police.example")
    # The police provider vouches for a council address: not one of its domains.
    person(other_provider, "mallory", email=SARAH, email_verified=True)
    client = new_client(app)
    refused = client.get(authorize(to_provider(client, PETE), "mallory"))
    assert refused.status_code == 403
    assert "not one your organisation" in refused.text
    assert denials(app)[-1] == "sso: email outside the organisation's domains"
    # An unverified email links nobody.
    person(council, "unverified", email="someone@council.example", email_verified=False)
    other = new_client(app)
    assert other.get(authorize(to_provider(other, SARAH), "unverified")).status_code == 403
    assert denials(app)[-1] == "sso: no verified email"


def test_an_id_token_from_another_issuer_is_refused(
    app: Caseroom, council: str, other_provider: str
) -> None:
    """A genuine token from the police's provider, offered as the council's."""
    person(other_provider, "pete-sub", email=PETE, email_verified=True)
    authorize_url = f"{other_provider}/oauth2/authorize?" + urlencode({
        "client_id": "caseroom", "response_type": "code", "scope": "openid email",
        "redirect_uri": "http://127.0.0.1/cb", "nonce": "n-1", "state": "s",
    })  # fmt: skip
    code = parse_qs(
        urlsplit(httpx.post(authorize_url, data={"sub": "pete-sub"}).headers["location"]).query
    )["code"][0]
    token = httpx.post(f"{other_provider}/oauth2/token", data={
        "grant_type": "authorization_code", "code": code, "redirect_uri": "http://127.0.0.1/cb",
        "client_id": "caseroom", "client_secret": "x",
    }).json()["id_token"]  # fmt: skip
    # Signed with keys the council's provider does not publish: refused.
    with pytest.raises(sso.SsoRefused) as refused:
        sso.check_id_token(token, sso.discover(council), "caseroom", "n-1", wall_time())
    assert "signature" in refused.value.reason
    # Even were its keys the same, the issuer is not the council's.
    police_keys = dataclasses.replace(sso.discover(other_provider), issuer=council)
    with pytest.raises(sso.SsoRefused) as refused:
        sso.check_id_token(token, police_keys, "caseroom", "n-1", wall_time())
    assert "iss" in refused.value.reason
    # Its own issuer takes it, for the right client only.
    police_provider = sso.discover(other_provider)
    assert (
        sso.check_id_token(token, police_provider, "caseroom", "n-1", wall_time())["sub"]
        == "pete-sub"
    )
    with pytest.raises(sso.SsoRefused):
        sso.check_id_token(token, police_provider, "another-client", "n-1", wall_time())


def test_an_organisation_set_to_sso_only_turns_passwords_off(
    app: Caseroom, provider: str, monkeypatch: pytest.MonkeyPatch, password: str
) -> None:
    monkeypatch.setenv(SECRET_VAR, "not-in-the-repo")
    configure(app, COUNCIL, provider, "council.example", sso_only=True)
    client = new_client(app)
    page = client.get("/login")
    refused = client.post("/login", data={
        "email": SARAH, "password": password, "login_token": form_value(page.text, "login_token"),
    })  # fmt: skip
    assert refused.status_code == 401 and "own accounts" in refused.text
    assert denials(app)[-1].startswith("passwords off")
    # Other organisations' people still use passwords.
    other = new_client(app)
    page = other.get("/login")
    ok = other.post("/login", data={
        "email": HOLLY, "password": password, "login_token": form_value(page.text, "login_token"),
    }, follow_redirects=False)  # fmt: skip
    assert ok.status_code == 303


def test_an_email_no_provider_vouches_for_is_sent_back_to_passwords(app: Caseroom) -> None:
    client = new_client(app)
    page = client.get("/login")
    answer = client.post("/login/sso", data={
        "email": HOLLY, "login_token": form_value(page.text, "login_token"),
    })  # fmt: skip
    assert answer.status_code == 400 and "password" in answer.text


def test_multi_factor_at_the_provider_counts_as_the_second_factor(
    app: Caseroom, council: str
) -> None:
    """Mark is a team manager: a password sign-in asks him for a code. With `amr: mfa`
    the provider's second factor counts; without it he is asked for ours."""
    mark = "mark.manager@council.example"
    person(council, "mark-mfa", email=mark, email_verified=True, amr=["pwd", "mfa"])
    client = new_client(app)
    client.get(authorize(to_provider(client, mark), "mark-mfa"))
    assert client.get("/", follow_redirects=False).status_code == 200
    person(council, "mark-mfa", email=mark, email_verified=True, amr=["pwd"])
    other = new_client(app)
    other.get(authorize(to_provider(other, mark), "mark-mfa"))
    assert other.get("/", follow_redirects=False).status_code in (302, 303)


def test_the_cli_configures_a_provider_and_never_stores_the_secret(
    app: Caseroom, provider: str
) -> None:
    configure(app, COUNCIL, provider, " Council.example, @other.example ")
    with app.db.session() as session:
        config = session.exec(select(sso.OrganisationSso)).one()
    assert config.domains == "council.example,other.example"
    assert config.client_secret_env == SECRET_VAR
    assert "not-in-the-repo" not in str(config.model_dump())
    with pytest.raises(sso.Invalid):
        configure(app, COUNCIL, "http://provider.example", "council.example")
    with app.db.session() as session:
        assert (
            session.exec(select(User).where(User.email == "nobody@council.example")).first() is None
        )


def provider_key(server: Any) -> Any:
    """The provider's own signing key (the mock sends no logout tokens itself; we sign
    one as it would, with its key, whose public half it publishes)."""
    from joserfc.jwk import RSAKey

    hook = server.app.before_request_funcs[None][0]
    cells = dict(
        zip(hook.__code__.co_freevars, (c.cell_contents for c in hook.__closure__), strict=True)
    )
    return RSAKey.import_key(cells["storage"].jwk.as_dict(is_private=True))


@pytest.fixture
def live_council(
    app: Caseroom, live_server: LiveServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[tuple[str, Any]]:
    app.settings = dataclasses.replace(app.settings, base_url=live_server.url)
    monkeypatch.setenv(SECRET_VAR, "not-in-the-repo")
    with run_server_in_thread() as server:
        issuer = f"http://localhost:{server.server_port}"
        configure(app, COUNCIL, issuer, "council.example")
        yield issuer, provider_key(server)


def logout_token(issuer: str, key: Any, sub: str | None, **changes: Any) -> str:
    """Signed as the provider would; a claim given as None is left out."""
    claims = {
        "iss": issuer, "aud": "caseroom", "iat": int(wall_time()), "jti": uuid.uuid4().hex,
        "sub": sub, "events": {sso.BACKCHANNEL_EVENT: {}}, **changes,
    }  # fmt: skip
    present = {name: value for name, value in claims.items() if value is not None}
    return jwt.encode({"alg": "RS256", "kid": key.kid}, present, key)


def test_back_channel_logout_ends_the_sessions_and_closes_the_open_socket_within_a_second(
    app: Caseroom, live_server: LiveServer, live_council: tuple[str, Any]
) -> None:
    issuer, key = live_council
    person(issuer, "sarah-sub", email=SARAH, email_verified=True)
    client = new_client(app)
    client.get(authorize(to_provider(client, SARAH), "sarah-sub"))
    cookie = client.cookies.get(SESSION_COOKIE)
    assert cookie

    async def scenario() -> float:
        socket = socketio.AsyncClient(reconnection=False)
        closed = asyncio.Event()
        socket.on("disconnect", lambda *_: closed.set())
        await socket.connect(
            live_server.url, headers={"Cookie": f"{SESSION_COOKIE}={cookie}"},
            transports=["websocket"],
        )  # fmt: skip
        async with httpx.AsyncClient() as http:
            # Refused first: a token for another client, and one that is no logout.
            refused = (
                logout_token(issuer, key, "sarah-sub", aud="another-client"),
                logout_token(issuer, key, "sarah-sub", events={}),
                "not a token",
            )
            for bad in refused:
                answer = await http.post(
                    f"{live_server.url}/login/sso/backchannel-logout", data={"logout_token": bad}
                )
                assert answer.status_code == 400, answer.text
            assert socket.connected
            began = time.monotonic()
            answer = await http.post(
                f"{live_server.url}/login/sso/backchannel-logout",
                data={"logout_token": logout_token(issuer, key, "sarah-sub")},
            )
            assert answer.status_code == 200, answer.text
        await asyncio.wait_for(closed.wait(), timeout=1.0)
        return time.monotonic() - began

    assert run_async(scenario()) < 1.0
    assert client.get("/", follow_redirects=False).status_code in (302, 303)  # signed out
    with app.db.session() as session:
        purposes = session.exec(
            select(AuditEvent.purpose).where(AuditEvent.action == "logout")
        ).all()
    assert "sso back-channel" in purposes
    assert sum(str(p).startswith("sso back-channel: ") for p in purposes) == 3


def test_a_logout_token_naming_only_a_provider_session_ends_that_session_once(
    app: Caseroom, live_server: LiveServer, live_council: tuple[str, Any]
) -> None:
    """Back-channel logout may name the provider's session (`sid`) instead of the person:
    only the browser signed in with that provider session is signed out. The same token
    sent again is refused (its `jti` was seen), as is one naming neither."""
    issuer, key = live_council
    browsers = {}
    for sid in ("provider-session-a", "provider-session-b"):
        person(issuer, "sarah-sub", email=SARAH, email_verified=True, sid=sid)
        browsers[sid] = new_client(app)
        browsers[sid].get(authorize(to_provider(browsers[sid], SARAH), "sarah-sub"))
        assert browsers[sid].get("/", follow_redirects=False).status_code == 200

    def send(token: str) -> httpx.Response:
        return httpx.post(
            f"{live_server.url}/login/sso/backchannel-logout", data={"logout_token": token}
        )

    only_a = logout_token(issuer, key, None, sid="provider-session-a")
    assert send(only_a).status_code == 200
    assert browsers["provider-session-a"].get("/", follow_redirects=False).status_code == 303
    assert browsers["provider-session-b"].get("/", follow_redirects=False).status_code == 200
    replayed = send(only_a)
    assert replayed.status_code == 400 and "replayed" in replayed.text
    neither = send(logout_token(issuer, key, None))
    assert neither.status_code == 400 and "neither sub nor sid" in neither.text
    assert browsers["provider-session-b"].get("/", follow_redirects=False).status_code == 200
    with app.db.session() as session:
        purposes = session.exec(
            select(AuditEvent.purpose).where(AuditEvent.action == "logout")
        ).all()
    assert purposes.count("sso back-channel") == 1
    assert "sso back-channel: logout token replayed" in purposes


def test_signing_out_signs_out_at_the_provider_too(app: Caseroom, council: str) -> None:
    person(council, "sarah-sub", email=SARAH, email_verified=True)
    client = new_client(app)
    client.get(authorize(to_provider(client, SARAH), "sarah-sub"))
    token = form_value(client.get("/account").text, "csrf_token")
    out = client.post("/logout", data={"csrf_token": token}, follow_redirects=False)
    assert out.status_code == 303
    assert out.headers["location"].startswith(f"{council}/oauth2/end_session?client_id=caseroom")
    assert client.get("/", follow_redirects=False).status_code in (302, 303)


def test_saying_no_at_the_provider_is_a_refusal_with_a_page(app: Caseroom, council: str) -> None:
    client = new_client(app)
    url = to_provider(client, SARAH)
    denied = httpx.post(url, data={"action": "deny"}, follow_redirects=False)
    back = urlsplit(denied.headers["location"])
    assert "error=access_denied" in back.query
    page = client.get(f"{back.path}?{back.query}")
    assert page.status_code == 400 and "did not let you in" in page.text
    assert denials(app)[-1] == "sso: provider answered access_denied"
