from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.pagination import parse_limit
from workspace.routes.pages.audit import csv_response
from workspace.services import audit_log
from workspace.web import call


async def list_audit(request: Request) -> Response:
    params = request.query_params
    filters = audit_log.AuditFilters.parse(params)
    page = await call(
        request,
        lambda access: audit_log.list_events(
            access, filters, cursor=params.get("cursor"), limit=parse_limit(params.get("limit"))
        ),
        channel="api",
    )
    return JSONResponse(
        {"items": [serialize.audit_event(r) for r in page.items], "next": page.next}
    )


async def export_audit(request: Request) -> Response:
    filters = audit_log.AuditFilters.parse(request.query_params)
    chunks = await call(request, audit_log.export_csv, filters, channel="api")
    return csv_response(request, chunks)


async def verify_audit(request: Request) -> Response:
    result = await call(request, audit_log.verify_chain, channel="api")
    return JSONResponse(result.as_dict())


routes = [
    Route("/audit", list_audit, methods=["GET"]),
    Route("/audit/export.csv", export_audit, methods=["GET"]),
    Route("/audit/verify", verify_audit, methods=["GET"]),
]
