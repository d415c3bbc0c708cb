"""Who is on the other end of a socket: the browser's session cookie or `auth={"token"}`,
checked at connect and again before every event (a signed-out session or a revoked token
stops working on live sockets too)."""

from __future__ import annotations

from dataclasses import dataclass
from http.cookies import SimpleCookie
from typing import Any

from sqlmodel import Session

from workspace.errors import Unauthorized
from workspace.models import User
from workspace.services import accounts
from workspace.state import Caseroom
from workspace.web import SESSION_COOKIE


@dataclass(frozen=True)
class Credential:
    kind: str  # "token" or "session"
    secret: str


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


def user_for(app: Caseroom, session: Session, credential: Credential | None) -> User:
    if credential is None:
        raise Unauthorized("Sign in first.")
    if credential.kind == "token":
        user = accounts.user_for_token(app, session, credential.secret)
    else:
        record = accounts.load_session(app, session, credential.secret)
        user = session.get(User, record.user_id) if record and record.mfa_ok else None
    if user is None or user.disabled:
        raise Unauthorized("Your sign-in has ended. Sign in again.")
    return user
