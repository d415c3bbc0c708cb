""""Should I share?" in a room (issue #15 item 2): each answer is a GET (nothing changes
until the end), the outcome a POST that records the sharing decision."""

from __future__ import annotations

from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import Invalid
from workspace.routes.pages.forms import SHARING_DIALOGUE_FIELDS, explain
from workspace.services import should_i_share
from workspace.templating import render
from workspace.web import call, form_token, validate


def _context(access: Access, room_id: str, answers: list[str]) -> dict[str, Any]:
    room, walk = should_i_share.start(access, room_id, answers)
    organisations = should_i_share.organisations(access) if walk.outcome is not None else []
    return {"room": room, "walk": walk, "organisations": organisations, "values": {}}


async def dialogue_page(request: Request) -> Response:
    answers = request.query_params.getlist("a")
    context = await call(request, _context, request.path_params["room_id"], answers)
    return render(request, "should_i_share.html", context)


async def record(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    form = await request.form()
    answers = [str(a) for a in form.getlist("a")]
    values = {k: str(form.get(k) or "").strip() for k in ("what", "purpose", "with_organisation")}
    try:
        data = validate(should_i_share.RecordIn, {k: v for k, v in values.items() if v})
        decision = await call(request, should_i_share.record, room_id, answers, data,
                              form_token=form_token(form))  # fmt: skip
    except Invalid as exc:
        context = await call(request, _context, room_id, answers, form_token=form_token(form))
        context.update(errors=explain(exc, SHARING_DIALOGUE_FIELDS), values=values)
        return render(request, "should_i_share.html", context, status_code=422)
    if decision.decision == "share":
        # On to the share it leads to: the room, where the lead's "Add a member" form
        # carries the decision (its answers go with the invitation's own record).
        return RedirectResponse(f"/rooms/{room_id}?guided_by={decision.id}#members", 303)
    return RedirectResponse(f"/rooms/{room_id}/sharing#decisions", status_code=303)


def _before_a_concern(access: Access, answers: list[str]) -> dict[str, Any]:
    walk = should_i_share.before_a_concern(access, answers)
    return {"room": None, "walk": walk, "organisations": [], "values": {}}


async def concern_dialogue_page(request: Request) -> Response:
    """Outside a room, before raising a concern: the outcome goes with the concern."""
    context = await call(request, _before_a_concern, request.query_params.getlist("a"))
    return render(request, "should_i_share.html", context)


routes = [
    Route("/should-i-share", concern_dialogue_page, methods=["GET"]),
    Route("/rooms/{room_id}/should-i-share", dialogue_page, methods=["GET"]),
    Route("/rooms/{room_id}/should-i-share", record, methods=["POST"]),
]
