"""Invitations by email (issue #5): the lead invites from the room page and sees pending
invitations; the invited person accepts from the link without signing in, sets a
password, and (guests) sets up a second factor before landing in the room."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import CaseroomError, Conflict, Invalid, NotFound, RateLimited
from workspace.routes.pages import second_factor
from workspace.routes.pages.auth import FormCookie, set_session_cookie
from workspace.routes.pages.forms import MEMBER_FIELDS, Field, explain
from workspace.routes.pages.rooms import form_dict, room_context
from workspace.services import invitations, members
from workspace.templating import render
from workspace.web import SESSION_COOKIE, call, form_token, validate

INVITE_CSRF_COOKIE = "caseroom_invite"
INVITE_FIELDS = {
    **MEMBER_FIELDS,
    "organisation_id": Field(
        "Their organisation",
        "Choose their organisation from the list, or name a new one",
        "Choose an organisation from the list",
    ),
    "organisation_name": Field(
        "Name of a new organisation",
        "Enter the name of their organisation, if it is not in the list",
        "Enter the organisation's name in at most 200 characters",
    ),
    "organisation_kind": Field(
        "Kind of new organisation",
        "Choose the kind of the new organisation",
        "Choose a kind listed",
    ),
}
FORM_NAMES = (
    "email", "role", "expires_at", "purpose", "lawful_basis", "consent", "consent_reason",
    "organisation_id", "organisation_name", "organisation_kind", "guided_by",
)  # fmt: skip


# --- the lead: invite (or add), list, revoke ---------------------------------------------------


async def invite(request: Request) -> Response:
    """The room page's "add a member" form: someone with an account is added at once;
    anyone else is invited by email."""
    room_id = request.path_params["room_id"]
    form = await request.form()
    csrf = form_token(form)
    values = form_dict(form, *FORM_NAMES)
    if "expires_at" in values and len(values["expires_at"]) == 10:
        values["expires_at"] += "T23:59:59"
    try:
        data = validate(invitations.InviteIn, values)
        result = await call(request, members.add_member, room_id, data, form_token=csrf)
    except (Invalid, Conflict) as exc:
        errors = explain(exc, INVITE_FIELDS) if isinstance(exc, Invalid) else {"email": exc.message}
        context = await call(request, room_context, room_id, form_token=csrf)
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

INVITE_FORM = FormCookie(INVITE_CSRF_COOKIE, "invite_token", "/invite")
# Guests set up a second factor before the session is let into the room.
ENROLMENT = second_factor.Door(
    path="/invited/second-factor",
    why="Before you see the case room you need a second factor",
    onward="Continue to the case room",
    passing_through=True,
)


def _unusable(request: Request, exc: CaseroomError) -> Response:
    """One page for every bad link: nothing about the room, no hint of why."""
    message = exc.message if isinstance(exc, RateLimited) else None
    return render(request, "invitation_invalid.html", {"message": message}, status_code=exc.status)


async def accept_page(
    request: Request, error: str | None = None, status: int = 200, name: str = ""
) -> Response:
    token = request.path_params["token"]
    try:
        # The session cookie only to warn that accepting ends someone else's session.
        browser_session = request.cookies.get(SESSION_COOKIE)
        preview = await call(request, invitations.preview, token, browser_session, auth="none")
    except (NotFound, RateLimited) as exc:
        return _unusable(request, exc)
    invite_token = INVITE_FORM.new_token()
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
    INVITE_FORM.issue(request, response, invite_token)
    return response


async def accept(request: Request) -> Response:
    token = request.path_params["token"]
    form = await request.form()
    name = str(form.get("name", ""))
    if not INVITE_FORM.matches(request, form):
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
    target = f"{ENROLMENT.path}?next={room}" if accepted.needs_enrolment else room
    response = RedirectResponse(target, status_code=303)
    set_session_cookie(request, response, accepted.session_token)
    INVITE_FORM.clear(response)
    return response


async def second_factor_page(request: Request) -> Response:
    return await second_factor.page(request, ENROLMENT)


async def second_factor_confirm(request: Request) -> Response:
    return await second_factor.confirm(request, ENROLMENT)


routes = [
    Route("/invite/{token}", accept_page, methods=["GET"]),
    Route("/invite/{token}", accept, methods=["POST"]),
    Route(ENROLMENT.path, second_factor_page, methods=["GET"]),
    Route(ENROLMENT.path, second_factor_confirm, methods=["POST"]),
    Route("/rooms/{room_id}/invitations", list_page, methods=["GET"]),
    Route("/rooms/{room_id}/invitations", invite, methods=["POST"]),
    Route("/rooms/{room_id}/invitations/{invitation_id}/revoke", revoke, methods=["POST"]),
]
