from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel

from workspace.ids import new_id

# "integration": a partner system's account (issue #14). It sends agency events with an
# API token and reads nothing; it never holds a membership (policy/caseroom.polar).
ORG_ROLES = ("practitioner", "manager", "ig_lead", "admin", "integration")


class User(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    organisation_id: str = Field(foreign_key="organisation.id", index=True, max_length=36)
    team_id: str | None = Field(default=None, foreign_key="team.id", index=True, max_length=36)
    name: str = Field(max_length=200)
    email: str = Field(max_length=320, unique=True)
    org_role: str = Field(max_length=32)
    password_hash: str = Field(max_length=512)
    # TOTP secret sealed with the server key (crypto.seal_at_rest); never stored in the clear.
    totp_secret_sealed: str | None = Field(default=None, max_length=512)
    totp_enabled: bool = False
    # An administrator reset the second factor: a new one must be set up at next sign-in.
    totp_required: bool = False
    totp_last_step: int = 0
    recovery_codes: str = Field(default="[]", max_length=4000)
    public_key: str | None = Field(default=None, max_length=128)
    failed_logins: int = 0
    locked_until: datetime | None = None
    disabled: bool = False
    created_at: datetime


class WebSession(SQLModel, table=True):
    """A browser session. The cookie holds a random token; only its hash is stored, so a
    database read does not yield usable sessions. Sign-out deletes the row."""

    id: str = Field(primary_key=True, max_length=64)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=36)
    csrf_token: str = Field(max_length=64)
    mfa_ok: bool = False
    created_at: datetime
    last_seen_at: datetime
    # Signed in through the organisation's provider: the provider's session id (`sid` of
    # the ID token), so a back-channel logout naming only that session ends this one.
    sso_sid: str | None = Field(default=None, max_length=255, index=True)


class ApiToken(SQLModel, table=True):
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=36)
    name: str = Field(max_length=100)
    token_hash: str = Field(max_length=64, unique=True)
    prefix: str = Field(max_length=16)
    created_at: datetime
    last_used_at: datetime | None = None
    revoked_at: datetime | None = None
    expires_at: datetime | None = None  # None: until revoked


class PasswordLink(SQLModel, table=True):
    """A one-time link, emailed to an account's holder, to set its password: a new account
    an administrator added, or an administrator's "send a set-password link" (a forgotten
    password). Only a hash of the link's token is kept; a newer link voids older ones."""

    __tablename__ = "password_link"
    id: str = Field(default_factory=new_id, primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=36)
    token_hash: str = Field(max_length=64, unique=True)
    created_by_id: str = Field(foreign_key="user.id", max_length=36)
    created_at: datetime
    expires_at: datetime
    # Set when the link was used, or voided by a newer one: it never works again.
    used_at: datetime | None = None
