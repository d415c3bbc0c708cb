"""The lead's forms on the room page: change a role or a guest's end date, transfer the
lead role, close the room."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.errors import Conflict, Invalid
from workspace.routes.pages.rooms import room_context
from workspace.services import lead_tools
from workspace.templating import render
from workspace.web import call, form_token, validate


def _back(room_id: str) -> Response:
    return RedirectResponse(f"/rooms/{room_id}#members", status_code=303)


async def _refused(
    request: Request, room_id: str, csrf: str | None, exc: Invalid | Conflict
) -> Response:
    context = await call(request, room_context, room_id, form_token=csrf)
    context.update(lead_error=exc.message)
    return render(request, "room.html", context, status_code=exc.status)


async def change_member(request: Request) -> Response:
    room_id, user_id = request.path_params["room_id"], request.path_params["user_id"]
    form = await request.form()
    csrf = form_token(form)
    names = ("role", "expires_at", "purpose", "lawful_basis", "consent", "consent_reason")
    values: dict[str, Any] = {n: str(form[n]) for n in names if form.get(n) not in (None, "")}
    if "expires_at" in values and len(values["expires_at"]) == 10:
        values["expires_at"] += "T23:59:59"
    if values.get("role") == "member":
        values.pop("expires_at", None)
    try:
        data = validate(lead_tools.MemberChangeIn, values)
        await call(request, lead_tools.change_member, room_id, user_id, data, form_token=csrf)
    except (Invalid, Conflict) as exc:
        return await _refused(request, room_id, csrf, exc)
    return _back(room_id)


async def transfer_lead(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    form = await request.form()
    csrf = form_token(form)
    try:
        data = validate(lead_tools.LeadIn, {"user_id": str(form.get("user_id") or "")})
        await call(request, lead_tools.transfer_lead, room_id, data.user_id, form_token=csrf)
    except (Invalid, Conflict) as exc:
        return await _refused(request, room_id, csrf, exc)
    return _back(room_id)


async def close_room(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    form = await request.form()
    csrf = form_token(form)
    if form.get("confirm") != "yes":
        return await _refused(
            request, room_id, csrf, Invalid("Tick the box to confirm closing the room.")
        )
    try:
        await call(request, lead_tools.close_room, room_id, form_token=csrf)
    except Conflict as exc:  # closed already (a second click, another tab)
        return await _refused(request, room_id, csrf, exc)
    return RedirectResponse(f"/rooms/{room_id}", status_code=303)


routes = [
    Route("/rooms/{room_id}/members/{user_id}/change", change_member, methods=["POST"]),
    Route("/rooms/{room_id}/lead", transfer_lead, methods=["POST"]),
    Route("/rooms/{room_id}/close", close_room, methods=["POST"]),
]
