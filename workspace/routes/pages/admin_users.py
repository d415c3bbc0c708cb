"""The accounts of an administrator's organisation (rule 9): who they are, whether they
have a second factor, how many sign-ins failed, whether they are disabled or locked;
add an account, set someone's role and team, disable or enable an account, reset its
second factor, lift a lockout or send a link to set a new password. Each action on an
account is confirmed with a reason, kept in the audit record."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import Conflict, Invalid
from workspace.facts import account_fact
from workspace.models import User
from workspace.routes.pages.forms import Field, explain
from workspace.routes.pages.rooms import form_dict
from workspace.schemas import AccountChangeIn, AccountIn
from workspace.services import account_admin, accounts
from workspace.templating import render
from workspace.web import call, form_token, validate

# Action (the last part of its path) -> what it does, and what the page says once done.
ACTIONS: dict[str, tuple[Callable[[Access, str, str], User], str]] = {
    "disable": (accounts.disable_account, "disabled"),
    "enable": (accounts.enable_account, "enabled"),
    "reset-second-factor": (accounts.reset_second_factor, "second factor reset"),
    "unlock": (accounts.unlock_account, "unlocked"),
    "send-password-link": (account_admin.send_password_link, "sent a link to set a password"),
}
# The policy's name for each action (policy/caseroom.polar, resource Account).
PERMISSIONS = {
    "disable": "disable_account",
    "enable": "enable_account",
    "reset-second-factor": "reset_second_factor",
    "unlock": "unlock_account",
    "send-password-link": "send_password_link",
}
# What each row offers: the actions above, and the role and team form's two halves.
OFFERS = PERMISSIONS | {"change_role": "change_role", "change_team": "change_team"}
# Shown once the page is back, by the query string's `done` (it names the action only).
DONE = {action: f"account {said}" for action, (_service, said) in ACTIONS.items()} | {
    "send-password-link": "a link to set a new password was emailed to them",
    "added": "account added: a link to set its password was emailed to them",
    "added-sso": "account added: they sign in with your organisation's sign-in",
    "changed": "account changed: its holder was told by email",
}

ACCOUNT_FIELDS = {
    "name": Field("Full name", "Enter their full name"),
    "email": Field(
        "Work email",
        "Enter their work email address",
        "Enter an email address in the right format, like name@example.org",
    ),
    "role": Field("Role", "Choose a role", "Choose one of the roles listed"),
    "team_id": Field("Team", "Choose a team", "Choose a team from the list"),
    "new_team": Field("New team", "Name the new team, or leave it empty"),
    "reason": Field("Why", "Say why", "Say why in 1,000 characters or fewer"),
}


async def users_page(
    request: Request,
    errors: dict[str, str] | None = None,
    status: int = 200,
    csrf: str | None = None,
    values: dict[str, str] | None = None,
) -> Response:
    def work(access: Access) -> dict[str, Any]:
        rows = accounts.list_accounts(access)
        may_add = access.may("add_account")
        return {
            "rows": rows,
            "now": access.now,
            # What to offer on each row; each action is decided again (and audited) when done.
            "offered": {
                row.user.id: {
                    action
                    for action, permission in OFFERS.items()
                    if access.allowed(permission, account_fact(row.user))
                }
                for row in rows
            },
            "may_add": may_add,
            "roles": account_admin.grantable_roles(access),
            "role_labels": account_admin.ROLE_LABELS,
            "teams": account_admin.teams(access),
        }

    context = await call(request, work, form_token=csrf)
    context["errors"] = errors or {}
    context["values"] = values or {}
    # The add form opens again after a refused add (its values are kept: `values`).
    context["adding"] = values is not None
    done = request.query_params.get("done", "")
    context["done"] = DONE.get(done)
    return render(request, "admin_users.html", context, status_code=status)


async def add(request: Request) -> Response:
    form = await request.form()
    csrf = form_token(form)
    values = form_dict(form, "name", "email", "role", "team_id", "new_team")
    try:
        data = validate(AccountIn, values)
        added = await call(request, account_admin.add_account, data, form_token=csrf)
    except (Invalid, Conflict) as exc:
        errors = (
            explain(exc, ACCOUNT_FIELDS) if isinstance(exc, Invalid) else {"email": exc.message}
        )
        prefixed = {f"add-{name}" if name else "": message for name, message in errors.items()}
        return await users_page(request, prefixed, exc.status, csrf, values)
    done = "added" if added.link_sent else "added-sso"
    return RedirectResponse(f"/admin/users?done={done}", status_code=303)


async def change(request: Request) -> Response:
    form = await request.form()
    csrf = form_token(form)
    user_id = request.path_params["user_id"]
    values = form_dict(form, "role", "team_id", "new_team", "reason")
    try:
        data = validate(AccountChangeIn, values)
        await call(request, account_admin.change_role_and_team, user_id, data, form_token=csrf)
    except Invalid as exc:
        errors = explain(exc, ACCOUNT_FIELDS)
        # The row's form opens again, the problem by its field.
        prefixed = {f"change-{user_id}-{name or 'reason'}": m for name, m in errors.items()}
        return await users_page(request, prefixed, exc.status, csrf)
    return RedirectResponse("/admin/users?done=changed", status_code=303)


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
    Route("/admin/users/add", add, methods=["POST"]),
    Route("/admin/users/{user_id}/change", change, methods=["POST"]),
    *(
        Route(f"/admin/users/{{user_id}}/{action}", _act(action), methods=["POST"])
        for action in ACTIONS
    ),
]
