"""The accounts of an administrator's organisation (rule 9): who they are, whether they
have a second factor, how many sign-ins failed, whether they are disabled or locked;
disable or enable an account, reset its second factor, or lift a lockout. Each action is
confirmed with a reason, kept in the audit record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import Invalid
from workspace.facts import account_fact
from workspace.models import User
from workspace.services import accounts
from workspace.templating import render
from workspace.web import call, form_token

# Action (the last part of its path) -> what it does, and what the page says once done.
ACTIONS: dict[str, tuple[Callable[[Access, str, str], User], str]] = {
    "disable": (accounts.disable_account, "disabled"),
    "enable": (accounts.enable_account, "enabled"),
    "reset-second-factor": (accounts.reset_second_factor, "second factor reset"),
    "unlock": (accounts.unlock_account, "unlocked"),
}
# The policy's name for each action (policy/caseroom.polar, resource Account).
PERMISSIONS = {
    "disable": "disable_account",
    "enable": "enable_account",
    "reset-second-factor": "reset_second_factor",
    "unlock": "unlock_account",
}


async def users_page(
    request: Request,
    errors: dict[str, str] | None = None,
    status: int = 200,
    csrf: str | None = None,
) -> Response:
    def work(access: Access) -> dict[str, Any]:
        rows = accounts.list_accounts(access)
        return {
            "rows": rows,
            "now": access.now,
            # What to offer on each row; each action is decided again (and audited) when done.
            "offered": {
                row.user.id: {
                    action
                    for action, permission in PERMISSIONS.items()
                    if access.allowed(permission, account_fact(row.user))
                }
                for row in rows
            },
        }

    context = await call(request, work, form_token=csrf)
    context["errors"] = errors or {}
    # Only what an action says once done: the query string names the action, not the text.
    done = request.query_params.get("done", "")
    context["done"] = ACTIONS[done][1] if done in ACTIONS else None
    return render(request, "admin_users.html", context, status_code=status)


def _act(action: str) -> Callable[[Request], Any]:
    service = ACTIONS[action][0]

    async def endpoint(request: Request) -> Response:
        form = await request.form()
        user_id = request.path_params["user_id"]
        csrf = form_token(form)
        try:
            await call(request, service, user_id, str(form.get("reason", "")), form_token=csrf)
        except Invalid as exc:
            # Nothing changed: the page again, the problem tied to this row's reason field.
            return await users_page(
                request, {f"{action}-{user_id}": exc.message}, exc.status, csrf
            )
        return RedirectResponse(f"/admin/users?done={action}", status_code=303)

    return endpoint


routes = [
    Route("/admin/users", users_page, methods=["GET"]),
    *(
        Route(f"/admin/users/{{user_id}}/{action}", _act(action), methods=["POST"])
        for action in ACTIONS
    ),
]
