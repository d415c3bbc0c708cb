"""Signing in with one's own organisation's OpenID Connect provider (issue #16)."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Field, SQLModel, UniqueConstraint


class OrganisationSso(SQLModel, table=True):
    """An organisation's provider. The client secret is never stored: only where to read
    it (an environment variable, or a file) when the server talks to the provider."""

    __tablename__ = "organisation_sso"
    organisation_id: str = Field(foreign_key="organisation.id", primary_key=True, max_length=36)
    issuer: str = Field(max_length=500)
    client_id: str = Field(max_length=255)
    client_secret_env: str | None = Field(default=None, max_length=100)
    client_secret_file: str | None = Field(default=None, max_length=500)
    # The email domains it vouches for, lower case, comma separated.
    domains: str = Field(max_length=2000)
    # Passwords off for the organisation's users: they sign in through the provider only.
    sso_only: bool = False
    updated_at: datetime


class SsoIdentity(SQLModel, table=True):
    """Who a provider's subject is here: matched on issuer + `sub`, never on email alone
    after the first sign-in linked them."""

    __tablename__ = "sso_identity"
    __table_args__ = (UniqueConstraint("issuer", "subject"),)
    id: str = Field(primary_key=True, max_length=36)
    user_id: str = Field(foreign_key="user.id", index=True, max_length=36)
    issuer: str = Field(max_length=500)
    subject: str = Field(max_length=255)
    created_at: datetime
    last_used_at: datetime


class SsoAttempt(SQLModel, table=True):
    """A sign-in sent to a provider and not yet back: its `state` (only a hash here; the
    browser holds it in a cookie too), the `nonce` the ID token must carry and the PKCE
    verifier. Used once: a second callback with the same state is refused."""

    __tablename__ = "sso_attempt"
    state_hash: str = Field(primary_key=True, max_length=64)
    organisation_id: str = Field(foreign_key="organisation.id", max_length=36)
    nonce: str = Field(max_length=128)
    code_verifier: str = Field(max_length=128)
    next_path: str = Field(max_length=500)
    created_at: datetime
    used_at: datetime | None = None


class SsoLogoutSeen(SQLModel, table=True):
    """A logout token already acted on (its `jti`, hashed): the same token sent again is
    refused. Kept only while such a token would still be young enough to be accepted."""

    __tablename__ = "sso_logout_seen"
    jti_hash: str = Field(primary_key=True, max_length=64)
    seen_at: datetime
