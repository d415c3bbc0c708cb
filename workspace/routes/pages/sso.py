"""Sign in with one's own organisation (OpenID Connect, issue #16): find the provider by
email domain, send the browser there, and take it back. The provider is called outside
any database transaction (workspace/services/sso.py)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access, Target
from workspace.clock import wall_time
from workspace.errors import CaseroomError
from workspace.routes.pages.auth import LOGIN_FORM, login_page, safe_next, set_session_cookie
from workspace.services import accounts, sso
from workspace.templating import render
from workspace.web import SESSION_COOKIE, app_of, call

# The browser's half of a sign-in's `state`: only the browser that started it can finish it.
STATE_COOKIE = "caseroom_sso_state"
CALLBACK = "/login/sso/callback"
BACKCHANNEL = "/login/sso/backchannel-logout"


def _redirect_uri(request: Request) -> str:
    return f"{app_of(request).settings.base_url.rstrip('/')}{CALLBACK}"


async def choose(request: Request) -> Response:
    """From the sign-in form: which organisation's sign-in vouches for this email."""
    form = await request.form()
    email = str(form.get("email", ""))[:320]
    nxt = safe_next(str(form.get("next", "")))
    if not LOGIN_FORM.matches(request, form):
        return await login_page(
            request, "Your sign-in form expired. Please try again.", 400, email=email, nxt=nxt
        )
    found = await call(request, lambda a: sso.provider_for_email(a.session, email), auth="none")
    if found is None:
        return await login_page(
            request,
            "Your organisation does not sign in to Caseroom with its own accounts. "
            "Sign in with your email address and password.",
            400, email=email, nxt=nxt,
        )  # fmt: skip
    config, org_name = found
    return render(request, "login_sso.html", {
        "organisation_id": config.organisation_id, "organisation": org_name,
        "next": nxt, "email": email,
    })  # fmt: skip


async def start(request: Request) -> Response:
    """A link, not a form: a form's redirect to another site is blocked by our CSP's
    `form-action 'self'`, and starting a sign-in changes nothing of anyone's (the
    attempt is swept when it expires; the sign-in rate limit applies)."""
    nxt = safe_next(request.query_params.get("next"))
    org_id = request.path_params["organisation_id"]
    try:
        config = await call(request, sso.config_of, org_id, auth="none")
        provider = await run_in_threadpool(sso.discover, config.issuer)

        def begin(access: Access) -> tuple[str, str]:
            return sso.begin(access, config, provider, _redirect_uri(request), nxt)

        url, state = await call(request, begin, auth="none")
    except CaseroomError as exc:
        return _refused(request, exc)
    response = RedirectResponse(url, status_code=303)
    response.set_cookie(
        STATE_COOKIE, state, max_age=int(sso.ATTEMPT_LIFETIME.total_seconds()), httponly=True,
        # Lax: the provider's redirect back is a top-level navigation from another site.
        samesite="lax", secure=app_of(request).settings.https, path="/login/sso",
    )  # fmt: skip
    return response


async def callback(request: Request) -> Response:
    app = app_of(request)
    params = request.query_params
    state, code = params.get("state", "")[:200], params.get("code", "")[:2000]
    cookie_state = request.cookies.get(STATE_COOKIE, "")
    if params.get("error") or not code:  # the person said no there, or it failed there
        said_no = sso.SsoRefused(
            f"provider answered {params.get('error', 'without a code')[:100]}",
            "Your organisation's sign-in did not let you in.",
        )
        await call(request, _record_refusal, said_no, auth="none")
        return _refused(request, said_no)
    try:
        attempt = await call(request, sso.take_attempt, state, cookie_state, auth="none")
        try:
            # The provider's clock is the wall clock (not the app's, which tests set).
            claims = await run_in_threadpool(
                sso.redeem, attempt, code, _redirect_uri(request), wall_time()
            )
        except sso.SsoRefused as exc:
            await call(request, _record_refusal, exc, attempt.organisation_id, auth="none")
            raise

        def finish(access: Access) -> str:
            user = sso.sign_in(access, attempt, claims)
            accounts.end_session(access, request.cookies.get(SESSION_COOKIE), "signed in again")
            needs_code = accounts.needs_totp(access.session, user, access.now)
            mfa_ok = sso.multi_factor(claims) or not needs_code
            sid = claims.get("sid")
            return accounts.start_session(
                app, access.session, user, mfa_ok=mfa_ok,
                sso_sid=sid[:255] if isinstance(sid, str) and sid else None,
            ).token  # fmt: skip

        token = await call(request, finish, auth="none")
    except CaseroomError as exc:
        response = _refused(request, exc)
        response.delete_cookie(STATE_COOKIE, path="/login/sso")
        return response
    response = RedirectResponse(attempt.next_path, status_code=303)
    set_session_cookie(request, response, token)
    response.delete_cookie(STATE_COOKIE, path="/login/sso")
    return response


async def backchannel_logout(request: Request) -> Response:
    """OpenID Back-Channel Logout: the provider says a person signed out there. Their
    sessions here end, and their live sockets close on every process."""
    form = await request.form()
    raw = str(form.get("logout_token", ""))[:20_000]
    try:
        issuer = sso.issuer_of(raw)
        config = await call(
            request, lambda a: sso.config_for_issuer(a.session, issuer), auth="none"
        )
        order = await run_in_threadpool(sso.check_logout_token, raw, config, wall_time())
        await call(request, sso.log_out_everywhere, config, order, auth="none")
    except sso.SsoRefused as exc:
        await call(request, _record_logout_refusal, exc, auth="none")
        return JSONResponse(
            {"error": "invalid_request", "error_description": exc.reason},
            status_code=400, headers={"Cache-Control": "no-store"},
        )  # fmt: skip
    return Response(status_code=200, headers={"Cache-Control": "no-store"})


def _record_logout_refusal(access: Access, exc: sso.SsoRefused) -> None:
    access.record("logout", Target("organisation"), outcome="denied",
                  purpose=f"sso back-channel: {exc.reason}")  # fmt: skip


def _record_refusal(
    access: Access, exc: sso.SsoRefused, organisation_id: str | None = None
) -> None:
    sso.refuse(access, exc, organisation_id=organisation_id)


def _refused(request: Request, exc: CaseroomError) -> Response:
    return render(
        request, "login_sso_refused.html", {"message": exc.message}, status_code=exc.status
    )


routes = [
    Route(CALLBACK, callback, methods=["GET"]),
    Route(BACKCHANNEL, backchannel_logout, methods=["POST"]),
    Route("/login/sso", choose, methods=["POST"]),
    Route("/login/sso/{organisation_id}", start, methods=["GET"]),
]
