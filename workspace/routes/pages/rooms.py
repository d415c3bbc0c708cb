"""My rooms, open a room, a room (child summary, members, messages, post), members."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import ChildHasRoom, Conflict, Invalid
from workspace.models.message import MESSAGE_KINDS
from workspace.models.room import PLAN_TYPES
from workspace.routes.pages.forms import MEMBER_FIELDS, MESSAGE_FIELDS, ROOM_FIELDS, explain
from workspace.schemas import MemberIn, MessageIn, RoomIn
from workspace.services import invitations, lead_tools, members, messages, rooms
from workspace.templating import render
from workspace.web import call, form_token, validate


def form_dict(form: FormData, *names: str) -> dict[str, Any]:
    return {n: str(form[n]) for n in names if form.get(n) not in (None, "")}


async def home(request: Request) -> Response:
    def work(access: Access) -> dict[str, Any]:
        page = rooms.list_rooms(access, limit=200)
        return {
            "rooms": page.items,
            "can_create": access.may("create_room"),
            "can_review_audit": access.may("review_audit"),
        }

    return render(request, "rooms.html", await call(request, work))


def _may_create_room(access: Access) -> None:
    """Who is asking (so an invalid form comes back signed in, with a CSRF token that
    works on resubmit) and whether they may open rooms at all (refusals are audited)."""
    if not access.may("create_room"):
        access.require_workspace("create_room")


async def new_room(request: Request) -> Response:
    # Only a refusal is audited here: "create room, allowed" belongs to the room's creation,
    # not to opening an empty form.
    await call(request, _may_create_room)
    return render(request, "room_new.html", {"plan_types": PLAN_TYPES, "values": {}})


async def create_room(request: Request) -> Response:
    form = await request.form()
    csrf = form_token(form)
    await call(request, _may_create_room, form_token=csrf)
    values = form_dict(
        form, "title", "plan_type", "name", "date_of_birth", "nhs_number", "upn", "address"
    )
    child = {
        k: values[k]
        for k in ("name", "date_of_birth", "nhs_number", "upn", "address")
        if k in values
    }
    try:
        data = validate(
            RoomIn,
            {
                "title": values.get("title"),
                "plan_type": values.get("plan_type", "child_in_need"),
                "child": child,
            },
        )
        view = await call(request, rooms.create_room, data, form_token=csrf)
    except ChildHasRoom as exc:
        # Nothing was created: who leads the child's room, and that they were told.
        return render(
            request,
            "room_new.html",
            {"plan_types": PLAN_TYPES, "values": values, "existing": exc},
            status_code=409,
        )
    except Invalid as exc:
        errors = explain(exc, ROOM_FIELDS, prefix="child.")
        return render(
            request,
            "room_new.html",
            {"plan_types": PLAN_TYPES, "values": values, "errors": errors},
            status_code=422,
        )
    return RedirectResponse(f"/rooms/{view.room.id}", status_code=303)


def room_context(access: Access, room_id: str) -> dict[str, Any]:
    view = rooms.get_room(access, room_id)
    may_add = "add_member" in view.actions
    return {
        "view": view,
        "messages": messages.list_messages(
            access, room_id, latest=True, limit=100, with_receipts=True
        ).items,
        "members": members.list_members(access, room_id),
        "kinds": MESSAGE_KINDS,
        "is_lead": view.my_role == "lead",
        # For the lead's "add a member" form only: who a newcomer may be invited from.
        "organisations": (
            invitations.organisations_for_invitation(access, room_id) if may_add else []
        ),
        # For the lead's "transfer the lead role" form: only whom the policy lets lead.
        "lead_candidates": lead_tools.lead_candidates(access, room_id),
    }


async def room_page(request: Request) -> Response:
    context = await call(request, room_context, request.path_params["room_id"])
    return render(request, "room.html", context)


async def search_page(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    q = request.query_params.get("q", "").strip()

    def work(access: Access) -> dict[str, Any]:
        view = rooms.get_room(access, room_id)
        if not q:
            return {"view": view, "q": q, "results": [], "error": None}
        try:
            results = messages.search_messages(access, room_id, q)
        except Invalid as exc:
            return {"view": view, "q": q, "results": [], "error": exc.message}
        return {"view": view, "q": q, "results": results, "error": None}

    return render(request, "search.html", await call(request, work))


async def post_message(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    form = await request.form()
    values = form_dict(form, "body", "kind", "sensitivity", "thread_id", "client_id")
    try:
        data = validate(MessageIn, values)

        def work(access: Access) -> dict[str, Any]:
            messages.post_message(access, room_id, data)
            return room_context(access, room_id)

        context = await call(request, work, form_token=form_token(form))
    except Invalid as exc:
        context = await call(request, room_context, room_id, form_token=form_token(form))
        context.update(post_errors=explain(exc, MESSAGE_FIELDS), post_values=values)
        return render(request, "room.html", context, status_code=422, block="messages")
    if request.headers.get("hx-request") == "true":
        return render(request, "room.html", context, block="messages")
    return RedirectResponse(f"/rooms/{room_id}#messages", status_code=303)


async def add_member(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    form = await request.form()
    values = form_dict(
        form, "email", "role", "expires_at", "purpose", "lawful_basis", "consent", "consent_reason"
    )
    if "expires_at" in values and len(values["expires_at"]) == 10:
        values["expires_at"] += "T23:59:59"
    try:
        data = validate(MemberIn, values)
        await call(request, members.add_member, room_id, data, form_token=form_token(form))
    except (Invalid, Conflict) as exc:
        errors = explain(exc, MEMBER_FIELDS) if isinstance(exc, Invalid) else {"email": exc.message}
        context = await call(request, room_context, room_id, form_token=form_token(form))
        context.update(member_errors=errors, member_values=values)
        return render(request, "room.html", context, status_code=exc.status)
    return RedirectResponse(f"/rooms/{room_id}#members", status_code=303)


async def remove_member(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    form = await request.form()
    await call(
        request,
        members.remove_member,
        room_id,
        request.path_params["user_id"],
        form_token=form_token(form),
    )
    return RedirectResponse(f"/rooms/{room_id}#members", status_code=303)


routes = [
    Route("/", home, methods=["GET"]),
    Route("/rooms/new", new_room, methods=["GET"]),
    Route("/rooms", create_room, methods=["POST"]),
    Route("/rooms/{room_id}", room_page, methods=["GET"]),
    Route("/rooms/{room_id}/messages", post_message, methods=["POST"]),
    Route("/rooms/{room_id}/search", search_page, methods=["GET"]),
    Route("/rooms/{room_id}/members", add_member, methods=["POST"]),
    Route("/rooms/{room_id}/members/{user_id}/remove", remove_member, methods=["POST"]),
]
