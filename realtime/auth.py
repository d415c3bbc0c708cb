"""Who is on the other end of a socket: the browser's session cookie or `auth={"token"}`,
checked at connect and again before every event, and until when that credential works by
itself (a session's idle and absolute timeouts, a token's expiry), so the sweeper can
close the socket then.

A socket lives exactly as long as its credential would be accepted over HTTP: when it
stops working by an act (sign-out, revocation, a second factor now needed) the act
publishes `CredentialEnded` and every process closes the sockets opened with it; when it
stops working with the passage of time, the deadline below closes them."""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from sqlmodel import Session

from workspace import crypto
from workspace.errors import Unauthorized
from workspace.facts import ts
from workspace.models import User, WebSession
from workspace.services import accounts
from workspace.state import Caseroom
from workspace.web import SESSION_COOKIE


@dataclass(frozen=True)
class Credential:
    kind: str  # "token" or "session"
    secret: str

    @property
    def digest(self) -> str:
        """What the database stores (WebSession.id, ApiToken.token_hash) and what
        `CredentialEnded` names."""
        return crypto.token_hash(self.secret)


class CredentialGone(Unauthorized):
    """The credential no longer works; `reason` goes to the audit record of the closing."""

    message = "Your sign-in has ended. Sign in again."

    def __init__(self, reason: str, message: str | None = None) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class Holder:
    user: User
    ends_at: float | None  # timestamp when the credential stops working unless used
    ends_why: str | None  # "idle timeout", "absolute timeout" or "token expired"


# How long a credential, once checked against the database, is taken as still working by
# the socket that holds it. An act that ends it (revocation, sign-out, disabling, a second
# factor now needed) closes the socket at once on every process (`CredentialEnded`); a
# timeout closes it at its deadline (the sweeper); this bound is for news that never came
# (a Redis outage between processes). Checking on every event cost a chat post a fifth of
# its time (issue #13).
TRUST_SECONDS = 10.0
# A browser session's activity is written at most once a minute (accounts.load_session).
TOUCH_EVERY = 60.0


def trusted(
    verified_at: float | None,
    touched_at: float | None,
    ends_at: float | None,
    kind: str,
    now: float,
    *,
    active: bool,
) -> bool:
    """Whether a socket's event may go ahead on its credential's last check: recent, not
    past the credential's own deadline, and, for something the person did on a browser
    session, not yet due to be counted against the idle timeout."""
    if verified_at is None or now - verified_at >= TRUST_SECONDS:
        return False
    if ends_at is not None and now >= ends_at:
        return False
    touch_due = touched_at is None or now - touched_at >= TOUCH_EVERY
    return not (active and kind == "session" and touch_due)


def credential_from(environ: dict[str, Any], auth: Any) -> Credential | None:
    if isinstance(auth, dict) and isinstance(auth.get("token"), str) and auth["token"]:
        return Credential("token", auth["token"])
    cookie = SimpleCookie()
    try:
        cookie.load(environ.get("HTTP_COOKIE", ""))
    except Exception:
        return None
    morsel = cookie.get(SESSION_COOKIE)
    return Credential("session", morsel.value) if morsel and morsel.value else None


def holder_for(
    app: Caseroom, session: Session, credential: Credential | None, *, active: bool = False
) -> Holder:
    """`active`: this event is something the person did, and counts as activity against
    the session's idle timeout (see Realtime._unit for which events are)."""
    if credential is None:
        raise Unauthorized("Sign in first.")
    if credential.kind == "token":
        try:
            user, expires_at = accounts.token_holder(app, session, credential.secret)
        except accounts.SecondFactorMissing as exc:
            raise CredentialGone("second factor needed", exc.message) from exc
        except accounts.TokenExpired as exc:
            raise CredentialGone("token expired", exc.message) from exc
        if user is None:
            raise CredentialGone("token not valid or revoked")
        if expires_at is None:
            return Holder(user, None, None)  # made to last until revoked
        return Holder(user, ts(expires_at), "token expired")
    # Which timeout ended it, read before load_session deletes an expired session.
    stored = session.get(WebSession, credential.digest)
    why = accounts.session_ends(app, stored)[1] if stored else "session ended"
    record = accounts.load_session(app, session, credential.secret, touch=active)
    if record is None:
        raise CredentialGone(why)
    if not record.mfa_ok:
        raise CredentialGone("second factor needed")
    user = session.get(User, record.user_id)
    if user is None or user.disabled:
        raise CredentialGone("account disabled")
    ends_at, why = accounts.session_ends(app, record)
    return Holder(user, ts(ends_at), why)
