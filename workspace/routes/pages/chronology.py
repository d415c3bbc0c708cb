"""The child's chronology page (issue #15): the timeline the caller may see, filtered by
agency, type and dates (a bookmarkable query string), a form to add an entry (or mark an
item of the room, `?item_id=`), and the same timeline as a PDF (an audited export)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Route

from workspace.access import Access
from workspace.clock import utc
from workspace.errors import Conflict, Invalid
from workspace.models.chronology import ENTRY_TYPES, TYPE_LABELS
from workspace.routes.api.chronology import pdf_response
from workspace.routes.pages.forms import CHRONOLOGY_FIELDS, explain
from workspace.services import chronology
from workspace.templating import render
from workspace.web import call, form_token, validate
from workspace.workdays import ENGLAND


def _context(access: Access, room_id: str, params: dict[str, str]) -> dict[str, Any]:
    shown = chronology.read(access, room_id, chronology.Filters.parse(params))
    values: dict[str, str] = {}
    if item_id := params.get("item_id"):
        # Marking an item: its time and kind filled in (reading it is audited, as any read).
        item = access.message(item_id, "read").message
        values = {
            "item_id": item.id,
            "occurred_at": utc(item.created_at).astimezone(ENGLAND).strftime("%Y-%m-%dT%H:%M"),
            "type": item.kind if item.kind in ENTRY_TYPES else "fact",
            "item_body": item.body[:300],
        }
    return {
        "chronology": shown,
        "labels": TYPE_LABELS,
        "entry_types": ENTRY_TYPES,
        "query": {k: v for k, v in params.items() if k in ("agency", "type", "since", "until")},
        "values": values,
    }


async def chronology_page(request: Request) -> Response:
    params = dict(request.query_params)
    context = await call(request, _context, request.path_params["room_id"], params)
    return render(request, "chronology.html", context)


def _entry(values: dict[str, str]) -> dict[str, Any]:
    """The form as the API's body: a time from the form is England's (no zone given)."""
    data: dict[str, Any] = {k: v for k, v in values.items() if v and k != "csrf_token"}
    if "occurred_at" in data:
        try:
            when = datetime.fromisoformat(data["occurred_at"])
            if when.tzinfo is None:
                data["occurred_at"] = when.replace(tzinfo=ENGLAND).isoformat()
        except ValueError:
            pass  # the model names what is wrong with it
    return data


async def add_entry(request: Request) -> Response:
    room_id = request.path_params["room_id"]
    form = await request.form()
    values = {k: str(v).strip() for k, v in form.items() if k != "csrf_token"}
    try:
        data = validate(chronology.EntryIn, _entry(values))
        entry = await call(request, chronology.add, room_id, data, form_token=form_token(form))
    except (Invalid, Conflict) as exc:
        errors = (
            explain(exc, CHRONOLOGY_FIELDS)
            if isinstance(exc, Invalid)
            else {"summary": exc.message}
        )
        context = await call(request, _context, room_id, {}, form_token=form_token(form))
        context.update(errors=errors, values=values)
        return render(request, "chronology.html", context, status_code=exc.status)
    return RedirectResponse(f"/rooms/{room_id}/chronology#e-{entry.id}", status_code=303)


async def chronology_pdf(request: Request) -> Response:
    return await pdf_response(request, channel="web")


routes = [
    Route("/rooms/{room_id}/chronology", chronology_page, methods=["GET"]),
    Route("/rooms/{room_id}/chronology", add_entry, methods=["POST"]),
    Route("/rooms/{room_id}/chronology.pdf", chronology_pdf, methods=["GET"]),
]
