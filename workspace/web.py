"""Request plumbing shared by pages and the API: who is calling, CSRF, and running a
service inside one unit of work (session + Access + commit) off the event loop."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import SQLAlchemyError
from sqlmodel import Session
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import Response

from workspace import crypto
from workspace.access import Access, Origin, Target
from workspace.errors import (
    BadRequest,
    CaseroomError,
    Forbidden,
    Invalid,
    RateLimited,
    TooLarge,
    Unauthorized,
)
from workspace.events import LiveEvent
from workspace.models import User, WebSession
from workspace.ratelimit import token_limiter
from workspace.services import accounts, break_glass, notices
from workspace.state import Caseroom

SESSION_COOKIE = "caseroom_session"
CSRF_HEADER = "x-csrf-token"
PURPOSE_HEADER = "x-caseroom-purpose"
UNSAFE = frozenset({"POST", "PUT", "PATCH", "DELETE"})
# Our ids are UUIDs (workspace/ids.py). Anything else in an `*_id` path segment cannot name
# a thing, and must not reach the database (NUL bytes) or the audit log (too long).
PATH_ID = re.compile(r"[A-Za-z0-9-]{1,36}")
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


def _identify(app: Caseroom, session: Session, request: Request, channel: str) -> Caller:
    """API tokens are for the API only: a page ignores them (otherwise a token, which is
    exempt from CSRF, could mint new tokens on the account page and outlive revocation)."""
    header = request.headers.get("authorization", "") if channel != "web" else ""
    if header:
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token:
            raise Unauthorized("Use `Authorization: Bearer <token>`.")
        try:
            user = accounts.user_for_token(app, session, token.strip())
        except (accounts.SecondFactorMissing, accounts.TokenExpired) as exc:
            why = "token expired" if isinstance(exc, accounts.TokenExpired) else None
            Access(app, session, None, origin_of(request, channel)).record(
                "token_auth", Target("token"), outcome="denied",
                purpose=why or "second factor missing",
            )  # fmt: skip
            session.commit()
            raise
        if user is None:
            # Guessing tokens is rate-limited per address, and every miss is audited.
            client = request.client.host if request.client else "unknown"
            limited = not token_limiter.hit(f"token:{client}")
            Access(app, session, None, origin_of(request, channel)).record(
                "token_auth", Target("token"), outcome="denied",
                purpose="rate limited" if limited else "unknown or revoked token",
            )  # fmt: skip
            session.commit()
            if limited:
                raise RateLimited("Too many invalid API tokens from here. Wait a minute.")
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


# Workspace actions the header links to, for whoever the policy allows (issues #14, #16).
HEADER_OFFERS = ("raise_concern", "triage", "manage_accounts", "manage_mail")


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
    may be pending), "optional", or "none": the cookie is not even looked at (signing in,
    which has its own CSRF token, must work whatever session the browser still holds).
    """
    app = app_of(request)
    origin = origin_of(request, channel)
    purpose = request.headers.get(PURPOSE_HEADER) or None

    def work() -> T:
        with app.db.session() as session:
            if auth == "none":
                caller = Caller(None, None, via_token=False)
            else:
                caller = _identify(app, session, request, channel)
            request.state.caller = caller
            try:
                if auth not in ("optional", "none"):
                    _require_signed_in(request, caller, channel, allow_partial=auth == "partial")
                _check_csrf(request, caller, form_token)
                access = Access(app, session, caller.user, origin, purpose=purpose)
                _check_path_ids(request, access)
                result = fn(access, *args)
                if channel == "web" and caller.user is not None and caller.web_session:
                    # What every page's header shows (break-glass link and time left).
                    request.state.break_glass_banner = break_glass.banner(access)
                    request.state.unread_notices = notices.unread_count(access)
                    # Links in the header the policy offers this person (issue #14).
                    request.state.offers = {a: access.may(a) for a in HEADER_OFFERS}
                session.commit()
                events.extend(access.events)
                return result
            except CaseroomError as exc:
                if exc.committed:  # a refusal that kept what it did first: tell of it
                    events.extend(access.events)
                session.rollback()
                _reload_caller(session, caller)
                raise
            except BaseException:
                session.rollback()
                _reload_caller(session, caller)
                raise

    events: list[LiveEvent] = []
    try:
        result = await run_in_threadpool(work)
    finally:
        await app.live.publish(events)  # after commit: a rolled-back change tells nobody
    return result


def _reload_caller(session: Session, caller: Caller) -> None:
    """A rollback expires every row the session holds, and the session closes right after:
    reload the caller's user and browser session and detach them, so the error page can
    still show who is signed in (and the sign-out form its CSRF token) instead of failing
    on an expired, detached row."""
    for name in ("user", "web_session"):
        row = getattr(caller, name)
        if row is None:
            continue
        try:
            session.refresh(row)
            session.expunge(row)  # loaded, and out of reach of the rollback still to come
        except SQLAlchemyError:  # gone, or never committed: render as signed out
            setattr(caller, name, None)


def _check_path_ids(request: Request, access: Access) -> None:
    """An id that cannot exist is refused before it reaches the database — and, like any
    refusal, written to the audit log."""
    for name, value in request.path_params.items():
        if name.endswith("_id") and not PATH_ID.fullmatch(str(value)):
            access.deny("lookup", Target(name.removesuffix("_id")), conceal=True)


def form_token(form: FormData) -> str | None:
    """The CSRF token a form sent (None when missing, never the string "None")."""
    value = form.get("csrf_token")
    return value if isinstance(value, str) and value else None


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


async def authenticate(request: Request, channel: str = "api") -> None:
    """Decide who is calling before the body is read: a request without valid credentials
    answers 401 whatever it sent (a bad body must not tell an anonymous caller anything
    about the endpoint first). The unit of work in `call` identifies the caller again."""
    app = app_of(request)

    def work() -> None:
        with app.db.session() as session:
            caller = _identify(app, session, request, channel)
            _require_signed_in(request, caller, channel, allow_partial=False)

    await run_in_threadpool(work)


async def read_json(request: Request) -> Any:
    await authenticate(request)
    if "application/json" not in request.headers.get("content-type", ""):
        raise BadRequest(
            "Send JSON with `Content-Type: application/json`.", code="bad_content_type"
        )
    raw = await request.body()
    if len(raw) > app_of(request).settings.max_body_bytes:
        raise TooLarge()
    try:
        data = json.loads(raw)
        # A lone surrogate (`"\ud800"`) parses but is not text: it could be neither stored
        # nor sent back in an error, so refuse it here, as malformed.
        json.dumps(data, ensure_ascii=False).encode()
    except (ValueError, UnicodeError, RecursionError) as exc:
        raise BadRequest("The body is not valid JSON.", code="malformed_json") from exc
    return data


def validate(model: type[M], data: Any) -> M:
    if not isinstance(data, dict):
        raise Invalid("The body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        fields: dict[str, str] = {}
        for err in exc.errors():
            where = (".".join(str(p) for p in err["loc"]) or "body")[:100]
            message = str(err["msg"]).removeprefix("Value error, ")
            fields.setdefault(where, message)
        summary = "; ".join(f"{k}: {v}" for k, v in fields.items())
        raise Invalid(f"Some of the input is not valid — {summary}", fields=fields) from exc


async def read_model(request: Request, model: type[M]) -> M:
    return validate(model, await read_json(request))


def pdf_attachment(body: bytes, filename: str) -> Response:
    """A drawn document, downloaded (never shown inline in our origin) under `filename`."""
    return Response(
        body,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
