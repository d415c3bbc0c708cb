"""The child's chronology over the API (DESIGN.md §6 "Chronology"): `GET` and `POST
/rooms/{id}/chronology`, and `GET /rooms/{id}/chronology/pdf` (an audited export)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.services import chronology
from workspace.web import call, pdf_attachment, read_model


async def list_entries(request: Request) -> Response:
    filters = chronology.Filters.parse(request.query_params)
    shown = await call(
        request, chronology.read, request.path_params["room_id"], filters, channel="api"
    )
    return JSONResponse(
        {"items": [serialize.chronology_entry(e) for e in shown.entries], "next": None}
    )


async def add_entry(request: Request) -> Response:
    data = await read_model(request, chronology.EntryIn)
    entry = await call(request, chronology.add, request.path_params["room_id"], data,
                       channel="api")  # fmt: skip
    return JSONResponse(serialize.chronology_entry(entry), status_code=201)


async def export_pdf(request: Request) -> Response:
    return await pdf_response(request, channel="api")


async def pdf_response(request: Request, *, channel: str) -> Response:
    """The chronology the caller may see (filtered as asked) as a PDF: the read is audited
    as an export and committed before it is drawn, off the event loop."""
    room_id = request.path_params["room_id"]
    filters = chronology.Filters.parse(request.query_params)
    shown = await call(
        request,
        lambda access: chronology.read(access, room_id, filters, audit_as=chronology.EXPORT),
        channel=channel,
    )
    body = await run_in_threadpool(chronology.render_pdf, shown)
    return pdf_attachment(body, chronology.filename(shown))


routes = [
    Route("/rooms/{room_id}/chronology", list_entries, methods=["GET"]),
    Route("/rooms/{room_id}/chronology", add_entry, methods=["POST"]),
    Route("/rooms/{room_id}/chronology/pdf", export_pdf, methods=["GET"]),
]
