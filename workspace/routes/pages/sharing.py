"""A room's sharing record (golden rule 7): every decision to share or not, a form to
record a decision not to share, the lead's re-share form, and the CSV export."""

from __future__ import annotations

from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import Invalid
from workspace.services import members, messages, rooms, sharing
from workspace.services.plans import versions
from workspace.templating import render
from workspace.web import call, form_token, validate

REASON_FIELDS = ("purpose", "lawful_basis", "consent", "consent_reason")


PLAN_VERSION = "plan_version:"


def _values(form: FormData, *names: str) -> dict[str, Any]:
    return {n: str(form[n]) for n in names if form.get(n) not in (None, "")}


def _context(access: Access, room_id: str) -> dict[str, Any]:
    decisions = sharing.list_decisions(access, room_id)
    view = rooms.get_room(access, room_id)
    context: dict[str, Any] = {
        "view": view, "decisions": decisions, "people": [], "items": [], "versions": [],
    }  # fmt: skip
    if "share_item" in view.actions:
        context["people"] = [
            m for m in members.list_members(access, room_id) if m.membership.role != "lead"
        ]
        context["items"] = messages.list_messages(access, room_id, latest=True, limit=100).items
        context["versions"] = versions.list_versions(access, room_id)
    return context


async def record_page(request: Request) -> Response:
    context = await call(request, _context, request.path_params["room_id"])
    return render(request, "sharing.html", context)


async def export(request: Request) -> Response:
    name, text = await call(request, sharing.export_csv, request.path_params["room_id"])
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def _submit(request: Request, form: FormData, which: str, data: dict[str, Any]) -> Response:
    room_id = request.path_params["room_id"]
    csrf = form_token(form)
    try:
        if which == "share":
            share = validate(sharing.ShareIn, data)
            await call(request, sharing.share_item, room_id, share, form_token=csrf)
        else:
            decision = validate(sharing.NotShareIn, data)
            await call(request, sharing.record_not_to_share, room_id, decision, form_token=csrf)
    except Invalid as exc:
        context = await call(request, _context, room_id, form_token=csrf)
        context.update(error=exc.message, errors=exc.fields, form=which, values=data)
        return render(request, "sharing.html", context, status_code=422)
    return RedirectResponse(f"/rooms/{room_id}/sharing", status_code=303)


async def record_not_to_share(request: Request) -> Response:
    form = await request.form()
    data = _values(form, "what", "with_organisation", *REASON_FIELDS)
    return await _submit(request, form, "not_share", {"decision": "not_share", **data})


async def share(request: Request) -> Response:
    form = await request.form()
    data = _values(form, "item_id", "user_id", *REASON_FIELDS)
    # A plan version is offered as "plan_version:ID" beside the messages' plain ids.
    kind, _, version_id = data.get("item_id", "").partition(PLAN_VERSION)
    if not kind and version_id:
        shared = {**data, "item_type": "plan_version", "item_id": version_id}
        return await _submit(request, form, "share", shared)
    return await _submit(request, form, "share", {"item_type": "message", **data})


routes = [
    Route("/rooms/{room_id}/sharing", record_page, methods=["GET"]),
    Route("/rooms/{room_id}/sharing.csv", export, methods=["GET"]),
    Route("/rooms/{room_id}/sharing-decisions", record_not_to_share, methods=["POST"]),
    Route("/rooms/{room_id}/shares", share, methods=["POST"]),
]
