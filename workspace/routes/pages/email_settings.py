"""Email settings on the account page, and unsubscribing from a link in an email (no
sign-in: the signed link is the credential)."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import Invalid, NotFound
from workspace.services import preferences
from workspace.templating import render
from workspace.web import call, form_token, validate


def _context(access: Access) -> dict[str, Any]:
    return {
        "email": preferences.form(access),
        "days": preferences.DAYS,
        "notification_labels": preferences.NOTIFICATION_LABELS,
    }


async def email_page(request: Request) -> Response:
    return render(request, "email_preferences.html", await call(request, _context))


def _from_form(form: Any) -> dict[str, Any]:
    data: dict[str, Any] = {
        "digest": str(form.get("digest", "")),
        "digest_day": str(form.get("digest_day", "")),
        "immediate": [str(v) for v in form.getlist("immediate")],
        "muted_rooms": [str(v) for v in form.getlist("muted_rooms")],
    }
    try:
        data["digest_hour"] = int(str(form.get("digest_hour", "")))
    except ValueError:
        data["digest_hour"] = -1  # refused by validation with the field named
    return data


async def save_email(request: Request) -> Response:
    form = await request.form()
    token = form_token(form)
    try:
        data = validate(preferences.PreferencesIn, _from_form(form))
        await call(request, preferences.update, data, form_token=token)
    except Invalid as exc:
        context = await call(request, _context, form_token=token)
        context["errors"] = exc.fields or {"": exc.message}
        return render(request, "email_preferences.html", context, status_code=422)
    return RedirectResponse("/account?saved=email#email", status_code=303)


def _list_of(token: str) -> Any:
    return lambda access: preferences.unsubscribe_list(access, token)


async def unsubscribe_page(request: Request) -> Response:
    """What the link would stop, and a button. A GET changes nothing: mail scanners
    follow links."""
    token = request.path_params["token"]
    list_name = await call(request, _list_of(token), auth="none")
    status = 200 if list_name else 404
    context = {"token": token, "list_name": list_name, "done": False}
    if list_name:
        context["what"] = preferences.describe(list_name)
    return render(request, "unsubscribe.html", context, status_code=status)


async def unsubscribe(request: Request) -> Response:
    """The page's button, and RFC 8058 one-click (`List-Unsubscribe=One-Click` posted by
    the mail client): no cookie, no CSRF token; the signed link is the credential."""
    token = request.path_params["token"]
    await request.form()  # read (and bound) the body; nothing in it matters
    try:
        list_name = await call(request, preferences.unsubscribe, token, auth="none")
    except NotFound:
        context = {"token": token, "list_name": None, "done": False}
        return render(request, "unsubscribe.html", context, status_code=404)
    context = {"list_name": list_name, "what": preferences.describe(list_name), "done": True}
    return render(request, "unsubscribe.html", context)


routes = [
    Route("/account/email", email_page, methods=["GET"]),
    Route("/account/email", save_email, methods=["POST"]),
    Route("/unsubscribe/{token}", unsubscribe_page, methods=["GET"]),
    Route("/unsubscribe/{token}", unsubscribe, methods=["POST"]),
]
