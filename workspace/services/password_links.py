"""One-time links to set a password (issue #16), emailed to the account's own address: for
an account an administrator added in the browser, and for someone who forgot their
password (their administrator sends a fresh link). The administrator never sees the link.
Only the token's hash is stored; a link works once, for LINK_HOURS, and a newer link voids
the older ones. Setting the password ends every browser session of the account (whoever
knew the old one is signed out) and lifts a lockout."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import col, select, update

from workspace import crypto
from workspace.access import Access, Target
from workspace.clock import utc
from workspace.errors import Conflict, Invalid, RateLimited
from workspace.models import Organisation, PasswordLink, User
from workspace.ratelimit import RateLimiter
from workspace.services import accounts, outbox

LINK_HOURS = 72
MAX_TOKEN_LENGTH = 100
use_limiter = RateLimiter(limit=30, window_seconds=60)


def send(access: Access, user: User, *, new_account: bool) -> None:
    """Void the account's unused links, make a new one and email it (sent only if the
    caller's unit of work commits)."""
    if accounts.passwords_off(access.session, user.organisation_id):
        raise Conflict(
            "Passwords are off for this organisation: its people sign in with the "
            "organisation's own sign-in."
        )
    now = access.now
    access.session.exec(  # type: ignore[call-overload]
        update(PasswordLink)
        .where(col(PasswordLink.user_id) == user.id, col(PasswordLink.used_at).is_(None))
        .values(used_at=now)
    )
    token = crypto.new_token()
    link = PasswordLink(
        user_id=user.id,
        token_hash=crypto.token_hash(token),
        created_by_id=access.require_user().id,
        created_at=now,
        expires_at=now + timedelta(hours=LINK_HOURS),
    )
    access.session.add(link)
    organisation = access.session.get(Organisation, user.organisation_id)
    outbox.enqueue(
        access,
        outbox.Mail(
            to=outbox.Recipient.of(user),
            kind="security",
            subject=(
                "Your Caseroom account: set your password"
                if new_account
                else "Set a new password for your Caseroom account"
            ),
            template="password_link",
            context={
                "new_account": new_account,
                "organisation": organisation.name if organisation else "",
                "link_url": f"{access.app.settings.base_url}/password/{token}",
                "link_expires_at": link.expires_at,
            },
        ),
    )
    access.record(
        "password_link_sent",
        Target("user", user.id),
        purpose="new account" if new_account else "forgotten password",
    )


@dataclass(frozen=True)
class Usable:
    link: PasswordLink
    user: User


def usable(access: Access, token: str) -> Usable:
    """The unused, unexpired link the token names, for an enabled account whose
    organisation still allows passwords; anything else is a denial (audited, committed)
    that looks the same whatever went wrong: NotFound."""
    if not use_limiter.hit(f"ip:{access.origin.ip}"):
        access.record("password_link", Target("user"), outcome="denied", purpose="rate limited")
        access.session.commit()
        raise RateLimited("Too many attempts from here. Wait a minute and try again.")
    link = None
    if token and len(token) <= MAX_TOKEN_LENGTH:
        link = access.session.exec(
            select(PasswordLink).where(PasswordLink.token_hash == crypto.token_hash(token))
        ).first()
    user = access.session.get(User, link.user_id) if link is not None else None
    if link is None or user is None:
        access.deny("password_link", Target("user"), conceal=True, purpose="unknown link")
        raise AssertionError("unreachable")
    reason = None
    if link.used_at is not None:
        reason = "link used already, or replaced by a newer one"
    elif utc(link.expires_at) <= access.now:
        reason = "link expired"
    elif user.disabled:
        reason = "account disabled"
    elif accounts.passwords_off(access.session, user.organisation_id):
        reason = "passwords off for the organisation"
    if reason is not None:
        access.deny("password_link", Target("user", user.id), conceal=True, purpose=reason)
    return Usable(link, user)


def open_link(access: Access, token: str) -> User:
    """Whose password the link sets (the page greets them by name), audited."""
    found = usable(access, token)
    access.record("password_link_opened", Target("user", found.user.id), actor=found.user)
    return found.user


def set_password(access: Access, token: str, password: str, again: str) -> User:
    found = usable(access, token)
    user = found.user
    if password != again:
        raise Invalid(
            "The password and its repeat are not the same.",
            fields={"password_again": "different"},
        )
    accounts.check_password(password, user.email)
    # Single use even when two submissions race (SQLite has no row lock): only one of
    # them marks the link used.
    moved = access.session.exec(  # type: ignore[call-overload]
        update(PasswordLink)
        .where(col(PasswordLink.id) == found.link.id, col(PasswordLink.used_at).is_(None))
        .values(used_at=access.now)
    )
    if moved.rowcount != 1:
        access.deny("password_link", Target("user", user.id), conceal=True,
                    purpose="link used already, or replaced by a newer one")  # fmt: skip
    user.password_hash = crypto.hash_password(password)
    user.failed_logins = 0
    user.locked_until = None
    access.session.add(user)
    accounts.end_credentials(access, user, "password set", tokens=False)
    access.record("password_set", Target("user", user.id), actor=user)
    outbox.enqueue(
        access,
        accounts.security_email(
            access.app, user, "Your Caseroom password was changed", "password_changed"
        ),
    )
    return user
