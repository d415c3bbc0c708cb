"""The access log, for team managers, IG leads and (for their rooms) lead professionals."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from workspace.access import Access
from workspace.pagination import parse_limit
from workspace.services import audit_log, exposure
from workspace.templating import render
from workspace.web import call


async def audit_page(request: Request) -> Response:
    params = dict(request.query_params)
    filters = audit_log.AuditFilters.parse(params)

    def work(access: Access) -> dict[str, object]:
        page = audit_log.list_events(
            access,
            filters,
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit") or "100"),
        )
        return {"page": page, "filters": filters}

    return render(request, "audit.html", await call(request, work), block="results")


async def exposure_page(request: Request) -> Response:
    report = await call(request, exposure.who_could_have_seen, request.path_params["message_id"])
    return render(request, "exposure.html", {"report": report})


async def file_exposure_page(request: Request) -> Response:
    report = await call(request, exposure.who_could_have_seen_file, request.path_params["file_id"])
    return render(request, "exposure.html", {"report": report})


routes = [
    Route("/audit", audit_page, methods=["GET"]),
    Route("/messages/{message_id}/exposure", exposure_page, methods=["GET"]),
    Route("/files/{file_id}/exposure", file_exposure_page, methods=["GET"]),
]
