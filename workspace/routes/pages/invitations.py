"""Invitations by email (issue #5): the lead invites from the room page and sees pending
invitations; the invited person accepts from the link without signing in, sets a
password, and (guests) sets up a second factor before landing in the room."""

from __future__ import annotations

import secrets
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace import crypto
from workspace.access import Access
from workspace.errors import CaseroomError, Conflict, Invalid, NotFound, RateLimited
from workspace.routes.pages.account import _qr_svg
from workspace.routes.pages.auth import _safe_next, set_session_cookie
from workspace.routes.pages.forms import MEMBER_FIELDS, Field, explain
from workspace.routes.pages.rooms import _form_dict, _room_context
from workspace.services import accounts, invitations, members
from workspace.templating import render
from workspace.web import SESSION_COOKIE, app_of, call, form_token, validate

INVITE_CSRF_COOKIE = "caseroom_invite"
INVITE_FIELDS = {
    **MEMBER_FIELDS,
    "organisation_name": Field(
        "Their organisation", "Enter the organisation they work for (needed for a new person)"
    ),
    "organisation_kind": Field(
        "Kind of organisation", "Choose the kind of a new organisation", "Choose a kind listed"
    ),
}
FORM_NAMES = (
    "email", "role", "expires_at", "purpose", "lawful_basis", "consent", "consent_reason",
    "organisation_id", "organisation_name", "organisation_kind",
)  # fmt: skip


# --- the lead: invite (or add), list, revoke ---------------------------------------------------


async def invite(request: Request) -> Response:
    """The room page's "add a member" form: someone with an account is added at once;
    anyone else is invited by email."""
    room_id = request.path_params["room_id"]
    form = await request.form()
    csrf = form_token(form)
    values = _form_dict(form, *FORM_NAMES)
    if "expires_at" in values and len(values["expires_at"]) == 10:
        values["expires_at"] += "T23:59:59"
    try:
        data = validate(invitations.InviteIn, values)
        result = await call(request, members.add_member, room_id, data, form_token=csrf)
    except (Invalid, Conflict) as exc:
        errors = explain(exc, INVITE_FIELDS) if isinstance(exc, Invalid) else {"email": exc.message}
        context = await call(request, _room_context, room_id, form_token=csrf)
        context.update(member_errors=errors, member_values=values)
        return render(request, "room.html", context, status_code=exc.status)
    invited = "?invited=1" if isinstance(result, invitations.InvitationView) else ""
    return RedirectResponse(f"/rooms/{room_id}{invited}#members", status_code=303)


async def list_page(request: Request) -> Response:
    """A page of its own, or (htmx, from the room page) just the list."""
    room_id = request.path_params["room_id"]
    views = await call(request, invitations.list_invitations, room_id)
    return render(
        request, "invitation_list.html", {"room_id": room_id, "invitations": views}, block="list"
    )


async def revoke(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    form = await request.form()
    await call(
        request,
        invitations.revoke_invitation,
        room_id,
        request.path_params["invitation_id"],
        form_token=form_token(form),
    )
    return RedirectResponse(f"/rooms/{room_id}#members", status_code=303)


# --- the invited person -------------------------------------------------------------------------


def _unusable(request: Request, exc: CaseroomError) -> Response:
    """One page for every bad link: nothing about the room, no hint of why."""
    message = exc.message if isinstance(exc, RateLimited) else None
    return render(request, "invitation_invalid.html", {"message": message}, status_code=exc.status)


async def accept_page(
    request: Request, error: str | None = None, status: int = 200, name: str = ""
) -> Response:
    token = request.path_params["token"]
    try:
        preview = await call(request, invitations.preview, token, auth="none")
    except (NotFound, RateLimited) as exc:
        return _unusable(request, exc)
    invite_token = secrets.token_urlsafe(24)
    response = render(
        request,
        "invitation_accept.html",
        {
            "preview": preview,
            "token": token,
            "invite_token": invite_token,
            "error": error,
            "name": name[:200],
        },
        status_code=status,
    )
    response.set_cookie(
        INVITE_CSRF_COOKIE,
        invite_token,
        httponly=True,
        samesite="strict",
        secure=app_of(request).settings.https,
        path="/invite",
    )
    return response


async def accept(request: Request) -> Response:
    token = request.path_params["token"]
    form = await request.form()
    name = str(form.get("name", ""))
    sent = str(form.get("invite_token", ""))
    expected = request.cookies.get(INVITE_CSRF_COOKIE, "")
    if not expected or not crypto.constant_time_equals(sent, expected):
        return await accept_page(request, "The form expired. Please try again.", 400, name)
    old_session = request.cookies.get(SESSION_COOKIE)

    def work(access: Access) -> invitations.Accepted:
        return invitations.accept(
            access,
            token,
            name=name,
            password=str(form.get("password", "")),
            code=str(form.get("code", "")).strip(),
            old_session=old_session,
        )

    try:
        accepted = await call(request, work, auth="none")
    except (NotFound, RateLimited) as exc:
        return _unusable(request, exc)
    except CaseroomError as exc:
        return await accept_page(request, exc.message, exc.status, name)
    room = f"/rooms/{accepted.room_id}"
    target = f"/invited/second-factor?next={room}" if accepted.needs_enrolment else room
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, accepted.session_token)
    response.delete_cookie(INVITE_CSRF_COOKIE, path="/invite")
    return response


async def second_factor_page(
    request: Request,
    error: str | None = None,
    status: int = 200,
    csrf: str | None = None,
    nxt: str | None = None,
) -> Response:
    app = app_of(request)
    nxt = _safe_next(nxt or request.query_params.get("next"))

    def work(access: Access) -> dict[str, Any]:
        user = access.require_user()
        if user.totp_enabled:
            return {"enabled": True}
        if not user.totp_secret_sealed:
            accounts.begin_totp(app, access.session, user)
        return {
            "enabled": False,
            "secret": app.keys.unseal(user.totp_secret_sealed or ""),
            "uri": accounts.provisioning_uri(app, user),
        }

    context = await call(request, work, auth="partial", form_token=csrf)
    if context["enabled"]:
        return RedirectResponse(nxt, status_code=303)
    context.update(qr=_qr_svg(context["uri"]), error=error, next=nxt)
    return render(request, "invitation_second_factor.html", context, status_code=status)


async def second_factor_confirm(request: Request) -> Response:
    form = await request.form()
    app = app_of(request)
    nxt = _safe_next(str(form.get("next", "")))

    def work(access: Access) -> tuple[list[str], str]:
        codes = accounts.confirm_totp(access, str(form.get("code", "")).strip())
        caller = request.state.caller
        info = accounts.rotate_session(
            app, access.session, caller.web_session, access.require_user(), mfa_ok=True
        )
        caller.web_session = info.record
        return codes, info.token

    csrf = form_token(form)
    try:
        codes, token = await call(request, work, auth="partial", form_token=csrf)
    except CaseroomError as exc:
        return await second_factor_page(request, exc.message, exc.status, csrf, nxt)
    response = render(request, "invitation_done.html", {"codes": codes, "next": nxt})
    set_session_cookie(request, response, token)
    return response


routes = [
    Route("/invite/{token}", accept_page, methods=["GET"]),
    Route("/invite/{token}", accept, methods=["POST"]),
    Route("/invited/second-factor", second_factor_page, methods=["GET"]),
    Route("/invited/second-factor", second_factor_confirm, methods=["POST"]),
    Route("/rooms/{room_id}/invitations", list_page, methods=["GET"]),
    Route("/rooms/{room_id}/invitations", invite, methods=["POST"]),
    Route("/rooms/{room_id}/invitations/{invitation_id}/revoke", revoke, methods=["POST"]),
]
