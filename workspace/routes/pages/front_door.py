"""Pages of issue #14: "Raise a concern" (phone first; a draft kept on the device until it
is sent), and the front door's queue, each contact, and its decisions."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.datastructures import FormData
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.errors import ChildHasRoom, Conflict, Invalid
from workspace.models.agency import CLOSE_REASONS
from workspace.routes.pages.forms import CONCERN_FIELDS, explain
from workspace.services import front_door, should_i_share
from workspace.templating import env, render
from workspace.web import call, form_token, validate
from workspace.workdays import ENGLAND

CHILD = ("name", "date_of_birth", "nhs_number", "upn")
ABOUT = ("what_happened", "happened_at", "place", "who_told", "child_words", "action_taken")


def _text(form: FormData, name: str) -> str:
    return str(form.get(name) or "").strip()


def _concern(form: FormData) -> dict[str, Any]:
    """The form as the API's body; empty fields left out. A time from the form is the
    time in England (a datetime-local input has no zone)."""
    data: dict[str, Any] = {"child": {n: v for n in CHILD if (v := _text(form, f"child_{n}"))}}
    data.update({n: v for n in ABOUT if (v := _text(form, n))})
    if "happened_at" in data:
        try:
            when = datetime.fromisoformat(data["happened_at"])
            if when.tzinfo is None:
                data["happened_at"] = when.replace(tzinfo=ENGLAND).isoformat()
        except ValueError:
            pass  # the model says what is wrong with it
    data["sensitivity"] = _text(form, "sensitivity") or "room"
    if answers := [str(a) for a in form.getlist("should_i_share")]:
        data["should_i_share"] = answers
    return data


def _form(access: Access, answers: list[str]) -> dict[str, Any]:
    """The form, with the "Should I share?" answers the reporter brings, if any."""
    if not answers:
        access.require_workspace("raise_concern", conceal=True)
        return {"values": {}, "dialogue": None, "dialogue_answers": []}
    walk = should_i_share.before_a_concern(access, answers)
    return {"values": {}, "dialogue": walk if walk.outcome else None,
            "dialogue_answers": answers if walk.outcome else []}  # fmt: skip


async def concern_form(request: Request) -> Response:
    context = await call(request, _form, request.query_params.getlist("a"))
    return render(request, "concern_new.html", context)


async def concern_send(request: Request) -> Response:
    form = await request.form()
    values = {k: _text(form, k) for k in form if k not in ("csrf_token", "should_i_share")}
    try:
        data = validate(front_door.ConcernIn, _concern(form))
        receipt = await call(request, front_door.raise_concern, data, form_token=form_token(form))
    except Invalid as exc:
        errors = explain(exc, CONCERN_FIELDS)
        answers = [str(a) for a in form.getlist("should_i_share")]
        context = {"values": values, "errors": errors, "dialogue": None,
                   "dialogue_answers": answers}  # fmt: skip
        return render(request, "concern_new.html", context, status_code=422)
    return render(request, "concern_sent.html", {"receipt": receipt})


async def queue_page(request: Request) -> Response:
    decided = request.query_params.get("decided") == "1"
    views = await call(
        request, lambda access: front_door.list_queue(access, include_decided=decided)
    )
    return render(request, "front_door.html", {"contacts": views, "decided": decided})


def _contact_context(view: front_door.ContactView) -> dict[str, Any]:
    return {
        "view": view,
        "room": front_door.room_for(view.contact),
        "reasons": CLOSE_REASONS,
    }


async def contact_page(request: Request) -> Response:
    view = await call(request, front_door.read_contact, request.path_params["contact_id"])
    return render(request, "contact.html", _contact_context(view))


async def rate(request: Request) -> Response:
    form = await request.form()
    contact_id = request.path_params["contact_id"]
    data = validate(front_door.RatingIn, {"rag": _text(form, "rag")})
    await call(request, front_door.set_rating, contact_id, data.rag, form_token=form_token(form))
    return RedirectResponse(f"/front-door/{contact_id}", status_code=303)


async def decide(request: Request) -> Response:
    form = await request.form()
    contact_id = request.path_params["contact_id"]
    decision = _text(form, "decision")
    body: dict[str, Any] = {"decision": decision}
    if decision == "open_room":
        body["room"] = {
            "title": _text(form, "title") or None,
            "plan_type": _text(form, "plan_type") or "child_in_need",
            "child": {n: v for n in CHILD if (v := _text(form, f"child_{n}"))},
        }
    elif decision == "close":
        body.update(reason=_text(form, "reason") or None, note=_text(form, "note") or None)
    try:
        data = validate(front_door.DecisionIn, body)
        view = await call(request, front_door.decide, contact_id, data, form_token=form_token(form))
    except (Invalid, ChildHasRoom, Conflict) as exc:
        view = await call(request, front_door.read_contact, contact_id)
        context = _contact_context(view) | {"problem": exc.message}
        return render(request, "contact.html", context, status_code=exc.status)
    if view.contact.room_id and view.contact.status == "opened":
        return RedirectResponse(f"/rooms/{view.contact.room_id}", status_code=303)
    return RedirectResponse(f"/front-door/{contact_id}", status_code=303)


def _offers(request: Request) -> dict[str, bool]:
    return getattr(request.state, "offers", None) or {}


env.globals["offers"] = _offers

routes = [
    Route("/concerns/new", concern_form, methods=["GET"]),
    Route("/concerns", concern_send, methods=["POST"]),
    Route("/front-door", queue_page, methods=["GET"]),
    Route("/front-door/{contact_id}", contact_page, methods=["GET"]),
    Route("/front-door/{contact_id}/rating", rate, methods=["POST"]),
    Route("/front-door/{contact_id}/decision", decide, methods=["POST"]),
]
