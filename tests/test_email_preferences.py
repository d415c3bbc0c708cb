"""Choosing email (issue #4, parts 2 to 4): on the account page and through
`GET/PUT /api/v1/me/preferences`; and one-click unsubscribe (RFC 8058) from a link in any
optional email, which works without signing in through a signed, purpose-bound token and
is audited."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.conftest import DAN, HANA, OMAR, REMOVAL, SARAH, Tokens, user_by_email
from tests.mailbox import Mailbox
from tests.mailing import deliver, digest_to, post, room_of, write_digests
from tests.test_sign_in import form_value, sign_in
from workspace.clock import clock
from workspace.mail.tokens import make_token
from workspace.models import AuditEvent
from workspace.state import Caseroom

pytestmark = pytest.mark.mail

DEFAULTS = {
    "digest": "daily",
    "digest_hour": 8,
    "digest_day": "monday",
    "timezone": "Europe/London",
    "immediate": ["mention", "added", "guest_expiring", "action_overdue"],
    "muted_rooms": [],
    "last_digest_at": None,
}




def events(app: Caseroom, action: str) -> list[AuditEvent]:
    with app.db.session() as session:
        return list(
            session.exec(
                select(AuditEvent)
                .where(col(AuditEvent.action) == action)
                .order_by(col(AuditEvent.seq))
            ).all()
        )


# --- the API --------------------------------------------------------------------------------


def test_everyone_starts_with_a_daily_digest_at_8_and_every_notification_at_once(
    client: TestClient, auth: Tokens
) -> None:
    response = client.get("/api/v1/me/preferences", headers=auth(DAN))
    assert response.status_code == 200
    assert response.json() == DEFAULTS
    assert response.headers["cache-control"] == "no-store"


def test_preferences_are_changed_with_put_and_the_change_is_audited(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    jamie = room_of(app, "Jamie")
    wanted = {
        "digest": "weekly",
        "digest_hour": 17,
        "digest_day": "friday",
        "immediate": ["added"],
        "muted_rooms": [jamie.id],
    }
    response = client.put("/api/v1/me/preferences", headers=auth(DAN), json=wanted)
    assert response.status_code == 200, response.text
    assert {k: response.json()[k] for k in wanted} == wanted
    assert client.get("/api/v1/me/preferences", headers=auth(DAN)).json() == response.json()
    # Fields left out keep their value.
    partial = client.put("/api/v1/me/preferences", headers=auth(DAN), json={"digest_hour": 6})
    assert partial.json()["digest"] == "weekly" and partial.json()["digest_hour"] == 6
    (first, _second) = events(app, "email_preferences_changed")
    assert first.actor_id == user_by_email(app, DAN).id and first.channel == "api"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"digest": "hourly"}, "digest"),
        ({"digest_hour": 24}, "digest_hour"),
        ({"digest_hour": -1}, "digest_hour"),
        ({"digest_hour": "8"}, "digest_hour"),
        ({"digest_hour": True}, "digest_hour"),
        ({"digest_day": "someday"}, "digest_day"),
        ({"immediate": ["everything"]}, "immediate.0"),
        ({"muted_rooms": "all"}, "muted_rooms"),
        ({"colour": "blue"}, "colour"),
    ],
)
def test_invalid_preferences_are_refused_naming_the_field(
    client: TestClient, auth: Tokens, body: dict[str, Any], field: str
) -> None:
    response = client.put("/api/v1/me/preferences", headers=auth(DAN), json=body)
    assert response.status_code == 422
    assert field in response.json()["error"]["fields"]
    assert client.get("/api/v1/me/preferences", headers=auth(DAN)).json() == DEFAULTS


def test_only_rooms_you_are_in_can_be_muted_and_others_are_not_told_apart(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    lily = room_of(app, "Lily")  # Dan is not in it
    hidden = client.put(
        "/api/v1/me/preferences", headers=auth(DAN), json={"muted_rooms": [lily.id]}
    )
    missing = client.put(
        "/api/v1/me/preferences",
        headers=auth(DAN),
        json={"muted_rooms": ["00000000-0000-4000-8000-000000000000"]},
    )
    assert hidden.status_code == missing.status_code == 422
    assert hidden.json() == missing.json()


def test_a_muted_room_you_have_left_is_no_longer_listed(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    jamie = room_of(app, "Jamie")
    client.put("/api/v1/me/preferences", headers=auth(DAN), json={"muted_rooms": [jamie.id]})
    dan = user_by_email(app, DAN)
    client.request(
        "DELETE", f"/api/v1/rooms/{jamie.id}/members/{dan.id}", headers=auth(SARAH), json=REMOVAL
    )
    assert client.get("/api/v1/me/preferences", headers=auth(DAN)).json()["muted_rooms"] == []


def test_preferences_need_signing_in(client: TestClient) -> None:
    assert client.get("/api/v1/me/preferences").status_code == 401
    assert client.put("/api/v1/me/preferences", json={"digest": "off"}).status_code == 401


# --- the account page -----------------------------------------------------------------------


def test_the_account_page_sets_the_same_preferences(
    client: TestClient, app: Caseroom, auth: Tokens, password: str
) -> None:
    jamie = room_of(app, "Jamie")
    sign_in(client, HANA, password)
    page = client.get("/account")
    assert page.status_code == 200
    assert 'id="email"' in page.text and jamie.reference in page.text
    saved = client.post(
        "/account/email",
        data={
            "csrf_token": form_value(page.text, "csrf_token"),
            "digest": "weekly",
            "digest_hour": "7",
            "digest_day": "tuesday",
            "immediate": ["mention", "added"],
            "muted_rooms": [jamie.id],
        },
        follow_redirects=False,
    )
    assert saved.status_code == 303 and saved.headers["location"] == "/account?saved=email#email"
    prefs = client.get("/api/v1/me/preferences", headers=auth(HANA)).json()
    assert (prefs["digest"], prefs["digest_hour"], prefs["digest_day"]) == ("weekly", 7, "tuesday")
    assert prefs["immediate"] == ["mention", "added"] and prefs["muted_rooms"] == [jamie.id]
    assert "Your email settings are saved" in client.get("/account?saved=email").text


def test_the_form_needs_its_csrf_token_and_refuses_a_bad_hour(
    client: TestClient, auth: Tokens, password: str
) -> None:
    sign_in(client, HANA, password)
    page = client.get("/account")
    base = {"digest": "daily", "digest_day": "monday"}
    assert client.post("/account/email", data={**base, "digest_hour": "9"}).status_code == 403
    bad = client.post(
        "/account/email",
        data={**base, "digest_hour": "25", "csrf_token": form_value(page.text, "csrf_token")},
    )
    assert bad.status_code == 422 and "digest hour" in bad.text.lower()
    assert client.get("/api/v1/me/preferences", headers=auth(HANA)).json() == DEFAULTS


# --- unsubscribing -----------------------------------------------------------------------------


@pytest.fixture
def dans_digest(client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox) -> str:
    """Dan has a digest in his inbox; returns its List-Unsubscribe URL's path."""
    write_digests(app)
    deliver(app)
    (digest,) = digest_to(mailbox, DAN)
    header = str(digest.message["List-Unsubscribe"])
    assert header.startswith("<http://127.0.0.1:8000/unsubscribe/") and header.endswith(">")
    return header[len("<http://127.0.0.1:8000") : -1]


def test_one_click_unsubscribe_works_without_signing_in_and_is_audited(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, dans_digest: str
) -> None:
    client.cookies.clear()
    # A mail scanner following the link changes nothing.
    page = client.get(dans_digest)
    assert page.status_code == 200 and "the digest email" in page.text
    assert client.get("/api/v1/me/preferences", headers=auth(DAN)).json()["digest"] == "daily"
    # The mail client's one-click POST (RFC 8058): no cookie, no CSRF token.
    done = client.post(
        dans_digest,
        content=b"List-Unsubscribe=One-Click",
        headers={"content-type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "You are unsubscribed" in done.text
    assert client.get("/api/v1/me/preferences", headers=auth(DAN)).json()["digest"] == "off"
    (event,) = events(app, "unsubscribe")
    assert event.actor_id == user_by_email(app, DAN).id
    assert (event.outcome, event.channel, event.purpose) == ("allowed", "web", "stopped digest")

    clock.advance(timedelta(hours=1))
    post(client, auth, SARAH, room_of(app, "Jamie").id, "News for the core group.")
    mailbox.received.clear()
    write_digests(app)
    deliver(app)
    assert digest_to(mailbox, DAN) == [] and len(digest_to(mailbox, HANA)) == 1


def test_unsubscribing_from_mentions_leaves_them_for_the_digest(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox
) -> None:
    jamie = room_of(app, "Jamie")
    post(client, auth, HANA, jamie.id, "@dan.dsl first")
    deliver(app)
    (mention,) = [r for r in mailbox.to(DAN) if "mentioned" in str(r.message["Subject"])]
    url = str(mention.message["List-Unsubscribe"])[len("<http://127.0.0.1:8000") : -1]
    assert client.post(url).status_code == 200
    prefs = client.get("/api/v1/me/preferences", headers=auth(DAN)).json()
    assert "mention" not in prefs["immediate"] and prefs["digest"] == "daily"
    post(client, auth, HANA, jamie.id, "@dan.dsl second")
    deliver(app)
    assert len([r for r in mailbox.to(DAN) if "mentioned" in str(r.message["Subject"])]) == 1


def test_a_forged_altered_or_expired_link_does_nothing_and_the_attempt_is_audited(
    client: TestClient, auth: Tokens, app: Caseroom, dans_digest: str
) -> None:
    token = dans_digest.rsplit("/", 1)[1]
    body, mac = token.split(".")
    dan = user_by_email(app, DAN)
    other_key = make_token(app.keys, user_by_email(app, OMAR).id, "digest", clock.now())
    forged = [
        # An altered signature: its first character (six bits that count) changed. (Setting
        # the last two to "AA" left one in 4,096 signatures as they were.)
        f"{body}.{'B' if mac[0] == 'A' else 'A'}{mac[1:]}",
        f"{other_key.split('.')[0]}.{mac}",  # someone else's body with Dan's signature
        "not-a-token",
        "x" * 300,
    ]
    for bad in forged:
        assert client.get(f"/unsubscribe/{bad}").status_code == 404
        assert client.post(f"/unsubscribe/{bad}").status_code == 404
    clock.advance(timedelta(days=366))
    assert client.post(dans_digest).status_code == 404
    assert client.get("/api/v1/me/preferences", headers=auth(DAN)).json()["digest"] == "daily"
    refused = events(app, "unsubscribe")
    assert len(refused) == len(forged) + 1
    assert {e.outcome for e in refused} == {"denied"} and dan.id not in {
        e.actor_id for e in refused
    }
