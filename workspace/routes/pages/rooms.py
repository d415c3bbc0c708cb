"""My rooms, open a room, a room (child summary, members, messages, post), members."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import ChildHasRoom, Conflict, Invalid
from workspace.models.message import ITEM_KINDS, MESSAGE_KINDS
from workspace.models.room import PLAN_TYPES
from workspace.routes.pages.forms import (
    MEMBER_FIELDS,
    MESSAGE_FIELDS,
    REMOVAL_FIELDS,
    ROOM_FIELDS,
    explain,
)
from workspace.schemas import MemberIn, MessageIn, RemovalIn, RoomIn
from workspace.services import flags, invitations, lead_tools, members, messages, oversight, rooms
from workspace.services.files import keys, photos, reading
from workspace.services.plans import reading as plan_reading
from workspace.templating import render
from workspace.web import PATH_ID, call, form_token, validate

# How many of the newest files the room page lists beside the chat.
ROOM_PAGE_FILES = 20
# What templates/room.html (and what it includes) asks of `view.actions`. One left out
# here is still answered right, only later (by the template).
ROOM_PAGE_ACTIONS = (
    "read_sharing_record", "read_room_history", "review_access", "read_plan",
    "remove_member", "change_role", "close", "add_member", "transfer_lead", "mark_read",
    "post_message", "upload_file", "read_chronology", "add_to_chronology",
)  # fmt: skip


def form_dict(form: FormData, *names: str) -> dict[str, Any]:
    return {n: str(form[n]) for n in names if form.get(n) not in (None, "")}


async def home(request: Request) -> Response:
    def work(access: Access) -> dict[str, Any]:
        page = rooms.list_rooms(access, limit=200)
        overseen = None
        open_flags = 0
        if oversight.may_oversee(access):
            overseen = oversight.list_overseen(access, limit=200).items
            open_flags = flags.open_count(access)
        user = access.require_user()
        return {
            "rooms": page.items,
            # Issue #12: a manager's or IG lead's home shows the rooms they oversee.
            "overseen": overseen,
            "open_flags": open_flags,
            "overseen_title": (
                "Your team's rooms" if user.org_role == "manager" else "Your organisation's rooms"
            ),
            "can_create": access.may("create_room"),
            "can_review_audit": access.may("review_audit"),
            "can_manage_accounts": access.may("manage_accounts"),
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


def room_context(
    access: Access,
    room_id: str,
    posted: str | None = None,
    reply_to: str | None = None,
    kind: str | None = None,
) -> dict[str, Any]:
    """`posted`: the message the caller has just posted without script (the redirect
    after a plain form post names it), so the page can say whom its mentions missed and
    show it in its thread. `reply_to`: the message a reply without script answers.
    `kind`: show only entries of that kind (the filter above the messages)."""
    view = rooms.get_room(access, room_id)
    # Decided here, in the unit of work, rather than by the template on the event loop.
    view.actions.ask(*ROOM_PAGE_ACTIONS)
    may_add = "add_member" in view.actions
    # Receipts are worked out once, by `conversations`, for the page and what it brings.
    page = messages.list_messages(access, room_id, latest=True, limit=100, kind=kind)
    people = members.list_members(access, room_id)
    return {
        "not_notified": messages.unheard_mentions(access, room_id, posted) if posted else (),
        "posted": posted,
        "reply_to": messages.reply_target(access, room_id, reply_to) if reply_to else None,
        "view": view,
        "messages": page.items,
        "conversations": messages.conversations(access, room_id, page.items, kind),
        # Photos on the concerns among them (issue #14), by item id.
        "photos": photos.for_items(access, [v.message.id for v in page.items]),
        "kind_filter": kind,
        "members": people,
        "fingerprints": keys.fingerprints(access, people),
        "plan_summary": plan_reading.summary(access, room_id),
        # The newest files; the room's files page has them all.
        "files": reading.list_files(access, room_id, limit=ROOM_PAGE_FILES).items,
        "kinds": MESSAGE_KINDS,  # what a person may post
        "filter_kinds": ITEM_KINDS,
        "max_file_bytes": access.app.settings.max_file_bytes,
        "is_lead": view.my_role == "lead",
        # For the lead's "add a member" form only: who a newcomer may be invited from.
        "organisations": (
            invitations.organisations_for_invitation(access, room_id) if may_add else []
        ),
        # For the lead's "transfer the lead role" form: only whom the policy lets lead.
        "lead_candidates": lead_tools.lead_candidates(access, room_id),
    }


async def room_page(request: Request) -> Response:
    kind = request.query_params.get("kind") or None
    if kind is not None and kind not in ITEM_KINDS:
        # An unknown filter (an old link, a typo) shows every kind rather than an error.
        kind = None
    # Ids from the query only ever name the caller's own context; anything else is ignored.
    posted, reply_to = (
        value if value and PATH_ID.fullmatch(value) else None
        for value in (request.query_params.get(n) for n in ("posted", "reply_to"))
    )
    context = await call(
        request, room_context, request.path_params["room_id"], posted, reply_to, kind
    )
    # Back from "Should I share?" with a decision to share: the add-member form follows it.
    context["guided_by"] = request.query_params.get("guided_by")
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
            view, _ = messages.post_message(access, room_id, data)
            context = room_context(access, room_id)
            context.update(posted=view.message.id, not_notified=view.not_notified)
            return context

        context = await call(request, work, form_token=form_token(form))
    except Invalid as exc:
        context = await call(request, room_context, room_id, form_token=form_token(form))
        context.update(post_errors=explain(exc, MESSAGE_FIELDS), post_values=values)
        return render(request, "room.html", context, status_code=422, block="messages")
    if request.headers.get("hx-request") == "true":
        return render(request, "room.html", context, block="messages")
    posted = context["posted"]
    return RedirectResponse(f"/rooms/{room_id}?posted={posted}#m-{posted}", status_code=303)


async def add_member(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    form = await request.form()
    values = form_dict(
        form, "email", "role", "expires_at", "purpose", "lawful_basis", "consent", "consent_reason",
        "guided_by",
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


def _removal_context(access: Access, room_id: str, user_id: str) -> dict[str, Any]:
    return {
        "view": rooms.get_room(access, room_id),
        "member": members.removable(access, room_id, user_id),
    }


async def confirm_removal(request: Request) -> Response:
    """The step before removing someone: who, and why (with or without JavaScript)."""
    room_id, user_id = request.path_params["room_id"], request.path_params["user_id"]
    try:
        context = await call(request, _removal_context, room_id, user_id)
    except (Invalid, Conflict):  # gone already, or the lead: back to the room's members
        return RedirectResponse(f"/rooms/{room_id}#members", status_code=303)
    return render(request, "remove_member.html", {**context, "values": {}, "errors": {}})


async def remove_member(request: Request) -> Response:
    room_id, user_id = request.path_params["room_id"], request.path_params["user_id"]
    form = await request.form()
    csrf = form_token(form)
    values = form_dict(form, "reason")
    try:
        data = validate(RemovalIn, values)
        await call(request, members.remove_member, room_id, user_id, data, form_token=csrf)
    except Invalid as exc:
        try:
            context = await call(request, _removal_context, room_id, user_id, form_token=csrf)
        except (Invalid, Conflict):  # removed meanwhile (another tab)
            return RedirectResponse(f"/rooms/{room_id}#members", status_code=303)
        errors = explain(exc, REMOVAL_FIELDS)
        return render(
            request,
            "remove_member.html",
            {**context, "values": values, "errors": errors},
            status_code=422,
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
    Route("/rooms/{room_id}/members/{user_id}/remove", confirm_removal, methods=["GET"]),
    Route("/rooms/{room_id}/members/{user_id}/remove", remove_member, methods=["POST"]),
]
