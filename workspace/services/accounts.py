"""Accounts: organisations, users, passwords, sign-in with lockout, browser sessions,
second factor (TOTP) and API tokens."""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import lru_cache
from pathlib import Path

import pyotp
from sqlalchemy import bindparam
from sqlalchemy import inspect as sa_inspect
from sqlmodel import Session, col, select

from workspace import crypto
from workspace.access import Access, Target
from workspace.clock import utc
from workspace.errors import (
    CaseroomError,
    Conflict,
    Invalid,
    NotFound,
    RateLimited,
    Unauthorized,
)
from workspace.events import CredentialEnded
from workspace.facts import epoch_read, epoch_token, remembered, ts
from workspace.models import (
    AccessEpoch,
    ApiToken,
    Membership,
    Organisation,
    OrganisationSso,
    Room,
    Team,
    TeamManager,
    User,
    WebSession,
)
from workspace.models.organisation import ORG_KINDS
from workspace.models.user import ORG_ROLES
from workspace.ratelimit import sign_in_limiter
from workspace.schemas import check_name
from workspace.services import outbox
from workspace.state import Caseroom

MIN_PASSWORD = 12
# Roles that see access logs or manage accounts must use a second factor (DESIGN.md §9).
TOTP_REQUIRED_ROLES = ("manager", "ig_lead", "admin")
# A partner system's account (issue #14) sends with an API token made from the command
# line; nobody signs in to the web as it.
TOKEN_ONLY_ROLES = ("integration",)
TOTP_ISSUER = "Caseroom"


# --- organisations and users -------------------------------------------------------------


@lru_cache(maxsize=1)
def _common_passwords() -> frozenset[str]:
    path = Path(__file__).parent.parent / "common-passwords.txt"
    return frozenset(line.strip().lower() for line in path.read_text().splitlines() if line)


def check_password(password: str, email: str = "") -> None:
    if len(password) < MIN_PASSWORD:
        raise Invalid(f"Use at least {MIN_PASSWORD} characters.", fields={"password": "too short"})
    if len(password) > 256:
        raise Invalid("Use at most 256 characters.", fields={"password": "too long"})
    lowered = password.lower()
    if lowered in _common_passwords() or (email and lowered.startswith(email.split("@")[0])):
        raise Invalid(
            "That password is too common or too easy to guess; choose another.",
            fields={"password": "too common"},
        )


def add_organisation(session: Session, name: str, kind: str, now: object) -> Organisation:
    name = check_name("name", name)
    if kind not in ORG_KINDS:
        raise Invalid(f"kind must be one of: {', '.join(ORG_KINDS)}")
    if session.exec(select(Organisation).where(Organisation.name == name)).first():
        raise Conflict(f"An organisation called {name!r} exists already.")
    org = Organisation(name=name, kind=kind, created_at=now)  # type: ignore[arg-type]
    session.add(org)
    session.flush()
    return org


def set_front_door(access: Access, org_name: str, team_name: str) -> Team:
    """Make a team of a local authority its front door (MASH, issue #14): its members
    triage what matches no room. The team is made if it does not exist."""
    session = access.session
    org = session.exec(select(Organisation).where(Organisation.name == org_name)).first()
    if org is None:
        raise NotFound(f"No organisation called {org_name!r}; add it with `caseroom org add`.")
    if org.kind != "local_authority":
        raise Invalid("Only a local authority has a front door.")
    team = team_of(session, org, check_name("team", team_name))
    org.front_door_team_id = team.id
    session.add(org)
    access.record("set_front_door", Target("organisation", org.id), purpose=team_name)
    return team


def team_of(session: Session, org: Organisation, name: str) -> Team:
    """The organisation's team of that name, made if it does not exist yet."""
    team = session.exec(
        select(Team).where(Team.organisation_id == org.id, Team.name == name)
    ).first()
    if team is None:
        team = Team(organisation_id=org.id, name=name)
        session.add(team)
        session.flush()
    return team


def add_user(
    access: Access,
    *,
    email: str,
    org_name: str,
    role: str,
    name: str,
    password: str,
    team_name: str | None = None,
) -> User:
    session = access.session
    email = email.strip().lower()
    if role not in ORG_ROLES:
        raise Invalid(f"role must be one of: {', '.join(ORG_ROLES)}")
    name = check_name("name", name)
    team_name = check_name("team", team_name) if team_name else None
    org = session.exec(select(Organisation).where(Organisation.name == org_name)).first()
    if org is None:
        raise NotFound(f"No organisation called {org_name!r}; add it with `caseroom org add`.")
    if session.exec(select(User).where(User.email == email)).first():
        raise Conflict(f"A user with email {email} exists already.")
    check_password(password, email)
    team = team_of(session, org, team_name) if team_name else None
    user = User(
        organisation_id=org.id,
        team_id=team.id if team else None,
        name=name,
        email=email,
        org_role=role,
        password_hash=crypto.hash_password(password),
        created_at=access.now,
    )
    session.add(user)
    session.flush()
    if team is not None and role == "manager":
        session.add(TeamManager(team_id=team.id, user_id=user.id))
    access.record("user_created", Target("user", user.id))
    return user


# --- sign-in -----------------------------------------------------------------------------


def authenticate(access: Access, email: str, password: str) -> User:
    """Check a password. Failures are counted per account (lockout, audited, emailed to
    the holder) and per IP (rate limit)."""
    session, now = access.session, access.now
    if not sign_in_limiter.hit(f"ip:{access.origin.ip}"):
        access.record("login", Target("user"), outcome="denied", purpose="rate limited")
        session.commit()
        raise RateLimited("Too many sign-in attempts from here. Wait a minute and try again.")
    email = email.strip().lower()
    # A NUL byte cannot be sent to PostgreSQL, and is in no one's email address.
    user = None
    if "\x00" not in email:
        user = session.exec(select(User).where(User.email == email)).first()
    if user is not None and user.locked_until and user.locked_until > now:
        crypto.verify_password(None, password)
        access.record(
            "login", Target("user", user.id), outcome="denied", actor=user, purpose="account locked"
        )
        session.commit()
        raise Unauthorized("This account is locked after repeated failures. Try again later.")
    ok = crypto.verify_password(user.password_hash if user else None, password)
    if user is None or not ok or user.disabled:
        if user is not None:
            _count_failure(access, user)
        access.record(
            "login",
            Target("user", user.id if user else None),
            outcome="denied",
            actor=user,
            purpose="wrong email or password",
        )
        session.commit()
        raise Unauthorized("The email or password is not right.")
    if user.org_role in TOKEN_ONLY_ROLES:
        access.record(
            "login", Target("user", user.id), outcome="denied", actor=user,
            purpose="integration account: API tokens only",
        )  # fmt: skip
        session.commit()
        raise Unauthorized("This is a partner system's account: it uses an API token, not sign-in.")
    if passwords_off(session, user.organisation_id):
        access.record(
            "login", Target("user", user.id), outcome="denied", actor=user,
            purpose="passwords off: the organisation signs its people in itself",
        )  # fmt: skip
        session.commit()
        raise Unauthorized(
            "Your organisation signs you in with its own accounts: choose "
            "“Use your organisation's sign-in”."
        )
    if not needs_totp(access.session, user, access.now):
        # With a second factor still to come the count stands until that succeeds too, so
        # signing in again with the password does not buy more guesses at the code.
        user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    access.record("login", Target("user", user.id), actor=user)
    return user


def _count_failure(access: Access, user: User) -> None:
    """One more failed password or code; at the limit the account locks, the lock is
    audited and the holder is emailed (DESIGN.md §9)."""
    app = access.app
    user.failed_logins += 1
    if user.failed_logins >= app.settings.login_max_failures:
        user.locked_until = access.now + timedelta(minutes=app.settings.login_lockout_minutes)
        user.failed_logins = 0
        access.record("account_locked", Target("user", user.id), actor=user, outcome="denied")
        outbox.enqueue(access, _lockout_email(app, user))
    access.session.add(user)


def security_email(
    app: Caseroom, user: User, subject: str, template: str, **context: object
) -> outbox.Mail:
    """A notice of something done to the account, which its holder must hear of (no opt-out):
    if it was not them, they say so."""
    return outbox.Mail(
        to=outbox.Recipient.of(user),
        kind="security",
        subject=subject,
        template=template,
        context={"login_url": f"{app.settings.base_url}/login", **context},
    )


def _lockout_email(app: Caseroom, user: User) -> outbox.Mail:
    return security_email(
        app, user, "Your Caseroom account was locked", "account_locked",
        minutes=app.settings.login_lockout_minutes,
    )  # fmt: skip


def passwords_off(session: Session, organisation_id: str) -> bool:
    """The organisation signs its people in through its own provider only (`caseroom org
    sso --sso-only`): no password of theirs works, none is set."""
    provider = session.get(OrganisationSso, organisation_id)
    return provider is not None and provider.sso_only


def needs_totp(session: Session, user: User, now: datetime) -> bool:
    """A second factor is needed by managers, IG leads and administrators, by anyone who
    turned one on (or whose one an administrator reset), and by anyone who is a guest in
    an open room now (issue #5: guests come from outside and hold time-limited access to a
    child's case)."""
    return (
        user.totp_enabled
        or user.totp_required
        or user.org_role in TOTP_REQUIRED_ROLES
        or is_guest_somewhere(session, user, now)
    )


def is_guest_somewhere(session: Session, user: User, now: datetime) -> bool:
    """A guest in an open room now. Asked on every token use: what is remembered of their
    memberships (workspace/facts.py) answers "no" for most people; only a live guest place
    sends us to the database, for the room's status (a closed room ends it)."""
    if not any(
        m.role == "guest"
        and m.revoked_at is None
        and (m.expires_at is None or utc(m.expires_at) > now)
        for m in remembered.rows(session, user).memberships.get(user.id, ())
    ):
        return False
    return (
        session.exec(
            select(Membership.id)
            .join(Room, col(Room.id) == col(Membership.room_id))
            .where(
                col(Membership.user_id) == user.id,
                col(Membership.role) == "guest",
                col(Membership.revoked_at).is_(None),
                col(Membership.expires_at).is_(None) | (col(Membership.expires_at) > now),
                col(Room.status) == "open",
            )
        ).first()
        is not None
    )


def second_factor_from_now(access: Access, user: User) -> None:
    """`user` has just become a guest: a browser session they hold without a second factor
    goes back to "set one up" on its next request (web.call asks for it), and their API
    tokens stop working until they have one (user_for_token); live sockets opened with
    either are closed, whichever room they are in."""
    if user.totp_enabled:
        return
    sessions = access.session.exec(
        select(WebSession).where(col(WebSession.user_id) == user.id, col(WebSession.mfa_ok))
    ).all()
    for web_session in sessions:
        web_session.mfa_ok = False
        access.session.add(web_session)
        access.emit(CredentialEnded(web_session.id, "second factor needed"))
    for token in list_tokens(access.session, user):
        access.emit(CredentialEnded(token.token_hash, "second factor needed"))


# --- browser sessions ----------------------------------------------------------------------


@dataclass(frozen=True)
class SessionInfo:
    token: str
    record: WebSession


def start_session(
    app: Caseroom, session: Session, user: User, *, mfa_ok: bool, sso_sid: str | None = None
) -> SessionInfo:
    """`sso_sid`: the provider's session id, when signed in through the organisation's
    provider (its back-channel logout may name only that)."""
    token = crypto.new_token()
    now = app.clock.now()
    record = WebSession(
        id=crypto.token_hash(token),
        user_id=user.id,
        csrf_token=crypto.new_token(24),
        mfa_ok=mfa_ok,
        created_at=now,
        last_seen_at=now,
        sso_sid=sso_sid,
    )
    session.add(record)
    return SessionInfo(token, record)


def rotate_session(
    app: Caseroom, session: Session, old: WebSession, user: User, *, mfa_ok: bool
) -> SessionInfo:
    """A new id at each step up (second factor), so a fixed session id is worthless."""
    session.delete(old)
    return start_session(app, session, user, mfa_ok=mfa_ok, sso_sid=old.sso_sid)


def session_ends(app: Caseroom, record: WebSession) -> tuple[datetime, str]:
    """When this session stops working unless used again, and why: idle or absolute
    timeout, whichever comes first. Live sockets are closed then (realtime/server.py)."""
    idle = record.last_seen_at + timedelta(minutes=app.settings.session_idle_minutes)
    absolute = record.created_at + timedelta(hours=app.settings.session_absolute_hours)
    return (idle, "idle timeout") if idle < absolute else (absolute, "absolute timeout")


def load_session(
    app: Caseroom, session: Session, token: str | None, *, touch: bool = True
) -> WebSession | None:
    """The live session for a cookie. `touch`: this use is the person's activity and
    counts against the idle timeout (every page and API request; of socket events, only
    what the person does, not what an open page sends by itself: realtime/server.py)."""
    if not token or len(token) > 128:
        return None
    record = session.get(WebSession, crypto.token_hash(token))
    if record is None:
        return None
    now = app.clock.now()
    if now > session_ends(app, record)[0]:
        session.delete(record)
        session.commit()
        return None
    if touch and now - record.last_seen_at > timedelta(seconds=60):
        record.last_seen_at = now
        session.add(record)
        session.commit()
    return record


def end_session(access: Access, token: str | None, reason: str = "signed out") -> None:
    """End a browser session, and with it the live sockets opened with it, on every
    process (after commit)."""
    if token:
        record = access.session.get(WebSession, crypto.token_hash(token))
        if record is not None:
            end_session_record(access, record, reason)


def end_session_record(access: Access, record: WebSession, reason: str) -> None:
    access.session.delete(record)
    access.emit(CredentialEnded(record.id, reason))


def end_credentials(
    access: Access, user: User, reason: str, *, tokens: bool, keep: str | None = None
) -> None:
    """End every browser session of `user` but `keep` (a WebSession id), and with `tokens`
    revoke every API token too; the live sockets opened with any of them are closed on
    every process (after commit), the closing audited with `reason`. Every act that ends a
    person's credentials goes through here (password change, disabling, second-factor
    reset), so none can forget the sockets."""
    sessions = access.session.exec(
        select(WebSession).where(col(WebSession.user_id) == user.id)
    ).all()
    for record in sessions:
        if record.id != keep:
            end_session_record(access, record, reason)
    if tokens:
        for token in list_tokens(access.session, user):
            token.revoked_at = access.now
            access.session.add(token)
            access.emit(CredentialEnded(token.token_hash, reason))


# --- passwords ----------------------------------------------------------------------------


def change_password(
    access: Access, current: WebSession, old: str, new: str, again: str
) -> SessionInfo:
    """The signed-in person changes their own password. Every other browser session of
    theirs ends (whoever else may know the old password is signed out), and this one is
    rotated so it stays signed in; returns the new session. API tokens are separate
    credentials, made on purpose for scripts: they keep working (the account page says so,
    and lists them to revoke). A wrong current password counts towards the lockout."""
    user = access.require_user()
    if not crypto.verify_password(user.password_hash, old):
        _count_failure(access, user)
        access.record(
            "password_change", Target("user", user.id), outcome="denied",
            purpose="wrong current password",
        )  # fmt: skip
        access.session.commit()
        raise Invalid(
            "Your current password is not right.", fields={"current_password": "not right"}
        )
    if new != again:
        raise Invalid(
            "The new password and its repeat are not the same.",
            fields={"new_password_again": "different"},
        )
    try:
        check_password(new, user.email)
    except Invalid as exc:
        raise Invalid(exc.message, fields={"new_password": exc.fields["password"]}) from exc
    if crypto.verify_password(user.password_hash, new):
        raise Invalid(
            "The new password is your current one; choose another.",
            fields={"new_password": "unchanged"},
        )
    user.password_hash = crypto.hash_password(new)
    user.failed_logins = 0
    access.session.add(user)
    access.record("password_changed", Target("user", user.id))
    outbox.enqueue(
        access,
        security_email(
            access.app, user, "Your Caseroom password was changed", "password_changed"
        ),
    )
    end_credentials(access, user, "password changed", tokens=False, keep=current.id)
    # This browser's own session gets a new id too (its old id was sent while the old
    # password was in force); sockets opened with the old id close and the page reopens.
    access.emit(CredentialEnded(current.id, "password changed"))
    return rotate_session(access.app, access.session, current, user, mfa_ok=current.mfa_ok)


# --- administrators (rule 9) --------------------------------------------------------------


@dataclass(frozen=True)
class AccountRow:
    user: User
    team: str | None


def list_accounts(access: Access) -> list[AccountRow]:
    """The accounts the caller manages (their organisation's, for an administrator),
    filtered in SQL by the policy. Anyone who manages none: 404, audited."""
    access.require_workspace("manage_accounts", conceal=True)
    rows = access.session.exec(
        select(User, Team)
        .join(Team, col(Team.id) == col(User.team_id), isouter=True)
        .where(access.accounts_filter())
        .order_by(col(User.name), col(User.email))
    ).all()
    return [AccountRow(user, team.name if team else None) for user, team in rows]


MAX_REASON = 1000


def checked_reason(reason: str) -> str:
    reason = " ".join(reason.split())
    if not reason:
        raise Invalid("Say why.", fields={"reason": "missing"})
    if len(reason) > MAX_REASON:
        raise Invalid(
            f"Say why in {MAX_REASON:,} characters or fewer.", fields={"reason": "too long"}
        )
    return reason


def managed_account(access: Access, user_id: str, action: str, reason: str) -> tuple[User, str]:
    """The account `user_id` if the policy lets the caller do `action` to it (audited with
    the reason); anything else, another organisation's account included, is 404."""
    user = access.session.get(User, user_id)
    if user is None:
        access.deny(action, Target("user", user_id), conceal=True)
        raise AssertionError("unreachable")
    # Decided first, so someone who may not act on the account learns nothing of it (not
    # even that a reason is missing); a bad reason then undoes the allowed record too.
    access.account(user, action, purpose=" ".join(reason.split())[:MAX_REASON] or None)
    return user, checked_reason(reason)


def disable_account(access: Access, user_id: str, reason: str) -> User:
    """An administrator disables an account of their organisation (rule 9)."""
    user, why = managed_account(access, user_id, "disable_account", reason)
    return set_disabled(access, user, disabled=True, reason=why)


def enable_account(access: Access, user_id: str, reason: str) -> User:
    user, why = managed_account(access, user_id, "enable_account", reason)
    return set_disabled(access, user, disabled=False, reason=why)


def unlock_account(access: Access, user_id: str, reason: str) -> User:
    """An administrator lifts a lockout (repeated wrong passwords) before it runs out."""
    user, why = managed_account(access, user_id, "unlock_account", reason)
    if user.locked_until is None or user.locked_until <= access.now:
        raise Conflict("That account is not locked.")
    user.locked_until = None
    user.failed_logins = 0
    access.session.add(user)
    access.record("account_unlocked", Target("user", user.id), purpose=why)
    return user


def set_disabled(access: Access, user: User, *, disabled: bool, reason: str) -> User:
    """Disable (or enable) an account: disabling ends every browser session and API token
    of it and closes their sockets; enabling gives none back (the person signs in again
    and makes new tokens). Used by the administrators' page and by `caseroom user`."""
    if user.disabled == disabled:
        raise Conflict(f"That account is {'disabled' if disabled else 'enabled'} already.")
    user.disabled = disabled
    access.session.add(user)
    if disabled:
        end_credentials(access, user, "account disabled", tokens=True)
    access.record(
        "account_disabled" if disabled else "account_enabled",
        Target("user", user.id),
        purpose=reason,
    )
    return user


def reset_second_factor(access: Access, user_id: str, reason: str) -> User:
    """An administrator resets someone's second factor (a lost phone): the old
    authenticator and recovery codes stop working, the person must set up a new one at
    their next sign-in, and every browser session of theirs ends (each was established
    with the old factor). Their API tokens are separate credentials and stay, unless they
    are a guest somewhere, where tokens need a second factor set up (user_for_token)."""
    user, why = managed_account(access, user_id, "reset_second_factor", reason)
    user.totp_enabled = False
    user.totp_secret_sealed = None
    user.recovery_codes = "[]"
    user.totp_required = True
    access.session.add(user)
    end_credentials(access, user, "second factor reset", tokens=False)
    if is_guest_somewhere(access.session, user, access.now):
        for token in list_tokens(access.session, user):
            access.emit(CredentialEnded(token.token_hash, "second factor needed"))
    access.record("second_factor_reset", Target("user", user.id), purpose=why)
    outbox.enqueue(
        access,
        security_email(
            access.app, user, "The second factor of your Caseroom account was reset",
            "second_factor_reset",
        ),
    )  # fmt: skip
    return user


# --- second factor ------------------------------------------------------------------------


def begin_totp(app: Caseroom, session: Session, user: User) -> str:
    """A fresh secret, stored sealed, not yet in force until a code confirms it."""
    if user.totp_enabled:
        raise Conflict("A second factor is already set up.")
    secret = pyotp.random_base32()
    user.totp_secret_sealed = app.keys.seal(secret)
    session.add(user)
    return secret


def provisioning_uri(app: Caseroom, user: User) -> str:
    if not user.totp_secret_sealed:
        raise Conflict("Start setting up the second factor first.")
    secret = app.keys.unseal(user.totp_secret_sealed)
    return str(pyotp.TOTP(secret).provisioning_uri(name=user.email, issuer_name=TOTP_ISSUER))


def _check_code(app: Caseroom, user: User, code: str) -> bool:
    """±1 step; a code (or an older one) that was used once is refused (no replay)."""
    if not user.totp_secret_sealed:
        return False
    totp = pyotp.TOTP(app.keys.unseal(user.totp_secret_sealed))
    now = ts(app.clock.now())
    for drift in (-1, 0, 1):
        step = int(now // totp.interval) + drift
        if step <= user.totp_last_step:
            continue
        if crypto.constant_time_equals(totp.at(step * totp.interval), code):
            user.totp_last_step = step
            return True
    return False


def confirm_totp(access: Access, code: str) -> list[str]:
    """Turn the second factor on; returns one-time recovery codes (shown once)."""
    user = access.require_user()
    if user.totp_enabled:
        raise Conflict("A second factor is already set up.")
    if not _check_code(access.app, user, code):
        access.record("totp_enrol", Target("user", user.id), outcome="denied")
        access.session.commit()
        raise Invalid("That code is not right. Check the time on your device and try again.")
    codes = [f"{secrets.token_hex(2)}-{secrets.token_hex(2)}" for _ in range(8)]
    user.totp_enabled = True
    user.recovery_codes = json.dumps([crypto.token_hash(c) for c in codes])
    access.session.add(user)
    access.record("totp_enrol", Target("user", user.id))
    return codes


def verify_second_factor(access: Access, user: User, code: str) -> None:
    """The second sign-in step. Wrong codes count towards the same lockout as wrong
    passwords; a locked account, or one whose authenticator was never confirmed (a
    secret from an unfinished enrolment), is refused whatever the code."""
    refusal: CaseroomError | None = None
    if not sign_in_limiter.hit(f"ip:{access.origin.ip}"):
        refusal = RateLimited("Too many sign-in attempts from here. Wait a minute and try again.")
    elif user.locked_until and user.locked_until > access.now:
        refusal = Unauthorized("This account is locked after repeated failures. Try again later.")
    if refusal is not None:
        access.record(
            "login_second_factor",
            Target("user", user.id),
            outcome="denied",
            actor=user,
            purpose="rate limited" if isinstance(refusal, RateLimited) else "account locked",
        )
        access.session.commit()
        raise refusal
    code = code.strip().lower()
    ok = False
    if user.totp_enabled and "-" in code:
        hashes: list[str] = json.loads(user.recovery_codes or "[]")
        digest = crypto.token_hash(code)
        if digest in hashes:
            hashes.remove(digest)
            user.recovery_codes = json.dumps(hashes)
            ok = True
    elif user.totp_enabled:
        ok = _check_code(access.app, user, code)
    access.session.add(user)
    if not ok:
        _count_failure(access, user)
        access.record("login_second_factor", Target("user", user.id), outcome="denied", actor=user)
        access.session.commit()
        raise Unauthorized("That code is not right, or was used already.")
    user.failed_logins = 0
    access.record("login_second_factor", Target("user", user.id), actor=user)


# --- API tokens ----------------------------------------------------------------------------


# Lifetimes offered for a new token, in days. The account page suggests 90: a token
# forgotten in a script stops by itself. `None` (until revoked) stays possible, and is
# what `caseroom token create` makes unless told otherwise, as before.
TOKEN_LIFETIMES = (30, 90, 365)


def create_token(access: Access, user: User, name: str = "api", days: int | None = None) -> str:
    name = check_name("name", name or "api", max_length=100)
    if days is not None and days not in TOKEN_LIFETIMES:
        raise Invalid(
            "A token lasts 30, 90 or 365 days, or until revoked.", fields={"days": "not offered"}
        )
    token = "crm_" + crypto.new_token()
    access.session.add(
        ApiToken(
            user_id=user.id,
            name=name,
            token_hash=crypto.token_hash(token),
            prefix=token[:10],
            created_at=access.now,
            expires_at=access.now + timedelta(days=days) if days else None,
        )
    )
    access.record("token_created", Target("token", None), actor=user)
    return token


class SecondFactorMissing(Unauthorized):
    message = (
        "This account must set up a second factor (in Caseroom: My account) before its "
        "API tokens work again."
    )


class TokenExpired(Unauthorized):
    message = "That API token has expired. Make a new one in Caseroom: My account."


def user_for_token(app: Caseroom, session: Session, token: str) -> User | None:
    return token_holder(app, session, token)[0]


# Built once: every API request and socket event with a token asks it. The holder's
# organisation comes in the same statement: what they post is shown with it.
_TOKEN_HOLDER = (
    select(ApiToken, User, Organisation)
    .join(User, col(User.id) == col(ApiToken.user_id))
    .join(Organisation, col(Organisation.id) == col(User.organisation_id))
    .where(col(ApiToken.token_hash) == bindparam("token_hash"), col(ApiToken.revoked_at).is_(None))
)
# And the access epoch's token (workspace/facts.py), read first in the transaction as the
# remembered principal needs, in the same statement: one round trip fewer per event.
_PERSON = (
    select(User, Organisation, AccessEpoch.token)
    .join(Organisation, col(Organisation.id) == col(User.organisation_id))
    .join(AccessEpoch, col(AccessEpoch.id) == 1)
    .where(col(User.id) == bindparam("user_id"))
)


@dataclass
class KnownPerson:
    """A person's user and organisation rows as read with the access epoch's `token`:
    as good as reading them again for as long as the token is the same, since every
    change to what is read of them changes it (migration 0026 watches the user columns
    that anything takes from these rows; 0018 the organisation)."""

    token: str
    user: User
    organisation: Organisation


def person(session: Session, user_id: str, known: KnownPerson | None = None) -> KnownPerson | None:
    """The user, with their organisation read in the same statement (a live socket's
    every event), or `known` again, unread, if the access epoch is as it was read with:
    one small row read instead of two objects built (a tenth of a chat post's work).
    The session's identity map holds rows weakly: the organisation is kept for the
    session's life, so what the person posts is shown with it unread."""
    if (
        known is not None
        and _intact(known.user)  # first: an expired attribute cannot even be read
        and _intact(known.organisation)
        and known.user.id == user_id
        and epoch_token(session) == known.token
    ):
        # Back in a session, unread (their identities are free in it: this is the
        # unit's first read of people).
        session.add(known.user)
        session.add(known.organisation)
        return known
    found = session.exec(_PERSON, params={"user_id": user_id}).first()
    if found is None:
        return None
    user, organisation, token = found
    session.info.setdefault(_KEPT, []).append(organisation)
    epoch_read(session, token)
    return KnownPerson(token, user, organisation)


def _intact(row: object) -> bool:
    """Not expired by a rollback of the session it was last in (its values dropped)."""
    state = sa_inspect(row)
    return state.detached and not state.expired_attributes


_KEPT = "caseroom.kept_rows"


def token_holder(
    app: Caseroom, session: Session, token: str
) -> tuple[User | None, datetime | None]:
    """Who holds `token` and until when it works (None: until revoked). An expired one
    raises TokenExpired, so it can be told apart from a wrong one."""
    found = session.exec(_TOKEN_HOLDER, params={"token_hash": crypto.token_hash(token)}).first()
    if found is None:
        return None, None
    record, user, _organisation = found
    now = app.clock.now()
    if record.expires_at is not None and now >= record.expires_at:
        raise TokenExpired()
    if user.disabled:
        return None, None
    if not user.totp_enabled and is_guest_somewhere(session, user, now):
        # A token made before they became a guest is no way around the second factor.
        # (Managers' tokens come from the CLI or from a page they reached with theirs.)
        raise SecondFactorMissing()
    if record.last_used_at is None or now - record.last_used_at > timedelta(minutes=5):
        record.last_used_at = now
        session.add(record)
    return user, record.expires_at


def list_tokens(session: Session, user: User) -> list[ApiToken]:
    return list(
        session.exec(
            select(ApiToken)
            .where(ApiToken.user_id == user.id, col(ApiToken.revoked_at).is_(None))
            .order_by(col(ApiToken.created_at).desc())
        ).all()
    )


def revoke_token(access: Access, token_id: str) -> None:
    user = access.require_user()
    record = access.session.get(ApiToken, token_id)
    if record is None or record.user_id != user.id or record.revoked_at is not None:
        raise NotFound("No such token.")
    record.revoked_at = access.now
    access.session.add(record)
    access.record("token_revoked", Target("token", record.id))
    access.emit(CredentialEnded(record.token_hash, "token revoked"))
