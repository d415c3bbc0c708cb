"""Invitations by email (issue #5, part 1). Adding someone with an account stays immediate;
for an email with no account the lead's request answers 202 with an invitation, records the
sharing decision, and emails a signed, single-use, expiring link that names the room by its
reference only. Accepting creates the account and starts the membership then; guests set up
a second factor first. Used, expired, revoked and tampered links are refused, audited, and
say nothing about the room."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pyotp
import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests import mailing
from tests.conftest import HANA, PETE, SARAH, Tokens, user_by_email
from tests.mailbox import Mailbox
from tests.mailing import assert_no_case_content, deliver, post, room_of, text_of
from tests.test_sign_in import form_value, lands_on, sign_in
from workspace.access import Access, Origin
from workspace.clock import clock
from workspace.models import (
    AuditEvent,
    Invitation,
    Membership,
    Notice,
    Organisation,
    OutboxEmail,
    SharingDecision,
    User,
)
from workspace.services import accounts
from workspace.services.invitations import accept_limiter
from workspace.state import Caseroom

pytestmark = pytest.mark.mail

NEWCOMER = "nora.newcomer@youthclub.example"
PASSWORD = "kettle orchard bicycle lantern"





@pytest.fixture(autouse=True)
def _fresh_limit() -> Iterator[None]:
    yield
    accept_limiter.reset()


def invite(
    client: TestClient, auth: Tokens, room_id: str, role: str = "guest", **extra: Any
) -> Any:
    body = {
        "email": NEWCOMER,
        "role": role,
        "purpose": "Youth worker supporting the child",
        "lawful_basis": "safeguarding",
        "consent": "given",
        "organisation_name": "Oakfield Youth Club",
        "organisation_kind": "voluntary",
        **extra,
    }
    return client.post(f"/api/v1/rooms/{room_id}/members", headers=auth(SARAH), json=body)


def link_from_email(mailbox: Mailbox) -> str:
    [received] = mailbox.to(NEWCOMER)
    match = re.search(r"https?://\S+?(/invite/[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+)", text_of(received))
    assert match, text_of(received)
    return match.group(1)


def invited(client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, **kw: Any) -> str:
    """Sarah invites the newcomer to Jamie's room; the email goes out; its link."""
    response = invite(client, auth, room_of(app, "Jamie").id, **kw)
    assert response.status_code == 202, response.text
    deliver(app)
    return link_from_email(mailbox)


def accept(client: TestClient, link: str, name: str = "Nora Newcomer", **fields: str) -> Any:
    page = client.get(link)
    assert page.status_code == 200, page.text
    token = re.search(r'name="invite_token" value="([^"]+)"', page.text)
    assert token
    form = {"invite_token": token.group(1), "name": name, "password": PASSWORD, **fields}
    return client.post(link, data=form, follow_redirects=False)


def nora_makes_an_account(app: Caseroom) -> None:
    """Meanwhile, the invited person gets an account of their own (from an administrator)."""
    with app.db.session() as session:
        access = Access(app, session, None, Origin("cli"))
        accounts.add_user(access, email=NEWCOMER, org_name="Oakfield Youth Club",
                          role="practitioner", name="Nora N", password=PASSWORD)  # fmt: skip
        session.commit()


def denials(app: Caseroom) -> list[AuditEvent]:
    with app.db.session() as session:
        query = select(AuditEvent).where(
            col(AuditEvent.action) == "invitation_accept", col(AuditEvent.outcome) == "denied"
        )
        return list(session.exec(query).all())


def assert_refused(client: TestClient, app: Caseroom, link: str, reason: str) -> None:
    before = len(denials(app))
    page = client.get(link)
    assert page.status_code == 404
    assert "This invitation link cannot be used" in page.text
    assert room_of(app, "Jamie").reference not in page.text
    assert "Traceback" not in page.text
    after = denials(app)
    assert len(after) == before + 1
    assert after[-1].purpose == reason


# --- the lead invites ------------------------------------------------------------------------


def test_someone_with_an_account_is_still_added_at_once(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    lily = room_of(app, "Lily")
    body = {"email": PETE, "role": "member", "purpose": "Police liaison",
            "lawful_basis": "safeguarding", "consent": "given"}  # fmt: skip
    response = client.post(f"/api/v1/rooms/{lily.id}/members", headers=auth(SARAH), json=body)
    assert response.status_code == 201, response.text
    assert response.json()["user"]["email"] == PETE


def test_an_email_with_no_account_answers_202_with_an_invitation_and_records_the_decision(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    jamie = room_of(app, "Jamie")
    response = invite(client, auth, jamie.id, consent="not_sought",
                      consent_reason="Telling the family would put the child at risk")  # fmt: skip
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["email"] == NEWCOMER and body["role"] == "guest" and body["status"] == "pending"
    assert body["room_id"] == jamie.id
    assert body["organisation"]["name"] == "Oakfield Youth Club"
    assert body["organisation"]["kind"] == "voluntary"
    assert "token" not in body and "link" not in str(body).replace("link_expires_at", "")
    with app.db.session() as session:
        decision = session.get(SharingDecision, body["sharing_decision_id"])
        assert decision is not None
        assert decision.room_id == jamie.id and decision.decision == "share"
        assert decision.with_organisation_id == body["organisation"]["id"]
        assert decision.consent == "not_sought"
        assert decision.consent_reason == "Telling the family would put the child at risk"
        stored = session.get(Invitation, body["id"])
        assert stored is not None and len(stored.token_hash) == 64
        # No membership yet: it starts when the invitation is accepted.
        assert session.exec(select(User).where(User.email == NEWCOMER)).first() is None
    listed = client.get(f"/api/v1/rooms/{jamie.id}/invitations", headers=auth(SARAH))
    assert [i["email"] for i in listed.json()["items"]] == [NEWCOMER]


def test_an_invitation_needs_an_organisation_and_a_reason_when_consent_was_not_sought(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    jamie = room_of(app, "Jamie")
    assert invite(client, auth, jamie.id, organisation_name="").status_code == 422
    response = invite(client, auth, jamie.id, consent="not_sought")
    assert response.status_code == 422
    too_long = (clock.now() + timedelta(days=91)).isoformat()
    assert invite(client, auth, jamie.id, expires_at=too_long).status_code == 422


def test_only_the_lead_lists_and_revokes_invitations(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    jamie = room_of(app, "Jamie")
    made = invite(client, auth, jamie.id).json()
    assert (
        client.get(f"/api/v1/rooms/{jamie.id}/invitations", headers=auth(PETE)).status_code == 403
    )
    gone = client.delete(f"/api/v1/rooms/{jamie.id}/invitations/{made['id']}", headers=auth(HANA))
    assert gone.status_code == 403


def test_only_a_guests_access_ends_so_an_end_date_for_a_member_is_refused_and_writes_nothing(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    before = written(app)
    later = (clock.now() + timedelta(days=10)).isoformat()
    response = invite(client, auth, room_of(app, "Jamie").id, role="member", expires_at=later)
    assert response.status_code == 422
    assert response.json()["error"]["message"] == "Only a guest's access ends."
    assert set(response.json()["error"]["fields"]) == {"expires_at"}
    assert written(app) == before


# --- the lead invites from the room page ---------------------------------------------------------

FORM = {
    "email": NEWCOMER,
    "role": "member",
    "purpose": "Youth worker supporting the child",
    "lawful_basis": "safeguarding",
    "consent": "given",
}


def organisation_named(app: Caseroom, name: str) -> Organisation:
    with app.db.session() as session:
        return session.exec(select(Organisation).where(Organisation.name == name)).one()


def written(app: Caseroom) -> tuple[int, ...]:
    """What an invitation writes: invitations, sharing decisions, emails, organisations."""
    with app.db.session() as session:
        return tuple(
            len(session.exec(select(model)).all())
            for model in (Invitation, SharingDecision, OutboxEmail, Organisation)
        )


def organisation_options(page: str) -> list[tuple[str, str]]:
    """(value, text) of each option of the "Their organisation" list."""
    found = re.search(r'<select id="member-org" name="organisation_id".*?</select>', page, re.S)
    assert found, "no organisation list on the page"
    options = re.findall(r'<option value="([^"]*)"[^>]*>([^<]*)</option>', found.group(0))
    return [(v, html.unescape(t)) for v, t in options]


def invite_from_page(client: TestClient, room_id: str, **fields: str) -> Any:
    page = client.get(f"/rooms/{room_id}")
    assert page.status_code == 200, page.text
    data = {"csrf_token": form_value(page.text, "csrf_token"), **FORM, **fields}
    return client.post(f"/rooms/{room_id}/invitations", data=data, follow_redirects=False)


def test_the_lead_chooses_their_organisation_from_a_list_sorted_by_name(
    client: TestClient, app: Caseroom, password: str
) -> None:
    jamie = room_of(app, "Jamie")
    sign_in(client, SARAH, password)
    options = organisation_options(client.get(f"/rooms/{jamie.id}").text)
    assert options[0] == ("", "Choose their organisation")
    names = [text.rsplit(" (", 1)[0] for _, text in options[1:]]
    assert names == sorted(names, key=str.lower) and "Northshire Police" in names
    police = organisation_named(app, "Northshire Police")
    assert (police.id, "Northshire Police (police)") in options
    assert "Or a new external organisation" in client.get(f"/rooms/{jamie.id}").text


def test_only_the_lead_is_offered_the_list_of_organisations(
    client: TestClient, app: Caseroom, password: str
) -> None:
    jamie = room_of(app, "Jamie")
    sign_in(client, HANA, password)  # a member of Jamie's room, not its lead
    page = client.get(f"/rooms/{jamie.id}")
    assert page.status_code == 200
    assert 'name="organisation_id"' not in page.text
    assert "Northshire Police (police)" not in page.text


def test_inviting_with_an_organisation_chosen_from_the_list_invites_them_from_it(
    client: TestClient, app: Caseroom, password: str, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    police = organisation_named(app, "Northshire Police")
    organisations_before = written(app)[3]
    sign_in(client, SARAH, password)
    response = invite_from_page(client, jamie.id, organisation_id=police.id)
    assert response.status_code == 303, response.text
    assert response.headers["location"] == f"/rooms/{jamie.id}?invited=1#members"
    with app.db.session() as session:
        invitation = session.exec(select(Invitation)).one()
        assert invitation.email == NEWCOMER and invitation.organisation_id == police.id
        decision = session.get(SharingDecision, invitation.sharing_decision_id)
        assert decision is not None and decision.with_organisation_id == police.id
    assert written(app)[3] == organisations_before  # no organisation was created
    assert len(mailing.rows(app, to=NEWCOMER)) == 1


def test_choosing_from_the_list_and_naming_a_new_organisation_is_refused_and_writes_nothing(
    client: TestClient, auth: Tokens, app: Caseroom, password: str, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    police = organisation_named(app, "Northshire Police")
    before = written(app)
    sign_in(client, SARAH, password)
    response = invite_from_page(
        client,
        jamie.id,
        organisation_id=police.id,
        organisation_name="Oakfield Youth Club",
        organisation_kind="voluntary",
    )
    assert response.status_code == 422
    assert "There is a problem" in response.text
    assert "Choose their organisation from the list, or name a new one, not both." in (
        html.unescape(response.text)
    )
    assert '<a href="#member-org">' in response.text
    # What the lead entered is kept, to correct.
    assert form_value(response.text, "email") == NEWCOMER
    assert form_value(response.text, "organisation_name") == "Oakfield Youth Club"
    assert re.search(rf'<option value="{police.id}" selected>', response.text)
    assert written(app) == before
    assert mailing.rows(app, to=NEWCOMER) == []
    # The API says which fields are at fault.
    refused = invite(client, auth, jamie.id, organisation_id=police.id)
    assert refused.status_code == 422
    assert set(refused.json()["error"]["fields"]) == {"organisation_id", "organisation_name"}
    assert written(app) == before


def test_an_organisation_that_is_not_in_the_list_is_refused_and_writes_nothing(
    client: TestClient, auth: Tokens, app: Caseroom, password: str, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    before = written(app)
    sign_in(client, SARAH, password)
    unknown = "00000000-0000-0000-0000-000000000000"
    response = invite_from_page(client, jamie.id, organisation_id=unknown)
    assert response.status_code == 422
    assert "That organisation is not in the list" in response.text
    assert '<a href="#member-org">' in response.text
    assert written(app) == before
    refused = invite(
        client, auth, jamie.id, organisation_id=unknown, organisation_name="", organisation_kind=""
    )
    assert refused.status_code == 422
    fields = refused.json()["error"]["fields"]
    assert fields == {"organisation_id": "not an organisation in the list"}
    assert written(app) == before


def test_a_new_organisation_named_like_an_existing_one_reuses_it(
    client: TestClient, auth: Tokens, app: Caseroom
) -> None:
    police = organisation_named(app, "Northshire Police")
    organisations_before = written(app)[3]
    response = invite(
        client, auth, room_of(app, "Jamie").id, organisation_name="  northshire POLICE "
    )
    assert response.status_code == 202, response.text
    assert response.json()["organisation"]["id"] == police.id
    assert written(app)[3] == organisations_before


# --- the email ---------------------------------------------------------------------------------


def test_the_email_carries_the_link_and_the_room_reference_but_nothing_about_the_child(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    link = invited(client, auth, app, mailbox)
    [received] = mailbox.to(NEWCOMER)
    assert room_of(app, "Jamie").reference in str(received.message["Subject"])
    assert room_of(app, "Jamie").reference in text_of(received)
    assert link in text_of(received)
    assert_no_case_content(app, received)
    with app.db.session() as session:
        stored = session.exec(select(Invitation)).one()
        token = link.rsplit("/", 1)[1]
        assert token not in stored.token_hash  # only a hash of it is kept


def test_the_emails_html_part_reads_with_a_space_before_the_settings_link(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    invited(client, auth, app, mailbox)
    [received] = mailbox.to(NEWCOMER)
    part = received.message.get_body(("html",))
    assert part is not None
    words = " ".join(html.unescape(re.sub(r"<[^>]+>", "", str(part.get_content()))).split())
    assert "invited this address to Caseroom. Change your email settings." in words


# --- accepting ---------------------------------------------------------------------------------


def test_accepting_creates_the_account_and_the_membership_from_then(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    link = invited(client, auth, app, mailbox, role="member")
    clock.advance(timedelta(hours=2))
    accepted_at = clock.now()
    sarah = user_by_email(app, SARAH)
    response = accept(client, link)
    assert response.status_code == 303
    assert response.headers["location"] == f"/rooms/{jamie.id}"
    assert client.get(f"/rooms/{jamie.id}").status_code == 200  # signed in, in the room
    with app.db.session() as session:
        user = session.exec(select(User).where(User.email == NEWCOMER)).one()
        assert user.name == "Nora Newcomer" and user.org_role == "practitioner"
        membership = session.exec(select(Membership).where(Membership.user_id == user.id)).one()
        assert membership.room_id == jamie.id and membership.role == "member"
        assert abs((membership.joined_at - accepted_at).total_seconds()) < 60
        assert session.exec(select(Invitation)).one().status == "accepted"
        # The lead is told in the app that the person has joined.
        told = session.exec(select(Notice).where(Notice.kind == "invitation_accepted")).one()
        assert told.user_id == sarah.id
        assert told.text == (
            f"Nora Newcomer ({NEWCOMER}) accepted the invitation and joined case room "
            f"{jamie.reference} as member."
        )


def test_a_weak_password_is_refused_and_the_link_still_works(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    link = invited(client, auth, app, mailbox, role="member")
    response = accept(client, link, password="password123")
    assert response.status_code == 422
    assert "Use at least 12 characters" in response.text
    assert accept(client, link).status_code == 303


def test_someone_who_made_an_account_meanwhile_accepts_with_its_password(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    link = invited(client, auth, app, mailbox, role="member")
    nora_makes_an_account(app)
    assert "already have a Caseroom account" in client.get(link).text
    assert accept(client, link, name="", password="not the right one at all").status_code == 401
    response = accept(client, link, name="")
    assert response.status_code == 303
    assert response.headers["location"] == f"/rooms/{jamie.id}"
    with app.db.session() as session:
        [user] = session.exec(select(User).where(User.email == NEWCOMER)).all()
        assert user.name == "Nora N"
        assert session.exec(select(Membership).where(Membership.user_id == user.id)).one()


def test_accepting_as_a_guest_sends_the_accounts_other_browsers_to_the_second_factor(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    link = invited(client, auth, app, mailbox, role="guest")
    nora_makes_an_account(app)
    with TestClient(client.app) as other_browser:
        sign_in(other_browser, NEWCOMER, PASSWORD)
        assert lands_on(other_browser, "/") == "/"  # a practitioner in no room yet
        assert accept(client, link, name="").status_code == 303
        assert lands_on(other_browser, f"/rooms/{jamie.id}") == "/account/second-factor"


def test_a_guest_who_walks_away_from_the_second_factor_cannot_sign_in_around_it(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    link = invited(client, auth, app, mailbox, role="guest")
    assert accept(client, link).status_code == 303
    client.cookies.clear()  # gone, and back later through the sign-in page
    sign_in(client, NEWCOMER, PASSWORD)
    for path in (f"/rooms/{jamie.id}", "/"):
        assert lands_on(client, path) == "/account/second-factor", path
    assert client.get(f"/api/v1/rooms/{jamie.id}").status_code == 401


def test_a_guest_sets_up_a_second_factor_and_sees_only_messages_from_after_joining(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    post(client, auth, SARAH, jamie.id, "Before the guest joined: strategy meeting notes")
    link = invited(client, auth, app, mailbox, role="guest")
    clock.advance(timedelta(minutes=5))
    response = accept(client, link)
    assert response.status_code == 303
    assert response.headers["location"] == f"/invited/second-factor?next=/rooms/{jamie.id}"
    # No way in before the second factor is set up.
    blocked = client.get(f"/rooms/{jamie.id}", follow_redirects=False)
    assert blocked.status_code in (302, 303)
    page = client.get(response.headers["location"])
    secret = re.search(r'data-testid="totp-secret">([A-Z2-7]+)<', page.text)
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)
    assert secret and csrf
    code = pyotp.TOTP(secret.group(1)).at(clock.now())
    done = client.post(
        "/invited/second-factor",
        data={"csrf_token": csrf.group(1), "code": code, "next": f"/rooms/{jamie.id}"},
    )
    assert done.status_code == 200 and "recovery" in done.text.lower()
    assert f'href="/rooms/{jamie.id}"' in done.text
    clock.advance(timedelta(minutes=1))
    post(client, auth, SARAH, jamie.id, "After the guest joined: welcome to the room")
    room = client.get(f"/rooms/{jamie.id}")
    assert room.status_code == 200
    assert "After the guest joined" in room.text
    assert "Before the guest joined" not in room.text
    assert 'data-testid="child-dob"' not in room.text  # rule 3: a guest sees no identifiers
    with app.db.session() as session:
        user = session.exec(select(User).where(User.email == NEWCOMER)).one()
        assert user.totp_enabled
        membership = session.exec(select(Membership).where(Membership.user_id == user.id)).one()
        assert membership.role == "guest" and membership.expires_at is not None


def summary_of(page: str) -> str:
    found = re.search(r'data-testid="invitation-summary">(.*?)</p>', page, re.S)
    assert found, page
    return html.unescape(found.group(1))


def test_the_page_names_the_inviter_with_their_organisation_and_the_organisation_they_join_for(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    link = invited(client, auth, app, mailbox, role="guest")
    sarah = user_by_email(app, SARAH)
    with app.db.session() as session:
        council = session.get(Organisation, sarah.organisation_id)
        assert council is not None
    page = client.get(link)
    assert summary_of(page.text) == (
        f"{sarah.name} ({council.name}) has invited you to case room "
        f"{room_of(app, 'Jamie').reference} as a guest. "
        "You are joining as a member of staff of Oakfield Youth Club."
    )
    assert 'data-testid="invitation-other-session"' not in page.text  # nobody is signed in


def test_someone_else_signed_in_is_warned_that_accepting_signs_them_out(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None, password: str
) -> None:
    link = invited(client, auth, app, mailbox, role="member")
    sign_in(client, SARAH, password)
    page = client.get(link)
    warning = re.search(r'data-testid="invitation-other-session">(.*?)</div>', page.text, re.S)
    assert warning, page.text
    text = html.unescape(re.sub(r"<[^>]+>", "", warning.group(1))).strip()
    assert text == (
        f"You are signed in as {user_by_email(app, SARAH).name}. Accepting signs you out and "
        f"signs you in as the invited person, {NEWCOMER}."
    )
    assert "Jamie" not in page.text  # still nothing about the room beyond its reference
    weak = accept(client, link, password="password123")
    assert weak.status_code == 422
    assert 'data-testid="invitation-other-session"' in weak.text  # still warned
    assert accept(client, link).status_code == 303
    account = client.get("/account")
    assert NEWCOMER in account.text and SARAH not in account.text


# --- links that cannot be used ---------------------------------------------------------------


def test_a_used_link_is_refused_and_audited(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    link = invited(client, auth, app, mailbox, role="member")
    assert accept(client, link).status_code == 303
    client.cookies.clear()
    assert_refused(client, app, link, "link used already")


def test_an_expired_link_is_refused_and_audited(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    link = invited(client, auth, app, mailbox)
    clock.advance(timedelta(days=7, minutes=1))
    assert_refused(client, app, link, "link expired")


def test_a_revoked_link_is_refused_and_audited(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    jamie = room_of(app, "Jamie")
    link = invited(client, auth, app, mailbox)
    [pending] = client.get(f"/api/v1/rooms/{jamie.id}/invitations", headers=auth(SARAH)).json()[
        "items"
    ]
    revoked = client.delete(
        f"/api/v1/rooms/{jamie.id}/invitations/{pending['id']}", headers=auth(SARAH)
    )
    assert revoked.status_code == 204
    assert client.get(f"/api/v1/rooms/{jamie.id}/invitations", headers=auth(SARAH)).json() == {
        "items": [],
        "next": None,
    }
    assert_refused(client, app, link, "invitation revoked")


def test_a_tampered_link_is_refused_and_audited(
    client: TestClient, auth: Tokens, app: Caseroom, mailbox: Mailbox, quiet: None
) -> None:
    link = invited(client, auth, app, mailbox)
    body, mac = link.rsplit(".", 1)
    flipped = body[:-1] + ("A" if body[-1] != "A" else "B")
    assert_refused(client, app, f"{flipped}.{mac}", "tampered or malformed link")
    assert_refused(client, app, "/invite/not-a-token", "tampered or malformed link")
    # A tampered link cannot be accepted either, and the real one still works.
    assert accept(client, link).status_code == 303
