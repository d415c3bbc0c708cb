"""Signing in with one's own organisation's OpenID Connect provider (issue #16).

The authorization code flow with PKCE, `state` and `nonce`, through authlib's client;
the ID token checked with joserfc (authlib's JOSE library): its signature against the
provider's published keys, `iss`, `aud`, `exp`, `iat` and the `nonce` this sign-in sent.
A person is matched on issuer + `sub`; the first time, by a verified email within the
domains the organisation's provider vouches for. Nobody can become a user of another
organisation: an identity, and an email, only ever lead to the provider's own
organisation's accounts.

Talking to the provider is network work and is kept out of database transactions (an
audited transaction on SQLite holds the write lock): the routes read what they need,
then call the provider, then write (workspace/routes/pages/sso.py).
"""

from __future__ import annotations

import json
import os
import secrets
import threading
import time
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

import httpx
from authlib.integrations.httpx_client import OAuth2Client
from joserfc import jws, jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet
from sqlmodel import Session, col, delete, select

from workspace import crypto
from workspace.access import Access, Target
from workspace.errors import CaseroomError, Invalid, NotFound, RateLimited
from workspace.ids import new_id
from workspace.models import (
    Organisation,
    OrganisationSso,
    SsoAttempt,
    SsoIdentity,
    SsoLogoutSeen,
    User,
    WebSession,
)
from workspace.ratelimit import sign_in_limiter
from workspace.services import accounts, notices

# A sign-in must come back from the provider within this long.
ATTEMPT_LIFETIME = timedelta(minutes=10)
# Clock difference allowed between us and the provider when checking exp and iat.
LEEWAY_SECONDS = 60
# How long a provider's discovery document and keys are reused before being read again
# (a key the token names and the cached set lacks makes it read them at once).
PROVIDER_CACHE_SECONDS = 3600.0
HTTP_TIMEOUT = 10.0
SCOPE = "openid email profile"
# RFC 8176 authentication methods: "mfa" says so outright; two different factors do too.
_FACTORS = frozenset({"pwd", "otp", "hwk", "swk", "sms", "tel", "fpt", "face", "iris", "pin"})
# Roles an account made at first sign-in may get: an ordinary practitioner. Managers,
# IG leads and administrators are made so by an administrator.
FIRST_SIGN_IN_ROLE = "practitioner"


class SsoRefused(CaseroomError):
    """A sign-in through the provider that we will not accept; `reason` goes to the audit
    record, `message` to the person."""

    status, code = 400, "sso_refused"
    message = "Signing in through your organisation did not work. Please start again."

    def __init__(self, reason: str, message: str | None = None, status: int | None = None) -> None:
        super().__init__(message)
        self.reason = reason
        if status is not None:
            self.status = status


class ProviderUnavailable(SsoRefused):
    status, code = 502, "sso_provider_unavailable"
    message = "Your organisation's sign-in service did not answer. Try again in a minute."


# --- configuration ---------------------------------------------------------------------


def _domains(raw: str) -> list[str]:
    domains = sorted({d.strip().lower().lstrip("@") for d in raw.split(",") if d.strip()})
    for domain in domains:
        if "." not in domain or any(c in domain for c in " /@:"):
            raise Invalid(f"{domain!r} is not an email domain.")
    if not domains:
        raise Invalid("Name at least one email domain the provider vouches for.")
    return domains


def _check_issuer(issuer: str) -> str:
    issuer = issuer.strip().rstrip("/")
    parts = urlsplit(issuer)
    local = parts.hostname in ("localhost", "127.0.0.1", "::1")
    if parts.scheme != "https" and not (parts.scheme == "http" and local):
        raise Invalid("The issuer must be an https:// URL (http:// only on this machine).")
    if parts.query or parts.fragment:
        raise Invalid("The issuer has no query or fragment.")
    return issuer


def configure(
    access: Access,
    org_name: str,
    *,
    issuer: str,
    client_id: str,
    client_secret_env: str | None,
    client_secret_file: str | None,
    domains: str,
    sso_only: bool,
) -> OrganisationSso:
    """`caseroom org sso`: set (or replace) an organisation's provider."""
    session = access.session
    org = session.exec(select(Organisation).where(Organisation.name == org_name)).first()
    if org is None:
        raise NotFound(f"No organisation called {org_name!r}.")
    if not client_id.strip():
        raise Invalid("A client id is needed.")
    if bool(client_secret_env) == bool(client_secret_file):
        raise Invalid("Say where the client secret is read from: --client-secret-env or -file.")
    config = session.get(OrganisationSso, org.id) or OrganisationSso(
        organisation_id=org.id, issuer="", client_id="", domains="", updated_at=access.now
    )
    config.issuer = _check_issuer(issuer)
    config.client_id = client_id.strip()
    config.client_secret_env = client_secret_env or None
    config.client_secret_file = client_secret_file or None
    config.domains = ",".join(_domains(domains))
    config.sso_only = sso_only
    config.updated_at = access.now
    session.add(config)
    access.record("sso_configured", Target("organisation", org.id))
    return config


def domains_of(config: OrganisationSso) -> list[str]:
    return [d for d in config.domains.split(",") if d]


def provider_for_email(session: Session, email: str) -> tuple[OrganisationSso, str] | None:
    """The provider (and its organisation's name) that vouches for this email's domain."""
    domain = email.strip().lower().rpartition("@")[2]
    if not domain:
        return None
    for config, name in session.exec(
        select(OrganisationSso, Organisation.name).join(
            Organisation, col(Organisation.id) == col(OrganisationSso.organisation_id)
        )
    ):
        if domain in domains_of(config):
            return config, name
    return None


def _client_secret(from_env: str | None, from_file: str | None) -> str:
    if from_env:
        secret = os.environ.get(from_env, "")
    else:
        try:
            secret = Path(from_file or "").read_text().strip()
        except OSError:
            secret = ""
    if not secret:
        raise ProviderUnavailable("client secret missing",
                                  "Signing in through your organisation is not set up "
                                  "fully here yet. Tell your administrator.")  # fmt: skip
    return secret


# --- the provider's documents ------------------------------------------------------------


@dataclass(frozen=True)
class Provider:
    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    end_session_endpoint: str | None


_cache: dict[str, tuple[float, Any]] = {}
_cache_lock = threading.Lock()


def _get_json(url: str, *, fresh: bool = False) -> Any:
    now = time.monotonic()
    with _cache_lock:
        kept = _cache.get(url)
    if kept is not None and not fresh and now - kept[0] < PROVIDER_CACHE_SECONDS:
        return kept[1]
    try:
        response = httpx.get(url, timeout=HTTP_TIMEOUT, follow_redirects=False)
        response.raise_for_status()
        document = response.json()
    except (httpx.HTTPError, json.JSONDecodeError) as exc:
        raise ProviderUnavailable(f"provider unreachable: {type(exc).__name__}") from exc
    with _cache_lock:
        _cache[url] = (now, document)
    return document


def discover(issuer: str) -> Provider:
    """The provider's discovery document, which must name the issuer we were given."""
    doc = _get_json(f"{issuer}/.well-known/openid-configuration")
    if not isinstance(doc, dict) or doc.get("issuer", "").rstrip("/") != issuer:
        raise ProviderUnavailable("discovery document names another issuer")
    try:
        return Provider(
            issuer=issuer,
            authorization_endpoint=str(doc["authorization_endpoint"]),
            token_endpoint=str(doc["token_endpoint"]),
            jwks_uri=str(doc["jwks_uri"]),
            end_session_endpoint=doc.get("end_session_endpoint"),
        )
    except KeyError as exc:
        raise ProviderUnavailable(f"discovery document lacks {exc}") from exc


def _keys(provider: Provider, kid: str | None) -> KeySet:
    raw = _get_json(provider.jwks_uri)
    keys = KeySet.import_key_set(raw)
    if kid is not None and all(k.kid != kid for k in keys.keys):
        keys = KeySet.import_key_set(_get_json(provider.jwks_uri, fresh=True))  # rotated
    return keys


# --- the flow ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Attempt:
    """What a callback needs of its sign-in, read (and used up) in one transaction."""

    organisation_id: str
    issuer: str
    client_id: str
    secret_from: tuple[str | None, str | None]
    domains: tuple[str, ...]
    nonce: str
    code_verifier: str
    next_path: str


def config_of(access: Access, organisation_id: str) -> OrganisationSso:
    config = access.session.get(OrganisationSso, organisation_id)
    if config is None:
        raise NotFound("This organisation does not sign in to Caseroom with its own accounts.")
    access.session.expunge(config)
    return config


def begin(
    access: Access, config: OrganisationSso, provider: Provider, redirect_uri: str, next_path: str
) -> tuple[str, str]:
    """Start a sign-in: the provider's authorization URL and the `state` (which the
    browser also keeps in a cookie, so only this browser can finish it)."""
    if not sign_in_limiter.hit(f"ip:{access.origin.ip}"):
        raise RateLimited("Too many sign-in attempts from here. Wait a minute and try again.")
    # Attempts never brought back (a closed tab) go once they could no longer be used.
    access.session.execute(
        delete(SsoAttempt).where(col(SsoAttempt.created_at) < access.now - ATTEMPT_LIFETIME)
    )
    state, nonce = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
    verifier = secrets.token_urlsafe(64)
    access.session.add(
        SsoAttempt(
            state_hash=crypto.token_hash(state), organisation_id=config.organisation_id,
            nonce=nonce, code_verifier=verifier, next_path=next_path, created_at=access.now,
        )
    )  # fmt: skip
    client = OAuth2Client(
        client_id=config.client_id, scope=SCOPE, redirect_uri=redirect_uri,
        code_challenge_method="S256",
    )  # fmt: skip
    url, _ = client.create_authorization_url(
        provider.authorization_endpoint, state=state, nonce=nonce, code_verifier=verifier
    )
    access.record("sso_started", Target("organisation", config.organisation_id))
    return url, state


def refuse(access: Access, exc: SsoRefused, *, user: User | None = None,
           organisation_id: str | None = None) -> SsoRefused:  # fmt: skip
    """Record a refused sign-in (committed: the caller raises after) and hand it back."""
    access.record_refusal(
        "login", Target("organisation", organisation_id) if organisation_id else Target("user"),
        actor=user, purpose=f"sso: {exc.reason}",
    )  # fmt: skip
    return exc


def take_attempt(access: Access, state: str, cookie_state: str) -> Attempt:
    """The sign-in this callback finishes, used up now: a second callback with the same
    state (a replay, a back button) is refused, as is one from another browser."""
    if not state or not cookie_state or not crypto.constant_time_equals(state, cookie_state):
        raise refuse(access, SsoRefused("state does not match this browser"))
    attempt = access.session.get(SsoAttempt, crypto.token_hash(state))
    if attempt is None:
        raise refuse(access, SsoRefused("unknown state"))
    if attempt.used_at is not None:
        raise refuse(access, SsoRefused("state used already"),
                     organisation_id=attempt.organisation_id)  # fmt: skip
    if access.now - attempt.created_at > ATTEMPT_LIFETIME:
        raise refuse(access, SsoRefused("sign-in took too long",
                                        "That sign-in took too long. Please start again."),
                     organisation_id=attempt.organisation_id)  # fmt: skip
    config = access.session.get(OrganisationSso, attempt.organisation_id)
    if config is None:
        raise refuse(access, SsoRefused("organisation no longer uses its provider"))
    attempt.used_at = access.now
    access.session.add(attempt)
    return Attempt(
        organisation_id=config.organisation_id, issuer=config.issuer, client_id=config.client_id,
        secret_from=(config.client_secret_env, config.client_secret_file),
        domains=tuple(domains_of(config)), nonce=attempt.nonce,
        code_verifier=attempt.code_verifier, next_path=attempt.next_path,
    )  # fmt: skip


def redeem(attempt: Attempt, code: str, redirect_uri: str, now: float) -> dict[str, Any]:
    """Exchange the code at the provider's token endpoint (with the PKCE verifier) and
    check the ID token that comes back; its claims. Network work: no transaction."""
    provider = discover(attempt.issuer)
    secret = _client_secret(*attempt.secret_from)
    client = OAuth2Client(
        client_id=attempt.client_id, client_secret=secret, redirect_uri=redirect_uri,
        timeout=HTTP_TIMEOUT,
    )  # fmt: skip
    try:
        token = client.fetch_token(
            provider.token_endpoint, code=code, code_verifier=attempt.code_verifier,
            grant_type="authorization_code",
        )  # fmt: skip
    except httpx.HTTPError as exc:
        raise ProviderUnavailable(f"token endpoint unreachable: {type(exc).__name__}") from exc
    except Exception as exc:  # authlib's OAuthError: the provider refused the code
        raise SsoRefused(f"provider refused the code: {getattr(exc, 'error', exc)}") from exc
    finally:
        client.close()
    raw = token.get("id_token")
    if not isinstance(raw, str):
        raise SsoRefused("no ID token")
    return check_id_token(raw, provider, attempt.client_id, attempt.nonce, now)


def _verified(
    raw: str, provider: Provider, what: str, now: float, **checks: Any
) -> dict[str, Any]:
    """A token's claims once its signature (the provider's published keys), issuer, `sub`
    (unless `checks` says otherwise), `iat` and the given `checks` hold (joserfc's claim
    options)."""
    try:
        kid = jws.extract_compact(raw.encode()).protected.get("kid")
        token = jwt.decode(raw, _keys(provider, kid), algorithms=["RS256", "ES256"])
    except (JoseError, ValueError) as exc:
        raise SsoRefused(f"{what} signature not valid: {type(exc).__name__}") from exc
    claims = dict(token.claims)
    registry = jwt.JWTClaimsRegistry(
        now=int(now), leeway=LEEWAY_SECONDS,
        **{"iss": {"essential": True, "value": provider.issuer},
           "sub": {"essential": True}, "iat": {"essential": True}, **checks},
    )  # fmt: skip
    try:
        registry.validate(claims)
    except JoseError as exc:
        why = f"{exc.error} {exc.description or ''}".strip()
        raise SsoRefused(f"{what} not accepted: {why}") from exc
    return claims


def check_id_token(
    raw: str, provider: Provider, client_id: str, nonce: str, now: float
) -> dict[str, Any]:
    claims = _verified(
        raw, provider, "ID token", now,
        exp={"essential": True}, nonce={"essential": True, "value": nonce},
    )  # fmt: skip
    audience = claims.get("aud")
    audiences = audience if isinstance(audience, list) else [audience]
    if client_id not in audiences or (len(audiences) > 1 and claims.get("azp") != client_id):
        raise SsoRefused("ID token is for another client")
    return claims


def end_session_url(config: OrganisationSso, after: str) -> str | None:
    """Where to send a browser signing out, so that it signs out at the provider too
    (RP-initiated logout), or None if the provider offers no such page."""
    try:
        provider = discover(config.issuer)
    except ProviderUnavailable:
        return None
    if not provider.end_session_endpoint:
        return None
    query = urlencode({"client_id": config.client_id, "post_logout_redirect_uri": after})
    return f"{provider.end_session_endpoint}?{query}"


def provider_of(session: Session, user: User) -> OrganisationSso | None:
    """The provider a person signs in through (they have signed in through it before)."""
    config = session.get(OrganisationSso, user.organisation_id)
    if config is None:
        return None
    linked = session.exec(
        select(SsoIdentity.id).where(
            SsoIdentity.user_id == user.id, SsoIdentity.issuer == config.issuer
        )
    ).first()
    if linked is None:
        return None
    session.expunge(config)
    return config


def multi_factor(claims: dict[str, Any]) -> bool:
    amr = claims.get("amr")
    if not isinstance(amr, list):
        return False
    methods = {str(m) for m in amr}
    return "mfa" in methods or len(methods & _FACTORS) >= 2


def sign_in(access: Access, attempt: Attempt, claims: dict[str, Any]) -> User:
    """Who the ID token is, among the provider's organisation's accounts: linked by
    issuer + sub, else (the first time) by a verified email in the organisation's
    domains, else a new account of the organisation with no rooms (its administrators
    are told). Anything else is refused and recorded."""
    session = access.session
    subject = str(claims["sub"])
    identity = session.exec(
        select(SsoIdentity).where(
            SsoIdentity.issuer == attempt.issuer, SsoIdentity.subject == subject
        )
    ).first()
    org_id = attempt.organisation_id
    if identity is not None:
        user = session.get(User, identity.user_id)
        if user is None or user.organisation_id != org_id:
            raise refuse(access, SsoRefused("identity belongs to another organisation", status=403),
                         organisation_id=org_id)  # fmt: skip
    else:
        user = _first_sign_in(access, attempt, claims)
        identity = SsoIdentity(
            id=new_id(), user_id=user.id, issuer=attempt.issuer, subject=subject,
            created_at=access.now, last_used_at=access.now,
        )  # fmt: skip
        access.record("sso_linked", Target("user", user.id), actor=user)
    if user.disabled:
        raise refuse(access, SsoRefused("account disabled",
                                        "This account is switched off. Ask your administrator.",
                                        status=403), user=user)  # fmt: skip
    if user.org_role in accounts.TOKEN_ONLY_ROLES:
        raise refuse(access, SsoRefused("integration account: API tokens only", status=403),
                     user=user)  # fmt: skip
    identity.last_used_at = access.now
    session.add(identity)
    user.failed_logins = 0
    user.locked_until = None
    session.add(user)
    access.record("login", Target("user", user.id), actor=user,
                  purpose="sso, multi-factor" if multi_factor(claims) else "sso")  # fmt: skip
    return user


def _first_sign_in(access: Access, attempt: Attempt, claims: dict[str, Any]) -> User:
    session, org_id = access.session, attempt.organisation_id
    email = str(claims.get("email") or "").strip().lower()
    if not email or claims.get("email_verified") is not True:
        raise refuse(access, SsoRefused("no verified email",
                                        "Your organisation's sign-in did not vouch for your "
                                        "email address, so we cannot tell who you are here.",
                                        status=403), organisation_id=org_id)  # fmt: skip
    if email.rpartition("@")[2] not in attempt.domains:
        raise refuse(access, SsoRefused("email outside the organisation's domains",
                                        "That email address is not one your organisation's "
                                        "sign-in vouches for here.", status=403),
                     organisation_id=org_id)  # fmt: skip
    user = session.exec(select(User).where(User.email == email)).first()
    if user is not None:
        if user.organisation_id != org_id:
            raise refuse(access, SsoRefused("email belongs to another organisation's account",
                                            status=403), organisation_id=org_id)  # fmt: skip
        return user
    name = str(claims.get("name") or email.partition("@")[0])[:200]
    user = User(
        organisation_id=org_id, name=name, email=email, org_role=FIRST_SIGN_IN_ROLE,
        # No password works: one is never asked for, nor can be guessed.
        password_hash=crypto.unusable_password_hash(),
        created_at=access.now,
    )  # fmt: skip
    session.add(user)
    session.flush()
    access.record("user_created", Target("user", user.id), actor=user,
                  purpose="first sign-in through the organisation's provider")  # fmt: skip
    admins = session.exec(
        select(User.id).where(
            User.organisation_id == org_id, User.org_role == "admin", col(User.disabled).is_(False)
        )
    ).all()
    for admin_id in admins:
        notices.add(
            access, admin_id, kind="account_created",
            text=f"{name} ({email}) signed in for the first time through your organisation's "
            "sign-in; their account has no rooms.",
            link="/admin/users", room_id=None,
        )  # fmt: skip
    return user


# --- leaving ------------------------------------------------------------------------------

BACKCHANNEL_EVENT = "http://schemas.openid.net/event/backchannel-logout"
# A logout token older than this is refused (OpenID Back-Channel Logout 1.0, 2.6).
LOGOUT_TOKEN_MAX_AGE = 300


def issuer_of(raw: str) -> str:
    """The issuer a token claims (unverified: it only says whose keys to check it with)."""
    try:
        payload = jws.extract_compact(raw.encode()).payload
        issuer = json.loads(payload).get("iss")
    except (JoseError, ValueError, AttributeError) as exc:
        raise SsoRefused("logout token unreadable") from exc
    if not isinstance(issuer, str):
        raise SsoRefused("logout token names no issuer")
    return issuer.rstrip("/")


def config_for_issuer(session: Session, issuer: str) -> OrganisationSso:
    config = session.exec(select(OrganisationSso).where(OrganisationSso.issuer == issuer)).first()
    if config is None:
        raise SsoRefused("logout token from an issuer no organisation uses")
    session.expunge(config)
    return config


@dataclass(frozen=True)
class LogoutOrder:
    """Whom a provider's logout token signs out: a person (`subject`), one of their
    provider sessions (`sid`), or that session of that person."""

    subject: str | None
    sid: str | None
    jti: str


def check_logout_token(raw: str, config: OrganisationSso, now: float) -> LogoutOrder:
    """What a provider's logout token orders, once its signature, issuer, audience, age,
    event and `sub` or `sid` are right (OpenID Back-Channel Logout 1.0, 2.6; network
    work: no transaction)."""
    claims = _verified(
        raw, discover(config.issuer), "logout token", now,
        aud={"essential": True, "value": config.client_id}, jti={"essential": True},
        sub={"essential": False},
    )  # fmt: skip
    events = claims.get("events")
    if not isinstance(events, dict) or BACKCHANNEL_EVENT not in events or "nonce" in claims:
        raise SsoRefused("not a logout token")
    if now - float(claims["iat"]) > LOGOUT_TOKEN_MAX_AGE:
        raise SsoRefused("logout token too old")
    subject, sid = claims.get("sub"), claims.get("sid")
    if not (isinstance(subject, str) and subject) and not (isinstance(sid, str) and sid):
        raise SsoRefused("logout token names neither sub nor sid")
    return LogoutOrder(
        subject if isinstance(subject, str) and subject else None,
        sid if isinstance(sid, str) and sid else None,
        str(claims["jti"]),
    )


def _first_time(access: Access, order: LogoutOrder) -> None:
    """Each logout token is acted on once: the same one sent again is refused. What was
    seen is kept only while it could still be accepted (LOGOUT_TOKEN_MAX_AGE, and the
    leeway)."""
    session = access.session
    session.exec(  # type: ignore[call-overload]
        delete(SsoLogoutSeen).where(
            col(SsoLogoutSeen.seen_at)
            < access.now - timedelta(seconds=LOGOUT_TOKEN_MAX_AGE + 2 * LEEWAY_SECONDS)
        )
    )
    jti_hash = crypto.token_hash(order.jti)
    if session.get(SsoLogoutSeen, jti_hash) is not None:
        raise SsoRefused("logout token replayed")
    session.add(SsoLogoutSeen(jti_hash=jti_hash, seen_at=access.now))
    session.flush()  # two deliveries at once: the second fails on the primary key


def log_out_everywhere(access: Access, config: OrganisationSso, order: LogoutOrder) -> None:
    """The provider says this person, or this session of theirs, signed out there: their
    browser sessions here (every one, or those signed in with that provider session) end,
    and the sockets opened with them close on every process."""
    _first_time(access, order)
    session = access.session
    linked = select(SsoIdentity.user_id).where(SsoIdentity.issuer == config.issuer)
    if order.subject is not None:
        linked = linked.where(SsoIdentity.subject == order.subject)
    people = select(User.id).where(
        col(User.id).in_(linked), User.organisation_id == config.organisation_id
    )
    if order.sid is not None:
        ended = session.exec(
            select(WebSession).where(
                WebSession.sso_sid == order.sid, col(WebSession.user_id).in_(people)
            )
        ).all()
        for record in ended:
            accounts.end_session_record(access, record, "signed out at their organisation")
        user_ids = sorted({record.user_id for record in ended})
    else:
        user_ids = sorted(session.exec(people).all())
    users = [user for i in user_ids if (user := session.get(User, i)) is not None]
    if order.sid is None:
        for user in users:
            accounts.end_credentials(
                access, user, "signed out at their organisation", tokens=False
            )
    if not users:
        access.record(
            "logout", Target("organisation", config.organisation_id),
            purpose="sso back-channel: nobody here by that subject or session",
        )  # fmt: skip
    for user in users:
        access.record("logout", Target("user", user.id), actor=user, purpose="sso back-channel")


