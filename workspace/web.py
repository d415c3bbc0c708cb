"""Request plumbing shared by pages and the API: who is calling, CSRF, and running a
service inside one unit of work (session + Access + commit) off the event loop."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request

from workspace import crypto
from workspace.access import Access, Origin
from workspace.errors import BadRequest, Forbidden, Invalid, TooLarge, Unauthorized
from workspace.models import User, WebSession
from workspace.services import accounts
from workspace.state import Caseroom

SESSION_COOKIE = "caseroom_session"
CSRF_HEADER = "x-csrf-token"
PURPOSE_HEADER = "x-caseroom-purpose"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
T = TypeVar("T")
M = TypeVar("M", bound=BaseModel)


class SignInNeeded(Exception):
    """A page needs a signed-in user; carries where to send them."""

    def __init__(self, location: str) -> None:
        self.location = location


@dataclass
class Caller:
    user: User | None
    web_session: WebSession | None
    via_token: bool


def app_of(request: Request) -> Caseroom:
    app: Caseroom = request.app.state.caseroom
    return app


def origin_of(request: Request, channel: str) -> Origin:
    client = request.client
    return Origin(
        channel=channel,
        request_id=getattr(request.state, "request_id", None),
        ip=client.host if client else None,
        user_agent=request.headers.get("user-agent"),
    )


def _identify(app: Caseroom, session: Session, request: Request) -> Caller:
    header = request.headers.get("authorization", "")
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Use `Authorization: Bearer <token>`.")
        user = accounts.user_for_token(app, session, token.strip())
        if user is None:
            raise Unauthorized("That API token is not valid or was revoked.")
        return Caller(user, None, via_token=True)
    record = accounts.load_session(app, session, request.cookies.get(SESSION_COOKIE))
    if record is None:
        return Caller(None, None, via_token=False)
    user = session.get(User, record.user_id)
    if user is None or user.disabled:
        return Caller(None, None, via_token=False)
    return Caller(user, record, via_token=False)


def _check_csrf(request: Request, caller: Caller, form_token: str | None) -> None:
    """Cookie-authenticated unsafe requests carry the session's CSRF token (a form field,
    or the header htmx sends from `hx-headers`). Bearer tokens are not ambient: exempt."""
    if request.method not in UNSAFE or caller.via_token or caller.web_session is None:
        return
    sent = form_token or request.headers.get(CSRF_HEADER) or ""
    if not crypto.constant_time_equals(sent, caller.web_session.csrf_token):
        raise Forbidden(
            "The form has expired. Go back, reload the page and try again.", code="csrf_failed"
        )


async def call(
    request: Request,
    fn: Callable[..., T],
    *args: Any,
    channel: str = "web",
    auth: str = "required",
    form_token: str | None = None,
) -> T:
    """Run `fn(access, *args)` in one transaction, off the event loop.

    auth: "required" (signed in, second factor done), "partial" (signed in, second factor
    may be pending), "optional".
    """
    app = app_of(request)
    origin = origin_of(request, channel)
    purpose = request.headers.get(PURPOSE_HEADER) or None

    def work() -> T:
        with app.db.session() as session:
            caller = _identify(app, session, request)
            request.state.caller = caller
            if auth != "optional":
                _require_signed_in(request, caller, channel, allow_partial=auth == "partial")
            _check_csrf(request, caller, form_token)
            access = Access(app, session, caller.user, origin, purpose=purpose)
            result = fn(access, *args)
            session.commit()
            return result

    return await run_in_threadpool(work)


def _require_signed_in(request: Request, caller: Caller, channel: str, allow_partial: bool) -> None:
    if caller.user is None:
        if channel == "web":
            raise SignInNeeded("/login?next=" + request.url.path)
        raise Unauthorized()
    record = caller.web_session
    if record is None or record.mfa_ok or allow_partial:
        return
    if channel != "web":
        raise Unauthorized("Finish signing in with your second factor.")
    user = caller.user
    raise SignInNeeded("/login/totp" if user.totp_enabled else "/account/second-factor")


# --- reading input ------------------------------------------------------------------------


async def read_json(request: Request) -> Any:
    if "application/json" not in request.headers.get("content-type", ""):
        raise BadRequest(
            "Send JSON with `Content-Type: application/json`.", code="bad_content_type"
        )
    raw = await request.body()
    if len(raw) > app_of(request).settings.max_body_bytes:
        raise TooLarge()
    try:
        return json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The body is not valid JSON.", code="malformed_json") from exc


def validate(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            where = ".".join(str(p) for p in err["loc"]) or "body"
            message = str(err["msg"]).removeprefix("Value error, ")
            fields.setdefault(where, message)
        summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
        raise Invalid(f"Some of the input is not valid — {summary}", fields=fields) from exc


async def read_model(request: Request, model: type[M]) -> M:
    return validate(model, await read_json(request))
