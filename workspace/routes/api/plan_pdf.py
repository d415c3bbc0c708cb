"""A published version of a plan as a PDF (DESIGN.md §6 "Plans"), audited as an export."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from workspace.services.plans import pdf, viewing
from workspace.web import call, pdf_attachment


async def version_pdf(request: Request) -> Response:
    params = request.path_params
    shown = await call(request, viewing.export, params["room_id"], params["version"], channel="api")
    # Drawing takes a fraction of a second of CPU: off the event loop, and after the unit of
    # work has committed (the export audited), so no database transaction waits on it.
    body = await run_in_threadpool(pdf.render, shown.published, shown.printed_by,
                                   shown.printed_at)  # fmt: skip
    return pdf_attachment(body, pdf.filename(shown.published))


routes = [Route("/rooms/{room_id}/plan/versions/{version}/pdf", version_pdf, methods=["GET"])]
