"""Issue #16 item 4: an organisation's administrator adds accounts and sets role and team
in the browser, at /admin/users.

Adding: name, work email, a role the policy lets an administrator give (practitioner,
team manager, IG lead: never administrator) and a team of the organisation or a new one.
The account has no rooms and no password: its holder is emailed a one-time link (72
hours) to set one; a newer link voids older ones, and using one signs the account out
everywhere. Where the organisation's people sign in only through its provider, no link is
sent: they are told to use it. An administrator also sends a fresh link to someone who
forgot their password.

Role and team: a manager manages the team they are in; someone whose new role needs a
second factor sets one up before their next page. Nobody changes their own role, nor an
administrator's or an integration account's. Every change is audited with the reason and
emailed to the account's holder."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Any

import pytest
from sqlmodel import col, select
from starlette.testclient import TestClient

from tests.conftest import ALEX, MARK, OMAR, SARAH
from tests.conftest import user_by_email as person
from tests.mailbox import Mailbox
from tests.mailing import deliver, text_of
from tests.test_admin_users import admin, another_organisations_admin, row_of
from tests.test_sign_in import audit_events, csrf_of, form_value, sign_in, submit_password
from workspace.access import Access, Origin
from workspace.clock import clock
from workspace.models import Team, TeamManager, User
from workspace.services import accounts, sso
from workspace.state import Caseroom

pytestmark = pytest.mark.mail

NADIA = "nadia.new@council.example"
NEW_PASSWORD = "a kettle of lighthouses 7"
WHY = "Joined the assessment team"


@pytest.fixture
def alex(client: TestClient, app: Caseroom, password: str, quiet: None) -> TestClient:
    return admin(client, app, password)


def team_id(app: Caseroom, email: str) -> str:
    team = person(app, email).team_id
    assert team
    return team


def add(client: TestClient, **fields: str) -> Any:
    data = {"name": "Nadia New", "email": NADIA, "role": "practitioner"} | fields
    return client.post(
        "/admin/users/add",
        data={**data, "csrf_token": csrf_of(client, "/admin/users")},
        follow_redirects=False,
    )


def change(client: TestClient, app: Caseroom, email: str, **fields: str) -> Any:
    user = person(app, email)
    data = {"role": user.org_role, "team_id": user.team_id or "", "reason": WHY} | fields
    return client.post(
        f"/admin/users/{user.id}/change",
        data={**data, "csrf_token": csrf_of(client, "/admin/users")},
        follow_redirects=False,
    )


def link_in(app: Caseroom, mailbox: Mailbox, email: str) -> str:
    deliver(app)
    *_, mail = mailbox.to(email)
    found = re.search(r"/password/([A-Za-z0-9_-]+)", text_of(mail))
    assert found, text_of(mail)
    return found.group(0)


def set_password(link: str, client: TestClient, password: str = NEW_PASSWORD) -> Any:
    page = client.get(link)
    assert page.status_code == 200, page.text
    return client.post(
        link,
        data={
            "password": password,
            "password_again": password,
            "password_token": form_value(page.text, "password_token"),
        },
        follow_redirects=False,
    )


def test_an_added_account_sets_its_password_from_the_emailed_link_and_signs_in(
    alex: TestClient, app: Caseroom, mailbox: Mailbox, password: str
) -> None:
    added = add(alex, team_id=team_id(app, SARAH))
    assert added.status_code == 303, added.text
    page = alex.get(added.headers["location"])
    assert "Done: account added: a link to set its password was emailed to them." in page.text
    row = row_of(page.text, NADIA)
    assert "Nadia New" in row and "Practitioner" in row
    nadia = person(app, NADIA)
    assert nadia.team_id == team_id(app, SARAH) and nadia.organisation_id == person(
        app, SARAH
    ).organisation_id
    # No password works until she sets one (not even an empty one).
    assert submit_password(TestClient(alex.app), NADIA, "").status_code == 401

    link = link_in(app, mailbox, NADIA)
    (mail,) = mailbox.to(NADIA)
    assert "set your password" in str(mail.message["Subject"])
    assert "The link works once" in text_of(mail)
    browser = TestClient(alex.app)
    form = browser.get(link)
    assert "Set your password" in form.text and "Nadia New" in form.text
    assert form.headers["cache-control"] == "no-store"
    different = browser.post(
        link,
        data={
            "password": NEW_PASSWORD,
            "password_again": NEW_PASSWORD + "!",
            "password_token": form_value(form.text, "password_token"),
        },
    )
    assert different.status_code == 422 and "not the same" in different.text
    too_short = set_password(link, browser, "short")
    assert too_short.status_code == 422 and "at least 12 characters" in too_short.text
    done = set_password(link, browser)
    assert done.status_code == 303 and done.headers["location"] == "/login?password=set"
    assert "Your password is set" in browser.get("/login?password=set").text
    sign_in(browser, NADIA, NEW_PASSWORD)
    home = browser.get("/")
    assert home.status_code == 200 and "My rooms" in home.text
    assert "Jamie Carter" not in home.text  # no rooms yet

    # Used once: the link cannot be used again, and saying so is audited.
    again = TestClient(alex.app).get(link)
    assert again.status_code == 404 and "This link cannot be used" in again.text
    assert [e.purpose for e in audit_events(app, "password_link", outcome="denied")] == [
        "link used already, or replaced by a newer one"
    ]
    (created,) = audit_events(app, "user_created", resource_id=nadia.id)
    assert created.purpose == "added by an administrator as practitioner"
    assert created.actor_id == person(app, ALEX).id
    assert [e.actor_id for e in audit_events(app, "password_set")] == [nadia.id]
    assert [e.purpose for e in audit_events(app, "password_link_sent")] == ["new account"]


def test_a_link_expires_after_72_hours(
    alex: TestClient, app: Caseroom, mailbox: Mailbox
) -> None:
    assert add(alex).status_code == 303
    link = link_in(app, mailbox, NADIA)
    clock.advance(timedelta(hours=72, seconds=1))
    expired = TestClient(alex.app).get(link)
    assert expired.status_code == 404 and "may have expired" in expired.text
    assert [e.purpose for e in audit_events(app, "password_link", outcome="denied")] == [
        "link expired"
    ]
    garbled = TestClient(alex.app).get(link[:-3] + "abc")
    assert garbled.status_code == 404


def test_a_fresh_link_for_a_forgotten_password_voids_the_older_one_and_signs_out_everywhere(
    alex: TestClient, app: Caseroom, mailbox: Mailbox, password: str
) -> None:
    sarah = TestClient(alex.app)
    sign_in(sarah, SARAH, password)
    sarah_id = person(app, SARAH).id
    send = {"reason": "Forgot her password", "csrf_token": csrf_of(alex, "/admin/users")}
    sent = alex.post(f"/admin/users/{sarah_id}/send-password-link", data=send)
    assert "Done: a link to set a new password was emailed to them." in sent.text
    first = link_in(app, mailbox, SARAH)
    assert "Set a new password" in str(mailbox.to(SARAH)[-1].message["Subject"])
    # Her password still works until she uses a link (an administrator cannot lock her out).
    assert submit_password(TestClient(alex.app), SARAH, password).status_code == 303
    alex.post(f"/admin/users/{sarah_id}/send-password-link", data=send)
    second = link_in(app, mailbox, SARAH)
    assert first != second
    assert TestClient(alex.app).get(first).status_code == 404  # replaced
    assert set_password(second, TestClient(alex.app)).status_code == 303
    assert sarah.get("/", follow_redirects=False).headers["location"].startswith("/login")
    assert submit_password(TestClient(alex.app), SARAH, password).status_code == 401
    assert submit_password(TestClient(alex.app), SARAH, NEW_PASSWORD).status_code == 303
    assert [e.purpose for e in audit_events(app, "send_password_link")] == [
        "Forgot her password",
        "Forgot her password",
    ]


def test_adding_refuses_what_cannot_be_and_keeps_what_was_typed(
    alex: TestClient, app: Caseroom
) -> None:
    def users() -> int:
        with app.db.session() as session:
            return len(session.exec(select(User.id)).all())

    before = users()
    taken = add(alex, email=SARAH.upper())
    assert taken.status_code == 409 and "already" in taken.text
    assert 'value="Nadia New"' in taken.text  # what was typed is kept
    for fields, says in [
        ({"role": "admin"}, "Choose one of the roles listed."),
        ({"role": "integration"}, "Choose one of the roles listed."),
        ({"role": "manager"}, "A team manager manages a team: choose one."),
        ({"email": "not an email"}, "Enter an email address in the right format"),
        ({"name": ""}, "Enter their full name"),
        ({"team_id": "no-such-team"}, "Choose a team from the list."),
        ({"new_team": "Assessment Team North"}, "choose it from the list"),
    ]:
        refused = add(alex, **fields)
        assert refused.status_code == 422, fields
        assert "There is a problem" in refused.text and says in refused.text, fields
    assert users() == before
    police_team = None
    with app.db.session() as session:
        police = session.exec(select(User).where(col(User.email).like("%police%"))).first()
        assert police and police.team_id
        police_team = police.team_id
    assert add(alex, team_id=police_team).status_code == 422  # another organisation's team
    assert users() == before


@pytest.mark.parametrize("who", [SARAH, MARK])
def test_nobody_but_an_administrator_adds_an_account(
    client: TestClient, app: Caseroom, password: str, who: str
) -> None:
    if who == MARK:
        admin(client, app, password, MARK)  # a manager, with his authenticator
    else:
        sign_in(client, who, password)
    refused = client.post(
        "/admin/users/add",
        data={"name": "X", "email": NADIA, "role": "practitioner", "csrf_token": csrf_of(client)},
    )
    assert refused.status_code == 404  # as the accounts page itself: nothing here for them
    assert not any(u.email == NADIA for u in _everyone(app))
    assert [e.outcome for e in audit_events(app, "add_account")] == ["denied"]


def _everyone(app: Caseroom) -> list[User]:
    with app.db.session() as session:
        return list(session.exec(select(User)).all())


def test_where_passwords_are_off_no_link_is_sent_and_the_email_must_be_the_organisations(
    alex: TestClient, app: Caseroom, mailbox: Mailbox
) -> None:
    with app.db.session() as session:
        sso.configure(
            Access(app, session, None, Origin("cli")), "Northshire Council Children's Services",
            issuer="https://login.council.example", client_id="caseroom",
            client_secret_env="COUNCIL_SECRET", client_secret_file=None,
            domains="council.example", sso_only=True,
        )  # fmt: skip
        session.commit()
    outside = add(alex, email="nadia@gmail.example")
    assert outside.status_code == 422 and "council.example" in outside.text
    added = add(alex)
    assert added.headers["location"] == "/admin/users?done=added-sso"
    deliver(app)
    (mail,) = mailbox.to(NADIA)
    assert "Use your organisation's sign-in" in text_of(mail)
    assert "/password/" not in text_of(mail)
    sarah_id = person(app, SARAH).id
    refused = alex.post(
        f"/admin/users/{sarah_id}/send-password-link",
        data={"reason": "Forgot", "csrf_token": csrf_of(alex, "/admin/users")},
    )
    assert refused.status_code == 409 and "Passwords are off" in refused.text


def test_made_a_team_manager_she_manages_her_team_and_sets_up_a_second_factor_first(
    alex: TestClient, app: Caseroom, mailbox: Mailbox, password: str
) -> None:
    sarah = TestClient(alex.app)
    sign_in(sarah, SARAH, password)
    assert sarah.get("/", follow_redirects=False).status_code == 200
    done = change(alex, app, SARAH, role="manager")
    assert done.status_code == 303 and done.headers["location"] == "/admin/users?done=changed"
    assert "Team manager" in row_of(alex.get("/admin/users").text, SARAH)
    with app.db.session() as session:
        managed = session.exec(
            select(TeamManager.team_id).where(TeamManager.user_id == person(app, SARAH).id)
        ).all()
    assert managed == [team_id(app, SARAH)]
    # Her open browser goes to set up a second factor before anything else.
    assert sarah.get("/", follow_redirects=False).headers["location"] == "/account/second-factor"
    (event,) = audit_events(app, "account_changed")
    assert event.purpose == f"role: Practitioner → Team manager: {WHY}"
    deliver(app)
    (mail,) = mailbox.to(SARAH)
    assert "role or team was changed" in str(mail.message["Subject"])
    assert "Practitioner → Team manager" in text_of(mail)
    assert WHY not in text_of(mail)  # the reason is for the log


def test_a_manager_made_a_practitioner_manages_no_team_and_reviews_no_log(
    alex: TestClient, app: Caseroom, password: str
) -> None:
    mark = admin(TestClient(alex.app), app, password, MARK)
    assert mark.get("/audit/flags").status_code == 200
    assert change(alex, app, MARK, role="practitioner").status_code == 303
    with app.db.session() as session:
        assert not session.exec(
            select(TeamManager).where(col(TeamManager.user_id) == person(app, MARK).id)
        ).all()
    assert mark.get("/audit/flags").status_code == 404


def test_moving_someone_to_a_new_team(alex: TestClient, app: Caseroom) -> None:
    # The form shows his current team in the list: a new team's name wins over it.
    assert change(alex, app, OMAR, new_team="Assessment team B").status_code == 303
    with app.db.session() as session:
        team = session.get(Team, person(app, OMAR).team_id)
    assert team is not None and team.name == "Assessment team B"
    assert "Assessment team B" in row_of(alex.get("/admin/users").text, OMAR)
    (event,) = audit_events(app, "account_changed")
    assert event.purpose and event.purpose.startswith("team: ")
    unchanged = change(alex, app, OMAR)
    assert unchanged.status_code == 422 and "their role and team already" in unchanged.text


def test_nobody_changes_their_own_role_an_administrators_or_to_administrator(
    alex: TestClient, app: Caseroom, password: str
) -> None:
    assert change(alex, app, ALEX, role="ig_lead").status_code == 404
    assert person(app, ALEX).org_role == "admin"
    assert [e.outcome for e in audit_events(app, "change_role")] == ["denied"]
    with app.db.session() as session:
        access = Access(app, session, None, Origin("cli"))
        accounts.add_user(
            access, email="second.admin@council.example",
            org_name="Northshire Council Children's Services", role="admin",
            name="Second Admin", password=password,
        )  # fmt: skip
        session.commit()
    assert change(alex, app, "second.admin@council.example", role="manager").status_code == 404
    promoted = change(alex, app, SARAH, role="admin")
    assert promoted.status_code == 422 and "Choose one of the roles listed." in promoted.text
    assert person(app, SARAH).org_role == "practitioner"
    no_reason = change(alex, app, SARAH, role="ig_lead", reason=" ")
    assert no_reason.status_code == 422 and "Say why" in no_reason.text
    assert person(app, SARAH).org_role == "practitioner"
    # The page offers no role change where the policy allows none.
    own = row_of(alex.get("/admin/users").text, ALEX)
    assert 'name="role"' not in own.replace('type="hidden" name="role"', "")


def test_an_administrator_of_another_organisation_changes_nothing(
    client: TestClient, app: Caseroom, password: str, quiet: None
) -> None:
    ada = another_organisations_admin(client, app, password)
    assert change(ada, app, SARAH, role="manager").status_code == 404
    # Not even a team name of the council's is confirmed to her.
    named = change(ada, app, SARAH, new_team="Assessment Team North")
    assert named.status_code == 404 and "Assessment Team North" not in named.text
    assert [e.outcome for e in audit_events(app, "change_role")] == ["denied", "denied"]
    assert person(app, SARAH).org_role == "practitioner"
    sarah_id = person(app, SARAH).id
    sent = ada.post(
        f"/admin/users/{sarah_id}/send-password-link",
        data={"reason": "x", "csrf_token": csrf_of(ada, "/admin/users")},
    )
    assert sent.status_code == 404
