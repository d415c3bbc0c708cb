from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.services import notices
from workspace.web import call


async def list_notices(request: Request) -> Response:
    rows = await call(request, notices.list_notices, channel="api")
    return JSONResponse({"items": [serialize.notice(n) for n in rows], "next": None})


async def mark_all_read(request: Request) -> Response:
    count = await call(request, notices.mark_all_read, channel="api")
    return JSONResponse({"marked_read": count})


routes = [
    Route("/notifications", list_notices, methods=["GET"]),
    Route("/notifications/read", mark_all_read, methods=["POST"]),
]
