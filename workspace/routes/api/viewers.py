"""Who has seen this child (issue #12, item 3)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.services import viewers
from workspace.web import call


async def room_viewers(request: Request) -> Response:
    report = await call(request, viewers.viewers, request.path_params["room_id"], channel="api")
    return JSONResponse({"items": [serialize.viewer(v) for v in report.viewers], "next": None})


routes = [Route("/rooms/{room_id}/viewers", room_viewers, methods=["GET"])]
