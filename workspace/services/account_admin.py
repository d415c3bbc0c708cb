"""What an organisation's administrator does to its accounts in the browser beyond
disabling and unlocking them (issue #16, rule 9): add an account, set someone's role and
team, send a link to set a password. Who may do which, and which roles an administrator
gives, is the policy's (policy/caseroom.polar, resource Account); everything is audited
and the account's holder is told by email. Administrators still see no case data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import col, delete, select

from workspace import crypto
from workspace.access import Access, Target
from workspace.errors import Conflict, Invalid, NotFound
from workspace.facts import account_fact
from workspace.models import Organisation, OrganisationSso, Team, TeamManager, User
from workspace.schemas import AccountChangeIn, AccountIn
from workspace.services import accounts, outbox, password_links, sso

# What the pages call each role.
ROLE_LABELS = {
    "practitioner": "Practitioner",
    "manager": "Team manager",
    "ig_lead": "Information-governance lead",
    "admin": "Administrator",
    "integration": "Partner system",
}


def grantable_roles(access: Access) -> list[str]:
    """The roles an administrator gives (the policy's `grantable_role`), in the order of
    ROLE_LABELS."""
    return [role for role in ROLE_LABELS if access.holds("grantable_role", role)]


def teams(access: Access) -> list[Team]:
    """The teams of the caller's organisation (to choose from)."""
    user = access.require_user()
    return list(
        access.session.exec(
            select(Team).where(Team.organisation_id == user.organisation_id).order_by(
                col(Team.name)
            )
        ).all()
    )


def _role(access: Access, role: str) -> str:
    if role not in grantable_roles(access):
        raise Invalid("Choose one of the roles listed.", fields={"role": "not one to give"})
    return role


def _team(access: Access, org: Organisation, team_id: str, new_team: str) -> Team | None:
    """A new team by name (it wins over the list, which shows the current team), or the
    team chosen from the organisation's list, or none."""
    if new_team:
        if access.session.exec(
            select(Team).where(Team.organisation_id == org.id, Team.name == new_team)
        ).first():
            raise Invalid(
                f"There is a team called {new_team} already: choose it from the list.",
                fields={"new_team": "exists"},
            )
        return accounts.team_of(access.session, org, new_team)
    if not team_id:
        return None
    team = access.session.get(Team, team_id)
    if team is None or team.organisation_id != org.id:
        raise Invalid("Choose a team from the list.", fields={"team_id": "not a team"})
    return team


def _manager_needs_team(role: str, team: Team | None) -> None:
    if role == "manager" and team is None:
        raise Invalid(
            "A team manager manages a team: choose one.", fields={"team_id": "missing"}
        )


@dataclass(frozen=True)
class Added:
    user: User
    link_sent: bool  # else: passwords are off, they sign in through the provider


def add_account(access: Access, data: AccountIn) -> Added:
    """An account of the administrator's organisation, with no rooms and no password: its
    holder is emailed a link to set one (or, where passwords are off, told to sign in with
    the organisation's sign-in)."""
    access.require_workspace("add_account", conceal=True)
    admin = access.require_user()
    session = access.session
    org = session.get(Organisation, admin.organisation_id)
    if org is None:
        raise NotFound()
    role = _role(access, data.role)
    if session.exec(select(User.id).where(User.email == data.email)).first():
        raise Conflict(
            f"There is an account with the email {data.email} already.",
        )
    sso_only = accounts.passwords_off(session, org.id)
    provider = session.get(OrganisationSso, org.id)
    if provider is not None and sso_only and data.email.rpartition("@")[2] not in (
        domains := sso.domains_of(provider)
    ):
        raise Invalid(
            "Your organisation's people sign in with its own sign-in, which vouches only "
            f"for addresses at {', '.join(domains)}.",
            fields={"email": "outside the organisation's domains"},
        )
    team = _team(access, org, data.team_id, data.new_team)
    _manager_needs_team(role, team)
    user = User(
        organisation_id=org.id,
        team_id=team.id if team else None,
        name=data.name,
        email=data.email,
        org_role=role,
        password_hash=crypto.unusable_password_hash(),
        created_at=access.now,
    )
    session.add(user)
    session.flush()
    if role == "manager" and team is not None:
        session.add(TeamManager(team_id=team.id, user_id=user.id))
    access.record(
        "user_created",
        Target("user", user.id),
        purpose=f"added by an administrator as {ROLE_LABELS[role].lower()}",
    )
    if sso_only:
        outbox.enqueue(access, _account_email(access, user, org, "account_added"))
        return Added(user, link_sent=False)
    password_links.send(access, user, new_account=True)
    return Added(user, link_sent=True)


@dataclass(frozen=True)
class Change:
    user: User
    said: str  # what changed, as the page and the email say it


def change_role_and_team(access: Access, user_id: str, data: AccountChangeIn) -> Change:
    """Set someone's role and team. A role is changed only to one the policy lets an
    administrator give, and only on an account the policy lets them change; someone who
    now needs a second factor and has none sets it up before their next page, and their
    open pages are closed to make them. A manager manages the team they are in."""
    session = access.session
    user = session.get(User, user_id)
    # Someone who manages no such account learns nothing of it (not even its
    # organisation's teams, which the checks below would name).
    if user is None or not access.allowed("manage", account_fact(user)):
        access.deny("change_role", Target("user", user_id), conceal=True)
        raise AssertionError("unreachable")
    org = session.get(Organisation, user.organisation_id)
    if org is None:
        raise NotFound()
    reason = " ".join(data.reason.split())
    changes: list[str] = []
    old_role, role = user.org_role, data.role
    if role != old_role:
        access.account(user, "change_role", audit_as="change_role", purpose=reason)
        role = _role(access, role)
        changes.append(f"role: {ROLE_LABELS[old_role]} → {ROLE_LABELS[role]}")
    team = _team(access, org, data.team_id, data.new_team)
    old_team = session.get(Team, user.team_id) if user.team_id else None
    if (team.id if team else None) != user.team_id:
        access.account(user, "change_team", audit_as="change_team", purpose=reason)
        changes.append(
            f"team: {old_team.name if old_team else 'none'} → {team.name if team else 'none'}"
        )
    if not changes:
        raise Invalid("That is their role and team already.", fields={"role": "unchanged"})
    _manager_needs_team(role, team)
    reason = accounts.checked_reason(data.reason)
    user.org_role = role
    user.team_id = team.id if team else None
    session.add(user)
    # A manager manages their own team, and a former manager none (rule 7's reviews).
    session.exec(  # type: ignore[call-overload]
        delete(TeamManager).where(col(TeamManager.user_id) == user.id)
    )
    if role == "manager" and team is not None:
        session.add(TeamManager(team_id=team.id, user_id=user.id))
    if (
        old_role not in accounts.TOTP_REQUIRED_ROLES
        and role in accounts.TOTP_REQUIRED_ROLES
        and not user.totp_enabled
    ):
        accounts.second_factor_from_now(access, user)
    said = "; ".join(changes)
    access.record("account_changed", Target("user", user.id), purpose=f"{said}: {reason}")
    outbox.enqueue(
        access, _account_email(access, user, org, "account_changed", changes=changes)
    )
    return Change(user, said)


def send_password_link(access: Access, user_id: str, reason: str) -> User:
    """A forgotten password: a fresh link to set one goes to the account's own email. The
    current password keeps working until the link is used."""
    user, _why = accounts.managed_account(access, user_id, "send_password_link", reason)
    password_links.send(access, user, new_account=False)
    return user


def _account_email(
    access: Access, user: User, org: Organisation, template: str, changes: list[str] | None = None
) -> outbox.Mail:
    subject = {
        "account_added": "You have a Caseroom account",
        "account_changed": "Your Caseroom role or team was changed",
    }[template]
    return accounts.security_email(
        access.app, user, subject, template, organisation=org.name, changes=changes or []
    )

