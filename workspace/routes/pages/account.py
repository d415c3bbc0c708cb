"""My account: password, second factor (TOTP) enrolment, encryption keys and API tokens."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import Invalid
from workspace.routes.pages import second_factor
from workspace.routes.pages.auth import set_session_cookie
from workspace.services import accounts, preferences
from workspace.services.files import keys
from workspace.templating import render
from workspace.web import call, form_token

# The lifetime the token form suggests (DEFAULT_TOKEN_DAYS): long enough for a script's
# quarter, short enough that a forgotten token stops by itself.
DEFAULT_TOKEN_DAYS = 90


async def account_page(
    request: Request,
    password_errors: dict[str, str] | None = None,
    status: int = 200,
    csrf: str | None = None,
) -> Response:
    def work(access: Access) -> dict[str, Any]:
        user = access.require_user()
        return {
            "tokens": accounts.list_tokens(access.session, user),
            "now": access.now,
            "lifetimes": accounts.TOKEN_LIFETIMES,
            "default_days": DEFAULT_TOKEN_DAYS,
            "totp_required": accounts.needs_totp(access.session, user, access.now),
            "email": preferences.form(access),
            "days": preferences.DAYS,
            "notification_labels": preferences.NOTIFICATION_LABELS,
            "saved": request.query_params.get("saved"),
            "password_errors": password_errors or {},
            "can_manage_accounts": access.may("manage_accounts"),
            "fingerprint": keys.own_fingerprint(access),
        }

    context = await call(request, work, form_token=csrf)
    return render(request, "account.html", context, status_code=status)


async def change_password(request: Request) -> Response:
    """Current password and the new one twice. On any problem nothing changes and the
    page says what to fix; done, this browser stays signed in on a new session."""
    form = await request.form()

    def work(access: Access) -> str:
        return accounts.change_password(
            access,
            request.state.caller.web_session,
            str(form.get("current_password", "")),
            str(form.get("new_password", "")),
            str(form.get("new_password_again", "")),
        ).token

    try:
        token = await call(request, work, form_token=form_token(form))
    except Invalid as exc:
        field = next(iter(exc.fields), "current_password")
        return await account_page(request, {field: exc.message}, exc.status, form_token(form))
    response = RedirectResponse("/account?saved=password", status_code=303)
    set_session_cookie(request, response, token)
    return response


ENROLMENT = second_factor.Door(
    path="/account/second-factor",
    why="Your account needs a second factor",
    onward="Continue to my rooms",
)


async def second_factor_page(request: Request) -> Response:
    """Forced for managers, IG leads and admins until done; optional for others."""
    return await second_factor.page(request, ENROLMENT)


async def second_factor_confirm(request: Request) -> Response:
    return await second_factor.confirm(request, ENROLMENT)


async def create_token(request: Request) -> Response:
    form = await request.form()
    name = str(form.get("name", "")).strip()[:100] or "api"
    lifetime = str(form.get("days", DEFAULT_TOKEN_DAYS))
    # Anything but a whole number of days or "never" is refused by the service (-1).
    days = None if lifetime == "never" else int(lifetime) if lifetime.isdigit() else -1

    def work(access: Access) -> str:
        return accounts.create_token(access, access.require_user(), name, days)

    token = await call(request, work, form_token=form_token(form))
    return render(request, "token_created.html", {"token": token, "name": name})


async def revoke_token(request: Request) -> Response:
    form = await request.form()
    await call(
        request,
        accounts.revoke_token,
        request.path_params["token_id"],
        form_token=form_token(form),
    )
    return RedirectResponse("/account", status_code=303)


routes = [
    Route("/account", account_page, methods=["GET"]),
    Route(ENROLMENT.path, second_factor_page, methods=["GET"]),
    Route(ENROLMENT.path, second_factor_confirm, methods=["POST"]),
    Route("/account/password", change_password, methods=["POST"]),
    Route("/account/tokens", create_token, methods=["POST"]),
    Route("/account/tokens/{token_id}/revoke", revoke_token, methods=["POST"]),
]
