"""Sign in (password, then second factor), sign out."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace import crypto
from workspace.access import Access, Target
from workspace.errors import CaseroomError, Forbidden
from workspace.models import OrganisationSso
from workspace.services import accounts, sso
from workspace.templating import render
from workspace.web import SESSION_COOKIE, app_of, call, form_token


@dataclass(frozen=True)
class FormCookie:
    """CSRF for a form posted before there is a session to tie a token to (signing in,
    accepting an invitation): a fresh random token goes in the form's hidden `field` and in a
    strict same-site cookie scoped to `path`; a post must carry both, and they must match."""

    cookie: str
    field: str
    path: str

    @staticmethod
    def new_token() -> str:
        return secrets.token_urlsafe(24)

    def issue(self, request: Request, response: Response, token: str) -> None:
        response.set_cookie(
            self.cookie,
            token,
            httponly=True,
            samesite="strict",
            secure=app_of(request).settings.https,
            path=self.path,
        )

    def matches(self, request: Request, form: FormData) -> bool:
        sent, expected = str(form.get(self.field, "")), request.cookies.get(self.cookie, "")
        return bool(expected) and crypto.constant_time_equals(sent, expected)

    def clear(self, response: Response) -> None:
        response.delete_cookie(self.cookie, path=self.path)


LOGIN_FORM = FormCookie("caseroom_login", "login_token", "/login")


def safe_next(value: str | None) -> str:
    """Only same-site paths: never an open redirect."""
    if value and value.startswith("/") and not value.startswith("//") and "\\" not in value:
        return value
    return "/"


def set_session_cookie(request: Request, response: Response, token: str) -> None:
    settings = app_of(request).settings
    response.set_cookie(
        SESSION_COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.https,
        max_age=settings.session_absolute_hours * 3600,
        path="/",
    )


async def login_page(
    request: Request,
    error: str | None = None,
    status: int = 200,
    email: str = "",
    nxt: str | None = None,
) -> Response:
    """The sign-in form; after a failed attempt it keeps the email and where to go next."""
    token = LOGIN_FORM.new_token()
    response = render(
        request,
        "login.html",
        {
            "login_token": token,
            "error": error,
            "email": email[:320],
            "next": safe_next(nxt or request.query_params.get("next")),
            # Back from setting a password through an emailed link.
            "password_set": request.query_params.get("password") == "set" and not error,
        },
        status_code=status,
    )
    LOGIN_FORM.issue(request, response, token)
    return response


async def login(request: Request) -> Response:
    form = await request.form()
    email, password = str(form.get("email", "")), str(form.get("password", ""))
    nxt = safe_next(str(form.get("next", "")))
    if not LOGIN_FORM.matches(request, form):
        return await login_page(
            request, "Your sign-in form expired. Please try again.", 400, email=email, nxt=nxt
        )
    app = app_of(request)

    def work(access: Access) -> str:
        user = accounts.authenticate(access, email, password)
        # Whatever session this browser held (half signed in, or someone else's) ends here.
        accounts.end_session(access, request.cookies.get(SESSION_COOKIE), "signed in again")
        mfa_needed = accounts.needs_totp(access.session, user, access.now)
        info = accounts.start_session(app, access.session, user, mfa_ok=not mfa_needed)
        return info.token

    try:
        token = await call(request, work, auth="none")
    except CaseroomError as exc:
        return await login_page(request, exc.message, exc.status, email=email, nxt=nxt)
    response = RedirectResponse(nxt, status_code=303)
    set_session_cookie(request, response, token)
    LOGIN_FORM.clear(response)
    return response


async def totp_page(request: Request) -> Response:
    await call(request, lambda access: access.require_user(), auth="partial")
    return render(request, "login_totp.html", {})


async def totp_submit(request: Request) -> Response:
    form = await request.form()
    app = app_of(request)

    def work(access: Access) -> str:
        user = access.require_user()
        record = request.state.caller.web_session
        if record is None:
            raise Forbidden()
        accounts.verify_second_factor(access, user, str(form.get("code", "")))
        return accounts.rotate_session(app, access.session, record, user, mfa_ok=True).token

    try:
        token = await call(request, work, auth="partial", form_token=form_token(form))
    except CaseroomError as exc:
        return render(request, "login_totp.html", {"error": exc.message}, status_code=exc.status)
    response = RedirectResponse("/", status_code=303)
    set_session_cookie(request, response, token)
    return response


async def logout(request: Request) -> Response:
    form = await request.form()

    def work(access: Access) -> OrganisationSso | None:
        user = access.require_user()
        access.record("logout", Target("user", user.id))
        accounts.end_session(access, request.cookies.get(SESSION_COOKIE))
        return sso.provider_of(access.session, user)

    provider = await call(request, work, auth="partial", form_token=form_token(form))
    after = "/login"
    if provider is not None:  # sign out at the organisation's provider too
        back = f"{app_of(request).settings.base_url.rstrip('/')}/login"
        url: str | None = await run_in_threadpool(lambda: sso.end_session_url(provider, back))
        after = url or after
    response = RedirectResponse(after, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


routes = [
    Route("/login", login_page, methods=["GET"]),
    Route("/login", login, methods=["POST"]),
    Route("/login/totp", totp_page, methods=["GET"]),
    Route("/login/totp", totp_submit, methods=["POST"]),
    Route("/logout", logout, methods=["POST"]),
]
