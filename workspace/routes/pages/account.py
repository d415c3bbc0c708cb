"""My account: second factor (TOTP) enrolment and API tokens."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.routes.pages import second_factor
from workspace.services import accounts, preferences
from workspace.templating import render
from workspace.web import call, form_token


async def account_page(request: Request) -> Response:
    def work(access: Access) -> dict[str, Any]:
        user = access.require_user()
        return {
            "tokens": accounts.list_tokens(access.session, user),
            "totp_required": accounts.needs_totp(access.session, user, access.now),
            "email": preferences.form(access),
            "days": preferences.DAYS,
            "notification_labels": preferences.NOTIFICATION_LABELS,
            "saved": request.query_params.get("saved"),
        }

    return render(request, "account.html", await call(request, work))


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

    def work(access: Access) -> str:
        return accounts.create_token(access, access.require_user(), name)

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
    Route("/account/tokens", create_token, methods=["POST"]),
    Route("/account/tokens/{token_id}/revoke", revoke_token, methods=["POST"]),
]
