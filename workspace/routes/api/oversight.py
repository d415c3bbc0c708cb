"""The rooms a team manager or IG lead oversees (issue #12), without their content."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from workspace import serialize
from workspace.pagination import parse_limit
from workspace.services import oversight
from workspace.web import call


async def list_overseen(request: Request) -> Response:
    params = request.query_params
    page = await call(
        request,
        lambda access: oversight.list_overseen(
            access,
            cursor=params.get("cursor"),
            limit=parse_limit(params.get("limit")),
            status=params.get("status") or None,
        ),
        channel="api",
    )
    return JSONResponse(
        {"items": [serialize.overseen_room(o) for o in page.items], "next": page.next}
    )


routes = [Route("/oversight/rooms", list_overseen, methods=["GET"])]
