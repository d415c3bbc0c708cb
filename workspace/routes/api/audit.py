from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.pagination import parse_limit
from workspace.services import audit_log
from workspace.web import call


async def list_audit(request: Request) -> Response:
    params = dict(request.query_params)
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


async def verify_audit(request: Request) -> Response:
    result = await call(request, audit_log.verify_chain, channel="api")
    return JSONResponse(result.as_dict())


routes = [
    Route("/audit", list_audit, methods=["GET"]),
    Route("/audit/verify", verify_audit, methods=["GET"]),
]
